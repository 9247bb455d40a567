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
from typing import AbstractSet, Any, Iterable, Sequence

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm.util import identity_key

from analysis import Estimate
from analysis.indices import index_columns
from analysis.report.model import weakest_items
from survey.catalog.instrument import COMPONENTS, STANDING_CODE
from survey.extensions import db
from survey.i18n import current_lang
from survey.indices import rollup_read
from survey.indices.index_table import IndexRow, IndexRows
from survey.indices.stratum_sums import (
    Instrument,
    instrument_of,
    kinds_for,
    question_wordings,
    questions_of,
    survey_id_of,
)
from survey.indices.weigh import (
    KEYS as KEYS,
)
from survey.indices.weigh import (  # re-exported: callers import them from here
    RESIDUAL as RESIDUAL,
)
from survey.indices.weigh import (
    STATS as STATS,
)
from survey.indices.weigh import (
    SUMS as SUMS,
)
from survey.indices.weigh import (
    UNWEIGHTED_NOTE as UNWEIGHTED_NOTE,
)
from survey.indices.weigh import (
    Weighted as Weighted,
)
from survey.indices.weigh import (
    stratum_label as stratum_label,
)
from survey.indices.weigh import (
    weigh as weigh,
)
from survey.indices.windows import Window
from survey.models import Unit


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
