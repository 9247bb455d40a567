"""One snapshot for the reads that must agree: the rollup and its tail, a fingerprint and the
read it stands for."""
from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from typing import Iterator

from sqlalchemy import text
from sqlalchemy.engine import Connection

from survey.indices.stratum_sums import PG_WORK_MEM, is_postgres
from survey.replica import read_engine

_open: ContextVar[Connection | None] = ContextVar("indices_snapshot", default=None)


@contextmanager
def snapshot(statements: int, big: bool = True) -> Iterator[Connection]:
    """A read-only connection whose statements all see one snapshot of the database.

    The rollup and the tail are read by separate statements; a refresh committing between
    them would otherwise move responses from the tail into the rollup unseen (or twice).
    One statement sees one snapshot by itself, so SQLite then needs no BEGIN. The connection
    is the replica's when the request reads from one (survey/replica.py).  Inside
    :func:`shared` it is the block's connection, with the block's snapshot.
    """
    conn = _open.get()
    if conn is not None:
        yield conn
        return
    if is_postgres():
        with read_engine().connect().execution_options(isolation_level="REPEATABLE READ") as conn:
            # The tail's per-response GROUP BY hashes one row per response; the default 4 MB
            # spills to disk from ~50,000 responses (a unit's or a counter's read is far
            # smaller, and a dashboard's statements are counted: tests/officials).
            # No JIT: compiling the read's expressions took 0.1-0.4 s of a ~1 s statement
            # that runs each time anew (one statement: SET LOCAL of both).
            if big:
                conn.execute(text(f"SELECT set_config('work_mem', '{PG_WORK_MEM}', true), "
                                  "set_config('jit', 'off', true)"))
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


@contextmanager
def shared() -> Iterator[Connection]:
    """Every :func:`snapshot` inside the block is this one connection and its one snapshot."""
    conn = _open.get()
    if conn is not None:
        yield conn
        return
    with snapshot(2) as conn:
        token = _open.set(conn)
        try:
            yield conn
        finally:
            _open.reset(token)
