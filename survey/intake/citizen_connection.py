"""The citizen pages' own database connections: kept open per worker process, one round trip a statement.

Opening a form and storing a submission are the only requests that come by the thousand, and each
needs one or two statements. Through the Flask-SQLAlchemy session every request also paid for the
pool's checkout ping, a BEGIN and a closing ROLLBACK or COMMIT, and for SQLAlchemy's execution
machinery around each statement. Measured on PostgreSQL (the counter lookup, client CPU + server
CPU): session 277 + 300 µs; a kept Core connection in autocommit 85 + 44 µs; the same SQL on the
kept driver connection 36 + 52 µs. bench/load.py shows the whole effect.

- PostgreSQL: the statements are SQLAlchemy Core constructs, compiled once; they run on the
  psycopg connection itself (taken from SQLAlchemy's pool and kept in autocommit; when dropped
  it is invalidated, and it goes back to the pool only out of autocommit) so each statement is
  its own transaction and needs no round trip to begin or end one. Every statement that writes
  (survey/intake/responses.py) is a single statement, hence atomic.
  Driver errors are raised as SQLAlchemy's exceptions (IntegrityError, OperationalError...), as
  everywhere else in the application. Values come back as psycopg gives them, which is what
  SQLAlchemy's psycopg dialect gives too for these column types (tests/intake/test_citizen_connection.py
  compares the two).
- SQLite: kept SQLAlchemy connections; each unit of work runs in one transaction (SQLAlchemy
  converts SQLite's text dates). It is in-process, so there are no round trips to save.

Instead of a ping before every use, a dropped connection (server restarted, backend killed) is
noticed when a statement fails with a disconnect: it is replaced and the statement is run once
more. That is safe because every statement here is a read, or an insert that its unique
idempotency key makes happen at most once. If the retry fails too, the error goes to the caller
(a 503 page that keeps the citizen's answers).

The officials' pages keep the ordinary session (and its pre-ping): they are few, and use the ORM.
"""
from __future__ import annotations

from typing import Any, Callable, TypeVar, cast

from flask import current_app
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import ClauseElement

from survey.extensions import db

T = TypeVar("T")


class _Compiled:
    """A statement's SQL for one dialect and the default values of its parameters."""

    __slots__ = ("sql", "defaults")

    def __init__(self, statement: ClauseElement, engine: Engine):
        compiled = statement.compile(dialect=engine.dialect)
        self.sql = str(compiled)
        self.defaults = dict(compiled.params)


class CitizenConnection:
    """The kept connections of one worker process for one engine, each lent to one statement at a time.

    Kept per process, not per thread: a server that starts a thread per request (`flask run`,
    werkzeug's threaded server) would otherwise keep one connection for every thread it ever ran,
    and fifteen page loads exhaust SQLAlchemy's pool (every later request, officials' sign-in
    included, then waits 30 s for a connection). A statement takes an idle kept connection (or
    opens one) and puts it back when done; up to KEEP idle ones stay kept, the rest go back to the pool,
    out of autocommit. A synchronous worker (gunicorn sync) so keeps one connection; a worker with
    threads (gunicorn gthread, waitress) as many as its statements overlap, a few at most.
    """

    # Enough for a threaded worker's overlapping statements (waitress runs 4 threads by default),
    # and leaves the pool (5 kept by SQLAlchemy, 10 more on demand) room for the officials' pages.
    KEEP = 4

    def __init__(self, engine: Engine):
        self.engine = engine
        self.driver_level = engine.dialect.name == "postgresql"
        # No lock: list.pop, list.append and set.add/discard are atomic (GIL, or the per-object
        # locks of free-threaded builds), and a lock around them cost more than the rest of this
        # bookkeeping (1.6 µs per statement, measured). Two threads giving back at the same moment
        # may keep one more than KEEP for a while; harmless. After a dispose, a connection that
        # slips into the new idle list anyway is invalidated, found broken and dropped.
        self._idle: list = []  # kept connections no statement is using
        self._kept: set = set()  # idle and lent ones, to drop them all on dispose
        self._compiled: dict[int, tuple[ClauseElement, _Compiled]] = {}
        event.listen(engine, "engine_disposed", self._on_dispose)

    # -- the connections ------------------------------------------------------------------------

    def _take(self):
        """An idle kept connection, or a new one: a pooled DBAPI connection (PostgreSQL) or a Core
        Connection. The caller gives it back (_give_back) or drops it (_drop)."""
        while True:
            try:
                conn = self._idle.pop()
            except IndexError:
                break
            if not self._broken(conn):
                return conn
            self._drop(conn)
        if self.driver_level:
            dbapi = self.engine.dialect.loaded_dbapi
            try:
                conn = self.engine.raw_connection()
            except dbapi.Error as error:  # the pool does not wrap these, as Engine.connect() would
                raise DBAPIError.instance(None, None, error, dbapi.Error, dialect=self.engine.dialect) from error
            cast(Any, conn.driver_connection).autocommit = True
        else:
            conn = self.engine.connect()
        self._kept.add(conn)
        return conn

    def _give_back(self, conn) -> None:
        if len(self._idle) < self.KEEP and conn in self._kept:
            self._idle.append(conn)
            return
        if conn not in self._kept:  # the engine was disposed while it was lent: already invalidated
            return
        self._kept.discard(conn)
        # One more than KEEP at once (a burst of threads): back to the pool, as the session's
        # users of the pool expect it, out of autocommit (no transaction is open: no round trip).
        try:
            if self.driver_level:
                conn.driver_connection.autocommit = False
            conn.close()
        except Exception:
            self._invalidate(conn)

    def _broken(self, conn) -> bool:
        if self.driver_level:
            return not conn.is_valid or conn.driver_connection.closed
        return conn.closed or conn.invalidated

    def _drop(self, conn) -> None:
        # Invalidated, never given back to the pool: it is broken, or may be mid-statement.
        self._kept.discard(conn)
        self._invalidate(conn)

    def _invalidate(self, conn) -> None:
        if conn.is_valid if self.driver_level else not conn.closed:
            try:
                conn.invalidate()
            except Exception:  # already broken: the pool discards it
                pass

    def _on_dispose(self, _engine) -> None:
        # engine.dispose() (tests, a re-pointed app) must not leave kept connections behind; one
        # lent at this moment is invalidated too, and not kept when its statement gives it back.
        kept, self._kept, self._idle = self._kept, set(), []
        for conn in kept:
            self._invalidate(conn)

    # -- statements -----------------------------------------------------------------------------

    def _for_driver(self, statement: ClauseElement) -> _Compiled:
        found = self._compiled.get(id(statement))
        if found is None or found[0] is not statement:
            found = self._compiled[id(statement)] = (statement, _Compiled(statement, self.engine))
        return found[1]

    @staticmethod
    def _cursor(conn, sql: str):
        """This kept connection's cursor for this statement (PostgreSQL). psycopg keeps a cursor's
        adaptation state (its Transformer: the parameters' dumpers, the columns' loaders) while the
        same query string runs on it again, and builds it anew for every new cursor, as
        Connection.execute makes: a few tens of µs a statement (measured on the counter lookup).
        A connection is lent to one statement at a time, so its cursors are too; they live in the
        pooled connection's `info`, which goes with the driver connection."""
        cursors = conn.info.setdefault("citizen_cursors", {})
        cursor = cursors.get(sql)
        driver = conn.driver_connection
        if cursor is None or cursor.closed or cursor.connection is not driver:
            cursor = cursors[sql] = driver.cursor()
        return cursor

    def rows(self, statement: ClauseElement, params: dict[str, Any]) -> list[tuple]:
        """Run one statement (its own transaction) and return its rows as tuples."""
        if not self.driver_level:
            return self.transaction(lambda conn: [tuple(r) for r in conn.execute(cast(Any, statement), params)])
        compiled = self._for_driver(statement)
        values = {**compiled.defaults, **params} if compiled.defaults else params
        dbapi = self.engine.dialect.loaded_dbapi
        for attempt in (1, 2):
            conn = self._take()
            driver = conn.driver_connection
            try:
                # Every citizen statement returns rows (SELECT, or INSERT ... RETURNING).
                cursor = self._cursor(conn, compiled.sql)
                cursor.execute(compiled.sql, values)
                found = cursor.fetchall()
            except dbapi.Error as error:
                lost = self.engine.dialect.is_disconnect(error, driver, None)
                if not lost:
                    self._give_back(conn)  # in autocommit a failed statement leaves nothing open
                else:
                    self._drop(conn)
                    if attempt == 1:
                        continue  # a dropped connection: once more on a new one
                raise DBAPIError.instance(compiled.sql, values, error, dbapi.Error, hide_parameters=True,
                                          connection_invalidated=lost, dialect=self.engine.dialect) from error
            except Exception:
                self._give_back(conn)
                raise
            except BaseException:  # interrupted mid-statement (a worker's timeout): state unknown
                self._drop(conn)
                raise
            self._give_back(conn)
            return found
        raise AssertionError("unreachable")

    def transaction(self, work: Callable[[Connection], T]) -> T:
        """work(connection) in one transaction on a kept Core connection (SQLite)."""
        if self.driver_level:
            raise TypeError("on PostgreSQL every citizen statement is a single statement: use rows()")
        for attempt in (1, 2):
            conn = self._take()
            try:
                with conn.begin():
                    result = work(conn)
            except DBAPIError as error:
                if not (error.connection_invalidated or conn.invalidated):
                    self._give_back(conn)  # rolled back, still good
                else:
                    self._drop(conn)
                    if attempt == 1:
                        continue
                raise
            except Exception:
                self._give_back(conn)
                raise
            except BaseException:
                self._drop(conn)
                raise
            self._give_back(conn)
            return result
        raise AssertionError("unreachable")


def citizen_connection() -> CitizenConnection:
    """This application's citizen connection (made on first use, in the worker that uses it)."""
    extensions = current_app.extensions
    found = extensions.get("citizen_connection")
    engine = db.engine
    if found is None or found.engine is not engine:
        found = extensions["citizen_connection"] = CitizenConnection(engine)
    return found


def rows(statement: ClauseElement, params: dict[str, Any]) -> list[tuple]:
    return citizen_connection().rows(statement, params)


def first(statement: ClauseElement, params: dict[str, Any]) -> tuple | None:
    found = citizen_connection().rows(statement, params)
    return found[0] if found else None
