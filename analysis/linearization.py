"""Taylor-linearization variance of weighted means, vectorised over many domains.

The weighted mean of domain d is  ybar_d = sum(w*y) / sum(w)  over the rows of d.  Its
linearised influence value for row i is  z_i = w_i (y_i - ybar_d) / W_d  (zero outside d),
and with PSU totals Z_hj = sum of z_i over PSU j of stratum h, the with-replacement
variance is (R ``survey``: ``svyrecvar`` / ``onestrat``)

    V_d = sum_h  n_h/(n_h-1) * ( sum_j Z_hj^2  -  (sum_j Z_hj)^2 / n_h )

where n_h counts *all* PSUs of stratum h in the sample (PSUs without domain rows have
Z_hj = 0).  So per (domain, stratum) only  T1 = sum_j Z_hj  and  T2 = sum_j Z_hj^2  are
needed; both the row path and the aggregate path (:mod:`analysis.sums`) reduce to "cells"
carrying partial T1/T2, and :func:`stratum_variance` does the rest, including R's
lonely-PSU rules.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .design import Design, LonelyPSUError

# A domain whose values are all equal has influence values that are all 0, so its variance is
# exactly 0. From rows this is checked exactly (min == max). From sums (analysis.sums) only raw
# moments are known, and the centred sum of squares  S = sum_wy2 - ybar*sum_wy  of a constant
# domain comes out as rounding noise, a few eps times sum_wy2 (~1e-8 in the SE of a 1-5
# score). So a domain with S <= CONSTANT_TOL * sum_wy2 is taken as constant. 1e-12 is ~4500
# eps: above the noise of summing even ~1e8 rows (it grows like sqrt(n) eps). A real domain
# that small in spread has var <= 2 (max w / W) S / W, so SE <= sqrt(2e-12) * max|y| = 1.4e-6
# * max|y| even if one response carries all the weight, and far less in practice.
CONSTANT_TOL = 1e-12


def constant_rows(y: np.ndarray, domain: np.ndarray, n_domains: int) -> np.ndarray:
    """Per domain: are all its values equal (exact; domains without rows: False)."""
    low = np.full(n_domains, np.inf)
    high = np.full(n_domains, -np.inf)
    np.minimum.at(low, domain, y)
    np.maximum.at(high, domain, y)
    same: np.ndarray = low == high
    return same


def constant_sums(sum_wy2: np.ndarray, centred: np.ndarray) -> np.ndarray:
    """Per domain from sums: is the centred sum of squares only rounding noise (see above)."""
    with np.errstate(invalid="ignore"):
        noise: np.ndarray = centred <= CONSTANT_TOL * np.abs(sum_wy2)
    return noise


@dataclass(frozen=True, eq=False)
class Moments:
    """Per-domain point estimates and the ingredients of their intervals (arrays)."""

    n: np.ndarray          # rows in the domain
    sum_w: np.ndarray      # sum of weights in the domain
    estimate: np.ndarray   # weighted mean
    var: np.ndarray        # linearisation variance of the mean
    unit_var: np.ndarray   # R svyvar: n/(n-1) * sum w (y-ybar)^2 / sum w  (for deff)
    df: np.ndarray         # PSUs with domain rows minus strata with domain rows (R degf)

    def take(self, idx: np.ndarray) -> "Moments":
        """The moments of a subset of the domains."""
        return Moments(*(getattr(self, f)[idx] for f in
                         ("n", "sum_w", "estimate", "var", "unit_var", "df")))


def stratum_variance(design: Design, cell_domain: np.ndarray, cell_stratum: np.ndarray,
                     t1: np.ndarray, t2: np.ndarray, n_domains: int
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Variance per domain from cells, and the number of strata each domain touches.

    A stratum counts as present in a domain when at least one cell names it, as in R
    where a domain is a subset of the design: lonely strata outside the domain are
    ignored, and "average" divides by the strata the domain touches.
    """
    n_strata = len(design.strata)
    key = cell_domain.astype(np.int64) * n_strata + cell_stratum
    if len(key) > 1 and (np.diff(key) > 0).all():
        # Cells already one per (domain, stratum), in order (an app's index table): nothing
        # to add up or sort.
        dom, h = cell_domain.astype(np.int64, copy=False), cell_stratum
        big_t1, big_t2 = np.asarray(t1, dtype=float), np.asarray(t2, dtype=float)
    else:
        uniq, inv = np.unique(key, return_inverse=True)
        big_t1 = np.bincount(inv, weights=t1, minlength=len(uniq))
        big_t2 = np.bincount(inv, weights=t2, minlength=len(uniq))
        dom, h = uniq // n_strata, uniq % n_strata
    del key
    nh = design.n_psu[h].astype(float)
    lonely = nh == 1
    ok = ~lonely
    rule = design.lonely_psu
    if lonely.any() and rule == "error":
        label = design.strata[h[lonely][0]]
        raise LonelyPSUError(
            f"stratum '{label}' has only one PSU; choose a lonely-PSU rule "
            "(certainty, adjust or average)")
    # R centres a lonely stratum at the population mean of the influence values, which is 0
    # for a mean, so under "adjust" its PSU total enters uncentred; "certainty": it
    # contributes nothing; "average": dropped, then rescaled below.  (np.where over whole
    # arrays: masked assignment cost 5x as much on a national table's 10^6 cells.)
    with np.errstate(divide="ignore", invalid="ignore"):
        contrib = np.where(ok, nh / np.where(ok, nh - 1.0, 1.0) * (big_t2 - big_t1 ** 2 / nh),
                           big_t2 if rule == "adjust" else 0.0)
    var = np.bincount(dom, weights=contrib, minlength=n_domains)
    present = np.bincount(dom, minlength=n_domains)
    if rule == "average" and lonely.any():
        n_ok = np.bincount(dom, weights=ok.astype(float), minlength=n_domains)
        with np.errstate(divide="ignore", invalid="ignore"):
            var = np.where(n_ok > 0, var * present / np.where(n_ok > 0, n_ok, 1), np.nan)
    return np.maximum(var, 0.0), present


def row_moments(design: Design, y: np.ndarray, domain: np.ndarray,
                n_domains: int) -> Moments:
    """Moments of ``y`` for domains given per row (codes 0..n_domains-1, -1 = none).

    Rows with missing ``y`` drop out of their domain (R: ``na.rm=TRUE``).
    """
    y = np.asarray(y, dtype=float)
    keep = (domain >= 0) & ~np.isnan(y)
    weights, _, _ = design.rows()
    w, yk, dk = weights[keep], y[keep], domain[keep].astype(np.int64)
    n = np.bincount(dk, minlength=n_domains)
    sw = np.bincount(dk, weights=w, minlength=n_domains)
    with np.errstate(divide="ignore", invalid="ignore"):
        ybar = np.bincount(dk, weights=w * yk, minlength=n_domains) / sw
        resid = yk - ybar[dk]
        z = w * resid / sw[dk]
        unit_var = (np.bincount(dk, weights=w * resid**2, minlength=n_domains) / sw
                    * n / (n - 1))
    cell_dom, cell_h, t1, n_psu_dom = psu_cells(design, np.flatnonzero(keep), dk, z,
                                                n_domains)
    var, n_str = stratum_variance(design, cell_dom, cell_h, t1, t1**2, n_domains)
    # Constant domains: the residuals are 0 mathematically, ~1e-17 after rounding ybar.
    constant = constant_rows(yk, dk, n_domains)
    var[constant], unit_var[constant] = 0.0, 0.0
    return Moments(n=n, sum_w=sw, estimate=ybar, var=var, unit_var=unit_var,
                   df=n_psu_dom - n_str)


def psu_cells(design: Design, rows: np.ndarray, dk: np.ndarray, z: np.ndarray,
              n_domains: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """PSU totals of influence values ``z`` of ``rows`` (domain codes ``dk``).

    Returns cell domain, cell stratum, PSU total, and the PSU count per domain.
    """
    _, row_stratum, row_psu = design.rows()
    stratum = row_stratum[rows]
    if design.elements:
        return dk, stratum, z, np.bincount(dk, minlength=n_domains)
    n_psu_total = int(row_psu.max()) + 1
    key = dk * n_psu_total + row_psu[rows]
    uniq, first, inv = np.unique(key, return_index=True, return_inverse=True)
    t1 = np.bincount(inv, weights=z, minlength=len(uniq))
    cell_dom = uniq // n_psu_total
    return cell_dom, stratum[first], t1, np.bincount(cell_dom, minlength=n_domains)


def all_strata_cells(design: Design, n_domains: int) -> tuple[np.ndarray, np.ndarray]:
    """Empty cells making every stratum present: R's full-design (svyby covmat) variance."""
    n_strata = len(design.strata)
    return (np.repeat(np.arange(n_domains), n_strata),
            np.tile(np.arange(n_strata), n_domains))
