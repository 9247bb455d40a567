"""Read the per-stratum sums: the folded rollup plus the unfolded tail, in one snapshot.

See :mod:`survey.indices.rollups` for why the result is exact whether the rollup is current,
stale or empty.
"""
from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime
from typing import AbstractSet, Any, Iterator, Sequence

import numpy as np
from sqlalchemy import Float, Integer, String, cast, func, literal, literal_column, or_, select, text, union_all
from sqlalchemy.engine import Connection

from survey.indices.stratum_sums import (
    KIND_COUNT,
    KIND_VOLUME,
    PG_WORK_MEM,
    Instrument,
    StratumSums,
    counted,
    is_postgres,
    state_matches,
    sum_selects,
)
from survey.models import Response, RollupCell, RollupMeasure, RollupStratum, ServiceVolume
from survey.replica import read_engine

SMALL_READ = 20   # units: a live read of a few units' responses needs no extra work_mem


@contextmanager
def _snapshot(statements: int, big: bool = True) -> Iterator[Connection]:
    """A read-only connection whose statements all see one snapshot of the database.

    The rollup and the tail are read by separate statements; a refresh committing between
    them would otherwise move responses from the tail into the rollup unseen (or twice).
    One statement sees one snapshot by itself, so SQLite then needs no BEGIN. The connection
    is the replica's when the request reads from one (survey/replica.py).
    """
    if is_postgres():
        with read_engine().connect().execution_options(isolation_level="REPEATABLE READ") as conn:
            # The tail's per-response GROUP BY hashes one row per response; the default 4 MB
            # spills to disk from ~50,000 responses (a unit's or a counter's read is far
            # smaller, and a dashboard's statements are counted: tests/officials).
            if big:
                conn.execute(text(f"SET LOCAL work_mem = '{PG_WORK_MEM}'"))
            yield conn
            conn.rollback()
    else:
        with read_engine().connect() as conn:
            if statements > 1:
                # pysqlite opens transactions only for writes; an explicit BEGIN pins the WAL
                # snapshot.
                conn.exec_driver_sql("BEGIN")
            try:
                yield conn
            finally:
                conn.rollback()


# One cell packed by PostgreSQL's send functions (big-endian, fixed width).
_CELL_DTYPE = np.dtype([("sid", ">i4"), ("mid", ">i4"), ("n", ">i8"), ("sat", ">i8"),
                        ("s1", ">f8"), ("s2", ">f8")])
_CELL_KEYS = ("sid", "mid", "n", "sat", "s1", "s2")


def _fetch_cells(conn: Connection, query: Any
                 ) -> tuple[dict[str, np.ndarray], dict[int, tuple[int, str]]]:
    """Rollup cells as arrays sid, mid, n, sat, s1, s2, and each measure id's (kind, code).

    A province-wide table is ~1 million cells.  On PostgreSQL they travel as ONE bytea of
    packed binary rows read straight into NumPy: ~4x faster than row tuples, and than
    COPY BINARY, which psycopg delivers one message per row.  The measures come in the same
    statement (a JSON column on PostgreSQL, joined columns on SQLite).
    """
    if conn.dialect.name == "postgresql":
        sub = query.subquery()
        packed = (func.int4send(sub.c.stratum_id).op("||")(func.int4send(sub.c.measure_id))
                  .op("||")(func.int8send(sub.c.n)).op("||")(func.int8send(sub.c.sat))
                  .op("||")(func.float8send(sub.c.s1)).op("||")(func.float8send(sub.c.s2)))
        measures = select(func.json_agg(func.json_build_array(
            RollupMeasure.id, RollupMeasure.kind, RollupMeasure.code))).scalar_subquery()
        data, listed = conn.execute(select(
            func.string_agg(packed, literal_column("''::bytea")), measures)).one()
        rows = np.frombuffer(data or b"", dtype=_CELL_DTYPE)
        return ({k: rows[k].astype(np.int64 if k in ("sid", "mid", "n", "sat") else float)
                 for k in _CELL_KEYS}, {mid: (kind, code) for mid, kind, code in listed or ()})
    listed_rows = conn.execute(query.add_columns(RollupMeasure.kind, RollupMeasure.code)
                               .join(RollupMeasure, RollupMeasure.id == RollupCell.measure_id)).all()
    table = np.array([row[:6] for row in listed_rows], dtype=float).reshape(len(listed_rows), 6)
    return ({k: table[:, i].astype(np.int64 if i < 4 else float)
             for i, k in enumerate(_CELL_KEYS)},
            {row[1]: (row[6], row[7]) for row in listed_rows})


def volume_select(periods: Sequence[str], unit_ids: AbstractSet[int] | None) -> Any:
    """Service volumes (dossiers > 0) in the tail's columns, so they come in its statement."""
    query = select(ServiceVolume.unit_id, ServiceVolume.period, ServiceVolume.field,
                   literal(KIND_VOLUME, Integer), literal("", String), ServiceVolume.dossiers,
                   literal(0, Integer), cast(literal(0), Float), cast(literal(0), Float)
                   ).where(ServiceVolume.dossiers > 0, ServiceVolume.period.in_(list(periods)))
    if unit_ids is not None:
        query = query.where(ServiceVolume.unit_id.in_(sorted(unit_ids)))
    return query


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
    status = or_(counted(), Response.id.in_(sorted(include))) if include else counted()
    where = [Response.survey_id == inst.survey_id, Response.period.in_(list(periods)), status]
    if verified is not None:
        where.append(Response.verified.is_(verified))
    if between is not None:
        where += [Response.submitted_at >= between[0], Response.submitted_at < between[1]]
    st_where = [RollupStratum.survey_id == inst.survey_id, RollupStratum.period.in_(list(periods))]
    if unit_ids is not None:
        where.append(Response.unit_id.in_(sorted(unit_ids)))
        st_where.append(RollupStratum.unit_id.in_(sorted(unit_ids)))
    if use_rollup:
        where.append(Response.rollup_batch.is_(None))
    wanted = select(RollupMeasure.id).where(RollupMeasure.kind.in_(sorted(kinds)))
    cells_query = (select(RollupCell.stratum_id, RollupCell.measure_id, RollupCell.n,
                          RollupCell.sat, RollupCell.s1, RollupCell.s2)
                   .join(RollupStratum, RollupStratum.id == RollupCell.stratum_id)
                   .where(*st_where, RollupCell.measure_id.in_(wanted)))
    big = unit_ids is None or len(unit_ids) > SMALL_READ
    with _snapshot(3 if use_rollup else 1, big) as conn:
        folded_strata = conn.execute(select(
            RollupStratum.id, RollupStratum.unit_id, RollupStratum.period, RollupStratum.field,
            RollupStratum.responses).where(*st_where)).all() if use_rollup else []
        folded, measure_of = _fetch_cells(conn, cells_query) if use_rollup else (None, {})
        tail = conn.execute(union_all(*sum_selects(inst, where, kinds, by_counter),
                                      volume_select(periods, unit_ids))).all()
    return _assemble(folded_strata, folded, tail, measure_of)


def _assemble(folded_strata: Sequence[Any], folded: dict[str, np.ndarray] | None,
              tail: Sequence[Any], measure_of: dict[int, tuple[int, str]]) -> StratumSums:
    strata: list[tuple[int, str, str]] = []
    responses: list[int] = []
    stratum_at: dict[tuple[int, str, str], int] = {}
    for _sid, unit_id, period, field, n in folded_strata:
        stratum_at[(unit_id, period, field)] = len(strata)
        strata.append((unit_id, period, field))
        responses.append(int(n))
    measures = sorted(set(measure_of.values()))
    measure_at = {m: i for i, m in enumerate(measures)}
    cols: dict[str, list[np.ndarray]] = {k: [] for k in ("st", "m", "n", "sat", "s1", "s2")}
    if folded is not None and len(folded["sid"]):
        sids = np.array([r[0] for r in folded_strata], dtype=np.int64)
        order = np.argsort(sids)
        pos = order[np.searchsorted(sids, folded["sid"], sorter=order)]
        lookup = np.full(max(measure_of) + 1, -1, dtype=np.int64)
        for mid, m in measure_of.items():
            lookup[mid] = measure_at[m]
        cols["st"].append(pos)
        cols["m"].append(lookup[folded["mid"]])
        for k in ("n", "sat", "s1", "s2"):
            cols[k].append(folded[k])
    extra: dict[str, list] = {k: [] for k in cols}
    volumes: dict[tuple[int, str, str], float] = {}
    for unit_id, period, field, kind, code, n, sat, s1, s2 in tail:
        key = (unit_id, period, field)
        if kind == KIND_VOLUME:
            volumes[key] = int(n)
            continue
        if key not in stratum_at:
            stratum_at[key] = len(strata)
            strata.append(key)
            responses.append(0)
        if kind == KIND_COUNT:
            responses[stratum_at[key]] += int(n)
            continue
        if (kind, code) not in measure_at:
            measure_at[(kind, code)] = len(measures)
            measures.append((kind, code))
        for k, v in zip(extra, (stratum_at[key], measure_at[(kind, code)], n, sat, s1, s2)):
            extra[k].append(v)
    for k in cols:
        cols[k].append(np.asarray(extra[k], dtype=np.int64 if k in ("st", "m", "n", "sat")
                                  else float))
    joined = {k: np.concatenate(v) for k, v in cols.items()}
    return StratumSums(strata, responses, measures, joined["st"], joined["m"], joined["n"],
                       joined["sat"], joined["s1"], joined["s2"], volumes)


# --- folding -----------------------------------------------------------------------------
