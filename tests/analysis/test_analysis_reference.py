"""Agreement with R ``survey`` 4.x to 1e-6 relative, on the committed fixtures.

Each case is checked twice: from row arrays and from the aggregate (cell) table that the
SQL GROUP BY would give.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from analysis_fixtures import reference_cases

from analysis import (
    Design,
    LonelyPSUError,
    by,
    difference,
    difference_from_sums,
    frame_from_rows,
    from_sums,
    jackknife,
    mean,
    proportion,
    sums_from_rows,
)

CASES = reference_cases()
RTOL = 1e-6


def close(got: float, want: float) -> bool:
    return math.isclose(got, want, rel_tol=RTOL, abs_tol=1e-12)


def build_design(data, spec) -> Design:
    return Design.from_arrays(
        weights=data[spec["weights"]] if spec["weights"] else None,
        strata=data[spec["strata"]] if spec["strata"] else None,
        psu=data[spec["psu"]] if spec["psu"] else None,
        lonely_psu=spec["lonely"], n=len(data["y"]))


def check(est, want, fields=("estimate", "se", "ci_low", "ci_high")):
    for f in fields:
        if f in want:
            assert close(getattr(est, f), want[f]), (f, getattr(est, f), want[f])
    if want.get("deff") is not None:
        assert close(est.deff, want["deff"]), ("deff", est.deff, want["deff"])
        assert close(est.n_eff, est.n / want["deff"])
    for f in ("df", "n"):
        if f in want:
            assert getattr(est, f) == want[f], (f, getattr(est, f), want[f])


def mask_of(data, case):
    dom = case["domain"]
    return None if dom is None else data[dom["col"]] == dom["value"]


def ids(kind):
    return [c for c in CASES if c["stat"] in kind]


@pytest.mark.parametrize("case", ids(("mean", "proportion")), ids=lambda c: c["id"])
def test_rows_match_r(case, data_sets):
    data = data_sets[case["file"]]
    design = build_design(data, case["design"])
    want = case["expected"]
    y, mask = data[case["y"]], mask_of(data, case)

    def run():
        if case["stat"] == "mean":
            return mean(design, y, domain=mask, level=case["level"])
        return proportion(design, y, domain=mask, ci=case["ci"], level=case["level"])

    if "error" in want:
        with pytest.raises(LonelyPSUError):
            run()
        return
    check(run(), want)


@pytest.mark.parametrize("case", [c for c in ids(("mean", "proportion"))
                                  if c["ci"] != "wilson"], ids=lambda c: c["id"])
def test_aggregates_match_r(case, data_sets):
    data = data_sets[case["file"]]
    spec, want = case["design"], case["expected"]
    n = len(data["y"])
    w = data[spec["weights"]] if spec["weights"] else np.ones(n)
    strata = data[spec["strata"]] if spec["strata"] else np.zeros(n, dtype=int)
    psu = data[spec["psu"]] if spec["psu"] else None
    domain = (data[case["domain"]["col"]] if case["domain"] else np.full(n, "all"))
    label = case["domain"]["value"] if case["domain"] else "all"
    frame = frame_from_rows(strata, psu)
    design = Design.from_aggregates(frame["stratum"], frame["n_psu"], spec["lonely"],
                                    elements=psu is None)
    table = sums_from_rows(data[case["y"]], w, strata, domain, psu)
    # Only the requested domain, as R estimates it (other domains may meet a lonely PSU).
    table = {k: v[table["domain"] == label] for k, v in table.items()}
    ci = "mean" if case["stat"] == "mean" else case["ci"]
    if "error" in want:
        with pytest.raises(LonelyPSUError):
            from_sums(design, table, ci=ci, level=case["level"])
        return
    check(from_sums(design, table, ci=ci, level=case["level"])[label], want)


@pytest.mark.parametrize("case", [c for c in ids(("mean",)) if c["domain"]
                                  and "error" not in c["expected"]], ids=lambda c: c["id"])
def test_by_matches_single_domain(case, data_sets):
    """svyby over all groups gives the same as each domain on its own (and as R)."""
    data = data_sets[case["file"]]
    design = build_design(data, case["design"])
    try:
        res = by(design, data["y"], data["g"], level=case["level"])
    except LonelyPSUError:
        pytest.skip("another group meets the lonely stratum")
    check(res[case["domain"]["value"]], case["expected"])


@pytest.mark.parametrize("case", ids(("difference",)), ids=lambda c: c["id"])
def test_difference_matches_r(case, data_sets):
    data = data_sets[case["file"]]
    design = build_design(data, case["design"])
    dom = case["domain"]
    a, b = data[dom["col"]] == dom["a"], data[dom["col"]] == dom["b"]
    check(difference(design, data["y"], a, b), case["expected"])


@pytest.mark.parametrize("case", ids(("difference",)), ids=lambda c: c["id"])
def test_difference_from_sums_matches_r(case, data_sets):
    data = data_sets[case["file"]]
    spec, dom = case["design"], case["domain"]
    n = len(data["y"])
    strata = data[spec["strata"]] if spec["strata"] else np.zeros(n, dtype=int)
    psu = data[spec["psu"]] if spec["psu"] else None
    frame = frame_from_rows(strata, psu)
    design = Design.from_aggregates(frame["stratum"], frame["n_psu"], spec["lonely"],
                                    elements=psu is None)
    table = sums_from_rows(data["y"], data[spec["weights"]], strata, data[dom["col"]], psu)
    check(difference_from_sums(design, table, dom["a"], dom["b"]), case["expected"])


@pytest.mark.parametrize("case", ids(("JK1", "JKn")), ids=lambda c: c["id"])
def test_jackknife_matches_r(case, data_sets):
    data = data_sets[case["file"]]
    design = build_design(data, case["design"])
    est = jackknife(design, data["y"], kind=case["stat"], domain=mask_of(data, case))
    check(est, case["expected"])


def test_fixtures_cover_the_spec():
    """Guard against a regenerated fixture silently dropping designs."""
    got = {c["id"] for c in CASES}
    for rule in ("certainty", "adjust", "average", "error"):
        assert f"lonely_{rule}_mean" in got and f"element_lonely_{rule}_ga_mean" in got
    assert {"srs_ga_wilson", "clus_gb_prop_beta", "clus_diff_ab", "clus_JKn"} <= got
    assert len(CASES) >= 150
