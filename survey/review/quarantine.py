"""Quarantine decisions of Sở Nội vụ: release, keep out (reject), quarantine again.

A decision changes ``Response.status`` for a group of responses and writes one audit row, in
one transaction; nothing is ever deleted, and every decision can be undone by another.
Responses leaving 'counted' are taken out of the rollup in the same transaction
(rollups.unfold, exact subtraction of their sums); responses entering 'counted' were never
folded (only counted responses are): those under the rollup's watermark go to its late set
(rollups.admit), so the live tail counts them at once and the next ``flask rollup`` folds
them.  Flags are kept as history: a released response still says why it was held; an
analyst's own quarantine adds ``manual``.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any, Sequence

from sqlalchemy import case, or_, select, update

from survey.catalog.periods import VIETNAM
from survey.extensions import db
from survey.indices import rollups
from survey.models import Response
from survey.models.responses import COUNTED, QUARANTINED, REJECTED
from survey.services import audit

MANUAL = "manual"
# action -> (statuses it applies to, status it sets)
ACTIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "release": ((QUARANTINED, REJECTED), COUNTED),
    "reject": ((QUARANTINED,), REJECTED),
    "quarantine": ((COUNTED, REJECTED), QUARANTINED),
}


class NotAllowed(ValueError):
    """An action the group's status does not allow."""


@dataclass(frozen=True)
class Selection:
    """Which responses a decision applies to; ``upto_id`` pins the set to what the analyst saw
    (responses arriving after the page was drawn are not decided blindly)."""

    unit_id: int
    survey_id: int | None = None
    period: str | None = None
    counter_id: int | None = None
    day: date | None = None          # Vietnam calendar day
    flags: str | None = None         # exactly this reason string ('' = no flags)
    status: str | None = None
    open_only: bool = False          # the open channel only (not verified links)
    upto_id: int | None = None

    def where(self) -> list[Any]:
        where: list[Any] = [Response.unit_id == self.unit_id]
        if self.survey_id is not None:
            where.append(Response.survey_id == self.survey_id)
        if self.period:
            where.append(Response.period == self.period)
        if self.counter_id is not None:
            where.append(Response.counter_id == self.counter_id)
        if self.day is not None:
            start = datetime.combine(self.day, datetime.min.time(), tzinfo=VIETNAM)
            where += [Response.submitted_at >= start.astimezone(timezone.utc),
                      Response.submitted_at < (start + timedelta(days=1)).astimezone(timezone.utc)]
        if self.flags is not None:
            where.append(Response.flags == self.flags if self.flags else
                         or_(Response.flags.is_(None), Response.flags == ""))
        if self.status is not None:
            where.append(Response.status == self.status)
        if self.open_only:
            where.append(Response.verified.is_(False))
        if self.upto_id is not None:
            where.append(Response.id <= self.upto_id)
        return where

    def describe(self) -> dict[str, Any]:
        return {k: (v.isoformat() if isinstance(v, date) else v)
                for k, v in self.__dict__.items() if v not in (None, False)}


def with_manual(flags: Any) -> Any:
    """SQL: the flags with 'manual' added once."""
    return case((or_(flags.is_(None), flags == ""), MANUAL),
                (or_(flags == MANUAL, flags.like(f"{MANUAL},%"), flags.like(f"%,{MANUAL}"),
                     flags.like(f"%,{MANUAL},%")), flags),
                else_=flags + "," + MANUAL)


def decide(action: str, selection: Selection, user_id: int | None = None,
           note: str | None = None) -> int:
    """Apply ``action`` to the selected responses whose status allows it; returns how many
    changed.  Audited and committed here, in one transaction with the change."""
    if action not in ACTIONS:
        raise NotAllowed(action)
    sources, target = ACTIONS[action]
    # PostgreSQL: the rollup's lock first, as refresh() takes it, so neither waits on the other
    # holding row locks (a deadlock); SQLite: the UPDATE below takes the one write lock.
    rollups.lock()
    where = [*selection.where(), Response.status.in_(sources)]
    ids = db.session.scalars(select(Response.id).where(*where).order_by(Response.id)).all()
    if not ids:
        db.session.rollback()
        return 0
    leaving = db.session.scalars(select(Response.id).where(
        Response.id.in_(ids), Response.status == COUNTED)).all()
    values: dict[str, Any] = {"status": target}
    if action == "quarantine":
        # An analyst's decision on counted responses is its own reason; held ones keep theirs.
        values["flags"] = case((Response.status == COUNTED, with_manual(Response.flags)),
                               else_=Response.flags)
    for start in range(0, len(ids), 5000):
        db.session.execute(update(Response).where(Response.id.in_(ids[start:start + 5000]))
                           .values(**values))
    unfolded = rollups.unfold(leaving)
    if target == COUNTED:
        rollups.admit(ids)
    audit.record(f"responses_{action}", target=f"unit:{selection.unit_id}", user_id=user_id,
                 count=len(ids), status=target, selection=selection.describe(),
                 ids=_ranges(ids), unfolded=unfolded, note=note or None)
    db.session.commit()
    return len(ids)


def _ranges(ids: Sequence[int]) -> list[list[int]]:
    """[[first, last], ...] runs of consecutive ids: the audit row names every response
    compactly (a burst is mostly consecutive ids)."""
    runs: list[list[int]] = []
    for i in ids:
        if runs and runs[-1][1] == i - 1:
            runs[-1][1] = i
        else:
            runs.append([i, i])
    return runs


def held_ids(selection: Selection) -> list[int]:
    """Ids of the selection's responses that are not counted (for the index "with them")."""
    return list(db.session.scalars(select(Response.id).where(
        *selection.where(), Response.status != COUNTED)))
