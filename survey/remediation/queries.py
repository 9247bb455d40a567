"""Reading remediation tasks, always through a scope (survey/access.py): the one place that lists them.

The progress report (helper F) and the digest call `task_counts` and `tasks_for`; pages call them
too, so a count on a page and in a report can never disagree.

"Quá hạn" (overdue) is never stored: RemediationTask.overdue_on(today) with today in Vietnam time.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import Select, and_, or_, select

from survey.access import Scope, restrict
from survey.catalog.periods import VIETNAM
from survey.extensions import db
from survey.models.loop import RemediationTask


def today() -> date:
    """Today's date in Vietnam (deadlines are Vietnamese calendar dates)."""
    return datetime.now(VIETNAM).date()


def period_dates(period: str) -> tuple[date, date]:
    """First and last day of a half-year period ('2026-H1' -> 1/1/2026, 30/6/2026)."""
    year, half = int(period[:4]), period[-1]
    return (date(year, 1, 1), date(year, 6, 30)) if half == "1" else (date(year, 7, 1), date(year, 12, 31))


def _start_utc(day: date) -> datetime:
    """Midnight of `day` in Vietnam, as UTC (created_at and completed_at are stored in UTC)."""
    return datetime.combine(day, time(0), VIETNAM).astimezone(timezone.utc)


@dataclass(frozen=True)
class TaskCounts:
    not_started: int
    in_progress: int
    done: int
    overdue: int          # also counted inside its status (not_started or in_progress)

    @property
    def total(self) -> int:
        return self.not_started + self.in_progress + self.done


def _scoped(scope: Scope, unit_id: int | None) -> Select:
    query = restrict(select(RemediationTask), scope, RemediationTask.unit_id)
    if unit_id is not None:
        query = query.where(RemediationTask.unit_id == unit_id)
    return query


def in_period(query: Select, period: str) -> Select:
    """Tasks that belong to a period's report: their deadline falls in the period, or they were
    open during it (created by its last day and not completed before its first day)."""
    first, last = period_dates(period)
    open_during = and_(RemediationTask.created_at < _start_utc(last + timedelta(days=1)),
                       or_(RemediationTask.completed_at.is_(None),
                           RemediationTask.completed_at >= _start_utc(first)))
    return query.where(or_(RemediationTask.deadline.between(first, last), open_during))


def task_counts(scope: Scope, period: str | None = None, unit_id: int | None = None) -> TaskCounts:
    """How many tasks of the units in `scope` (only `unit_id` when given) are in each status now.

    period: only tasks of that period (see :func:`in_period`). Statuses and overdue are as of
    today: a report shows where each task stands when it is written. Overdue tasks are counted
    separately and also inside their status.
    """
    query = _scoped(scope, unit_id)
    if period is not None:
        query = in_period(query, period)
    rows = db.session.execute(query.with_only_columns(RemediationTask.status, RemediationTask.deadline)).all()
    now = today()
    counts = {"not_started": 0, "in_progress": 0, "done": 0}
    overdue = 0
    for status, deadline in rows:
        counts[status] = counts.get(status, 0) + 1
        overdue += status != "done" and deadline < now
    return TaskCounts(counts["not_started"], counts["in_progress"], counts["done"], overdue)


def tasks_for(scope: Scope, *, unit_id: int | None = None, status: str | None = None,
              overdue_only: bool = False, criterion_code: str | None = None,
              deadline_to: date | None = None) -> list[RemediationTask]:
    """Tasks of the units in `scope`, filtered, soonest deadline first.

    status: a stored status (not_started, in_progress, done) or "overdue" (same as overdue_only);
    criterion_code: an item code, component, "overall" or a tracker criterion's code;
    deadline_to: deadline on or before this date.
    """
    query = _scoped(scope, unit_id)
    if status == "overdue":
        overdue_only, status = True, None
    if status is not None:
        query = query.where(RemediationTask.status == status)
    if overdue_only:
        query = query.where(RemediationTask.status != "done", RemediationTask.deadline < today())
    if criterion_code:
        query = query.where(RemediationTask.criterion_code == criterion_code)
    if deadline_to is not None:
        query = query.where(RemediationTask.deadline <= deadline_to)
    return list(db.session.scalars(query.order_by(RemediationTask.deadline, RemediationTask.id)))


def visible_task(scope: Scope, task_id: int) -> RemediationTask | None:
    """The task when its unit is in `scope`; None when absent or not visible (the page's 404)."""
    return db.session.scalar(_scoped(scope, None).where(RemediationTask.id == task_id))


def tasks_of_criteria(criterion_ids: list[int]) -> dict[int, list[RemediationTask]]:
    """Tracker rows' tasks (Sở Nội vụ's tracker is province-wide: no scope to apply)."""
    out: dict[int, list[RemediationTask]] = {i: [] for i in criterion_ids}
    if criterion_ids:
        for task in db.session.scalars(select(RemediationTask)
                                       .where(RemediationTask.tracker_criterion_id.in_(criterion_ids))
                                       .order_by(RemediationTask.deadline, RemediationTask.id)):
            assert task.tracker_criterion_id is not None  # the where clause selected it
            out[task.tracker_criterion_id].append(task)
    return out
