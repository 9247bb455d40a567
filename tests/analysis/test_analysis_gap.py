"""A unit against its province (analysis.gap_from_sums) equals R's svycontrast of two ratios
on the same design; the naive independent difference does not.

Fixture: tests/analysis/reference/make_gap.R (R survey), committed; CI has no R.
"""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
from analysis_fixtures import REFERENCE, load_csv

from analysis import Design, frame_from_rows, from_sums, gap_from_sums, independent_difference, sums_from_rows

CASES = json.loads((REFERENCE / "expected_gap.json").read_text())["cases"]


def close(got: float, want: float) -> bool:
    return math.isclose(got, want, rel_tol=1e-6, abs_tol=1e-12)


def _data(case):
    d = load_csv(case["file"])
    if case["file"] == "sipas":
        keep = d["period"] == "2025H1"
        d = {k: v[keep] for k, v in d.items()}
    return d


def _setup(case):
    d = _data(case)
    psu = d["psu"] if case["psu"] else None
    frame = frame_from_rows(d["stratum"], psu)
    design = Design.from_aggregates(frame["stratum"], frame["n_psu"], lonely_psu="adjust",
                                    elements=psu is None)
    cells = sums_from_rows(d[case["y"]], d["w"], d["stratum"], d[case["domain_column"]], psu)
    return design, cells


@pytest.mark.parametrize("case", CASES, ids=lambda c: c["id"])
def test_gap_matches_r_svycontrast(case):
    design, cells = _setup(case)
    got = gap_from_sums(design, cells, case["domain"])
    want = case["expected"]
    for key in ("estimate", "se", "ci_low", "ci_high"):
        assert close(getattr(got, key), want[key]), (key, getattr(got, key), want[key])
    assert got.df == want["df"] and got.n == want["n"] and got.method == "difference"


@pytest.mark.parametrize("case", CASES[:3], ids=lambda c: c["id"])
def test_gap_is_not_the_independent_difference(case):
    """Treating the unit and the province as independent overstates the SE here."""
    design, cells = _setup(case)
    unit = from_sums(design, cells)[case["domain"]]
    whole = dict(cells, domain=np.zeros(len(cells["n"]), dtype=np.int64))
    province = from_sums(design, whole)[0]
    naive = independent_difference(unit, province)
    got = gap_from_sums(design, cells, case["domain"])
    assert close(got.estimate, naive.estimate)
    assert not close(got.se, naive.se)
    assert got.se < naive.se


def test_unknown_domain_is_an_error():
    design, cells = _setup(CASES[0])
    with pytest.raises(ValueError):
        gap_from_sums(design, cells, "nowhere")
