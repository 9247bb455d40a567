"""Anonymity against the rated unit, on the read side (docs/anonymity.md has the threat model).

What an official, an export or the API may say about one response: its hour, never a finer time;
its place in a file, never an order of arrival within the hour; nothing that names a dossier. And
what the audit log may keep of a stranger's failed sign-in: a keyed pseudonym, not the address.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select

from survey.catalog.periods import as_utc
from survey.extensions import db
from survey.intake.anonymity import keyed_hash
from survey.models import User
from survey.services import audit

HOUR = timedelta(hours=1)
# A response stored at 08:59:59 may commit a moment after 09:00: an hour is shown only once it is
# safely over, so two downloads a minute apart never differ by a response of the same hour.
PUBLISH_GRACE = timedelta(minutes=5)


def hour_number(moment: datetime) -> int:
    """Whole hours since 1970 (UTC) of a stored time: the only time a response is shown with.
    Vietnam is UTC+7 all year, so UTC hours are the hours on the clock in Vietnam too."""
    return int(as_utc(moment).timestamp()) // 3600


def hour_start(number: int) -> datetime:
    """The UTC start (aware) of an hour number."""
    return datetime.fromtimestamp(number * 3600, timezone.utc)


def hour_of(moment: datetime) -> datetime:
    """The start of the hour a stored time falls in; stored times are already whole hours once
    intake coarsens them, and rows stored before that are floored here."""
    return hour_start(hour_number(moment))


def published_before(now: datetime | None = None) -> datetime:
    """Per-response rows show only hours that are over. Otherwise polling an export or the API
    every minute and diffing would time each response to the minute, which is the very join
    (time + counter against the one-stop system's log) that hour coarsening prevents."""
    return hour_of((now or datetime.now(timezone.utc)) - PUBLISH_GRACE)


def order_key(response_id: int) -> int:
    """A keyed, stable shuffle of a response id: rows of one hour are listed in this order, which
    says nothing about which response came first (the id does, and so would id order)."""
    return int(keyed_hash("response-order", str(response_id))[:16], 16)


def login_target(email: str) -> str:
    """What a failed sign-in's audit row names: the account id when the address is an account,
    else a keyed pseudonym (repeated attempts on one address stay visible as one value, and an
    address typed by mistake, often a private one, is never written down)."""
    normalized = (email or "").strip().lower()
    user_id = db.session.scalar(select(User.id).where(func.lower(User.email) == normalized))
    if user_id is not None:
        return f"user:{user_id}"
    return "unknown:" + keyed_hash("login-failed", normalized)[:16]


def record_failed_login(email: str) -> None:
    """Add the audit row of a failed sign-in (the caller commits)."""
    audit.record("login_failed", target=login_target(email))
