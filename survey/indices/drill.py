"""The drill-down's figures: the province pooled, its units ranked, a unit's counters, and a
unit placed against the province.  Plain data, no Flask, no formatting.

Everything is one :func:`aggregates.weighted` read (SQL sums per stratum) relabelled, as
indices/pooled.py does: strata are nested in unit x period, so giving every cell one unit
(the province) or one period (a year, a custom range) yields the pooled estimate with the
same stratified linearization variance.  Counters are domains within their unit's strata
(``by_counter``: weights stay the unit's).  The gap unit − province is
analysis.gap_from_sums on the province's cells: the unit is part of the province, so the
two are not independent.
"""
from __future__ import annotations

import json
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from typing import AbstractSet, Any, Iterable, Iterator, Sequence, cast

import numpy as np

from analysis import Design, Estimate, gap_from_sums
from analysis.gcpause import gc_paused
from analysis.indices import estimates_of, index_columns, index_table
from analysis.report.model import weakest_items
from survey.catalog.instrument import STANDING_CODE
from survey.indices import rollup_read, snapshot
from survey.indices.aggregates import STATS, IndexRow, Weighted, _units, summary_parts, weighted
from survey.indices.lru import Lru
from survey.indices.pooled import POOLED_UNIT
from survey.indices.stratum_sums import instrument_of
from survey.indices.windows import Window

Key = tuple[str, str]   # (stat, measure)


def read(window: Window | Sequence[str], unit_ids: AbstractSet[int] | None,
         survey_code: str = STANDING_CODE, stats: Iterable[str] = STATS,
         by_counter: bool = False, verified_only: bool = False) -> Weighted | None:
    """One read of the sums: a window (its dates), or whole half-years (a trend)."""
    inst = instrument_of(survey_code)
    if inst is None or (unit_ids is not None and not unit_ids):
        return None
    if isinstance(window, Window):
        periods, dated = list(window.periods), (None if window.whole_periods else window)
    else:
        periods, dated = list(window), None
    # A province's read decodes ~10^5 small JSON lists (strata, volumes) that die by reference
    # counting; each allocation burst set off full collections over the app's long-lived objects.
    with gc_paused():
        data = weighted(inst, periods, unit_ids, stats, verified=True if verified_only else None,
                        window=dated, by_counter=by_counter)
    # Cells point into the strata: none without them (and ``strata`` may be built lazily).
    return data if len(data.cells["n"]) else None


def estimates(data: Weighted | None, unit: Any = None, period: Any = None,
              keep: np.ndarray | None = None) -> list[Estimate]:
    """index_table() of the cells, every cell's unit and/or period relabelled when given,
    and only the cells ``keep`` selects."""
    if data is None:
        return []
    cells = {k: (v if keep is None else v[keep]) for k, v in data.cells.items()}
    if not len(cells["n"]):
        return []
    if unit is not None:
        cells["unit"] = np.full(len(cells["n"]), unit)
    if period is not None:
        cells["period"] = np.full(len(cells["n"]), period)
    return index_table(data.frame(), cells)


def by_domain(rows: Iterable[Estimate]) -> dict[Any, dict[Key, Estimate]]:
    out: dict[Any, dict[Key, Estimate]] = {}
    for e in rows:
        out.setdefault(e.unit, {})[(str(e.stat), str(e.measure))] = e
    return out


@dataclass(frozen=True)
class Summary:
    """One domain's figures in one window: the province, a unit or a counter."""

    responses: int
    overall: Estimate | None
    components: tuple[tuple[str, str, Estimate | None], ...]
    items: tuple
    overall_item: Any

    def weakest(self, k: int = 3) -> list:
        """The PDF's and the unit dashboard's rule (analysis.report.model.weakest_items)."""
        return weakest_items(self.items, k)


def summary(found: dict[Key, Estimate], survey_code: str = STANDING_CODE) -> Summary:
    parts = summary_parts(found, survey_code)
    overall = parts["overall"]
    return Summary(responses=overall.n if overall else 0, **parts)


def window_key(window: Window) -> str:
    return window.period or window.key


# --- the province ---------------------------------------------------------------------------

@dataclass(frozen=True)
class ProvinceFigures:
    pooled: Summary
    units: list[Estimate]                       # the chosen measure, one per unit (unit = id)
    trend: list[tuple[str, Estimate | None]]    # pooled overall per half-year


def province(window: Window, unit_ids: AbstractSet[int] | None, stat: str, measure: str,
             trend_periods: Sequence[str], survey_code: str = STANDING_CODE) -> ProvinceFigures:
    """Pooled over ``unit_ids`` (None: every unit) in the window; units ranked on one measure.

    A window of whole half-years within the trend is read once with the trend.
    """
    key = window_key(window)
    if window.whole_periods and set(window.periods) <= set(trend_periods):
        data = trend_data = read(list(trend_periods), unit_ids, survey_code)
        in_window = None if data is None else np.isin(data.cells["period"], window.periods)
    else:
        data, in_window = read(window, unit_ids, survey_code), None
        trend_data = read(list(trend_periods), unit_ids, survey_code, stats=("overall",))
    pooled = by_domain(estimates(data, unit=POOLED_UNIT, period=key, keep=in_window)
                       ).get(POOLED_UNIT, {})
    units: list[Estimate] = []
    if data is not None:
        keep = (data.cells["stat"] == stat) & (data.cells["measure"] == measure)
        units = estimates(data, period=key, keep=keep if in_window is None else keep & in_window)
    overall = None if trend_data is None else trend_data.cells["stat"] == "overall"
    per = {e.period: e for e in estimates(trend_data, unit=POOLED_UNIT, keep=overall)}
    return ProvinceFigures(summary(pooled, survey_code), units,
                           [(p, per.get(p)) for p in trend_periods])


# --- a unit against the province ------------------------------------------------------------

@dataclass(frozen=True)
class Standing:
    province: Estimate | None   # the pooled overall index of every unit
    unit: Estimate | None       # the unit's overall index, ranked among every unit
    gap: Estimate | None        # unit − province (analysis.gap_from_sums)
    units: int                  # units ranked


@dataclass(frozen=True)
class Ranking:
    """Every unit's overall index in one window, ranked, and the pooled province: what each
    unit is placed against.  One read serves every unit of a batch (:func:`shared_ranking`).

    The units' figures stay columns (analysis.indices.index_columns, unit = id): a page
    places one unit, and building an Estimate for each of a country's 3,321 units cost more
    than ranking them.  :meth:`unit` builds one, the same as index_table() would."""

    data: Weighted | None
    key: str
    province: Estimate | None
    columns: dict[str, np.ndarray]
    row: dict[int, int]                 # unit id -> its row in ``columns``
    ranked: int
    design: Design | None

    def unit(self, unit_id: int) -> Estimate | None:
        at = self.row.get(unit_id)
        return None if at is None else estimates_of(self.columns, order=np.array([at]))[0]

    def gap(self, unit_id: int) -> Estimate | None:
        """unit − province (analysis.gap_from_sums on every unit's cells), or None."""
        if self.data is None or self.design is None or unit_id not in self.row:
            return None
        table = {**self.data.cells, "domain": self.data.cells["unit"]}
        return replace(gap_from_sums(self.design, table, unit_id), unit=unit_id, period=self.key,
                       stat="gap", measure="overall")


def ranking(window: Window, survey_code: str = STANDING_CODE) -> Ranking:
    """One read of every unit's overall sums in ``window`` (the province is every unit).

    Every unit dashboard places its unit against all of them: a read of a country's sums and
    3,321 units' estimates, ~0.3-0.5 s, the same for every unit until the data change.  Kept
    by each worker under the data's fingerprint (rollup_read.fingerprint), read in the same
    snapshot as the data it stands for, so a kept ranking is exactly what a new read gives."""
    shared = _shared.get()
    cache_key = (survey_code, window)
    if shared is not None and cache_key in shared:
        return shared[cache_key]
    inst = instrument_of(survey_code)
    with snapshot.shared() as conn:
        memo_key = None
        if inst is not None and window.whole_periods:
            found_print = rollup_read.fingerprint(conn, inst, window.periods)
            if found_print is not None:
                memo_key = (str(conn.engine.url), survey_code, window,
                            json.dumps(inst.component_weights, sort_keys=True), found_print)
        found = _rankings.get(memo_key) if memo_key is not None else None
        if found is None:
            found = _rank(window, survey_code)
            if memo_key is not None:
                _rankings.put(memo_key, found)
    if shared is not None:
        shared[cache_key] = found
    return found


KEPT_RANKINGS = 8   # windows x surveys x databases a worker keeps; a national one: ~8 MiB
_rankings: Lru[Ranking] = Lru(KEPT_RANKINGS)


def _rank(window: Window, survey_code: str) -> Ranking:
    data = read(window, None, survey_code, stats=("overall",))
    key = window_key(window)
    if data is None:
        return Ranking(None, key, None, {}, {}, 0, None)
    frame = data.frame()   # one frame for the pooled figure, the units and the design
    # Keys already factorised (weighted() has them): no sorting of 10^4 label strings.
    one = np.zeros(len(data.cells["n"]), dtype=np.int64)
    period = (np.array([key]), one)
    pooled = estimates_of(index_columns(frame, data.cells, keys={
        **data.keys, "unit": (np.array([POOLED_UNIT]), one), "period": period}))
    cols = index_columns(frame, data.cells, keys={**data.keys, "period": period})
    units = cols["unit"].tolist()
    return Ranking(data, key, replace(pooled[0], unit=None) if pooled else None, cols,
                   {u: i for i, u in enumerate(units)}, int((cols["rank"] > 0).sum()),
                   Design.from_aggregates(frame["stratum"], frame["n_psu"], lonely_psu="adjust"))


_shared: ContextVar[dict[tuple[str, Window], Ranking] | None] = ContextVar("drill_shared_ranking", default=None)


@contextmanager
def shared_ranking() -> Iterator[None]:
    """Within the block every :func:`standing` of one window reuses one :func:`ranking`: a
    batch of unit reports reads the province once, not once per unit (which made a province
    batch quadratic).  Only for a batch that reads a fixed period: figures are as of its start."""
    token = _shared.set({})
    try:
        yield
    finally:
        _shared.reset(token)


def standing(unit_id: int, window: Window, survey_code: str = STANDING_CODE) -> Standing:
    """The province is every unit: the unit's rank and gap are against all of them."""
    found = ranking(window, survey_code)
    if found.data is None or found.design is None:
        return Standing(None, None, None, 0)
    return Standing(found.province, found.unit(unit_id), found.gap(unit_id), found.ranked)


# --- a unit's counters ----------------------------------------------------------------------

def counters(unit_id: int, window: Window | Sequence[str], survey_code: str = STANDING_CODE,
             stats: Iterable[str] = STATS) -> "Counters":
    """(counter id, period or window key) -> its estimates, from one read by counter."""
    data = read(window, {unit_id}, survey_code, stats=stats, by_counter=True)
    period = window_key(window) if isinstance(window, Window) else None
    return _by_counter(estimates(data, period=period))

Counters = dict[tuple[int, str], dict[Key, Estimate]]


def _by_counter(rows: Iterable[Estimate]) -> Counters:
    out: Counters = {}
    for e in rows:
        out.setdefault((int(e.unit or 0), str(e.period)), {})[(str(e.stat), str(e.measure))] = e
    return out


def unit_reading(unit_id: int, when: Window | Sequence[str], survey_code: str = STANDING_CODE,
                 verified_only: bool = False) -> tuple[list[IndexRow], Counters]:
    """A unit dashboard's one read: the unit's index rows (its counters pooled back: the same
    figures as aggregates.unit_rows) and each counter's estimates, per half-year of ``when``
    or for the window ``when`` (period = its key)."""
    data = read(when, {unit_id}, survey_code, by_counter=True, verified_only=verified_only)
    if data is None:
        return [], {}
    period = window_key(when) if isinstance(when, Window) else None
    return (rows_of(data, estimates(data, unit=unit_id, period=period), period),
            _by_counter(estimates(data, period=period)))


def rows_of(data: Weighted, estimates: list[Estimate], period: str | None = None
            ) -> list[IndexRow]:
    """Index rows of ``estimates`` (keyed by unit id) made from ``data``: unit code, name,
    kind and the weighting flags, in :func:`index_table_for`'s order.  ``period``: the
    estimates pool every period of ``data`` under this key (a year, a date range)."""
    units = {u.id: (u.code, u.name, u.kind)
             for u in _units({e.unit for e in estimates if isinstance(e.unit, int)})}
    flags: dict[tuple[int, str], dict[str, Any]] = {}
    for s in data.strata:
        f = flags.setdefault((s["unit_id"], period or s["period"]), {
            "responses": 0, "weighted": True, "fallback_responses": 0})
        f["weighted"] = f["weighted"] and s["weighted"]
        f["responses"] += s["n_h"]
        f["fallback_responses"] += s["n_h"] if s["fallback"] else 0
    stat_order = {stat: i for i, stat in enumerate(STATS)}
    keys = [(cast(int, e.unit), cast(str, e.period)) for e in estimates]
    rows = [IndexRow(e, *units[unit], **flags[(unit, period)])
            for e, (unit, period) in zip(estimates, keys)]
    rows.sort(key=lambda r: (r.period, stat_order[r.stat], r.measure,
                             r.est.rank if r.est.rank > 0 else 10**9, r.unit_code))
    return rows
