"""How well units answer feedback: on-time share and the citizens' follow-up satisfaction.

The cases of a period are treated as a simple random sample of the cases the unit could have
received, every case with weight 1 (no strata, no clusters: a case is its own unit and nothing
says one kind of case is under-represented). The estimates and their intervals come from
analysis/ (Design.from_arrays with unit weights; `proportion` with a logit interval, `mean`
with a t interval on n-1 degrees of freedom), so they match R's
`svydesign(ids=~1, weights=~1)` with `svyciprop(method="logit")` and `confint(svymean())`.

Rules (one each, here):
- a case belongs to the period it was received in (FeedbackCase.period);
- on time: answered (answered_at) by its due date, Vietnam dates. The share is over the cases
  whose outcome is known: those answered (with a due date) and those still unanswered past their
  due date (late, counted as not on time). Cases still within their time, and cases without a
  due date, are left out. A case closed unanswered after its due date counts as late;
- follow-up: the 1-5 ratings given through the private link (mean, t interval) and the share of
  4-5 among them (logit interval);
- an estimate needs at least two cases (one gives no interval): None otherwise.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

import numpy as np

from analysis import Design, Estimate, mean, proportion
from analysis.indices import MAX_HALF_WIDTH
from survey.access import Scope
from survey.catalog.periods import in_vietnam
from survey.extensions import db
from survey.feedback.queries import late_clause, scoped_cases
from survey.models import FeedbackCase

MIN_CASES = 2
SATISFIED = (4, 5)


@dataclass(frozen=True)
class CaseMetrics:
    cases: int                      # received in the period
    answered: int                   # of those, answered (whatever the status now)
    late_open: int                  # not closed, not answered, past the due date (as of today)
    on_time: Estimate | None        # share answered by the due date, logit interval
    followup: Estimate | None       # mean follow-up rating 1-5, t interval
    followup_satisfied: Estimate | None  # share of follow-up ratings 4-5, logit interval


def on_time_outcome(case: FeedbackCase, today: date) -> bool | None:
    """True/False when known (see the module docstring), None while it is not."""
    if case.due_date is None:
        return None
    if case.answered_at is not None:
        return in_vietnam(case.answered_at).date() <= case.due_date
    return False if case.due_date < today else None


def share(flags: list[bool]) -> Estimate | None:
    """Share of True, cases as a simple random sample with weight 1, logit interval."""
    if len(flags) < MIN_CASES:
        return None
    y = np.asarray(flags, dtype=float)
    return proportion(Design.from_arrays(n=len(y)), y, ci="logit")


def average(values: list[int]) -> Estimate | None:
    """Mean, cases as a simple random sample with weight 1, t interval; reliable on the 1-5
    scale (the limit of the index's item scores)."""
    if len(values) < MIN_CASES:
        return None
    y = np.asarray(values, dtype=float)
    return mean(Design.from_arrays(n=len(y)), y, max_half_width=MAX_HALF_WIDTH["score"])


def metrics_of(rows: list[FeedbackCase], today: date) -> CaseMetrics:
    """The metrics of these cases (already chosen by period, scope and unit)."""
    outcomes = [o for o in (on_time_outcome(c, today) for c in rows) if o is not None]
    ratings = [c.followup_rating for c in rows if c.followup_rating is not None]
    return CaseMetrics(
        cases=len(rows),
        answered=sum(c.answered_at is not None for c in rows),
        late_open=sum(c.status != "closed" and c.late_on(today) for c in rows),
        on_time=share(outcomes),
        followup=average(ratings),
        followup_satisfied=share([r in SATISFIED for r in ratings]),
    )


def _today() -> date:
    return in_vietnam(datetime.now(timezone.utc)).date()


def case_metrics(scope: Scope, period: str, unit_id: int | None = None,
                 today: date | None = None) -> CaseMetrics:
    """The period's cases in scope (only `unit_id`'s when given)."""
    query = scoped_cases(scope).where(FeedbackCase.period == period)
    if unit_id is not None:
        query = query.where(FeedbackCase.unit_id == unit_id)
    return metrics_of(list(db.session.scalars(query)), today or _today())


def metrics_by_unit(scope: Scope, period: str, today: date | None = None) -> dict[int, CaseMetrics]:
    """case_metrics for every unit in scope that received cases in the period (one query)."""
    rows: dict[int, list[FeedbackCase]] = {}
    for case in db.session.scalars(scoped_cases(scope).where(FeedbackCase.period == period)):
        rows.setdefault(case.unit_id, []).append(case)
    today = today or _today()
    return {unit_id: metrics_of(unit_rows, today) for unit_id, unit_rows in rows.items()}


def new_cases_since(scope: Scope, since: datetime) -> list[FeedbackCase]:
    """Cases received at or after `since` (times are stored to the hour), oldest first."""
    query = scoped_cases(scope).where(FeedbackCase.created_at >= since)
    return list(db.session.scalars(query.order_by(FeedbackCase.created_at, FeedbackCase.id)))


def cases_near_deadline(scope: Scope, today: date, days: int = 2) -> list[FeedbackCase]:
    """Open, unanswered cases due within `days` days (today included); late ones are not here
    (they are CaseMetrics.late_open and the list's "quá hạn" filter). Soonest first."""
    query = scoped_cases(scope).where(
        FeedbackCase.status != "closed", FeedbackCase.answered_at.is_(None),
        FeedbackCase.due_date.is_not(None), FeedbackCase.due_date >= today,
        FeedbackCase.due_date <= today + timedelta(days=days))
    return list(db.session.scalars(query.order_by(FeedbackCase.due_date, FeedbackCase.id)))


def late_cases(scope: Scope, today: date) -> list[FeedbackCase]:
    """Open cases past their due date and unanswered, most overdue first."""
    query = scoped_cases(scope).where(late_clause(today))
    return list(db.session.scalars(query.order_by(FeedbackCase.due_date, FeedbackCase.id)))
