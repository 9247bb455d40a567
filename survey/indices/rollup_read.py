"""Read the per-stratum sums: the folded rollup plus the unfolded tail, in one snapshot.

See :mod:`survey.indices.rollups` for why the result is exact whether the rollup is current,
stale or empty.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import AbstractSet, Any, Sequence

import numpy as np
from psycopg import pq
from sqlalchemy import (
    BigInteger,
    Float,
    Integer,
    String,
    and_,
    case,
    cast,
    event,
    func,
    literal,
    literal_column,
    or_,
    select,
)
from sqlalchemy.engine import Connection

from survey.indices.lru import Lru
from survey.indices.score_sums import sum_selects, union_of, unpivot_array, wide_array, wide_matrix, wide_select
from survey.indices.snapshot import snapshot
from survey.indices.stratum_sums import (
    COUNT_MEASURE,
    COUNTER_MARK,
    Instrument,
    StratumSums,
    _field_expr,
    counted,
    is_postgres,
    state_matches,
    unfolded,
)
from survey.models import Response, RollupCell, RollupMeasure, RollupState, RollupStratum, ServiceVolume
from survey.models.rollups import KIND_COMPONENT, KIND_ITEM, KIND_OVERALL

ALL_KINDS = {KIND_ITEM, KIND_COMPONENT, KIND_OVERALL}
SMALL_READ = 20   # units: a live read of a few units' responses needs no extra work_mem


# Rows packed by PostgreSQL's send functions (big-endian, fixed width) into ONE bytea, read
# straight into NumPy: a national table is ~10^6 rollup cells and a live tail of 10,000
# responses ~2x10^5 sums; as row tuples they cost ~1 µs each in the driver alone, and COPY
# BINARY arrives one message per row.
_CELL_DTYPE = np.dtype([("sid", ">i4"), ("mid", ">i4"), ("n", ">i8"), ("sat", ">i8"),
                        ("s1", ">f8"), ("s2", ">f8")])
_TAIL_DTYPE = np.dtype([("key", ">i8"), ("mid", ">i4"), ("counter", ">i4"), ("n", ">i8"),
                        ("sat", ">i8"), ("s1", ">f8"), ("s2", ">f8")])
# On the wire a cell's ids share one 8-byte word, and so do its two counts: four send calls
# and three concatenations a row instead of six and five (~25% of the packing of 8x10^5 cells
# in EXPLAIN ANALYZE).  The counts go through int4 first, so a count that did not fit (never:
# it is responses of one stratum) fails the statement instead of corrupting its neighbour.
_CELL_WIRE = np.dtype([("ids", ">i8"), ("counts", ">i8"), ("s1", ">f8"), ("s2", ">f8")])
_LOW = 0xFFFFFFFF


def _cell_words(sub: Any) -> list[Any]:
    c = sub.c

    def word(high: Any, low: Any) -> Any:
        shifted = cast(cast(high, Integer), BigInteger).op("<<")(literal_column("32"))
        return shifted.op("|")(cast(low, Integer))
    return [word(c.stratum_id, c.measure_id), word(c.n, c.sat), c.s1, c.s2]


def _cell_arrays(data: bytes | None) -> dict[str, np.ndarray]:
    """_CELL_DTYPE's columns from the wire's words."""
    got = _arrays(data, _CELL_WIRE)
    ids, counts = got.pop("ids"), got.pop("counts")
    return {"sid": (ids >> 32).astype(np.int32), "mid": (ids & _LOW).astype(np.int32),
            "n": counts >> 32, "sat": counts & _LOW, **got}


_SEND = {">i4": (func.int4send, Integer), ">i8": (func.int8send, BigInteger),
         ">f8": (func.float8send, Float)}


def _packed(columns: Sequence[Any], dtype: np.dtype) -> Any:
    """string_agg of the columns' binary forms, in the order and widths of ``dtype``."""
    parts: list[Any] = []
    for col, name in zip(columns, dtype.names or ()):
        send, sql_type = _SEND[dtype[name].str]
        parts.append(send(cast(col, sql_type)))
    row: Any = parts[0]
    for part in parts[1:]:
        row = row.op("||")(part)
    return _concatenated(row)


def _concatenated(row: Any) -> Any:
    """PostgreSQL: every row's bytes, one after another, as one bytea."""
    return func.string_agg(row, literal_column("''::bytea"))


def _arrays(data: bytes | None, dtype: np.dtype) -> dict[str, np.ndarray]:
    """The packed rows' columns in native byte order, each at its own width (ids stay int32)."""
    rows = np.frombuffer(data or b"", dtype=dtype)
    return {k: rows[k].astype(dtype[k].newbyteorder("=")) for k in dtype.names or ()}


def _tuples(rows: Sequence[Any], dtype: np.dtype) -> dict[str, np.ndarray]:
    names = dtype.names or ()
    cols = list(zip(*rows)) if rows else [()] * len(names)
    return {k: np.asarray(c, dtype=np.int64 if dtype[k].kind == "i" else float)
            for k, c in zip(names, cols)}


def volume_select(periods: Sequence[str], unit_ids: AbstractSet[int] | None) -> Any:
    """Service volumes (dossiers > 0): the weights' basis."""
    query = select(ServiceVolume.unit_id, ServiceVolume.period, ServiceVolume.field,
                   ServiceVolume.dossiers).where(ServiceVolume.dossiers > 0,
                                                 ServiceVolume.period.in_(list(periods)))
    if unit_ids is not None:
        query = query.where(ServiceVolume.unit_id.in_(sorted(unit_ids)))
    return query


def fingerprint(conn: Connection, inst: Instrument, periods: Sequence[str]) -> tuple | None:
    """What :func:`read` of every unit in whole ``periods`` depends on, read on ``conn`` (in
    the snapshot of the read it stands for: snapshot.shared): the rollup's version, the tail's
    responses and the service volumes.  Equal fingerprints, equal reads; a few ms where the
    read of a country's tail takes ~0.3 s.  The tail by id and idempotency key: a response's
    stratum and scores never change after it is stored, and its key (random) tells it from a
    response of the same id in another copy of the database.  None on SQLite (a province's
    read is quick) and for a rollup folded with other weights (every response is tail)."""
    if conn.dialect.name != "postgresql" or not state_matches(inst):
        return None
    tail = (select(Response.id, Response.idempotency_key)
            .where(Response.survey_id == inst.survey_id, Response.period.in_(list(periods)),
                   counted(), unfolded(inst.survey_id)).subquery())
    vol = volume_select(periods, None).add_columns(ServiceVolume.id).subquery()

    def digest(parts: list[Any], order: list[Any]) -> Any:
        text: Any = cast(parts[0], String)
        for part in parts[1:]:
            text = text.concat(":").concat(cast(part, String))
        return func.md5(func.string_agg(text, literal(",")).aggregate_order_by(*order))
    version = select(RollupState.version).where(RollupState.survey_id == inst.survey_id)
    return tuple(conn.execute(select(
        version.scalar_subquery(),
        select(digest([tail.c.id, tail.c.idempotency_key], [tail.c.id])).scalar_subquery(),
        select(digest(list(vol.c), [vol.c.id])).scalar_subquery(),
    )).one())


# The rollup part of reads of every unit (a national table: ~10^6 cells, most of the
# statement's time; a standing: every unit's overall cells), kept by each worker with the
# survey's rollup version.  Every writer of the rollup changes the version in its own
# transaction (rollups.changed), and the read statement returns the version with the tail, in
# one snapshot, sending the strata and cells only when the version is not the one held: the
# held cells are then exactly what the statement would have sent.  A few reads (periods x
# kinds x database); a national one holds ~40 MB.
HELD_READS = 4
_held: Lru[tuple[int, "_Part", dict[str, np.ndarray]]] = Lru(HELD_READS)


def forget_held() -> None:
    """Drop every held rollup part (tests; a worker never needs to)."""
    _held.clear()


@dataclass(frozen=True)
class _Part:
    """The rollup's strata as :func:`_assemble` needs them, and each rollup cell's place in
    them: made once per read of the cells, and held with them (never changed after)."""
    strata: list[tuple[int, str, str]]      # (unit_id, period, field)
    responses: list[int]
    at: dict[tuple[int, str, str], int]     # stratum -> its place
    cell_stratum: np.ndarray


def _part(rows: Sequence[Any], cells: dict[str, np.ndarray]) -> _Part:
    """From the rollup's (id, unit_id, period, field, responses) and its cells."""
    strata = [(u, p, f) for _sid, u, p, f, _n in rows]
    sids = np.array([r[0] for r in rows], dtype=np.int64)
    stratum_of = np.zeros(int(sids.max()) + 1 if len(sids) else 0, dtype=np.int64)
    stratum_of[sids] = np.arange(len(sids))
    return _Part(strata, [int(r[4]) for r in rows], {k: i for i, k in enumerate(strata)},
                 stratum_of[cells["sid"]])


@dataclass
class _Read:
    """What one read brings back, before assembly (the same from both databases)."""
    rollup: _Part                           # the rollup's strata and their cells' places
    cells: dict[str, np.ndarray]            # rollup cells (_CELL_DTYPE's columns)
    measures: dict[int, tuple[int, str]]    # rollup_measure id -> (kind, code)
    tail_keys: Sequence[Any]                # (key, unit_id, period, field) of the tail's strata
    tail: dict[str, np.ndarray]             # tail sums (_TAIL_DTYPE's columns; mid 0: count)
    volumes: Sequence[Any]                  # (unit_id, period, field, dossiers)


def read(inst: Instrument, periods: Sequence[str], unit_ids: AbstractSet[int] | None,
         kinds: set[int], include: Sequence[int] = (), verified: bool | None = None,
         between: tuple[datetime, datetime] | None = None, by_counter: bool = False
         ) -> StratumSums:
    """Exact per-stratum sums of the survey's counted responses in ``periods`` (and ``unit_ids``).

    ``include``: ids of responses not counted (quarantined, rejected: never folded) to sum as
    if they were, for the review page's "index with them".  ``verified``: only the verified
    (True) or open (False) channel; the rollup does not split channels, so that is all live.
    ``between`` (UTC, end exclusive): responses submitted in that time only; ``by_counter``:
    measures per counter (stratum_sums.sum_selects).  The rollup has neither: both are live.
    """
    use_rollup = state_matches(inst) and verified is None and between is None and not by_counter
    # With the rollup: the tail only, its watermark read in this statement (one snapshot);
    # included responses are not counted, so never folded.
    status = and_(counted(), unfolded(inst.survey_id)) if use_rollup else counted()
    status = or_(status, Response.id.in_(sorted(include))) if include else status
    where = [Response.survey_id == inst.survey_id, Response.period.in_(list(periods)), status]
    if verified is not None:
        where.append(Response.verified.is_(verified))
    if between is not None:
        where += [Response.submitted_at >= between[0], Response.submitted_at < between[1]]
    st_where = [RollupStratum.survey_id == inst.survey_id, RollupStratum.period.in_(list(periods))]
    if unit_ids is not None:
        where.append(Response.unit_id.in_(sorted(unit_ids)))
        st_where.append(RollupStratum.unit_id.in_(sorted(unit_ids)))
    wanted = select(RollupMeasure.id).where(RollupMeasure.kind.in_(sorted(kinds)))
    strata = select(RollupStratum.id, RollupStratum.unit_id, RollupStratum.period,
                    RollupStratum.field, RollupStratum.responses).where(*st_where)
    cells = (select(RollupCell.stratum_id, RollupCell.measure_id, RollupCell.n,
                    RollupCell.sat, RollupCell.s1, RollupCell.s2)
             .join(RollupStratum, RollupStratum.id == RollupCell.stratum_id)
             .where(*st_where))
    if set(kinds) != ALL_KINDS:     # every measure is of one of them: a join of 10^6 cells less
        cells = cells.where(RollupCell.measure_id.in_(wanted))
    # The tail's responses, each with its stratum's number (key); the sums are grouped by
    # that key: integers only, no text per sum.  A CTE over the responses (not over their
    # strata), so the planner estimates its joins from the responses' own statistics.
    f = _field_expr()
    resp = select(Response.id, Response.unit_id, Response.period, f.label("field"),
                  func.dense_rank().over(order_by=[Response.unit_id, Response.period, f])
                  .label("key")).where(*where).cte("resp")
    tail_where = [*where, Response.id == resp.c.id]
    # PostgreSQL: one row per stratum, unpivoted in NumPy.  Per counter, and on SQLite (whose
    # json_array takes at most 127 arguments: a wide row has 3 + ~4 per item), cell rows.
    tail, wide = ((union_of(sum_selects(inst, tail_where, kinds, by_counter, keys=[resp.c.key])), None)
                  if by_counter or not is_postgres() else
                  wide_select(inst, tail_where, kinds, keys=[resp.c.key], count=True))
    tail_keys = select(resp.c.key, resp.c.unit_id, resp.c.period, resp.c.field).distinct()
    measures = select(RollupMeasure.id, RollupMeasure.kind, RollupMeasure.code)
    volumes = volume_select(periods, unit_ids)
    big = unit_ids is None or len(unit_ids) > SMALL_READ
    with snapshot(1, big) as conn:
        key = None
        if use_rollup and unit_ids is None:
            key = (str(conn.engine.url), inst.survey_id, tuple(sorted(periods)), frozenset(kinds))
        got = _read_one(conn, strata if use_rollup else None, cells, tail, tail_keys,
                        measures, volumes, key, inst.survey_id, wide)
    return _assemble(got, by_counter)


def _read_one(conn: Connection, strata: Any | None, cells: Any, tail: Any, tail_keys: Any,
              measures: Any, volumes: Any, key: tuple | None = None, survey_id: int = 0,
              wide: Sequence[tuple[int, str, bool]] | None = None) -> _Read:
    """Everything in ONE statement (so one snapshot), each part one value: JSON for the few
    rows with text keys (strata, measures, volumes) and, on PostgreSQL, packed binary for the
    many sums (SQLite, which has no binary send functions, sends those as JSON too).
    ``key``: the rollup part may be held (``_held``) for the survey's version.  ``wide``
    (PostgreSQL): the tail is score_sums.wide_select's rows (these its cells), sent as they are."""
    pg = conn.dialect.name == "postgresql"
    held = _held.get(key) if key is not None else None

    def rows(query: Any) -> Any:
        sub = query.subquery()
        if pg:
            return select(func.json_agg(func.json_build_array(*sub.c))).scalar_subquery()
        return select(func.json_group_array(func.json_array(*sub.c))).scalar_subquery()

    def packed(query: Any, dtype: np.dtype) -> Any:
        if not pg:
            return rows(query)
        sub = query.subquery()
        if dtype is _CELL_DTYPE:
            return select(_packed(_cell_words(sub), _CELL_WIRE)).scalar_subquery()
        return select(_packed(list(sub.c), dtype)).scalar_subquery()

    tail_part = (packed(tail, _TAIL_DTYPE) if wide is None else
                 select(_concatenated(wide_array(list(tail.subquery().c)))).scalar_subquery())
    parts = [rows(strata) if strata is not None else literal(None),
             packed(cells, _CELL_DTYPE) if strata is not None else literal(None),
             rows(measures), rows(tail_keys), tail_part, rows(volumes)]
    if key is not None:
        current = select(RollupState.version).where(RollupState.survey_id == survey_id).scalar_subquery()
        if held is not None:    # the rollup part only if it changed (PostgreSQL: an InitPlan
            fresh = current.is_distinct_from(literal(held[0], BigInteger))   # run only then)
            parts[0], parts[1] = case((fresh, parts[0])), case((fresh, parts[1]))
        parts.append(current)
    if pg:
        # Results in binary: the packed sums arrive as raw bytes instead of hex text twice
        # their size (encoding and decoding 6x10^7 hex digits was ~0.4 s of a national read).
        event.listen(conn, "before_cursor_execute", _binary_results)
    try:
        got = list(conn.execute(select(*parts)).one())
    finally:
        if pg:
            event.remove(conn, "before_cursor_execute", _binary_results)
    version = got.pop() if key is not None else None
    if not pg:      # JSON text, and lists of sums where PostgreSQL sends bytes
        got = [json.loads(v) if v else [] for v in got]
        got[1], got[4] = _tuples(got[1], _CELL_DTYPE), _tuples(got[4], _TAIL_DTYPE)
    else:
        got[1] = _cell_arrays(got[1])
        if wide is None:
            got[4] = _arrays(got[4], _TAIL_DTYPE)
        else:
            names = [c.name for c in tail.selected_columns]
            got[4] = unpivot_array(wide_matrix(got[4], len(names)), names, wide)
    if held is not None and version == held[0]:
        part, got[1] = held[1], held[2]
    else:
        part = _part(got[0] or [], got[1])
        if key is not None and version:         # 0: written without a version (never held)
            for column in [*got[1].values(), part.cell_stratum]:
                column.flags.writeable = False  # shared by every later read of this version
            _held.put(key, (version, part, got[1]))
    return _Read(part, got[1], {i: (kind, code) for i, kind, code in got[2] or ()},
                 got[3] or [], got[4], got[5] or [])


def _binary_results(_conn: Connection, cursor: Any, *_args: Any) -> None:
    cursor.format = pq.Format.BINARY


def _assemble(got: _Read, by_counter: bool) -> StratumSums:
    """Strata in one list (the rollup's, then the tail's new ones), cells as arrays pointing
    into it and into ``measures``; no Python work per cell."""
    strata, responses = list(got.rollup.strata), list(got.rollup.responses)
    tail_at = np.zeros(len(got.tail_keys) + 1, dtype=np.int64)    # keys count from 1
    if len(got.tail_keys):  # distinct strata, each its own key; the held `at` is never changed
        tail_strata = [(u, p, f) for _key, u, p, f in got.tail_keys]
        place = list(map(got.rollup.at.get, tail_strata))
        added_at = iter(range(len(strata), len(strata) + place.count(None)))
        strata += [s for s, i in zip(tail_strata, place) if i is None]
        responses += [0] * (len(strata) - len(responses))
        tail_at[[k[0] for k in got.tail_keys]] = [next(added_at) if i is None else i for i in place]
    tail = got.tail
    t_stratum = tail_at[tail["key"]] if len(tail_at) else np.zeros(0, dtype=np.int64)
    is_count = tail["mid"] == COUNT_MEASURE
    added = np.bincount(t_stratum[is_count], weights=tail["n"][is_count], minlength=len(strata))
    for i in np.flatnonzero(added).tolist():
        responses[i] += int(added[i])
    # Measures: rollup measure ids (with the counter, by_counter) to positions in one list.
    cells, in_tail = got.cells, ~is_count
    mid = np.concatenate([cells["mid"], tail["mid"][in_tail]])
    counter = np.concatenate([np.zeros(len(cells["mid"]), dtype=np.int64), tail["counter"][in_tail]])
    if by_counter and len(mid):
        width = int(counter.max()) + 1
        pairs, position = np.unique(mid.astype(np.int64) * width + counter, return_inverse=True)
        found = [(int(p // width), int(p % width)) for p in pairs.tolist()]
    else:
        # Measure ids are small: a lookup table instead of sorting 10^6 of them.
        present = np.zeros(int(mid.max()) + 1 if len(mid) else 0, dtype=bool)
        present[mid] = True
        ids = np.flatnonzero(present)
        lookup = np.zeros(len(present), dtype=np.int64)
        lookup[ids] = np.arange(len(ids))
        position, found = lookup[mid], [(int(m), 0) for m in ids.tolist()]
    measures = []
    for m, c in found:                                # a few dozen (x counters)
        kind, code = got.measures[m]
        measures.append((kind, f"{code}{COUNTER_MARK}{c}" if by_counter else code))
    c_stratum = got.rollup.cell_stratum
    n, sat, s1, s2 = (np.concatenate([cells[k], tail[k][in_tail]]) for k in ("n", "sat", "s1", "s2"))
    return StratumSums(strata, responses, measures, np.concatenate([c_stratum, t_stratum[in_tail]]),
                       position.reshape(-1).astype(np.int64), n, sat, s1, s2,
                       volumes={(u, p, f): d for u, p, f, d in got.volumes})
