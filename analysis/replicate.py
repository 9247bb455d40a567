"""Delete-one-PSU jackknife variance of a weighted mean (R ``as.svrepdesign``).

JK1 (unstratified): replicate j drops PSU j and multiplies the others by P/(P-1);
variance (P-1)/P * sum_j (theta_j - mean theta)^2, df = P - 1.
JKn (stratified): replicate j drops PSU j of stratum h and multiplies the other PSUs of h
by n_h/(n_h-1); variance sum_j (n_h-1)/n_h (theta_j - mean theta)^2, df = P - H.
As in R (``survey.replicates.mse`` FALSE) deviations are taken from the mean of the
replicates; replicates that leave a domain empty are dropped, as R's ``na.omit`` does.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from . import intervals
from .design import Design, DesignError, LonelyPSUError
from .estimate import Estimate, is_reliable


def jackknife(design: Design, y: Any, kind: str = "JKn", domain: Any = None,
              level: float = 0.95) -> Estimate:
    """Weighted mean of y (optionally in a domain mask) with jackknife SE and t interval."""
    if kind not in ("JK1", "JKn"):
        raise DesignError("kind must be JK1 or JKn")
    if not design.has_rows:
        raise DesignError("the jackknife needs a design built from rows")
    weights, row_stratum, row_psu = design.rows()
    yv = np.asarray(y, dtype=float)
    mask = np.ones(len(yv), bool) if domain is None else np.asarray(domain, bool)
    mask &= ~np.isnan(yv)
    w = np.where(mask, weights, 0.0)
    n_psu = int(row_psu.max()) + 1
    psu_w = np.bincount(row_psu, weights=w, minlength=n_psu)
    psu_wy = np.bincount(row_psu, weights=w * np.where(mask, yv, 0.0), minlength=n_psu)
    psu_h = np.zeros(n_psu, dtype=np.int64)
    psu_h[row_psu] = row_stratum
    total_w, total_wy = psu_w.sum(), psu_wy.sum()
    if kind == "JK1":
        if len(design.strata) > 1:
            raise DesignError("JK1 is for unstratified designs; use JKn")
        with np.errstate(divide="ignore", invalid="ignore"):
            theta = (total_wy - psu_wy) / (total_w - psu_w)
        rscale = np.full(n_psu, (n_psu - 1) / n_psu)
        df = n_psu - 1
    else:
        nh = design.n_psu[psu_h].astype(float)
        if np.any(nh == 1):
            raise LonelyPSUError("JKn needs at least two PSUs in every stratum")
        h_w = np.bincount(psu_h, weights=psu_w, minlength=len(design.strata))[psu_h]
        h_wy = np.bincount(psu_h, weights=psu_wy, minlength=len(design.strata))[psu_h]
        k = nh / (nh - 1)
        with np.errstate(divide="ignore", invalid="ignore"):
            theta = ((total_wy - h_wy + k * (h_wy - psu_wy))
                     / (total_w - h_w + k * (h_w - psu_w)))
        rscale = (nh - 1) / nh
        df = design.df
    ok = np.isfinite(theta)
    est = total_wy / total_w
    var = float(np.sum(rscale[ok] * (theta[ok] - theta[ok].mean()) ** 2))
    if mask.any() and np.ptp(yv[mask]) == 0:
        var = 0.0  # every value equal: replicates differ only by rounding (linearization.py)
    se = np.sqrt(var)
    lo, hi = intervals.t_interval(np.array(est), np.array(se), np.array(df), level)
    n = int(mask.sum())
    return Estimate(estimate=float(est), se=float(se), ci_low=float(lo), ci_high=float(hi),
                    n=n, n_eff=float("nan"), deff=float("nan"), df=int(df),
                    level=level, method=kind, reliable=is_reliable(n, float(lo), float(hi)))
