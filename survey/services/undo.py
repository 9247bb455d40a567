"""Undo for the few official actions that break something printed or live (retire a counter,
rotate its QR code, close a campaign): allowed for a short while, and only while the action is
still the last word on its target, so an undo never overrides a later decision. The audit log is
the record of both the action and its undo, so no extra table is needed."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from survey.catalog.periods import as_utc
from survey.extensions import db
from survey.models import AuditLog

# Long enough to notice a wrong click, short enough that printed QR codes and citizens' links
# are not silently brought back hours later.
UNDO_WINDOW = timedelta(minutes=10)


def undone(action: str) -> str:
    """The audit action that records the undo of `action` ("counter_retired_undone")."""
    return f"{action}_undone"


def can_undo(action: str, target: str, now: datetime | None = None) -> bool:
    """True when the latest of `action` / its undo on `target` is `action`, done within the window."""
    now = now or datetime.now(timezone.utc)
    last = db.session.execute(
        select(AuditLog.action, AuditLog.at)
        .where(AuditLog.target == target, AuditLog.action.in_((action, undone(action))))
        .order_by(AuditLog.at.desc(), AuditLog.id.desc()).limit(1)
    ).first()
    return last is not None and last.action == action and now - as_utc(last.at) <= UNDO_WINDOW
