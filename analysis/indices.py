"""SIPAS indices: item satisfaction rates and scores, component and overall indices.

This module composes the estimators (weighted means over the design, Taylor SEs) and adds
no statistics of its own (DESIGN.md section 5).

Respondent level (:func:`respondent_scores`): an answer is valid when it is 1..5; "không
áp dụng" (N/A) and skipped are anything else (0 or NaN).  Item rate: 1 if the answer is
4-5, 0 if 1-3.  Component score: share of a response's valid items in the component
rated 4-5.  Overall score: component-weighted mean over the components the response
answered (equal weights by default).

Weights (:func:`service_weights`): stratum h = unit x service field x period,
w_h = dossiers_h / responses_h.  Every response is its own PSU (element design).

Input of :func:`index_table`, two plain tables (dicts of 1-d arrays or structured
arrays) that the web app produces with SQL GROUP BY:

``frame``: one row per stratum: ``stratum``, ``n_psu`` (responses in the stratum; for a
clustered thematic survey, PSUs in the stratum).

``cells``: one row per (unit, period, stat, measure, stratum[, psu]) with at least one
valid value, the value y being:

=========  ===========  ==================================================
stat       measure      y of a response (rows with no valid y are left out)
=========  ===========  ==================================================
rate       item code    1 if the item is answered 4-5, 0 if 1-3
score      item code    the answer 1..5
component  component    the response's component score (0..1)
overall    "overall"    the response's overall score (0..1)
=========  ===========  ==================================================

and columns ``n, sum_w, sum_wy, sum_wy2, sum_w2, sum_w2y, sum_w2y2`` as in
:mod:`analysis.sums` (a ``psu`` column instead of the w^2 sums for clustered designs).
:func:`index_cells_from_rows` is the plain-Python reference of that GROUP BY.

Output of :func:`index_table`: one :class:`~analysis.estimate.Estimate` per cell domain,
with its keys unit, period, stat, measure and estimate, se, ci_low, ci_high, n, n_eff, deff,
df, method, reliable, rank, rank_best, rank_worst.  ``method`` is the interval the
row got (:data:`analysis.estimators.CI_METHODS`): "mean" (t) for scores, components and
overall, ``rate_ci`` for rates, "beta" (Korn-Graubard) where the logit interval falls back.
``reliable`` is False when n < 30 or the CI half-width exceeds 10 percentage points (0.4
points for 1-5 scores, the same share of the scale); templates show such rows as "không
đủ độ tin cậy" and they are never ranked (rank -1).  Ranks are per (period, stat,
measure) by estimate, 1 = best, equal estimates sharing a rank (1, 2, 2, 4; "equal" as
in :mod:`analysis.ties`); rank_best..rank_worst is the range of ranks the intervals
allow (a unit is tied with every unit whose interval overlaps its own), so
``rank_best < rank_worst`` marks a tie.
"""
from __future__ import annotations

from collections import defaultdict
from typing import Any, Mapping, Sequence

import numpy as np

from . import intervals
from .design import Design, DesignError
from .estimate import MAX_HALF_WIDTH as LEVEL_HALF_WIDTH
from .estimate import MIN_N, Estimate, estimates_from_columns
from .estimators import columns_from_moments
from .sums import ELEMENT_COLUMNS, column, has_column, moments_from_sums
from .ties import competition_ranks

# 10 points for shares (0-1); 0.4 for 1-5 scores, the same share of the scale.
MAX_HALF_WIDTH = {"rate": LEVEL_HALF_WIDTH, "component": LEVEL_HALF_WIDTH,
                  "overall": LEVEL_HALF_WIDTH, "score": 0.40}
SUM_COLUMNS = ("n", "sum_w", "sum_wy", "sum_wy2") + ELEMENT_COLUMNS
KEY_COLUMNS = ("unit", "period", "stat", "measure")


def service_weights(responses: Any, dossiers: Any) -> np.ndarray:
    """w_h = dossiers_h / responses_h per stratum; every stratum needs both positive."""
    r, d = np.asarray(responses, dtype=float), np.asarray(dossiers, dtype=float)
    if np.any(r <= 0) or np.any(~np.isfinite(d)) or np.any(d <= 0):
        raise DesignError("each stratum needs responses > 0 and a service volume > 0")
    w: np.ndarray = d / r
    return w


def respondent_scores(answers: Any, item_component: Sequence[str],
                      component_weights: Mapping[str, float] | None = None
                      ) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Component scores (responses x components, NaN if none answered) and overall."""
    a = np.asarray(answers, dtype=float)
    comps = sorted(set(item_component))
    valid = np.isin(a, (1, 2, 3, 4, 5))
    sat = valid & (a >= 4)
    item_comp = np.asarray(item_component)
    scores = np.full((a.shape[0], len(comps)), np.nan)
    for j, c in enumerate(comps):
        cols = item_comp == c
        n_valid = valid[:, cols].sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            scores[:, j] = np.where(n_valid > 0, sat[:, cols].sum(axis=1) / n_valid, np.nan)
    cw = np.array([1.0 if component_weights is None else float(component_weights[c])
                   for c in comps])
    answered = ~np.isnan(scores)
    wsum = (answered * cw).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        overall = np.where(wsum > 0, np.nansum(scores * cw, axis=1) / wsum, np.nan)
    return comps, scores, overall


def index_cells_from_rows(unit: Sequence[Any], period: Sequence[Any],
                          stratum: Sequence[Any], weights: Sequence[float],
                          answers: Any, item_codes: Sequence[str],
                          item_component: Sequence[str],
                          component_weights: Mapping[str, float] | None = None
                          ) -> dict[str, np.ndarray]:
    """Plain-Python reference of the cells table (what the SQL GROUP BY must give)."""
    comps, comp_scores, overall = respondent_scores(answers, item_component,
                                                    component_weights)
    acc: dict[tuple[Any, ...], list[float]] = defaultdict(lambda: [0.0] * len(SUM_COLUMNS))
    a = np.asarray(answers, dtype=float)
    for i in range(len(unit)):
        w = float(weights[i])
        values: list[tuple[str, str, float]] = []
        for j, code in enumerate(item_codes):
            v = a[i, j]
            if v in (1, 2, 3, 4, 5):
                values += [("rate", code, 1.0 if v >= 4 else 0.0), ("score", code, v)]
        values += [("component", c, comp_scores[i, k]) for k, c in enumerate(comps)
                   if comp_scores[i, k] == comp_scores[i, k]]
        if overall[i] == overall[i]:
            values.append(("overall", "overall", overall[i]))
        for stat, measure, y in values:
            cell = acc[(unit[i], period[i], stat, measure, stratum[i])]
            for k, inc in enumerate((1, w, w * y, w * y * y, w * w, w * w * y,
                                     w * w * y * y)):
                cell[k] += inc
    keys = list(acc)
    out: dict[str, np.ndarray] = {
        name: np.array([k[pos] for k in keys])
        for pos, name in enumerate(KEY_COLUMNS + ("stratum",))}
    for pos, name in enumerate(SUM_COLUMNS):
        out[name] = np.array([acc[k][pos] for k in keys],
                             dtype=np.int64 if name == "n" else float)
    return out


def _codes(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    labels, codes = np.unique(values, return_inverse=True)
    return labels, codes.astype(np.int64)


def index_table(frame: Any, cells: Any, lonely_psu: str = "adjust",
                rate_ci: str = "logit", level: float = 0.95) -> list[Estimate]:
    """Estimates with CIs, reliability flags and rank intervals for every cell domain.

    ``lonely_psu`` defaults to "adjust": strata with one response are common (a unit's
    rare service field), and R's "adjust" keeps their variance instead of dropping it.
    Rows come in the order of their keys (unit, period, stat, measure, each sorted).
    """
    return estimates_of(index_columns(frame, cells, lonely_psu, rate_ci, level), level)


def estimates_of(t: Mapping[str, np.ndarray], level: float = 0.95,
                 order: np.ndarray | None = None) -> list[Estimate]:
    """Columns of :func:`index_columns` to Estimates (in ``order``, default as they are),
    built in bulk: one ``tolist`` per column, no per-row arithmetic."""
    columns: dict[str, Any] = {k: (t[k] if order is None else t[k][order]).tolist()
                               for k in KEY_COLUMNS + _VALUE_COLUMNS}
    columns["level"] = [level] * len(columns["n"])
    return estimates_from_columns(columns)


_VALUE_COLUMNS = ("estimate", "se", "ci_low", "ci_high", "n", "n_eff", "deff", "df", "method",
                  "reliable", "rank", "rank_best", "rank_worst")
# Every column of index_columns an Estimate is built from (its level aside).
ESTIMATE_COLUMNS = KEY_COLUMNS + _VALUE_COLUMNS


Factor = tuple[np.ndarray, np.ndarray]   # (sorted distinct labels, each row's index into them)


def index_columns(frame: Any, cells: Any, lonely_psu: str = "adjust", rate_ci: str = "logit",
                  level: float = 0.95, keys: Mapping[str, Factor] | None = None
                  ) -> dict[str, np.ndarray]:
    """:func:`index_table` as columns (NumPy arrays, one entry per cell domain): every
    estimate, interval, flag and rank computed in array operations; no object per row.

    ``keys``: key columns already factorised, as ``np.unique(column, return_inverse=True)``
    would give them (labels sorted); the app knows its few dozen measures and periods, and
    sorting 10^6 strings to find them again was a third of a national table's time.  Columns
    ``<key>_index`` of the result are each row's index into its key's sorted labels.
    """
    clustered = has_column(cells, "psu")
    design = Design.from_aggregates(column(frame, "stratum"), column(frame, "n_psu"),
                                    lonely_psu=lonely_psu, elements=not clustered)
    given = keys or {}
    labels, codes = zip(*(given[k] if k in given else _codes(column(cells, k))
                          for k in KEY_COLUMNS))
    sizes = [len(lab) for lab in labels]
    key = np.zeros(len(codes[0]), dtype=np.int64)
    for code, size in zip(codes, sizes):
        key = key * size + code
    table = {"domain": key, "stratum": column(cells, "stratum")}
    for name in SUM_COLUMNS[:4] + (("psu",) if clustered else ELEMENT_COLUMNS):
        table[name] = column(cells, name)
    domains, moments = moments_from_sums(design, table)
    # Unpack the composite domain key back into its four label columns.
    out: dict[str, np.ndarray] = {}
    index: dict[str, np.ndarray] = {}
    rest = domains.copy()
    for name, lab, size in reversed(list(zip(KEY_COLUMNS, labels, sizes))):
        index[name] = rest % size
        out[name] = np.asarray(lab)[index[name]]
        rest //= size
    out = {k: out[k] for k in KEY_COLUMNS}
    rate = np.flatnonzero(out["stat"] == "rate")
    other = np.flatnonzero(out["stat"] != "rate")
    cols = {k: np.empty(len(domains), dtype=v.dtype) for k, v in
            columns_from_moments(moments.take(other[:1]), "mean", level).items()}
    for idx, ci in ((rate, rate_ci), (other, "mean")):
        for k, v in columns_from_moments(moments.take(idx), ci, level).items():
            cols[k][idx] = v
    out.update(cols)
    # The interval each row actually got, for the labels reports print (never a fixed text).
    method = np.where(out["stat"] == "rate", rate_ci, "mean").astype("<U8")
    if rate_ci == "logit":
        fell_back = intervals.logit_falls_back(cols["estimate"][rate], cols["se"][rate] ** 2)
        method[rate[fell_back]] = "beta"
    out["method"] = method
    limit = np.where(out["stat"] == "score", MAX_HALF_WIDTH["score"], LEVEL_HALF_WIDTH)
    half = (cols["ci_high"] - cols["ci_low"]) / 2
    out["reliable"] = (cols["n"] >= MIN_N) & np.isfinite(half) & (half <= limit)
    # The key is unit-major: the rest is the (period, stat, measure) group, in sorted order.
    out.update(_ranks(out, domains % int(np.prod(sizes[1:]))))
    out.update({f"{k}_index": index[k] for k in KEY_COLUMNS})
    return out


def _ranks(t: dict[str, np.ndarray], group: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Rank by estimate within (period, stat, measure) (``group``: one integer each, when the
    caller has it) among reliable rows, with the rank range allowed by overlapping intervals."""
    n = len(t["estimate"])
    if group is None:
        group = np.zeros(n, dtype=np.int64)
        for k in ("period", "stat", "measure"):
            labels, codes = _codes(t[k])
            group = group * len(labels) + codes
    rank = np.full(n, -1, dtype=np.int64)
    best = np.full(n, -1, dtype=np.int64)
    worst = np.full(n, -1, dtype=np.int64)
    ok = np.flatnonzero(t["reliable"])
    order = ok[np.lexsort((-t["estimate"][ok], group[ok]))]
    bounds = np.flatnonzero(np.diff(group[order])) + 1
    for members in np.split(order, bounds):
        if len(members) == 0:
            continue
        # Equal estimates share a rank (1, 2, 2, 4), whatever order their sums were taken in.
        rank[members] = competition_ranks(t["estimate"][members])
        lows = np.sort(t["ci_low"][members])
        highs = np.sort(t["ci_high"][members])
        # Units surely better: their lower bound is above my upper bound.
        better = len(members) - np.searchsorted(lows, t["ci_high"][members], side="right")
        worse = np.searchsorted(highs, t["ci_low"][members], side="left")
        best[members] = 1 + better
        worst[members] = len(members) - worse
    return {"rank": rank, "rank_best": best, "rank_worst": worst}
