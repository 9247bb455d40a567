"""Confidence intervals, vectorised, matching R ``survey`` 4.x.

* ``t_interval``: ``confint(svymean(...), df=degf(design))``.
* ``logit_interval``: ``svyciprop(method="logit")``: Wald interval for logit(p) from the
  intercept-only quasi-binomial ``svyglm``, whose SE is SE(p)/(p(1-p)), t quantile on
  ``degf``.
* ``beta_interval``: ``svyciprop(method="beta")`` (Korn & Graubard 1998): Clopper-Pearson
  on the effective sample size p(1-p)/Var(p), scaled by (t_{n-1}/t_{df})^2.
* ``wilson_interval``: Wilson score interval for an unweighted simple random sample.

Where p is 0 or 1 (or the variance is 0) R returns NaN for logit and beta; we instead use
the Korn-Graubard interval with the effective size set to the number of responses, so a
unit where all 40 respondents are satisfied gets [0.91, 1], not [1, 1].
"""
from __future__ import annotations

import numpy as np
from scipy import stats


def _tq(level: float, df: np.ndarray) -> np.ndarray:
    df = np.asarray(df, dtype=float)
    # Many domains share a df: evaluate the quantile once per distinct value.
    uniq, inv = np.unique(df.ravel(), return_inverse=True)
    with np.errstate(invalid="ignore"):
        q = np.where(uniq > 0, stats.t.ppf(0.5 + level / 2, np.where(uniq > 0, uniq, 1)),
                     np.nan)
    return q[inv].reshape(df.shape)


def t_interval(est: np.ndarray, se: np.ndarray, df: np.ndarray, level: float
               ) -> tuple[np.ndarray, np.ndarray]:
    q = _tq(level, df)
    return est - q * se, est + q * se


def beta_interval(p: np.ndarray, var: np.ndarray, n: np.ndarray, df: np.ndarray,
                  level: float) -> tuple[np.ndarray, np.ndarray]:
    p, var, n = (np.asarray(a, dtype=float) for a in (p, var, n))
    alpha = 1 - level
    degenerate = (var <= 0) | (p <= 0) | (p >= 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        n_eff = np.where(degenerate, n, p * (1 - p) / np.where(var > 0, var, 1))
        ratio = _tq(level, n - 1) / _tq(level, df)
        n_eff = n_eff * ratio**2
        lo = stats.beta.ppf(alpha / 2, n_eff * p, n_eff * (1 - p) + 1)
        hi = stats.beta.ppf(1 - alpha / 2, n_eff * p + 1, n_eff * (1 - p))
    lo = np.where(p <= 0, 0.0, lo)
    hi = np.where(p >= 1, 1.0, hi)
    return lo, hi


def logit_falls_back(p: np.ndarray, var: np.ndarray) -> np.ndarray:
    """Where the logit interval is Korn-Graubard instead: p of 0 or 1, or no variance."""
    p, var = np.asarray(p, dtype=float), np.asarray(var, dtype=float)
    return (var <= 0) | (p <= 0) | (p >= 1)


def logit_interval(p: np.ndarray, var: np.ndarray, n: np.ndarray, df: np.ndarray,
                   level: float) -> tuple[np.ndarray, np.ndarray]:
    p, var = np.asarray(p, dtype=float), np.asarray(var, dtype=float)
    degenerate = logit_falls_back(p, var)
    with np.errstate(divide="ignore", invalid="ignore"):
        centre = np.log(p / (1 - p))
        half = _tq(level, df) * np.sqrt(var) / (p * (1 - p))
        lo, hi = (1 / (1 + np.exp(-(centre - half))), 1 / (1 + np.exp(-(centre + half))))
    if np.any(degenerate):
        idx = np.flatnonzero(degenerate)
        blo, bhi = beta_interval(p[idx], var[idx], np.asarray(n, dtype=float)[idx],
                                 np.asarray(df)[idx], level)
        lo, hi = np.array(lo, dtype=float), np.array(hi, dtype=float)
        lo[idx], hi[idx] = blo, bhi
    return lo, hi


def wilson_interval(p: np.ndarray, n: np.ndarray, level: float
                    ) -> tuple[np.ndarray, np.ndarray]:
    p, n = np.asarray(p, dtype=float), np.asarray(n, dtype=float)
    z = stats.norm.ppf(0.5 + level / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        denom = 1 + z**2 / n
        centre = (p + z**2 / (2 * n)) / denom
        half = z / denom * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))
    return centre - half, centre + half
