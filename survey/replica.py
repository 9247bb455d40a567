"""Reads from a streaming replica: the one rule for which statements may leave the primary.

With ``DATABASE_REPLICA_URL`` set, the app has a second engine (the Flask-SQLAlchemy bind
``replica``). Everything else in the app is unaware of it; the choice is made here only:

- a request may read the replica when its blueprint is a read-only audience of aggregates
  (:data:`READ_BLUEPRINTS`: dashboards, reports, the read API, the public results page) and
  its method is GET/HEAD. The citizen form and its POST, sign-in, review, administration and
  every write stay on the primary.
- the decision is taken by a ``before_request`` hook registered after the gate, so the gate's
  own reads (the signed-in user, the API token, the session's validity) are always on the
  primary: a revoked session or key is never honoured because the replica lags.
- inside such a request, the ORM session sends SELECTs to the replica and anything else
  (a flush, INSERT/UPDATE/DELETE, SELECT ... FOR UPDATE, raw text) to the primary; after the
  first write the rest of the request reads the primary too (it must see what it wrote).
- read-your-writes across requests: after an official's successful POST (or any non-GET), the
  session cookie carries ``replica_after`` = now + ``REPLICA_STICKY_SECONDS`` (default 10 s,
  well above the streaming lag of a healthy replica on the same network, typically < 100 ms),
  and until then that browser reads the primary. Bearer-token API clients have no cookie: an
  integration that writes and reads back at once must allow for the lag (docs/scale.md).

Without the setting, :func:`wants_replica` is never true and every statement goes to the
primary, as before (SQLite default unchanged).
"""
from __future__ import annotations

import time
from contextlib import contextmanager
from typing import Any, Iterator

import sqlalchemy as sa
from flask import Flask, current_app, g, has_app_context, request, session
from flask_sqlalchemy.session import Session as FlaskSession
from sqlalchemy.sql.dml import UpdateBase
from sqlalchemy.sql.selectable import Select

REPLICA_BIND = "replica"
READ_BLUEPRINTS = frozenset({"dashboards", "reports", "api", "results"})
READ_METHODS = frozenset({"GET", "HEAD"})
STICKY_KEY = "replica_after"


def replica_binds(url: str | None) -> dict[str, str]:
    """SQLALCHEMY_BINDS for the replica URL (normalised like DATABASE_URL), or none."""
    if not url:
        return {}
    for libpq in ("postgres://", "postgresql://"):
        if url.startswith(libpq):
            url = "postgresql+psycopg://" + url[len(libpq):]
    return {REPLICA_BIND: url}


def _replica_engine() -> sa.engine.Engine | None:
    return current_app.extensions["sqlalchemy"].engines.get(REPLICA_BIND)


def wants_replica() -> bool:
    """Whether reads of the current request (or job) may go to the replica."""
    return has_app_context() and bool(g.get("read_replica")) and not g.get("replica_off")


def read_engine() -> sa.engine.Engine:
    """The engine for a read-only snapshot outside the ORM session (rollup_read's reader)."""
    engine = _replica_engine() if wants_replica() else None
    return engine or current_app.extensions["sqlalchemy"].engine


def _is_write(clause: Any) -> bool:
    # No clause: session.get_bind() for the dialect, or session.connection(); a write through
    # such a connection inside a routed request fails loudly on the standby (read-only).
    if clause is None:
        return False
    if isinstance(clause, UpdateBase):
        return True
    if isinstance(clause, Select):
        return clause._for_update_arg is not None
    return not isinstance(clause, sa.sql.Selectable)  # text() and the like: assume it writes


class RoutingSession(FlaskSession):
    """The ORM session of the whole app: replica for a routed request's reads, else primary."""

    def get_bind(self, mapper: Any | None = None, clause: Any | None = None,
                 bind: Any | None = None, **kwargs: Any) -> Any:
        if bind is None and wants_replica():
            if self._flushing or _is_write(clause):
                g.replica_off = True  # read-your-writes within the request
            else:
                engine = _replica_engine()
                if engine is not None:
                    return engine
        return super().get_bind(mapper=mapper, clause=clause, bind=bind, **kwargs)


@contextmanager
def replica_reads() -> Iterator[None]:
    """Route the block's reads to the replica (a report job outside any request)."""
    before = g.get("read_replica")
    g.read_replica = True
    try:
        yield
    finally:
        g.read_replica = before


def _route() -> None:
    if _replica_engine() is None:
        return
    sticky = session.get(STICKY_KEY)
    g.read_replica = (request.method in READ_METHODS
                      and bool(request.blueprints) and request.blueprints[-1] in READ_BLUEPRINTS
                      and not (isinstance(sticky, (int, float)) and sticky > time.time()))


def _stick(response: Any) -> Any:
    from survey.permissions import is_public

    endpoint = request.endpoint
    if (_replica_engine() is not None and request.method not in READ_METHODS
            and response.status_code < 400 and endpoint and not is_public(endpoint)):
        session[STICKY_KEY] = time.time() + current_app.config["REPLICA_STICKY_SECONDS"]
    return response


def init_replica(app: Flask) -> None:
    """Register the routing rule. Call after init_gate, so the gate always reads the primary."""
    app.before_request(_route)
    app.after_request(_stick)
