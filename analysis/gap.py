"""A domain against the whole it belongs to: unit − province, with its design-based interval.

The unit is part of the province, so ``unit − province`` is not a difference of two
independent estimates (analysis.independent_difference would count the unit's own
variance twice and miss the covariance).  Both means are ratios on the SAME design:

    gap = Ybar_u − Ybar_P,   Ybar_u = Σ_u w·y / Σ_u w,   Ybar_P = Σ w·y / Σ w.

Taylor linearization of the difference of two ratios gives the influence value of row i

    z_i = 1{i∈u} · w_i (y_i − Ybar_u) / W_u  −  w_i (y_i − Ybar_P) / W_P,

i.e. z_i = w_i (a·y_i + b) with, for rows of the unit,  a = 1/W_u − 1/W_P,
b = −Ybar_u/W_u + Ybar_P/W_P, and for every other row  a = −1/W_P, b = Ybar_P/W_P.  The
variance is the usual with-replacement sum over strata of the PSU totals of z
(analysis.linearization.stratum_variance), over the full design (every stratum present),
exactly R ``survey``'s ``svycontrast(svytotal(~I(y·u) + u + y + one), quote(yu/u − y/one))``
(tests/analysis/reference/make_gap.R checks it to 1e-6).  The interval is t on the
design's degrees of freedom, as for any contrast within one design.

From sums only (no rows): with a, b constant within a cell, Σ z = a·Σwy + b·Σw and, for an
element design (each response its own PSU), Σ z² = a²·Σw²y² + 2ab·Σw²y + b²·Σw².  A
clustered design adds the cells' Σ z per PSU and squares the total.
"""
from __future__ import annotations

from typing import Hashable

import numpy as np

from . import intervals
from .design import Design, DesignError
from .estimate import MIN_N, Estimate
from .linearization import all_strata_cells, stratum_variance
from .sums import ELEMENT_COLUMNS, Table, column

__all__ = ["gap_from_sums"]


def gap_from_sums(design: Design, table: Table | np.ndarray, domain: Hashable,
                  level: float = 0.95) -> Estimate:
    """Mean of the cells labelled ``domain`` minus the mean of ALL cells of ``table``.

    ``table`` is a cell table (analysis.sums) over the whole design: every domain of the
    province for one measure.  ``n`` of the result is the domain's rows; it is reliable
    when the domain has at least MIN_N rows and the interval exists (the 10-point rule is
    for levels, not for contrasts).
    """
    n = column(table, "n").astype(np.int64)
    live = n > 0
    dom = column(table, "domain")[live]
    inside = dom == domain
    if not inside.any():
        raise DesignError(f"domain {domain!r} is not in the table")
    sw, swy = column(table, "sum_w")[live].astype(float), column(table, "sum_wy")[live].astype(float)
    w_u, w_p = sw[inside].sum(), sw.sum()
    y_u, y_p = swy[inside].sum() / w_u, swy.sum() / w_p
    a = np.where(inside, 1.0 / w_u - 1.0 / w_p, -1.0 / w_p)
    b = np.where(inside, -y_u / w_u + y_p / w_p, y_p / w_p)
    t1 = a * swy + b * sw
    h = design.stratum_index(column(table, "stratum")[live])
    if design.elements:
        w2, w2y, w2y2 = (column(table, k)[live].astype(float) for k in ELEMENT_COLUMNS)
        t2 = a * a * w2y2 + 2 * a * b * w2y + b * b * w2
        cell_h = h
    else:
        psu = column(table, "psu")[live]
        _, psu_code = np.unique(psu, return_inverse=True)
        key = h.astype(np.int64) * (int(psu_code.max()) + 1) + psu_code
        uniq, first, inv = np.unique(key, return_index=True, return_inverse=True)
        t1 = np.bincount(inv, weights=t1, minlength=len(uniq))
        t2 = t1 ** 2
        cell_h = h[first]
    # Over the full design, as svycontrast on svytotal: every stratum is present.
    extra_dom, extra_h = all_strata_cells(design, 1)
    var, _ = stratum_variance(
        design, np.concatenate([np.zeros(len(cell_h), np.int64), extra_dom]),
        np.concatenate([cell_h, extra_h]), np.concatenate([t1, np.zeros(len(extra_h))]),
        np.concatenate([t2, np.zeros(len(extra_h))]), 1)
    est, se = float(y_u - y_p), float(np.sqrt(var[0]))
    lo, hi = intervals.t_interval(np.array(est), np.array(se), np.array(design.df), level)
    n_u = int(n[live][inside].sum())
    return Estimate(estimate=est, se=se, ci_low=float(lo), ci_high=float(hi), n=n_u,
                    n_eff=float("nan"), deff=float("nan"), df=design.df, level=level,
                    method="difference",
                    reliable=n_u >= MIN_N and bool(np.isfinite(lo) and np.isfinite(hi)))
