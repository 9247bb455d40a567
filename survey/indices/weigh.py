"""Weighting per-stratum sums into the tables of analysis.indices (see survey.indices.aggregates
for the rules): plain arrays in, no database.  Split out of aggregates.py, which reads the sums
and re-exports these names."""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from itertools import repeat
from operator import itemgetter
from typing import Any, Iterable, Sequence

import numpy as np

from analysis.report.language import N_
from survey.indices.stratum_sums import (
    COUNTER_MARK,
    StratumSums,
)
from survey.models.rollups import KIND_COMPONENT, KIND_ITEM, KIND_OVERALL

RESIDUAL = "*"
UNWEIGHTED_NOTE = N_("chưa có số liệu hồ sơ: ước lượng chưa gia quyền")  # translated where shown
STATS = ("overall", "component", "rate", "score")
SUMS = ("n", "sum_w", "sum_wy", "sum_wy2", "sum_w2", "sum_w2y", "sum_w2y2")
KEYS = ("unit", "period", "stat", "measure")


def stratum_label(unit_id: int, period: str, field_key: str) -> str:
    return f"{unit_id}|{period}|{field_key}"


@dataclass(frozen=True)
class Weighted:
    """Weighting strata as columns, and cells whose ``stratum`` column is the index of the
    stratum in them.

    ``columns``: per stratum ``unit_id``, ``period``, ``field_key``, ``n_h``, ``w``,
    ``weighted`` (the unit has volumes), ``fallback`` (weighted by rule 2 or 3) and ``up``
    (the unit-period's code: unit index x periods + period index), sorted by unit id, period
    and field key.  :attr:`strata` is the same as one dict per stratum (its
    label ``stratum`` included), built when first read: a national table has 3x10^4 strata.
    """

    columns: dict[str, np.ndarray]
    cells: dict[str, np.ndarray]
    # unit, period, stat, measure as (sorted labels, codes): analysis.indices.index_columns' keys
    keys: dict[str, tuple[np.ndarray, np.ndarray]]

    def __len__(self) -> int:
        return len(self.columns["n_h"])

    @cached_property
    def strata(self) -> list[dict[str, Any]]:
        c = self.columns
        return [{"unit_id": u, "period": p, "field_key": f, "stratum": stratum_label(u, p, f),
                 "n_h": n, "w": w, "weighted": wt, "fallback": fb}
                for u, p, f, n, w, wt, fb in zip(*(c[k].tolist() for k in _STRATUM_COLUMNS))]

    def frame(self) -> dict[str, np.ndarray]:
        return {"stratum": np.arange(len(self)), "n_psu": self.columns["n_h"]}

    def flags(self) -> dict[tuple[int, str], tuple[int, bool, int]]:
        """(unit id, period) -> (responses, weighted, fallback responses) of its strata."""
        c = self.columns
        if not len(self):
            return {}
        up = c["up"]
        first = np.flatnonzero(np.r_[True, up[1:] != up[:-1]])     # strata sorted by (u, p)
        responses = np.add.reduceat(c["n_h"], first)
        fallback = np.add.reduceat(np.where(c["fallback"], c["n_h"], 0), first)
        return {(u, p): (n, wt, fb) for u, p, n, wt, fb in zip(
            c["unit_id"][first].tolist(), c["period"][first].tolist(), responses.tolist(),
            c["weighted"][first].tolist(), fallback.tolist())}


_STRATUM_COLUMNS = ("unit_id", "period", "field_key", "n_h", "w", "weighted", "fallback")


def _strata(sums: StratumSums, u_labels: np.ndarray, u_code: np.ndarray,
            p_labels: np.ndarray, p_code: np.ndarray) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Weighting strata by the rules above (columns, sorted by unit, period and field key),
    and each raw (service field) stratum's index among them.  ``u_code``/``p_code``: each raw
    stratum's unit and period as indices into the sorted ``u_labels``/``p_labels``."""
    vol = sums.volumes
    # Column-wise through C-level map/zip (no Python loop body per stratum: 26,624 strata in
    # a national read took ~50 ms of comprehensions); None -> NaN as NumPy converts it.
    d_raw = np.array(list(map(vol.get, sums.strata)), dtype=float)
    has = ~np.isnan(d_raw)
    fields = np.array(_column(sums.strata, 2), dtype=object)
    fields[~has] = RESIDUAL
    field_list = fields.tolist()
    f_labels = np.array(sorted(set(field_list)), dtype=str)
    f_at = {f: i for i, f in enumerate(f_labels.tolist())}
    f_code = np.fromiter(map(f_at.__getitem__, field_list), dtype=np.int64, count=len(fields))
    n_p, n_f = len(p_labels), len(f_labels)
    up_raw = u_code * n_p + p_code
    key, raw_to = np.unique(up_raw * n_f + f_code, return_inverse=True)
    raw_to = raw_to.reshape(-1)
    up, f_of = key // n_f, key % n_f
    n_h = np.bincount(raw_to, weights=np.asarray(sums.responses, dtype=float),
                      minlength=len(key)).astype(np.int64)
    d_h = np.full(len(key), np.nan)
    d_h[raw_to[has]] = d_raw[has]
    # D_u: every volume row of the unit and period, whether or not the field had responses.
    d_u: np.ndarray = np.zeros(len(u_labels) * n_p)
    if vol:
        keys = list(vol)
        vu = np.array(_column(keys, 0), dtype=np.int64)
        p_at = {p: i for i, p in enumerate(p_labels.tolist())}
        vp = np.fromiter(map(p_at.get, _column(keys, 1), repeat(-1)), dtype=np.int64, count=len(vol))
        vd = np.fromiter(vol.values(), dtype=float, count=len(vol))
        at = np.clip(np.searchsorted(u_labels, vu), 0, max(len(u_labels) - 1, 0))
        # Volume rows of units or periods with no responses in the read weigh nothing here.
        ok = (vp >= 0) & (u_labels[at] == vu) if len(u_labels) else np.zeros(len(vu), bool)
        d_u = np.bincount(at[ok] * n_p + vp[ok], weights=vd[ok], minlength=len(d_u))
    unit_n = np.bincount(up, weights=n_h, minlength=len(d_u))
    du = d_u[up]
    with np.errstate(divide="ignore", invalid="ignore"):
        w = np.where(~np.isnan(d_h), d_h / n_h, np.where(du != 0, du / unit_n[up], 1.0))
    columns = {"unit_id": u_labels[up // n_p], "period": p_labels[up % n_p],
               "field_key": f_labels[f_of], "n_h": n_h, "w": w, "weighted": du != 0,
               "fallback": np.isnan(d_h), "up": up}
    return columns, raw_to


def _column(rows: Sequence[tuple], i: int) -> list[Any]:
    """The i-th element of every row, in order (one C-level pass)."""
    return list(map(itemgetter(i), rows))


# Which measures each stat reads: rate and score both read the items (rate: the 4-5 count).
_KIND_OF = {"rate": KIND_ITEM, "score": KIND_ITEM, "component": KIND_COMPONENT,
            "overall": KIND_OVERALL}


def weigh(sums: StratumSums, stats: Iterable[str] = STATS, by_counter: bool = False,
          labels: bool = True) -> Weighted:
    """:func:`weighted` of sums already read.

    The cells come out grouped by domain (unit, period, stat, measure, in the keys' sorted
    order) and, within one, by stratum: analysis.sums then finds the domains and
    (domain, stratum) pairs in one pass instead of sorting 10^6 keys.  They are gathered
    from a dense grid (unit-period block x measure x the stratum's place in its block)
    that adds up the rollup's and the tail's cells of one (stratum, measure).
    """
    stats = set(stats)
    stat_labels = np.array(sorted(STATS))
    u_raw = np.array(_column(sums.strata, 0), dtype=np.int64)
    u_labels, u_code = np.unique(u_raw, return_inverse=True)
    periods = _column(sums.strata, 1)
    p_labels = np.array(sorted(set(periods)), dtype=str)
    p_at = {p: i for i, p in enumerate(p_labels.tolist())}
    p_code = np.fromiter(map(p_at.__getitem__, periods), dtype=np.int64, count=len(periods))
    columns, raw_to = _strata(sums, u_labels, u_code.reshape(-1), p_labels, p_code)
    # Measures in their labels' order; each stat reads the measures of its kind.
    kind_m = np.array([k for k, _ in sums.measures], dtype=np.int64)
    m_labels, m_code = np.unique(np.array([c for _, c in sums.measures], dtype=str),
                                 return_inverse=True)
    by_label = np.argsort(m_code, kind="stable").tolist()
    e_stat, e_m = [], []
    for si, stat in enumerate(stat_labels.tolist()):
        if stat in stats:
            chosen = [m for m in by_label if kind_m[m] == _KIND_OF[stat]]
            e_stat += [si] * len(chosen)
            e_m += chosen
    es, em = np.array(e_stat, dtype=np.int64), np.array(e_m, dtype=np.int64)
    n_h_count = len(columns["n_h"])
    if n_h_count == 0 or len(em) == 0 or len(sums.n) == 0:
        pos = np.zeros(0, dtype=np.int64)
        blocks, n_m, width, start = 1, max(len(kind_m), 1), 1, np.zeros(1, dtype=np.int64)
        tot: dict[str, np.ndarray] = {k: np.zeros(0) for k in ("n", "sat", "s1", "s2")}
    else:
        # Strata are sorted by (unit, period): block = unit-period, slot = place in it.
        up = columns["up"]
        new = np.r_[True, up[1:] != up[:-1]]
        start = np.flatnonzero(new)
        block = np.cumsum(new) - 1
        slot = np.arange(n_h_count) - start[block]
        blocks, n_m, width = len(start), len(kind_m), int(slot.max()) + 1
        h = raw_to[np.asarray(sums.cell_stratum, dtype=np.int64)]
        g = (block[h] * n_m + np.asarray(sums.cell_measure, dtype=np.int64)) * width + slot[h]
        del h
        size = blocks * n_m * width
        present = (np.bincount(g, minlength=size) > 0).reshape(blocks, n_m, width)[:, em, :]
        pos = np.flatnonzero(present)
        del present
        tot = {k: np.bincount(g, weights=np.asarray(getattr(sums, k), dtype=float),
                              minlength=size) for k in ("n", "sat", "s1", "s2")}
        del g
    n_e = len(em)
    b, e, sl = pos // (n_e * width), (pos // width) % max(n_e, 1), pos % width
    del pos
    stratum = start[b] + sl
    src = (b * n_m + em[e]) * width + sl
    del sl
    n = tot["n"][src]
    rate = es[e] == int(np.searchsorted(stat_labels, "rate"))
    y1 = np.where(rate, tot["sat"][src], tot["s1"][src])
    y2 = np.where(rate, tot["sat"][src], tot["s2"][src])
    del src, tot, rate
    ww = columns["w"][stratum]
    w2 = ww * ww
    cells: dict[str, np.ndarray] = dict(zip(SUMS, (n.astype(np.int64), ww * n, ww * y1, ww * y2,
                                                   w2 * n, w2 * y1, w2 * y2)))
    del n, y1, y2, ww, w2
    # Key columns as codes into their sorted labels (analysis.indices.index_columns' keys).
    n_p = len(p_labels)
    up_b = columns["up"][start][b] if len(b) else np.zeros(0, dtype=np.int64)
    unit, period, measure = up_b // max(n_p, 1), up_b % max(n_p, 1), m_code.reshape(-1)[em][e]
    if by_counter and len(measure):
        split = np.char.partition(m_labels.astype(str), COUNTER_MARK)
        m_labels, base = np.unique(split[:, 0], return_inverse=True)
        u_labels, counter = np.unique(split[:, 2].astype(np.int64), return_inverse=True)
        unit, measure = counter.reshape(-1)[measure], base.reshape(-1)[measure]
    # int32 codes: five key columns of 10^6 cells are 20 MB less (the peak is these cells).
    cells.update({k: np.asarray(v, dtype=np.int32) for k, v in
                  (("unit", unit), ("period", period), ("stat", es[e]), ("measure", measure),
                   ("stratum", stratum))})
    keys = {k: (lab, cells[k]) for k, lab in
            zip(KEYS, (u_labels, p_labels, stat_labels, m_labels))}
    if labels:
        cells.update({k: lab[cells[k]] for k, (lab, _) in keys.items()})
    return Weighted(columns, cells, keys)
