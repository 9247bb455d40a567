"""Values read once per database transaction, in practice once per request.

A dashboard asks for the same survey row, instrument and questions from several places; each
reader calls :func:`once` instead of keeping its own cache.  The memo lives in the session's
``info`` and is emptied when the transaction ends (commit or rollback), so a value never
outlives the snapshot it was read in, and a request (one session, removed at teardown) never
sees another request's values.  Only plain values belong here, never ORM objects.
"""
from __future__ import annotations

from typing import Any, Callable, Hashable, TypeVar

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

from survey.extensions import db

T = TypeVar("T")
_KEY = "survey.memo"


def once(key: Hashable, read: Callable[[], T]) -> T:
    """`read()` the first time `key` is asked for in this transaction, the same value after."""
    memo = db.session.info.setdefault(_KEY, {})
    if key not in memo:
        value = read()
        # read() may have begun the transaction (autobegin) and so emptied nothing: store after.
        db.session.info.setdefault(_KEY, {})[key] = value
        return value
    return memo[key]


def remember(key: Hashable, value: Any) -> None:
    """Store a value read alongside another one (one statement, two memo entries)."""
    db.session.info.setdefault(_KEY, {})[key] = value


@event.listens_for(Session, "after_transaction_end")
def _forget(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # the outer transaction, not a savepoint
        session.info.pop(_KEY, None)
