"""Design-based tests of difference across groups, from rows or from SQL sums.

* :func:`rao_scott` / :func:`rao_scott_rows`: the Rao-Scott second-order adjusted Pearson
  chi-square for a two-way table, in the F form R ``survey`` uses by default
  (``svychisq(~a + b, design)``, ``statistic = "F"``): with p the weighted cell proportions,
  V their linearisation covariance, C the interaction contrasts orthogonal to the main
  effects and D = diag(p), Delta = (C' D^-1 C / N)^-1 (C' D^-1 V D^-1 C);
  F = X^2 / tr(Delta) on d0 = tr(Delta)^2 / tr(Delta^2) and d0 * nu degrees of freedom, X^2
  the Pearson statistic of the weighted table scaled to N (the rows in the table) and nu the
  design degrees of freedom (PSUs - strata).
* :func:`wald_means` / :func:`wald_means_rows`: equality of a mean across groups, the Wald
  F test R gives for ``regTermTest(svyglm(y ~ g, design), ~g)``: F = X^2 / (k - 1) on
  k - 1 and nu - k + 1 degrees of freedom, nu counted on the responses in the groups (svyglm
  drops rows with a missing group).

Respondents outside the table (a missing group or answer: demographics asked only with
consent) stay in the design with zero influence, as R does for NA rows: the variance uses
every PSU of each stratum and nu is the whole design's (the fixture has such a case).  X^2 is
scaled to the responses in the table; F does not depend on that scale.

Both need the full covariance of several domain estimates.  Per stratum h with n_h PSUs
(all PSUs of the whole sample, as for domains in :mod:`analysis.linearization`) and PSU
totals Z_hj of the influence values, V = sum_h n_h/(n_h-1) (sum_j Z_hj Z_hj' - T_h T_h'/n_h)
with T_h = sum_j Z_hj; lonely strata follow the design's rule ("adjust": uncentred, as for
means).  From sums (element designs: each response its own PSU) sum_j Z Z' needs only the
per-cell sums of w and w^2, because a response falls in one cell: see :func:`_cell_moments`.

Checked against R in tests/analysis/test_analysis_crosstab.py (reference/make_crosstab.R).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from .design import Design, DesignError, LonelyPSUError

__all__ = ["GroupTest", "rao_scott", "rao_scott_rows", "wald_means", "wald_means_rows",
           "SIGNIFICANCE"]

SIGNIFICANCE = 0.05


@dataclass(frozen=True)
class GroupTest:
    """A design-based F test of "no difference across groups".

    ``method``: "rao-scott" (a table's association) or "wald" (equal means).  ``chisq`` is
    the Pearson X^2 (Rao-Scott) or the Wald X^2; ``n`` the responses in the table; ``groups``
    the groups with data.  NaN statistic and p where the test cannot be made (one group,
    one category, no variance, no degrees of freedom).
    """

    statistic: float
    ndf: float
    ddf: float
    p_value: float
    method: str
    chisq: float
    n: int
    groups: int

    @property
    def testable(self) -> bool:
        return math.isfinite(self.p_value)

    @property
    def significant(self) -> bool:
        """p below 5%: the groups differ beyond what sampling explains."""
        return self.testable and self.p_value < SIGNIFICANCE


def _untestable(method: str, n: int, groups: int) -> GroupTest:
    nan = float("nan")
    return GroupTest(nan, nan, nan, nan, method, nan, n, groups)


def _covariance(design: Design, h: np.ndarray, t1: np.ndarray, t2: np.ndarray) -> np.ndarray:
    """V from per-stratum T_h (rows of t1, K) and sum_j Z Z' (t2, K x K); h indexes strata."""
    k = t1.shape[1]
    n_strata = len(design.strata)
    big1 = np.zeros((n_strata, k))
    big2 = np.zeros((n_strata, k, k))
    np.add.at(big1, h, t1)
    np.add.at(big2, h, t2)
    present = np.zeros(n_strata, bool)
    present[h] = True
    nh = design.n_psu.astype(float)
    lonely = present & (nh == 1)
    ok = present & (nh > 1)
    v = np.zeros((k, k))
    for s in np.flatnonzero(ok):
        v += nh[s] / (nh[s] - 1) * (big2[s] - np.outer(big1[s], big1[s]) / nh[s])
    if lonely.any():
        rule = design.lonely_psu
        if rule == "error":
            raise LonelyPSUError(f"stratum '{design.strata[np.flatnonzero(lonely)[0]]}' has only "
                                 "one PSU; choose a lonely-PSU rule (certainty, adjust or average)")
        if rule == "adjust":  # centred at the mean influence, 0 (as analysis.linearization)
            v += big2[lonely].sum(axis=0)
        elif rule == "average" and ok.any():
            v *= present.sum() / ok.sum()
    return v


def _row_moments(design: Design, x: np.ndarray, keep: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-stratum T_h and sum_j Z Z' of row influence values x (rows x K), rows `keep`."""
    _, row_stratum, row_psu = design.rows()
    psu = row_psu[keep]
    uniq, first, inv = np.unique(psu, return_index=True, return_inverse=True)
    totals = np.zeros((len(uniq), x.shape[1]))
    np.add.at(totals, inv, x[keep])
    h = row_stratum[keep][first]
    return h, totals, totals[:, :, None] * totals[:, None, :]


def _cell_moments(design: Design, stratum: Any, cell: np.ndarray, sum_w: np.ndarray,
                  sum_w2: np.ndarray, scale: np.ndarray, shift: np.ndarray, shift_cell: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """T_h and sum_j Z Z' from per-(stratum, cell) sums, for an element design.

    The influence of a response in cell c on coordinate k is w (e_c[k] - shift[k]) * scale[k]
    when shift_cell[c, k] is 1 (the response belongs to coordinate k's domain), else 0.
    Each response is one PSU and in one cell, so sum_j Z Z' adds w^2 (outer product of its
    vector) per response: per cell, sum_w2 times that cell's outer product.
    """
    if not design.elements:
        raise DesignError("sums give the covariance of element designs only; use rows")
    hs = design.stratum_index(stratum)
    k = len(scale)
    eye = np.eye(shift_cell.shape[0], k)
    vec = (eye - shift[None, :]) * shift_cell * scale[None, :]   # per cell: influence / w
    t1 = sum_w[:, None] * vec[cell]
    t2 = sum_w2[:, None, None] * (vec[cell][:, :, None] * vec[cell][:, None, :])
    return hs, t1, t2


# --- Rao-Scott ------------------------------------------------------------------------------

def _rao_scott_core(design: Design, p: np.ndarray, v: np.ndarray, nr: int, nc: int, n: int
                    ) -> GroupTest:
    """p: cell proportions in interaction order (row fastest), V their covariance."""
    grid_r, grid_c = np.tile(np.arange(nr), nc), np.repeat(np.arange(nc), nr)
    x1 = np.column_stack([np.ones(nr * nc)] + [grid_r == r for r in range(1, nr)]
                         + [grid_c == c for c in range(1, nc)]).astype(float)
    x12 = np.column_stack([(grid_r == r) & (grid_c == c)
                           for c in range(1, nc) for r in range(1, nr)]).astype(float)
    cmat = x12 - x1 @ np.linalg.lstsq(x1, x12, rcond=None)[0]
    inv_d = np.where(p > 0, 1 / np.where(p > 0, p, 1), 0.0)
    denom = cmat.T @ (inv_d[:, None] / n * cmat)
    numer = cmat.T @ (inv_d[:, None] * v * inv_d[None, :]) @ cmat
    delta = np.linalg.solve(denom, numer)
    tr, tr2 = float(np.trace(delta)), float(np.trace(delta @ delta))
    table = (p * n).reshape(nc, nr).T
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / n
    chisq = float(((table - expected) ** 2 / expected).sum())
    nu = design.df
    if not (tr > 0 and tr2 > 0 and nu > 0):
        return GroupTest(float("nan"), float("nan"), float("nan"), float("nan"), "rao-scott",
                         chisq, n, nr)
    d0 = tr * tr / tr2
    f = chisq / tr
    return GroupTest(statistic=f, ndf=d0, ddf=d0 * nu, p_value=float(stats.f.sf(f, d0, d0 * nu)),
                     method="rao-scott", chisq=chisq, n=n, groups=nr)


def rao_scott(design: Design, stratum: Any, row: Any, col: Any, n: Any, sum_w: Any,
              sum_w2: Any) -> GroupTest:
    """Rao-Scott F test of the row x column table, from per-(stratum, row, col) sums.

    One entry per cell of responses in the table (answered both): ``stratum`` labels of the
    design frame, ``row`` (the groups) and ``col`` (the answers) any labels, ``n`` responses,
    ``sum_w`` and ``sum_w2`` their sums of w and w^2.  Element designs (the design frame's
    n_psu counts every response of the stratum, in the table or not).
    """
    rows_l, r = np.unique(np.asarray(row), return_inverse=True)
    cols_l, c = np.unique(np.asarray(col), return_inverse=True)
    sw, sw2 = np.asarray(sum_w, float), np.asarray(sum_w2, float)
    total_n = int(np.asarray(n).sum())
    nr, nc = len(rows_l), len(cols_l)
    if nr < 2 or nc < 2 or total_n == 0:
        return _untestable("rao-scott", total_n, nr)
    cell = r + nr * c
    k = nr * nc
    big_w = sw.sum()
    p = np.bincount(cell, weights=sw, minlength=k) / big_w
    hs, t1, t2 = _cell_moments(design, stratum, cell, sw, sw2, np.full(k, 1 / big_w), p,
                               np.ones((k, k)))
    return _rao_scott_core(design, p, _covariance(design, hs, t1, t2), nr, nc, total_n)


def _codes(values: Any) -> tuple[np.ndarray, np.ndarray, int]:
    arr = np.asarray(values, dtype=object)
    missing = np.array([v is None or (isinstance(v, float) and math.isnan(v)) or v == ""
                        for v in arr], dtype=bool)
    labels, codes = np.unique(arr[~missing].astype(str), return_inverse=True)
    out = np.full(len(arr), -1, dtype=np.int64)
    out[~missing] = codes
    return out, ~missing, len(labels)


def rao_scott_rows(design: Design, row: Any, col: Any) -> GroupTest:
    """Rao-Scott F test from row-level labels (None, NaN or "" = missing, left out)."""
    r, okr, nr = _codes(row)
    c, okc, nc = _codes(col)
    keep = okr & okc
    total_n = int(keep.sum())
    if nr < 2 or nc < 2 or total_n == 0:
        return _untestable("rao-scott", total_n, nr)
    w = design.rows()[0]
    k = nr * nc
    cell = np.where(keep, r + nr * c, 0)
    big_w = w[keep].sum()
    p = np.bincount(cell[keep], weights=w[keep], minlength=k) / big_w
    x = np.zeros((len(w), k))
    x[np.flatnonzero(keep), cell[keep]] = 1.0
    z = w[:, None] * (x - p[None, :]) / big_w
    hs, t1, t2 = _row_moments(design, z, keep)
    return _rao_scott_core(design, p, _covariance(design, hs, t1, t2), nr, nc, total_n)


# --- equal means -----------------------------------------------------------------------------

def _wald_core(means: np.ndarray, v: np.ndarray, n: int, df: int) -> GroupTest:
    """`df`: PSUs minus strata among the responses in the groups (R's svyglm drops the rows
    with a missing group, so its degf is the complete cases'), less k - 1."""
    k = len(means)
    contrast = np.column_stack([-np.ones(k - 1), np.eye(k - 1)])
    d = contrast @ means
    cv = contrast @ v @ contrast.T
    ddf = df - k + 1
    try:
        x2 = float(d @ np.linalg.solve(cv, d))
    except np.linalg.LinAlgError:
        return _untestable("wald", n, k)
    if not (math.isfinite(x2) and ddf > 0):
        return _untestable("wald", n, k)
    f = x2 / (k - 1)
    return GroupTest(statistic=f, ndf=float(k - 1), ddf=float(ddf),
                     p_value=float(stats.f.sf(f, k - 1, ddf)), method="wald", chisq=x2, n=n,
                     groups=k)


def wald_means(design: Design, stratum: Any, group: Any, n: Any, sum_w: Any, sum_wy: Any,
               sum_w2: Any, sum_w2y: Any, sum_w2y2: Any) -> GroupTest:
    """Wald F test that a mean is equal across groups, from per-(stratum, group) sums.

    The columns of :mod:`analysis.sums` for element designs; a response is in one group.
    """
    labels, g = np.unique(np.asarray(group), return_inverse=True)
    k = len(labels)
    nn = np.asarray(n)
    if k < 2:
        return _untestable("wald", int(nn.sum()), k)
    sw, swy = np.asarray(sum_w, float), np.asarray(sum_wy, float)
    w2, w2y, w2y2 = (np.asarray(a, float) for a in (sum_w2, sum_w2y, sum_w2y2))
    big_w = np.bincount(g, weights=sw, minlength=k)
    means = np.bincount(g, weights=swy, minlength=k) / big_w
    if not design.elements:
        raise DesignError("sums give the covariance of element designs only; use rows")
    hs = design.stratum_index(stratum)
    m = means[g]
    t1 = np.zeros((len(g), k))
    t2 = np.zeros((len(g), k, k))
    rows = np.arange(len(g))
    t1[rows, g] = (swy - m * sw) / big_w[g]
    t2[rows, g, g] = (w2y2 - 2 * m * w2y + m * m * w2) / big_w[g] ** 2
    live = nn > 0
    df = int(nn.sum()) - len(np.unique(hs[live]))   # element design: a response is a PSU
    return _wald_core(means, _covariance(design, hs, t1, t2), int(nn.sum()), df)


def wald_means_rows(design: Design, y: Any, group: Any) -> GroupTest:
    """Wald F test of equal means of y across groups from rows (NaN y or missing group out)."""
    g, okg, k = _codes(group)
    yv = np.asarray(y, dtype=float)
    keep = okg & ~np.isnan(yv)
    if k < 2:
        return _untestable("wald", int(keep.sum()), k)
    w = design.rows()[0]
    gk = np.where(keep, g, 0)
    big_w = np.bincount(gk[keep], weights=w[keep], minlength=k)
    means = np.bincount(gk[keep], weights=(w * np.nan_to_num(yv))[keep], minlength=k) / big_w
    z = np.zeros((len(w), k))
    idx = np.flatnonzero(keep)
    z[idx, gk[idx]] = w[idx] * (yv[idx] - means[gk[idx]]) / big_w[gk[idx]]
    hs, t1, t2 = _row_moments(design, z, keep)
    _, row_stratum, row_psu = design.rows()
    df = len(np.unique(row_psu[keep])) - len(np.unique(row_stratum[keep]))
    return _wald_core(means, _covariance(design, hs, t1, t2), int(keep.sum()), df)
