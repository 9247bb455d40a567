"""Hypothesis properties of the estimators (the reference numbers live elsewhere)."""
from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis import Design, by, frame_from_rows, from_sums, mean, proportion, sums_from_rows

FIELDS = ("estimate", "se", "ci_low", "ci_high")


@st.composite
def samples(draw, binary=False, clustered=None):
    """A stratified (optionally clustered) sample with no lonely PSU, y and a domain."""
    clustered = draw(st.booleans()) if clustered is None else clustered
    n_strata = draw(st.integers(1, 4))
    strata, psus = [], []
    for h in range(n_strata):
        for p in range(draw(st.integers(2, 4))):
            size = draw(st.integers(1, 5)) if clustered else 1
            strata += [f"h{h}"] * size
            psus += [f"h{h}p{p}"] * size
    n = len(strata)
    y = draw(st.lists(st.integers(0, 1) if binary else st.integers(1, 5), min_size=n,
                      max_size=n))
    w = draw(st.lists(st.floats(0.5, 50), min_size=n, max_size=n))
    dom = draw(st.lists(st.sampled_from(["a", "b"]), min_size=n, max_size=n))
    return {"y": np.array(y, float), "w": np.array(w), "h": np.array(strata),
            "psu": np.array(psus) if clustered else None, "g": np.array(dom)}


def design_of(s, order=None, scale=1.0):
    idx = np.arange(len(s["y"])) if order is None else order
    return Design.from_arrays(weights=s["w"][idx] * scale, strata=s["h"][idx],
                              psu=None if s["psu"] is None else s["psu"][idx])


def same(a, b, fields=FIELDS, rel=1e-9, abs_tol=1e-12):
    for f in fields:
        x, y = getattr(a, f), getattr(b, f)
        assert (math.isnan(x) and math.isnan(y)) or math.isclose(x, y, rel_tol=rel,
                                                                 abs_tol=abs_tol), (f, x, y)


@settings(max_examples=60, deadline=None)
@given(samples(), st.randoms(use_true_random=False))
def test_row_order_does_not_matter(s, rnd):
    order = np.array(rnd.sample(range(len(s["y"])), len(s["y"])))
    a = by(design_of(s), s["y"], s["g"])
    b = by(design_of(s, order), s["y"][order], s["g"][order])
    assert a.keys() == b.keys()
    for k in a:
        same(a[k], b[k], FIELDS + ("deff",))
        assert (a[k].n, a[k].df) == (b[k].n, b[k].df)


@settings(max_examples=60, deadline=None)
@given(samples(binary=True), st.floats(0.01, 1000))
def test_weight_scale_does_not_matter(s, c):
    for ci in ("logit", "beta", "mean"):
        same(proportion(design_of(s), s["y"], ci=ci),
             proportion(design_of(s, scale=c), s["y"], ci=ci), rel=1e-7)


@settings(max_examples=80, deadline=None)
@given(samples(binary=True))
def test_intervals_contain_estimate_and_stay_in_0_1(s):
    for ci in ("logit", "beta", "mean"):
        e = proportion(design_of(s), s["y"], ci=ci, domain=s["g"] == "a")
        if e.n == 0 or e.df <= 0:
            continue
        assert e.ci_low <= e.estimate + 1e-12 and e.estimate <= e.ci_high + 1e-12
        if ci != "mean":
            assert 0 <= e.ci_low and e.ci_high <= 1


@settings(max_examples=80, deadline=None)
@given(samples())
def test_aggregate_path_equals_row_path(s):
    frame = frame_from_rows(s["h"], s["psu"])
    agg_design = Design.from_aggregates(frame["stratum"], frame["n_psu"],
                                        elements=s["psu"] is None)
    table = sums_from_rows(s["y"], s["w"], s["h"], s["g"], s["psu"])
    agg = from_sums(agg_design, table)
    rows = by(design_of(s), s["y"], s["g"])
    assert agg.keys() == rows.keys()
    for k in rows:
        # Raw-moment sums cancel when a domain's y barely varies: an SE that is truly 0
        # comes out near sqrt(machine eps) * scale (see analysis.sums), hence abs_tol.
        same(agg[k], rows[k], ("estimate",), rel=1e-9)
        same(agg[k], rows[k], ("se", "ci_low", "ci_high"), rel=1e-7, abs_tol=1e-6)
        if rows[k].se > 1e-3:
            same(agg[k], rows[k], ("deff",), rel=1e-6)
        assert (agg[k].n, agg[k].df) == (rows[k].n, rows[k].df)


@settings(max_examples=40, deadline=None)
@given(samples(), st.integers(2, 5))
def test_strata_outside_the_domain_do_not_matter(s, extra):
    """Adding a stratum with no domain rows leaves the domain's estimate and SE alone."""
    mask = s["g"] == "a"
    if not mask.any():
        return
    before = mean(design_of(s), s["y"], domain=mask)
    psu = None if s["psu"] is None else np.concatenate([s["psu"], [f"x{i}" for i in
                                                                   range(extra)]])
    grown = Design.from_arrays(weights=np.concatenate([s["w"], np.full(extra, 3.0)]),
                               strata=np.concatenate([s["h"], np.full(extra, "zz")]),
                               psu=psu)
    after = mean(grown, np.concatenate([s["y"], np.full(extra, 9.0)]),
                 domain=np.concatenate([mask, np.zeros(extra, bool)]))
    same(before, after)
    assert math.isclose(before.estimate, np.average(s["y"][mask], weights=s["w"][mask]),
                        rel_tol=1e-12)
