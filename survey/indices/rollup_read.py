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
    for _sid, unit_id, period, field, n in folded_strata:
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
    volumes: dict[tuple[int, str, str], float] = {}
    rows = [r for r in tail if r[3] != KIND_VOLUME]
    for unit_id, period, field, _kind, _code, n, *_ in (r for r in tail if r[3] == KIND_VOLUME):
        volumes[(unit_id, period, field)] = int(n)
    if rows:
        _tail_columns(rows, folded_strata, strata, responses, measures, measure_at, cols)
    joined = {k: np.concatenate(v) if v else np.array([], dtype=np.int64 if k in ("st", "m", "n", "sat")
                                                      else float) for k, v in cols.items()}
    return StratumSums(strata, responses, measures, joined["st"], joined["m"], joined["n"],
                       joined["sat"], joined["s1"], joined["s2"], volumes)


def _codes(values: Sequence[Any]) -> tuple[np.ndarray, np.ndarray]:
    labels, inverse = np.unique(np.asarray(values), return_inverse=True)
    return labels, inverse.astype(np.int64)


def _tail_columns(rows: Sequence[Any], folded_strata: Sequence[Any],
                  strata: list[tuple[int, str, str]], responses: list[int],
                  measures: list[tuple[int, str]], measure_at: dict[tuple[int, str], int],
                  cols: dict[str, list[np.ndarray]]) -> None:
    """The live tail's rows (unit, period, field, kind, code, n, sat, s1, s2) as columns, added
    to ``cols``; strata and measures not in the rollup are appended (in order of appearance).
    Keys are matched as integer codes in NumPy: no Python work per row beyond reading it."""
    unit, period, field, kind, code, n, sat, s1, s2 = (list(c) for c in zip(*rows))
    n_folded = len(folded_strata)
    # One integer per (unit, period, field), the folded strata first (each appears once).
    units = np.asarray([r[1] for r in folded_strata] + unit, dtype=np.int64)
    p_lab, p_code = _codes([r[2] for r in folded_strata] + period)
    f_lab, f_code = _codes([r[3] for r in folded_strata] + field)
    key = (units * len(p_lab) + p_code) * len(f_lab) + f_code
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    by_first = np.argsort(first, kind="stable")
    position = np.empty(len(first), dtype=np.int64)
    position[by_first] = np.arange(len(first))
    stratum = position[inverse.reshape(-1)]
    for at in first[by_first][n_folded:].tolist():     # strata the rollup does not have
        strata.append((int(units[at]), str(p_lab[p_code[at]]), str(f_lab[f_code[at]])))
        responses.append(0)
    stratum = stratum[n_folded:]
    kinds = np.asarray(kind, dtype=np.int64)
    counts = np.asarray(n, dtype=np.int64)
    is_count = kinds == KIND_COUNT
    added = np.bincount(stratum[is_count], weights=counts[is_count], minlength=len(strata))
    for i in np.flatnonzero(added).tolist():
        responses[i] += int(added[i])
    cells = ~is_count
    c_lab, c_code = _codes(code)
    pair = kinds * len(c_lab) + c_code
    pairs, pair_inverse = np.unique(pair[cells], return_inverse=True)
    lookup = np.empty(len(pairs), dtype=np.int64)
    for j, p in enumerate(pairs.tolist()):               # a few dozen measures
        m = (int(p // len(c_lab)), str(c_lab[p % len(c_lab)]))
        if m not in measure_at:
            measure_at[m] = len(measures)
            measures.append(m)
        lookup[j] = measure_at[m]
    cols["st"].append(stratum[cells])
    cols["m"].append(lookup[pair_inverse.reshape(-1)])
    cols["n"].append(counts[cells])
    cols["sat"].append(np.asarray(sat, dtype=np.int64)[cells])
    cols["s1"].append(np.asarray(s1, dtype=float)[cells])
    cols["s2"].append(np.asarray(s2, dtype=float)[cells])


# --- folding -----------------------------------------------------------------------------
