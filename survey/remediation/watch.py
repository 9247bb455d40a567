"""Sở Nội vụ's "quá hạn và có nguy cơ" list: tasks late, due soon, or whose criterion fell again.

At risk means: not done and due within AT_RISK_DAYS, or the criterion's current value is below
the baseline frozen when the plan was made (a point comparison: an early warning to look at, not
a claim of a significant decline; the task page gives the interval). Overdue: past the deadline
and not done (RemediationTask.overdue_on).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from analysis import Estimate
from survey.access import Scope
from survey.catalog.periods import period_of
from survey.models.loop import RemediationTask
from survey.remediation.effect import STAT_OF_KIND, criterion_key, estimates
from survey.remediation.queries import tasks_for
from survey.remediation.queries import today as vietnam_today

AT_RISK_DAYS = 14


@dataclass(frozen=True)
class Watched:
    task: RemediationTask
    overdue: bool
    due_soon: bool
    now_value: Estimate | None     # the criterion this period, when below the baseline

    @property
    def fell(self) -> bool:
        return self.now_value is not None


def current_values(tasks: list[RemediationTask], period: str) -> dict[int, Estimate]:
    """Task id -> its criterion's value in `period` (survey criteria with a baseline only)."""
    measured = [t for t in tasks if t.criterion_kind in STAT_OF_KIND and t.baseline_period
                and t.baseline_period < period and t.baseline_estimate is not None]
    found = estimates(period, {t.unit_id for t in measured},
                      {criterion_key(t.criterion_kind, t.criterion_code) for t in measured})
    out = {}
    for t in measured:
        value = found.get((t.unit_id, *criterion_key(t.criterion_kind, t.criterion_code)))
        if value is not None:
            out[t.id] = value
    return out


def watch_list(scope: Scope, today: date | None = None, now: datetime | None = None) -> list[Watched]:
    """Tasks of the units in `scope` that are overdue or at risk, the latest first."""
    today = today or vietnam_today()
    tasks = tasks_for(scope)
    values = current_values(tasks, period_of(now or datetime.now(timezone.utc)))
    out = []
    for task in tasks:
        overdue = task.overdue_on(today)
        due_soon = not overdue and task.status != "done" and task.deadline <= today + timedelta(days=AT_RISK_DAYS)
        value = values.get(task.id)
        # current_values only measures tasks with a baseline, so a value implies one.
        fell = (value if value is not None and task.baseline_estimate is not None
                and value.estimate < task.baseline_estimate else None)
        if overdue or due_soon or fell is not None:
            out.append(Watched(task, overdue, due_soon, fell))
    return out
