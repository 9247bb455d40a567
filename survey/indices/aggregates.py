"""SIPAS index tables from the database: per-stratum sums in, analysis.Estimate rows out.

Row-level responses never reach Python: per stratum (unit x service field x period) and
measure, n, the satisfied count, Σy and Σy² come from the rollup plus a live GROUP BY over
responses not yet folded (indices/rollups.py; exact either way).  This module weights them
into the two tables whose contract is the docstring of :mod:`analysis.indices`:

- ``frame``: one row per stratum h with n_h (responses) as n_psu; its weight is w_h;
- ``cells``: per (unit, period, stat, measure, stratum) the weighted sums; w is constant in
  a stratum, so Σw·y = w_h·Σy, Σw²y² = w_h²·Σy²: exact, not an approximation.

Measures (scored once, at submission: indices/scores.py): ``rate`` and ``score`` per item,
``component`` (share of the component's valid items rated 4-5), ``overall`` (their
component-weighted mean; equal weights unless ``scope["component_weights"]`` says otherwise).

Weights, and what happens when service volumes are missing
-----------------------------------------------------------
For each unit and period, with D_u = the unit's total dossiers in the period
(ServiceVolume rows with dossiers > 0) and N_u = its responses:

1. a response whose service_field has a ServiceVolume row gets the field stratum,
   w = dossiers_field / responses_field (DESIGN.md section 5);
2. a response with NULL service_field, or a field without a volume row, goes to the unit's
   residual stratum (field key ``"*"``) and gets the unit-average weight w = D_u / N_u: it
   counts as much as an average respondent of that unit, neither more nor less;
3. a unit with no volumes at all in the period has no field with a volume row, so by rule 2
   all its responses fall into its one residual stratum (``"*"``), with w = 1 since D_u = 0:
   its estimates are unweighted and their variance is that of one unstratified sample of the
   unit (no split by field).  Such rows carry ``weighted=False`` and every report must print
   :data:`UNWEIGHTED_NOTE`.  ``fallback_responses`` counts responses weighted by rule 2 or 3.

Strata are nested in units: a unit's estimates do not depend on the other units in the query;
ranks do (they are computed among the units asked for).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import AbstractSet, Any, Iterable, Sequence

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm.util import identity_key

from analysis import Estimate
from analysis.indices import index_columns
from analysis.report.language import N_
from analysis.report.model import weakest_items
from survey.catalog.instrument import COMPONENTS, STANDING_CODE
from survey.extensions import db
from survey.i18n import current_lang
from survey.indices import rollup_read
from survey.indices.index_table import IndexRow, IndexRows
from survey.indices.stratum_sums import (
    COUNTER_MARK,
    Instrument,
    StratumSums,
    instrument_of,
    kinds_for,
    question_wordings,
    questions_of,
    survey_id_of,
)
from survey.indices.windows import Window
from survey.models import Unit
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
    d_raw = [vol.get(s) for s in sums.strata]          # a few 10^4 dict look-ups, no objects
    has = np.array([d is not None for d in d_raw], dtype=bool)
    fields = [f if h else RESIDUAL for (_u, _p, f), h in zip(sums.strata, has.tolist())]
    f_labels = np.array(sorted(set(fields)), dtype=str)
    f_at = {f: i for i, f in enumerate(f_labels.tolist())}
    f_code = np.fromiter((f_at[f] for f in fields), dtype=np.int64, count=len(fields))
    n_p, n_f = len(p_labels), len(f_labels)
    up_raw = u_code * n_p + p_code
    key, raw_to = np.unique(up_raw * n_f + f_code, return_inverse=True)
    raw_to = raw_to.reshape(-1)
    up, f_of = key // n_f, key % n_f
    n_h = np.bincount(raw_to, weights=np.asarray(sums.responses, dtype=float),
                      minlength=len(key)).astype(np.int64)
    d_h = np.full(len(key), np.nan)
    d_h[raw_to[has]] = np.array([d for d in d_raw if d is not None], dtype=float)
    # D_u: every volume row of the unit and period, whether or not the field had responses.
    d_u: np.ndarray = np.zeros(len(u_labels) * n_p)
    if vol:
        vu = np.fromiter((k[0] for k in vol), dtype=np.int64, count=len(vol))
        p_at = {p: i for i, p in enumerate(p_labels.tolist())}
        vp = np.fromiter((p_at.get(k[1], -1) for k in vol), dtype=np.int64, count=len(vol))
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


def weighted(inst: Instrument, periods: Sequence[str], unit_ids: AbstractSet[int] | None,
             stats: Iterable[str] = STATS, include: Sequence[int] = (),
             verified: bool | None = None, window: Window | None = None,
             by_counter: bool = False, labels: bool = True) -> Weighted:
    """Strata with n_h and w_h, and the cells table of analysis.indices.index_table().

    Counted responses only, plus ``include`` (see rollup_read.read); ``verified`` True/False
    weights one channel's responses alone to the service volumes.  ``window``: responses
    in its dates only, each period's dossiers prorated to the days it covers
    (docs/periods.md).  ``by_counter``: the cells' ``unit`` is the counter (a domain within
    the unit's strata; the weights stay the unit's).  ``labels=False``: the cells' key
    columns as codes into ``keys`` only (index_table_for needs no 10^6 strings).
    """
    stats = set(stats)
    sums = rollup_read.read(inst, periods, unit_ids, kinds_for(stats), include, verified,
                            window.between() if window else None, by_counter)
    if window is not None:
        share = window.shares()
        sums.volumes = {k: d * share.get(k[1], 1.0) for k, d in sums.volumes.items()}
    return weigh(sums, stats, by_counter, labels)


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
    u_raw = np.fromiter((s[0] for s in sums.strata), dtype=np.int64, count=len(sums.strata))
    u_labels, u_code = np.unique(u_raw, return_inverse=True)
    p_labels = np.array(sorted({s[1] for s in sums.strata}), dtype=str)
    p_at = {p: i for i, p in enumerate(p_labels.tolist())}
    p_code = np.fromiter((p_at[s[1]] for s in sums.strata), dtype=np.int64,
                         count=len(sums.strata))
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


def strata_rows(inst: Instrument, periods: Sequence[str], unit_ids: AbstractSet[int] | None
                ) -> list[dict[str, Any]]:
    """Strata with n_h, w_h, weighted (the unit has volumes) and fallback (rule 2 or 3)."""
    return weighted(inst, periods, unit_ids, stats=()).strata


def index_cells(inst: Instrument, periods: Sequence[str], unit_ids: AbstractSet[int] | None,
                stats: Iterable[str] = STATS) -> dict[str, np.ndarray]:
    """The ``cells`` table with stratum labels (see :func:`stratum_label`)."""
    data = weighted(inst, periods, unit_ids, stats)
    labels = np.array([s["stratum"] for s in data.strata] or [""], dtype=object)
    return {**data.cells, "stratum": labels[data.cells["stratum"].astype(np.int64)]}


def index_table_for(periods: Sequence[str], unit_ids: AbstractSet[int] | None,
                    survey_code: str = STANDING_CODE, stats: Iterable[str] = STATS,
                    include: Sequence[int] = (), verified_only: bool = False) -> Sequence[IndexRow]:
    """index_table() rows for several periods, with unit code/name/kind and weighting flags.

    Ordered by period, stat (overall, component, rate, score), measure, rank (ranked rows
    first), unit code: a sequence whose rows are built when read (index_table.IndexRows).
    Counted responses only; ``include`` adds held responses by id (the review page's "with");
    ``verified_only``: from dossier-link responses alone (a robustness check; read live).
    """
    inst = instrument_of(survey_code)
    if inst is None or (unit_ids is not None and not unit_ids):
        return []
    data = weighted(inst, periods, unit_ids, stats, include, True if verified_only else None,
                    labels=False)
    if not len(data) or len(data.cells["n"]) == 0:
        return []
    cols = index_columns(data.frame(), data.cells, keys=data.keys)
    unit_labels = data.keys["unit"][0].tolist()
    units = unit_info(set(unit_labels))
    # Order in arrays (period, stat, measure, ranked first by rank, unit code), then build the
    # objects once, already sorted: no Python sort with a key function over 10^5 rows.  Every
    # key as an integer: the position of its label in sorted order (or in STATS).
    code_rank = np.zeros(len(unit_labels), dtype=np.int64)
    present = [i for i, u in enumerate(unit_labels) if u in units]
    code_rank[present] = np.argsort(np.argsort([units[unit_labels[i]][0] for i in present]))
    stat_order = np.array([STATS.index(s) for s in data.keys["stat"][0].tolist()],
                          dtype=np.int64)[cols["stat_index"]]
    rank = np.where(cols["rank"] > 0, cols["rank"], 10**9)
    order = np.lexsort((code_rank[cols["unit_index"]], rank, cols["measure_index"], stat_order,
                        cols["period_index"]))
    return IndexRows(cols, order, units, data.flags())


ALL_UNITS_FROM = 500   # more ids than this: read every unit rather than bind thousands of ids


def unit_info(ids: set[int]) -> dict[int, tuple[str, str, str]]:
    """Unit id -> (code, name, kind), read as plain columns; the units the session already
    holds (a dashboard's unit and its picker) cost no statement."""
    out: dict[int, tuple[str, str, str]] = {}
    get = db.session.identity_map.get
    for i in ids:
        u = get(identity_key(Unit, i))
        if u is not None:
            out[i] = (u.code, u.name, u.kind)
    missing = ids - out.keys()
    if missing:
        query = select(Unit.id, Unit.code, Unit.name, Unit.kind)
        if len(missing) <= ALL_UNITS_FROM:
            query = query.where(Unit.id.in_(sorted(missing)))
        out.update({i: (c, n, k) for i, c, n, k in db.session.execute(query) if i in missing})
    return out


def _units(ids: set[int]) -> list[Unit]:
    """The units with these ids; those the session already holds (a dashboard's unit and its
    picker) cost no statement."""
    held = [db.session.identity_map.get(identity_key(Unit, i)) for i in ids]
    found = [u for u in held if u is not None]
    missing = ids - {u.id for u in found}
    if missing:
        found += db.session.scalars(select(Unit).where(Unit.id.in_(sorted(missing)))).all()
    return found


def index_rows(period: str, unit_ids: AbstractSet[int] | None, survey_code: str = STANDING_CODE,
               stats: Iterable[str] = STATS, verified_only: bool = False) -> Sequence[IndexRow]:
    """The SIPAS index table of one period, ranked rows first (see :func:`index_table_for`).

    Every row's ``est`` is an analysis.Estimate (rank -1 when not reliable); unit_ids=None:
    every unit.
    """
    return index_table_for([period], unit_ids, survey_code, stats, verified_only=verified_only)


# --- summaries for dashboards and reports: plain data, no formatting ------------------------

@dataclass(frozen=True)
class ItemResult:
    code: str
    text: str
    component: str | None
    rate: Estimate | None
    score: Estimate | None


@dataclass(frozen=True)
class UnitSummary:
    unit_id: int
    period: str
    responses: int
    weighted: bool                 # False: print UNWEIGHTED_NOTE
    fallback_responses: int
    overall: Estimate | None
    components: tuple[tuple[str, str, Estimate | None], ...]   # (code, name, estimate)
    items: tuple[ItemResult, ...]
    overall_item: ItemResult | None  # the "Nhìn chung..." question, not part of the index

    def weakest(self, k: int = 3) -> list[ItemResult]:
        """The reliable items with the lowest satisfaction rate, ties shown (overall question
        excluded): the PDF's rule, analysis.report.model.weakest_items."""
        return weakest_items(self.items, k)


def question_texts(survey_code: str = STANDING_CODE, lang: str | None = None
                   ) -> dict[str, tuple[str, str | None]]:
    """Item code -> (wording, component), the newest version's wording winning; the wording in
    the reader's language (survey.i18n.current_lang) unless `lang` says which."""
    survey_id = survey_id_of(survey_code)
    if survey_id is None:
        return {}
    wordings = question_wordings(survey_id, lang or current_lang())
    return {code: (wordings[code], comp) for code, _text, comp, _type in questions_of(survey_id)}


def component_name(code: str, lang: str | None = None) -> str:
    """A SIPAS component's name in the reader's language (the instrument's vi/en pair)."""
    names = COMPONENTS.get(code)
    if names is None:
        return code
    return names[1] if (lang or current_lang()) == "en" else names[0]


def unit_rows(unit_id: int, periods: Sequence[str], survey_code: str = STANDING_CODE,
              verified_only: bool = False) -> Sequence[IndexRow]:
    """Every estimate of one unit in several periods, read at once: a dashboard hands them to
    :func:`unit_summary` and :func:`trend`, so the current period is computed once.

    A unit's estimates in one period do not depend on the other periods read with it (its
    strata are nested in unit x period), so they equal :func:`index_rows` of that period.
    """
    return index_table_for(list(periods), {unit_id}, survey_code, verified_only=verified_only)


def unit_summary(unit_id: int, period: str, survey_code: str = STANDING_CODE,
                 verified_only: bool = False, rows: Sequence[IndexRow] | None = None
                 ) -> UnitSummary:
    """Overall index, components and items of one unit in one period (responses=0 if none).

    ``rows``: this unit's :func:`unit_rows` already read (other periods are ignored).
    """
    rows = (index_rows(period, {unit_id}, survey_code, verified_only=verified_only)
            if rows is None else [r for r in rows if r.period == period])
    first = rows[0] if rows else None
    return UnitSummary(
        unit_id=unit_id, period=period, responses=first.responses if first else 0,
        weighted=first.weighted if first else False,
        fallback_responses=first.fallback_responses if first else 0,
        **summary_parts({(r.stat, r.measure): r.est for r in rows}, survey_code))


def summary_parts(by_key: dict[tuple[str, str], Estimate], survey_code: str = STANDING_CODE
                  ) -> dict[str, Any]:
    """Overall, components, items and the overall question of one domain's estimates
    ((stat, measure) -> Estimate): a unit's (UnitSummary), a counter's or the province's."""
    texts = question_texts(survey_code)
    comps = sorted({m for st, m in by_key if st == "component"} | set(COMPONENTS))
    items = []
    for code in sorted(m for st, m in by_key if st == "rate"):
        text, comp = texts.get(code, (code, None))
        items.append(ItemResult(code, text, comp, by_key.get(("rate", code)),
                                by_key.get(("score", code))))
    return {"overall": by_key.get(("overall", "overall")),
            "components": tuple((c, component_name(c), by_key.get(("component", c)))
                                for c in comps),
            "items": tuple(i for i in items if i.component != "OVERALL"),
            "overall_item": next((i for i in items if i.component == "OVERALL"), None)}


def trend(unit_id: int, periods: Sequence[str], survey_code: str = STANDING_CODE,
          verified_only: bool = False, rows: Sequence[IndexRow] | None = None
          ) -> list[tuple[str, Estimate | None]]:
    """Overall index of a unit per period, in the order given (None where no responses).

    ``rows``: this unit's :func:`unit_rows` for (at least) these periods, already read.
    """
    if rows is None:
        rows = index_table_for(list(periods), {unit_id}, survey_code, stats=("overall",),
                               verified_only=verified_only)
    found = {r.period: r.est for r in rows if r.stat == "overall"}
    return [(p, found.get(p)) for p in periods]
