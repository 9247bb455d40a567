"""Rao-Scott and Wald tests across groups against R `survey` (reference/make_crosstab.R).

Each case is checked from rows (any design) and, for the element design, from the
per-(stratum, group, answer) sums the SQL GROUP BY gives.
"""
from __future__ import annotations

import json
import math
from collections import defaultdict

import numpy as np
import pytest
from analysis_fixtures import REFERENCE

from analysis import Design
from analysis.crosstab import rao_scott, rao_scott_rows, wald_means, wald_means_rows

CASES = json.loads((REFERENCE / "expected_crosstab.json").read_text())["cases"]
RTOL = 1e-6


def design_of(data, lonely):
    return Design.from_arrays(weights=data["w"], strata=data["stratum"],
                              psu=data.get("psu"), lonely_psu=lonely)


def agree(test, want):
    for field in ("statistic", "ndf", "ddf", "p_value", "chisq"):
        if field in want:
            got = getattr(test, field)
            assert math.isclose(got, want[field], rel_tol=RTOL), (field, got, want[field])


def labels(values):
    return np.array([str(int(v)) if isinstance(v, float) else str(v) for v in values])


@pytest.mark.parametrize("case", CASES, ids=lambda c: c["id"])
def test_rows_match_r(case, data_sets):
    data = data_sets[case["file"]]
    design = design_of(data, case["lonely"])
    if case["kind"] == "rao-scott":
        test = rao_scott_rows(design, labels(data[case["row"]]), labels(data[case["col"]]))
    else:
        test = wald_means_rows(design, data[case["y"]], labels(data[case["group"]]))
    agree(test, case["expected"])
    assert test.method == case["kind"]


def sums(data, keys, y=None):
    """The GROUP BY (stratum, keys...) with n, Σw, Σw², and Σwy, Σw²y, Σw²y² for y."""
    acc = defaultdict(lambda: np.zeros(6))
    for i in range(len(data["w"])):
        key = (data["stratum"][i],) + tuple(labels(data[k])[i] for k in keys)
        if "" in key:  # a missing group: not in the table (SQL: an inner join)
            continue
        w = float(data["w"][i])
        v = 0.0 if y is None else float(data[y][i])
        acc[key] += (1, w, w * w, w * v, w * w * v, w * w * v * v)
    cols = list(zip(*acc.keys()))
    values = np.array(list(acc.values()))
    return cols, values


@pytest.mark.parametrize("case", [c for c in CASES if c["file"] == "crosstab_element"],
                         ids=lambda c: c["id"])
def test_sums_match_r(case, data_sets):
    data = data_sets[case["file"]]
    n = len(data["w"])
    strata, counts = np.unique(data["stratum"], return_counts=True)
    design = Design.from_aggregates(strata, counts, lonely_psu=case["lonely"])
    assert n == counts.sum()  # every response in the frame, in the table or not
    if case["kind"] == "rao-scott":
        (h, r, c), v = sums(data, (case["row"], case["col"]))
        test = rao_scott(design, np.array(h), r, c, v[:, 0], v[:, 1], v[:, 2])
    else:
        (h, g), v = sums(data, (case["group"],), case["y"])
        test = wald_means(design, np.array(h), g, v[:, 0], v[:, 1], v[:, 3], v[:, 2], v[:, 4],
                          v[:, 5])
    agree(test, case["expected"])


def test_the_design_matters(data_sets):
    """Ignoring weights and strata gives another answer: the fixture can catch a lost design."""
    case = next(c for c in CASES if c["id"] == "crosstab_element-g-a")
    data = data_sets[case["file"]]
    srs = Design.from_arrays(n=len(data["w"]))
    test = rao_scott_rows(srs, labels(data["g"]), labels(data["a"]))
    assert not math.isclose(test.statistic, case["expected"]["statistic"], rel_tol=1e-3)


def test_one_group_is_not_testable():
    design = Design.from_arrays(n=6)
    test = rao_scott_rows(design, ["a"] * 6, ["x", "y", "x", "y", "x", "x"])
    assert not test.testable and not test.significant
