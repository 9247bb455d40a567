"""Sufficient aggregates ("cells") for weighted means, as SQL ``GROUP BY`` produces them.

Cell table (a dict of equal-length 1-d arrays, or a NumPy structured array):

=========  =================================================================
column     meaning
=========  =================================================================
domain     domain label (unit, unit+period, item, ...); any sortable type
stratum    stratum label; must appear in the design frame
psu        PSU label, clustered designs only (omit for element designs)
n          number of rows (responses with a valid y) in the cell
sum_w      sum of w
sum_wy     sum of w*y
sum_wy2    sum of w*y^2                  (only for deff)
sum_w2     sum of w^2                    (element designs only)
sum_w2y    sum of w^2*y                  (element designs only)
sum_w2y2   sum of w^2*y^2                (element designs only)
=========  =================================================================

One row per (domain, stratum, psu) for clustered designs, per (domain, stratum) for
element designs (every response its own PSU, R ``ids=~1``); repeated keys are added up.
Only rows of the domain with a valid y enter a cell; the design frame
(:meth:`Design.from_aggregates`: stratum, n_psu) carries the PSU counts of the whole sample.

Why these sums.  With ybar = sum_wy / sum_w over the domain, the PSU total of the
influence values is  Z = (sum_wy - ybar*sum_w) / W,  so a clustered design needs only
sum_w and sum_wy per PSU.  In an element design each response is a PSU, and the sum of
squared PSU totals in a stratum is  sum w^2 (y-ybar)^2 / W^2
= (sum_w2y2 - 2 ybar sum_w2y + ybar^2 sum_w2) / W^2,  hence the three w^2 sums.  The
design effect needs R's ``svyvar``, n/(n-1) * (sum_wy2 - ybar*sum_wy)/W, hence sum_wy2.
When w is constant within a stratum (SIPAS service-volume weights) sum_w2y = w*sum_wy etc.
For a 0/1 variable sum_wy2 = sum_wy.  The sum of w^2 alone is not needed for anything
R reports.

Precision: the element-design formula subtracts raw moments, so an SE that is truly 0
(every y in the domain equal) would come out around sqrt(machine eps) times the scale of y
(~1e-8 for a 1-5 score).  A domain whose centred sum of squares is within rounding noise of
0 is therefore taken as constant and gets SE exactly 0 (the tolerance and its worst-case
effect: :data:`analysis.linearization.CONSTANT_TOL`).
"""
from __future__ import annotations

from collections import defaultdict
from typing import Any, Mapping

import numpy as np

from .design import Design, DesignError
from .linearization import Moments, constant_sums, stratum_variance

Table = Mapping[str, np.ndarray]
BASE_COLUMNS = ("domain", "stratum", "n", "sum_w", "sum_wy", "sum_wy2")
ELEMENT_COLUMNS = ("sum_w2", "sum_w2y", "sum_w2y2")


def column(table: Table | np.ndarray, name: str) -> np.ndarray:
    """A column of a dict-of-arrays or structured-array table."""
    try:
        return np.asarray(table[name])
    except (KeyError, ValueError):
        raise DesignError(f"aggregate table has no column {name!r}") from None


def has_column(table: Table | np.ndarray, name: str) -> bool:
    if isinstance(table, np.ndarray):
        return name in (table.dtype.names or ())
    return name in table


def moments_from_sums(design: Design, table: Table | np.ndarray
                      ) -> tuple[np.ndarray, Moments]:
    """Domain labels (sorted) and their :class:`Moments` from a cell table."""
    needed = BASE_COLUMNS + (("psu",) if not design.elements else ELEMENT_COLUMNS)
    cols = {name: column(table, name) for name in needed}
    live = (cols["n"] if cols["n"].dtype.kind in "iu" else cols["n"].astype(np.int64)) > 0
    if not live.all():
        cols = {k: v[live] for k, v in cols.items()}
    labels, dom = _factor(cols["domain"])
    h = design.stratum_index(cols["stratum"])
    nd = len(labels)
    if not design.elements:
        # Merge repeated (domain, stratum, psu) keys so each cell is exactly one PSU.
        _, psu_code = np.unique(cols["psu"], return_inverse=True)
        key = (dom * len(design.strata) + h) * (psu_code.max() + 1) + psu_code
        uniq, first, inv = np.unique(key, return_index=True, return_inverse=True)
        summed = {k: np.bincount(inv, weights=cols[k].astype(float), minlength=len(uniq))
                  for k in ("n", "sum_w", "sum_wy", "sum_wy2")}
        dom, h = dom[first], h[first]
        cols = {**cols, **summed}
    fl = {k: np.asarray(cols[k], dtype=float) for k in cols if k not in ("domain", "stratum", "psu")}
    n = np.bincount(dom, weights=fl["n"], minlength=nd).astype(np.int64)
    sw = np.bincount(dom, weights=fl["sum_w"], minlength=nd)
    swy = np.bincount(dom, weights=fl["sum_wy"], minlength=nd)
    swy2 = np.bincount(dom, weights=fl["sum_wy2"], minlength=nd)
    with np.errstate(divide="ignore", invalid="ignore"):
        ybar = swy / sw
        t1 = (fl["sum_wy"] - ybar[dom] * fl["sum_w"]) / sw[dom]
        if design.elements:
            t2 = (fl["sum_w2y2"] - 2 * ybar[dom] * fl["sum_w2y"]
                  + ybar[dom] ** 2 * fl["sum_w2"]) / sw[dom] ** 2
            n_psu_dom = n
        else:
            t2 = t1**2
            n_psu_dom = np.bincount(dom, minlength=nd)
        centred = swy2 - ybar * swy
        unit_var = np.maximum(centred, 0.0) / sw * n / (n - 1)
    var, n_str = stratum_variance(design, dom, h, t1, t2, nd)
    # All values of the domain equal: SE exactly 0, not raw-moment rounding noise.
    constant = constant_sums(swy2, centred)
    var[constant], unit_var[constant] = 0.0, 0.0
    return labels, Moments(n=n, sum_w=sw, estimate=ybar, var=var, unit_var=unit_var,
                           df=n_psu_dom - n_str)


def _factor(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(values, return_inverse=True)``; in one pass, without sorting, when the
    values are integers already in order (an app's cells come grouped by domain: a national
    table's 10^6 of them cost a third of its time to sort)."""
    if values.dtype.kind in "iu" and len(values) > 1:
        step = np.diff(values)
        if (step >= 0).all():
            new = np.empty(len(values), dtype=bool)
            new[0], new[1:] = True, step > 0
            return values[new], np.cumsum(new, dtype=np.int64) - 1
    labels, codes = np.unique(values, return_inverse=True)
    return labels, codes.astype(np.int64).reshape(-1)


def sums_from_rows(y: Any, weights: Any, strata: Any, domain: Any,
                   psu: Any = None) -> dict[str, np.ndarray]:
    """Reference (plain Python, row by row) builder of the cell table.

    This is what the web app's SQL ``GROUP BY`` must produce; tests compare the two
    paths.  Rows with missing y (None or NaN) are left out, as SQL ``WHERE y IS NOT
    NULL`` would.
    """
    acc: dict[tuple[Any, ...], list[float]] = defaultdict(lambda: [0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0])
    psus = [None] * len(y) if psu is None else list(psu)
    for yi, wi, hi, di, pi in zip(y, weights, strata, domain, psus):
        if yi is None or yi != yi:
            continue
        yi, wi = float(yi), float(wi)
        cell = acc[(di, hi) if psu is None else (di, hi, pi)]
        for k, v in enumerate((1, wi, wi * yi, wi * yi * yi, wi * wi, wi * wi * yi,
                               wi * wi * yi * yi)):
            cell[k] += v
    keys = list(acc)
    out: dict[str, Any] = {"domain": np.array([k[0] for k in keys]),
                           "stratum": np.array([k[1] for k in keys])}
    if psu is not None:
        out["psu"] = np.array([k[2] for k in keys])
    names = ("n", "sum_w", "sum_wy", "sum_wy2") + ELEMENT_COLUMNS
    for k, name in enumerate(names):
        out[name] = np.array([acc[key][k] for key in keys],
                             dtype=np.int64 if name == "n" else float)
    return out


def frame_from_rows(strata: Any, psu: Any = None) -> dict[str, np.ndarray]:
    """Reference builder of the design frame: stratum and its PSU count in the sample."""
    seen: dict[Any, set[Any]] = defaultdict(set)
    for i, h in enumerate(strata):
        seen[h].add(i if psu is None else psu[i])
    keys = sorted(seen)
    return {"stratum": np.array(keys), "n_psu": np.array([len(seen[k]) for k in keys])}
