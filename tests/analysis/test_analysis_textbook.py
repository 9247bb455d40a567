"""Hand-checkable cases whose answers come from textbooks, not from our code."""
from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest

from analysis import Design, DesignError, difference, mean, proportion


@pytest.mark.parametrize("k, n, low, high", [
    # Newcombe (1998), Stat Med 17:857, Table II, method 3 (Wilson score, no correction).
    (81, 263, 0.2553, 0.3662),
    (15, 148, 0.0624, 0.1605),
    (0, 20, 0.0000, 0.1611),
    (1, 29, 0.0061, 0.1718),
])
def test_wilson_newcombe_table(k, n, low, high):
    y = np.array([1.0] * k + [0.0] * (n - k))
    est = proportion(Design.from_arrays(n=n), y, ci="wilson")
    assert est.estimate == pytest.approx(k / n)
    assert round(est.ci_low, 4) == pytest.approx(low, abs=1e-9)
    assert round(est.ci_high, 4) == pytest.approx(high, abs=1e-9)


def test_wilson_refuses_weighted_data():
    with pytest.raises(DesignError, match="Wilson"):
        proportion(Design.from_arrays(weights=[1.0, 2.0, 3.0]), [0, 1, 1], ci="wilson")


def test_srs_proportion_se_is_textbook():
    # SRS with replacement: Var(p) = p(1-p)/(n-1) (Cochran 1977, eq. 3.8 without fpc).
    y = np.array([1] * 30 + [0] * 70, dtype=float)
    est = proportion(Design.from_arrays(n=100), y, ci="mean")
    assert est.se == pytest.approx(math.sqrt(0.3 * 0.7 / 99), rel=1e-12)
    assert est.df == 99


def test_stratified_mean_textbook_formula():
    """Lohr (2010) eq. 3.2/3.5 without fpc: ybar_st = sum W_h ybar_h,
    V = sum W_h^2 s_h^2 / n_h, with weights N_h/n_h; computed here in exact fractions."""
    strata = {"A": ([2, 4, 6, 8], 400), "B": ([10, 12, 11], 300), "C": ([1, 3], 100)}
    big_n = sum(N for _, N in strata.values())
    ybar = Fraction(0)
    var = Fraction(0)
    ys, ws, hs = [], [], []
    for h, (vals, N) in strata.items():
        n = len(vals)
        m = Fraction(sum(vals), n)
        s2 = sum((Fraction(v) - m) ** 2 for v in vals) / (n - 1)
        ybar += Fraction(N, big_n) * m
        var += Fraction(N, big_n) ** 2 * s2 / n
        ys += vals
        ws += [N / n] * n
        hs += [h] * n
    est = mean(Design.from_arrays(weights=ws, strata=hs), ys)
    assert est.estimate == pytest.approx(float(ybar), rel=1e-12)
    assert est.se == pytest.approx(math.sqrt(var), rel=1e-12)
    assert est.df == 9 - 3


def test_one_stage_cluster_ratio_formula():
    """Lohr (2010) eq. 5.8 without fpc, equal weights: ybar = sum t_i / sum M_i,
    V = sum (t_i - ybar M_i)^2 / (n (n-1) Mbar^2)."""
    clusters = [[3, 4, 5], [1, 2], [5, 5, 4, 4], [2, 3, 3]]
    t = [sum(c) for c in clusters]
    m = [len(c) for c in clusters]
    n = len(clusters)
    ybar = Fraction(sum(t), sum(m))
    mbar = Fraction(sum(m), n)
    var = sum((ti - ybar * mi) ** 2 for ti, mi in zip(t, m)) / (n * (n - 1) * mbar**2)
    ys = [v for c in clusters for v in c]
    ids = [i for i, c in enumerate(clusters) for _ in c]
    est = mean(Design.from_arrays(psu=ids), ys)
    assert est.estimate == pytest.approx(float(ybar), rel=1e-12)
    assert est.se == pytest.approx(math.sqrt(var), rel=1e-12)
    assert est.df == n - 1


def test_difference_of_independent_strata_adds_variances():
    """Two domains in different strata: Var(a - b) = Var(a) + Var(b)."""
    rng = np.random.default_rng(3)
    y = rng.integers(1, 6, 60).astype(float)
    h = np.repeat(["u1", "u2"], 30)
    w = np.repeat([5.0, 9.0], 30)
    design = Design.from_arrays(weights=w, strata=h)
    a, b = h == "u1", h == "u2"
    d = difference(design, y, a, b)
    ea, eb = mean(design, y, domain=a), mean(design, y, domain=b)
    assert d.estimate == pytest.approx(ea.estimate - eb.estimate)
    assert d.se == pytest.approx(math.hypot(ea.se, eb.se), rel=1e-12)
