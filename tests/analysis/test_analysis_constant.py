"""Domains whose values are all equal get SE exactly 0 (R: 0, not rounding noise), from rows
and from sums; a period-to-period change is R's svycontrast on the joint design.

Fixtures: tests/analysis/reference/make_constant.R (R survey), committed; CI has no R.
"""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
from analysis_fixtures import REFERENCE, load_csv

from analysis import Design, frame_from_rows, from_sums, independent_difference, jackknife, mean, sums_from_rows

CASES = json.loads((REFERENCE / "expected_constant.json").read_text())["cases"]
CONSTANT = [c for c in CASES if c["id"].startswith("constant_")]


def close(got: float, want: float) -> bool:
    return math.isclose(got, want, rel_tol=1e-6, abs_tol=1e-12)


def _design_and_sums(case):
    d = load_csv(case["file"])
    psu = d["psu"] if case["psu"] else None
    rows = Design.from_arrays(weights=d["w"], strata=d["stratum"], psu=psu, lonely_psu="adjust")
    frame = frame_from_rows(d["stratum"], psu)
    agg = Design.from_aggregates(frame["stratum"], frame["n_psu"], lonely_psu="adjust",
                                 elements=psu is None)
    cells = sums_from_rows(d[case["y"]], d["w"], d["stratum"], d["g"], psu)
    return d, rows, agg, cells


def _check(est, want):
    for key in ("estimate", "se", "ci_low", "ci_high"):
        assert close(getattr(est, key), want[key]), (key, getattr(est, key), want[key])
    assert est.df == want["df"] and est.n == want["n"]
    if want["deff"] is None:
        assert math.isnan(est.deff)        # R: NaN (0/0)
    else:
        assert close(est.deff, want["deff"])
    if want["se"] == 0:
        assert est.se == 0.0 and est.ci_low == est.ci_high == est.estimate


@pytest.mark.parametrize("case", CONSTANT, ids=lambda c: c["id"])
def test_rows_match_r(case):
    d, rows, _, _ = _design_and_sums(case)
    _check(mean(rows, d[case["y"]], d["g"] == case["domain"]), case["expected"])


@pytest.mark.parametrize("case", CONSTANT, ids=lambda c: c["id"])
def test_sums_match_r(case):
    _, _, agg, cells = _design_and_sums(case)
    _check(from_sums(agg, cells)[case["domain"]], case["expected"])


def test_the_sums_path_gives_rounding_noise_without_the_exact_branch(monkeypatch):
    """The fixtures are real cases: without the branch the constant domains' SE is ~1e-9."""
    import analysis.linearization

    monkeypatch.setattr(analysis.linearization, "CONSTANT_TOL", -1.0)
    for case in CONSTANT:
        if case["file"] == "constant_element" and case["domain"] == "a":
            _, _, agg, cells = _design_and_sums(case)
            assert 0 < from_sums(agg, cells)["a"].se < 1e-6, case["id"]


def test_jackknife_of_a_constant_domain_is_exact_zero():
    d = load_csv("constant_clus")
    design = Design.from_arrays(weights=d["w"], strata=d["stratum"], psu=d["psu"])
    est = jackknife(design, d["z"], "JKn", d["g"] == "a")
    assert est.se == 0.0 and est.estimate == pytest.approx(2 / 3)


def test_period_change_is_svycontrast_on_the_joint_design():
    [case] = [c for c in CASES if c["id"] == "change_P2_minus_P1"]
    d = load_csv("change_periods")
    per = {}
    for p in ("P1", "P2"):
        sel = d["period"] == p
        design = Design.from_arrays(weights=d["w"][sel], strata=d["stratum"][sel])
        per[p] = mean(design, d["y"][sel])
    got = independent_difference(per["P2"], per["P1"])
    want = case["expected"]
    for key in ("estimate", "se", "ci_low", "ci_high"):
        assert close(getattr(got, key), want[key]), (key, getattr(got, key), want[key])
    assert got.df == want["df"] == per["P1"].df + per["P2"].df
    # The one estimate type, naming the interval it got (what the report prints).
    assert type(got) is type(per["P1"]) and got.method == "independent_difference"
    assert got.reliable == (per["P1"].reliable and per["P2"].reliable)
    # Not a normal interval: z = 1.96 would be narrower than R's t on 119 df.
    assert got.ci_high - got.ci_low > 2 * 1.96 * got.se
    assert np.isclose(got.ci_high - got.estimate, got.estimate - got.ci_low)
