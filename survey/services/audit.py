"""The audit log: one row per official action, written in the action's own transaction."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from flask import has_request_context, request
from flask_login import current_user

from survey.extensions import db
from survey.models import AuditLog


def record(action: str, target: str | None = None, user_id: int | None = None,
           **details: Any) -> None:
    """Add an audit row to the session; the caller's commit writes it with the action itself."""
    if user_id is None and has_request_context() and current_user.is_authenticated:
        user_id = current_user.id
    db.session.add(
        AuditLog(
            at=datetime.now(timezone.utc),
            user_id=user_id,
            action=action,
            target=target,
            details=details or None,
            ip=request.remote_addr if has_request_context() else None,
        )
    )
