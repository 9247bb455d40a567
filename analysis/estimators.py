"""Weighted means and proportions with design-based SEs, intervals, deff and n_eff.

Every function takes a :class:`~analysis.design.Design` and returns frozen
:class:`Estimate` objects (or, for many domains at once, columns of arrays).  Domains are
estimated over the full design (an indicator, not a subset), as R ``survey`` does when a
design is subset or passed through ``svyby``.

deff follows ``svymean(..., deff=TRUE)``: Var / (s^2 (1 - n/N) / n) with s^2 R's
``svyvar`` and N the sum of weights; when N <= n R gives NA (or Inf) and we give NaN.
n_eff = n / deff.
"""
from __future__ import annotations

from typing import Any, Hashable

import numpy as np

from . import intervals
from .design import Design, DesignError
from .estimate import MAX_HALF_WIDTH, MIN_N, Estimate, is_reliable
from .linearization import Moments, all_strata_cells, psu_cells, row_moments, stratum_variance
from .sums import Table, column, moments_from_sums

CI_METHODS = ("mean", "logit", "beta", "wilson")


def columns_from_moments(m: Moments, ci: str = "mean", level: float = 0.95
                         ) -> dict[str, np.ndarray]:
    """Estimate columns (estimate, se, ci_low, ci_high, n, n_eff, deff, df) for domains."""
    if ci not in CI_METHODS:
        raise DesignError(f"ci must be one of {', '.join(CI_METHODS)}; got {ci!r}")
    if not 0 < level < 1:
        raise DesignError("level must be between 0 and 1")
    se = np.sqrt(m.var)
    n = m.n.astype(float)
    if ci == "mean":
        lo, hi = intervals.t_interval(m.estimate, se, m.df, level)
    elif ci == "logit":
        lo, hi = intervals.logit_interval(m.estimate, m.var, n, m.df, level)
    elif ci == "beta":
        lo, hi = intervals.beta_interval(m.estimate, m.var, n, m.df, level)
    else:
        lo, hi = intervals.wilson_interval(m.estimate, n, level)
    with np.errstate(divide="ignore", invalid="ignore"):
        vsrs = np.where(m.sum_w > n, m.unit_var * (m.sum_w - n) / (m.sum_w * n), np.nan)
        deff = m.var / vsrs
        n_eff = n / deff
    return {"estimate": m.estimate, "se": se, "ci_low": lo, "ci_high": hi, "n": m.n,
            "n_eff": n_eff, "deff": deff, "df": m.df}


def _to_estimates(cols: dict[str, np.ndarray], ci: str, level: float,
                  max_half_width: float = MAX_HALF_WIDTH) -> list[Estimate]:
    # The estimators do not know y's scale: the reliability rule is applied as for a share
    # (10 points) unless the caller of mean() names its own limit.
    out = []
    for i in range(len(cols["estimate"])):
        lo, hi, n = float(cols["ci_low"][i]), float(cols["ci_high"][i]), int(cols["n"][i])
        out.append(Estimate(estimate=float(cols["estimate"][i]), se=float(cols["se"][i]),
                            ci_low=lo, ci_high=hi, n=n, n_eff=float(cols["n_eff"][i]),
                            deff=float(cols["deff"][i]), df=int(cols["df"][i]), level=level,
                            method=ci, reliable=is_reliable(n, lo, hi, max_half_width)))
    return out


def _check_binary(y: np.ndarray) -> None:
    ok = np.isnan(y) | (y == 0) | (y == 1)
    if not np.all(ok):
        raise DesignError("a proportion needs a 0/1 variable")


def _check_rows(design: Design, y: Any) -> np.ndarray:
    if not design.has_rows:
        raise DesignError("this design was built from aggregates; use the *_from_sums "
                          "functions")
    arr = np.asarray(y, dtype=float)
    if arr.shape != (design.n_rows,):
        raise DesignError(f"y must have one value per row ({design.n_rows})")
    return arr


def _check_wilson(design: Design, rows: np.ndarray) -> None:
    w = design.rows()[0][rows]
    if len(w) and (np.ptp(w) > 1e-12 * w.max() or not design.elements
                   or len(design.strata) > 1):
        raise DesignError("the Wilson interval is for unweighted simple random samples; "
                          "use logit or beta")


def by(design: Design, y: Any, groups: Any, proportion: bool = False,
       ci: str = "mean", level: float = 0.95) -> dict[Hashable, Estimate]:
    """Estimates per group (R ``svyby``); rows with a missing group label are skipped."""
    yv = _check_rows(design, y)
    if proportion:
        _check_binary(yv)
    g = np.asarray(groups)
    if g.shape != yv.shape:
        raise DesignError("groups must have one value per row")
    missing = np.array([v is None or v != v for v in g]) if g.dtype == object \
        else (np.isnan(g) if g.dtype.kind == "f" else np.zeros(len(g), bool))
    labels, codes = np.unique(g[~missing], return_inverse=True)
    domain = np.full(len(g), -1, dtype=np.int64)
    domain[~missing] = codes
    if ci == "wilson":
        _check_wilson(design, np.flatnonzero(~missing))
    cols = columns_from_moments(row_moments(design, yv, domain, len(labels)), ci, level)
    return dict(zip(labels.tolist(), _to_estimates(cols, ci, level)))


def mean(design: Design, y: Any, domain: Any = None, level: float = 0.95,
         max_half_width: float = MAX_HALF_WIDTH) -> Estimate:
    """Weighted mean of y (in a domain given as a boolean mask) with a t interval.

    ``max_half_width``: the widest interval still reliable, on y's scale (default 10 points
    of a share; a 1-5 score takes analysis.indices.MAX_HALF_WIDTH["score"]).
    """
    return _one(design, y, domain, False, "mean", level, max_half_width)


def proportion(design: Design, y: Any, domain: Any = None, ci: str = "logit",
               level: float = 0.95) -> Estimate:
    """Weighted proportion of a 0/1 variable with a logit, beta, Wilson or t interval."""
    return _one(design, y, domain, True, ci, level)


def _one(design: Design, y: Any, domain: Any, is_prop: bool, ci: str,
         level: float, max_half_width: float = MAX_HALF_WIDTH) -> Estimate:
    yv = _check_rows(design, y)
    mask = np.ones(len(yv), bool) if domain is None else np.asarray(domain, dtype=bool)
    if is_prop:
        _check_binary(yv)
    if ci == "wilson":
        _check_wilson(design, np.flatnonzero(mask))
    codes = np.where(mask, 0, -1)
    cols = columns_from_moments(row_moments(design, yv, codes, 1), ci, level)
    return _to_estimates(cols, ci, level, max_half_width)[0]


def from_sums(design: Design, table: Table | np.ndarray, ci: str = "mean",
              level: float = 0.95) -> dict[Hashable, Estimate]:
    """Estimates per domain from a cell table (see :mod:`analysis.sums`)."""
    labels, m = moments_from_sums(design, table)
    cols = columns_from_moments(m, ci, level)
    return dict(zip(labels.tolist(), _to_estimates(cols, ci, level)))


def _difference_estimate(design: Design, est: float, cell_dom: np.ndarray,
                         cell_h: np.ndarray, t1: np.ndarray, t2: np.ndarray,
                         n: tuple[int, int], level: float) -> Estimate:
    """The contrast a - b within one design; ``n`` is the rows of the two domains."""
    # R: svyby(..., covmat=TRUE) then svycontrast: the covariance is computed over the
    # full design, so every stratum is present; confint uses degf(design).
    extra_dom, extra_h = all_strata_cells(design, 1)
    var, _ = stratum_variance(design, np.concatenate([cell_dom, extra_dom]),
                              np.concatenate([cell_h, extra_h]),
                              np.concatenate([t1, np.zeros(len(extra_h))]),
                              np.concatenate([t2, np.zeros(len(extra_h))]), 1)
    se = float(np.sqrt(var[0]))
    lo, hi = intervals.t_interval(np.array(est), np.array(se), np.array(design.df), level)
    # Reliable when both domains have enough rows and the interval exists; the 10-point
    # width rule is for levels, not for contrasts (a real change is often narrower).
    ok = min(n) >= MIN_N and bool(np.isfinite(lo) and np.isfinite(hi))
    return Estimate(estimate=est, se=se, ci_low=float(lo), ci_high=float(hi), n=sum(n),
                    n_eff=float("nan"), deff=float("nan"), df=design.df, level=level,
                    method="difference", reliable=ok)


def difference(design: Design, y: Any, domain_a: Any, domain_b: Any,
               level: float = 0.95) -> Estimate:
    """Mean of y in domain a minus mean in domain b, with covariance from shared PSUs."""
    yv = _check_rows(design, y)
    ok = ~np.isnan(yv)
    a, b = np.asarray(domain_a, bool) & ok, np.asarray(domain_b, bool) & ok
    w = design.rows()[0]
    za = np.zeros(len(yv))
    zb = np.zeros(len(yv))
    ests = []
    for mask, z in ((a, za), (b, zb)):
        if not mask.any():
            raise DesignError("a domain of the difference has no rows")
        sw = w[mask].sum()
        ybar = (w[mask] * yv[mask]).sum() / sw
        z[mask] = w[mask] * (yv[mask] - ybar) / sw
        ests.append(ybar)
    rows = np.flatnonzero(a | b)
    cell_dom, cell_h, t1, _ = psu_cells(design, rows, np.zeros(len(rows), np.int64),
                                        (za - zb)[rows], 1)
    return _difference_estimate(design, float(ests[0] - ests[1]), cell_dom, cell_h, t1,
                                t1**2, (int(a.sum()), int(b.sum())), level)


def difference_from_sums(design: Design, table: Table | np.ndarray, domain_a: Hashable,
                         domain_b: Hashable, level: float = 0.95) -> Estimate:
    """Difference of two domains of a cell table.

    Clustered cells are matched on (stratum, psu), so PSUs the domains share give their
    covariance.  Element cells cannot show responses in both domains; the domains are
    taken to be disjoint (true for different units or periods).
    """
    dom = column(table, "domain")
    parts = []
    for label in (domain_a, domain_b):
        sel = dom == label
        if not sel.any():
            raise DesignError(f"domain {label!r} is not in the table")
        sub = {k: column(table, k)[sel] for k in _table_names(table)}
        sub["domain"] = np.zeros(int(sel.sum()), dtype=np.int64)
        _, m = moments_from_sums(design, sub)
        parts.append((sub, m))
    (sa, ma), (sb, mb) = parts
    z = []
    for sub, m in parts:
        live = sub["n"] > 0
        z.append((sub["sum_wy"][live] - m.estimate[0] * sub["sum_w"][live]) / m.sum_w[0])
    ha = design.stratum_index(sa["stratum"][sa["n"] > 0])
    hb = design.stratum_index(sb["stratum"][sb["n"] > 0])
    if design.elements:
        t2 = [_element_t2(sub, m) for sub, m in parts]
        cell_h = np.concatenate([ha, hb])
        t1 = np.concatenate([z[0], -z[1]])
        t2c = np.concatenate(t2)
    else:
        pa, pb = sa["psu"][sa["n"] > 0], sb["psu"][sb["n"] > 0]
        keys = np.concatenate([ha.astype(str).astype(object) + "\x00" + pa.astype(str),
                               hb.astype(str).astype(object) + "\x00" + pb.astype(str)])
        uniq, first, inv = np.unique(keys, return_index=True, return_inverse=True)
        t1 = np.bincount(inv, weights=np.concatenate([z[0], -z[1]]), minlength=len(uniq))
        cell_h = np.concatenate([ha, hb])[first]
        t2c = t1**2
    est = float(ma.estimate[0] - mb.estimate[0])
    return _difference_estimate(design, est, np.zeros(len(cell_h), np.int64), cell_h, t1,
                                t2c, (int(ma.n[0]), int(mb.n[0])), level)


def independent_difference(a: Estimate, b: Estimate, level: float = 0.95) -> Estimate:
    """a - b for two estimates from independent samples: one unit in two periods, two units.

    Their responses and strata are disjoint (strata are unit x field x period), so they are
    one design with no shared stratum, and R's ``svyby(..., covmat=TRUE)`` + ``svycontrast``
    gives Var = Var(a) + Var(b), the covariance being 0.  The t interval uses that design's
    ``degf``: PSUs minus strata of both samples, i.e. **df = df_a + df_b** (checked against R
    in tests/analysis/test_analysis_constant.py).  Always a t interval on the difference
    itself, even when a and b are proportions with logit intervals: the difference of two
    proportions has no logit scale.  It is reliable when both a and b are.  The keys (unit,
    period, stat, measure) are a's where b has the same, else None (a unit's change keeps
    its unit; the difference of two units has no unit).
    """
    se = float(np.hypot(a.se, b.se))
    df = int(a.df) + int(b.df)
    est = float(a.estimate - b.estimate)
    lo, hi = intervals.t_interval(np.array(est), np.array(se), np.array(df), level)
    return Estimate(estimate=est, se=se, ci_low=float(lo), ci_high=float(hi),
                    n=int(a.n) + int(b.n), n_eff=float("nan"), deff=float("nan"), df=df,
                    level=level, method="independent_difference",
                    reliable=a.reliable and b.reliable,
                    unit=a.unit if a.unit == b.unit else None,
                    period=a.period if a.period == b.period else None,
                    stat=a.stat if a.stat == b.stat else None,
                    measure=a.measure if a.measure == b.measure else None)


def _element_t2(sub: dict[str, np.ndarray], m: Moments) -> np.ndarray:
    live = sub["n"] > 0
    ybar = float(m.estimate[0])
    t2: np.ndarray = (sub["sum_w2y2"][live] - 2 * ybar * sub["sum_w2y"][live]
                      + ybar**2 * sub["sum_w2"][live]) / float(m.sum_w[0]) ** 2
    return t2


def _table_names(table: Table | np.ndarray) -> list[str]:
    if isinstance(table, np.ndarray):
        return list(table.dtype.names or ())
    return list(table.keys())
