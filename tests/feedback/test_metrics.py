"""case_metrics and friends: the rules on which cases count, and intervals checked against R
`survey` (tests/analysis/reference/make_feedback.R) and the textbook formulas by hand."""
from __future__ import annotations

import csv
import math
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path

import pytest
from scipy import stats
from sqlalchemy import select

from survey.catalog.periods import VIETNAM
from survey.extensions import db
from survey.feedback import cases
from survey.feedback.metrics import case_metrics, cases_near_deadline, new_cases_since, on_time_outcome
from survey.models import FeedbackCase, Unit

REFERENCE = Path(__file__).resolve().parent.parent / "analysis" / "reference" / "expected_feedback.csv"
# The same data as make_feedback.R.
ON_TIME = [1, 1, 1, 0, 1, 1, 0, 1, 1, 1, 1, 0, 1]
RATINGS = [5, 4, 2, 4, 5, 3, 4, 1, 5, 4]
TODAY = date(2026, 3, 20)
PERIOD = "2026-H1"


def vn(day: date, hour: int = 10) -> datetime:
    return datetime.combine(day, time(hour), VIETNAM).astimezone(timezone.utc)


def add(unit_id: int, *, due: date | None, answered: date | None = None, rating: int | None = None,
        status: str | None = None, period: str = PERIOD, created: datetime | None = None) -> FeedbackCase:
    case = FeedbackCase(code=cases.new_code(vn(TODAY)) + str(add.n), token_hash=f"{add.n:064d}", unit_id=unit_id,
                        period=period, status=status or ("answered" if answered else "assigned"), due_date=due,
                        answered_at=vn(answered, 23) if answered else None, followup_rating=rating,
                        created_at=created or vn(date(2026, 2, 1)), contact_consent=False)
    add.n += 1
    db.session.add(case)
    return case


add.n = 0


@pytest.fixture
def units(app):
    with app.app_context():
        ward = db.session.scalar(select(Unit.id).where(Unit.code == "00157"))
        other = db.session.scalar(select(Unit.id).where(Unit.code == "00178"))
    return ward, other


def reference() -> dict[str, tuple[float, float, float]]:
    with REFERENCE.open() as f:
        return {r["measure"]: (float(r["estimate"]), float(r["ci_low"]), float(r["ci_high"]))
                for r in csv.DictReader(f)}


def seed_reference_cases(ward: int) -> None:
    due = date(2026, 3, 10)
    for i, flag in enumerate(ON_TIME):
        # On time = answered on the due date itself (Vietnam day), late = the day after.
        add(ward, due=due, answered=due if flag else due + timedelta(days=1),
            rating=RATINGS[i] if i < len(RATINGS) else None)


def test_intervals_match_r_survey(app, units):
    ward, _other = units
    with app.app_context():
        seed_reference_cases(ward)
        db.session.commit()
        m = case_metrics(None, PERIOD, ward, today=TODAY)
    expected = reference()
    for name, estimate in (("on_time", m.on_time), ("followup", m.followup),
                           ("followup_satisfied", m.followup_satisfied)):
        assert (estimate.estimate, estimate.ci_low, estimate.ci_high) == pytest.approx(expected[name], abs=1e-9), name
    assert (m.cases, m.answered, m.late_open) == (13, 13, 0)
    assert m.on_time.n == 13 and m.followup.n == 10


def test_intervals_match_the_textbook_formulas(app, units):
    ward, _other = units
    with app.app_context():
        seed_reference_cases(ward)
        db.session.commit()
        m = case_metrics(None, PERIOD, today=TODAY)
    # Share, SRS: var(p) = p(1-p)/(n-1); logit interval with t on n-1 df.
    n, p = len(ON_TIME), sum(ON_TIME) / len(ON_TIME)
    t = stats.t.ppf(0.975, n - 1)
    half = t * math.sqrt(p * (1 - p) / (n - 1)) / (p * (1 - p))
    centre = math.log(p / (1 - p))
    expit = lambda x: 1 / (1 + math.exp(-x))  # noqa: E731
    assert (m.on_time.ci_low, m.on_time.ci_high) == pytest.approx((expit(centre - half), expit(centre + half)))
    # Mean: ybar ± t s/sqrt(n).
    k = len(RATINGS)
    ybar = sum(RATINGS) / k
    s = math.sqrt(sum((r - ybar) ** 2 for r in RATINGS) / (k - 1))
    tk = stats.t.ppf(0.975, k - 1)
    assert (m.followup.estimate, m.followup.ci_low, m.followup.ci_high) == pytest.approx(
        (ybar, ybar - tk * s / math.sqrt(k), ybar + tk * s / math.sqrt(k)))


def test_which_cases_count_for_on_time(app, units):
    ward, other = units
    with app.app_context():
        due = date(2026, 3, 15)
        on_time = add(ward, due=due, answered=due)
        late_answer = add(ward, due=due, answered=due + timedelta(days=2))
        late_open = add(ward, due=TODAY - timedelta(days=1))
        waiting = add(ward, due=TODAY + timedelta(days=3))            # outcome not known yet
        no_due = add(ward, due=None, answered=TODAY)                  # no due date: left out
        closed_late = add(ward, due=TODAY - timedelta(days=5), status="closed")
        add(other, due=due, answered=due)                              # another unit
        add(ward, due=due, answered=due, period="2025-H2")             # another period
        db.session.commit()
        outcomes = [on_time_outcome(c, TODAY) for c in (on_time, late_answer, late_open, waiting, no_due, closed_late)]
        assert outcomes == [True, False, False, None, None, False]
        m = case_metrics({ward}, PERIOD, today=TODAY)
        assert (m.cases, m.answered, m.late_open) == (6, 3, 1)
        assert m.on_time.n == 4 and m.on_time.estimate == pytest.approx(0.25)
        assert m.followup is None and m.followup_satisfied is None  # no ratings
        assert case_metrics({other}, PERIOD, today=TODAY).cases == 1
        assert case_metrics(set(), PERIOD, today=TODAY).cases == 0  # an empty scope sees nothing
        single = case_metrics({other}, PERIOD, today=TODAY)
        assert single.on_time is None  # one case gives no interval


def test_new_cases_and_near_deadline(app, units):
    ward, other = units
    with app.app_context():
        old = add(ward, due=TODAY + timedelta(days=1), created=vn(date(2026, 3, 1)))
        new = add(ward, due=TODAY + timedelta(days=2), created=vn(date(2026, 3, 19)))
        add(ward, due=TODAY + timedelta(days=3), created=vn(date(2026, 3, 19)))     # not near yet
        add(ward, due=TODAY, answered=TODAY, created=vn(date(2026, 3, 19)))         # answered
        add(ward, due=TODAY - timedelta(days=1), created=vn(date(2026, 3, 2)))     # late, not "near"
        add(other, due=TODAY, created=vn(date(2026, 3, 19)))                        # outside scope
        db.session.commit()
        since = new_cases_since({ward}, vn(date(2026, 3, 18)))
        assert [c.id for c in since] == sorted(c.id for c in since) and len(since) == 3
        assert old not in since and new in since
        near = cases_near_deadline({ward}, TODAY)
        assert [c.id for c in near] == [old.id, new.id]
        assert len(cases_near_deadline(None, TODAY)) == 3  # the other unit's, due today, too
