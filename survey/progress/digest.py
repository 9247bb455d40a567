"""`flask digest`: one e-mail a day to each active official about their units (never inside a
request; cron, or the RQ cron scheduler: see survey/progress/rq_cron.py).

What it says, for the units in the official's scope (survey/access.py):
- new low ratings: counted responses (quarantined ones count nowhere) submitted in the window
  with any five-point answer of 1 or 2, from one SQL GROUP BY;
- new feedback cases, and cases whose reply is due within CASE_DAYS days (survey/feedback);
- remediation tasks overdue on the digest day (RemediationTask.overdue_on, the one rule);
- the overall index or a component of a unit that fell significantly since the previous
  period: the change's 95% interval (analysis/, via report_data.change_view) lies below 0.

The window is the Vietnam calendar day before `day` (00:00 to 00:00, Asia/Ho_Chi_Minh), so
daily runs neither miss nor repeat a response. DigestSent (user, day) is written before the
message goes out and removed again if sending fails: a re-run the same day sends nothing
twice, and a failed one is retried by the next run.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Callable

from flask import current_app, has_request_context
from sqlalchemy import exists, func, select
from sqlalchemy.exc import IntegrityError

from analysis import Estimate
from survey.access import Scope, in_scope, visible_unit_ids
from survey.catalog.instrument import COMPONENTS
from survey.catalog.periods import VIETNAM, period_of, previous
from survey.extensions import db
from survey.feedback.metrics import cases_near_deadline, new_cases_since
from survey.indices import aggregates
from survey.indices.report_data import period_change
from survey.indices.stratum_sums import counted
from survey.models import Answer, Question, Response, Unit, User
from survey.models.loop import DigestSent
from survey.remediation.queries import tasks_for

log = logging.getLogger(__name__)
CASE_DAYS = 2  # "near the deadline": due within this many days


@dataclass(frozen=True)
class Fall:
    unit_id: int
    unit_name: str
    measure: str           # "overall" or a component code
    current: Estimate
    previous: Estimate
    change: Estimate       # current - previous with its interval (analysis.independent_difference)


@dataclass
class Digest:
    """What one official's e-mail says (plain data; survey/progress/digest_mail.py words it)."""

    user: User
    day: date
    period: str
    low_ratings: list[tuple[str, int]] = field(default_factory=list)   # (unit name, responses)
    new_cases: list[Any] = field(default_factory=list)                 # FeedbackCase
    near_deadline: list[Any] = field(default_factory=list)             # FeedbackCase
    overdue_tasks: list[Any] = field(default_factory=list)             # RemediationTask
    falls: list[Fall] = field(default_factory=list)
    unit_names: dict[int, str] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not (self.low_ratings or self.new_cases or self.near_deadline or self.overdue_tasks
                    or self.falls)


def window(day: date) -> tuple[datetime, datetime]:
    """The Vietnam calendar day before `day`, as UTC instants [start, end)."""
    end = datetime.combine(day, time(0), VIETNAM).astimezone(timezone.utc)
    return end - timedelta(days=1), end


def low_ratings(start: datetime, end: datetime) -> dict[int, int]:
    """unit id -> counted responses submitted in [start, end) with any 1-2 on a five-point item."""
    low = (exists().where(Answer.response_id == Response.id, Answer.value_int.between(1, 2),
                          Question.id == Answer.question_id, Question.type == "likert5"))
    query = (select(Response.unit_id, func.count()).where(
        counted(), Response.submitted_at >= start, Response.submitted_at < end, low)
        .group_by(Response.unit_id))
    return {unit_id: int(n) for unit_id, n in db.session.execute(query)}


def significant_falls(period: str) -> list[Fall]:
    """Every unit's overall index and components that fell significantly since the period before."""
    stats = ("overall", "component")
    now = aggregates.index_rows(period, None, stats=stats)
    before = {(r.unit_id, r.stat, r.measure): r.est
              for r in aggregates.index_rows(previous(period), None, stats=stats)}
    falls = []
    for row in now:
        current = row.est
        if row.stat == "component" and row.measure not in COMPONENTS:
            continue
        earlier = before.get((row.unit_id, row.stat, row.measure))
        change = period_change(current, earlier)
        # A significant fall: the whole interval below 0 (a NaN bound never is).
        if earlier is not None and change is not None and change.ci_high < 0:
            falls.append(Fall(row.unit_id, row.unit_name, row.measure, current, earlier, change))
    return sorted(falls, key=lambda f: (f.unit_name, f.measure != "overall", f.measure))


def gather(user: User, scope: Scope, day: date, lows: dict[int, int], falls: list[Fall]) -> Digest:
    start, end = window(day)
    digest = Digest(user=user, day=day, period=period_of(end))
    digest.new_cases = [c for c in new_cases_since(scope, start) if _utc(c.created_at) < end]
    digest.near_deadline = list(cases_near_deadline(scope, day, days=CASE_DAYS))
    digest.overdue_tasks = [t for t in tasks_for(scope, deadline_to=day - timedelta(days=1))
                            if t.overdue_on(day)]
    digest.falls = [f for f in falls if in_scope(scope, f.unit_id)]
    low_units = [u for u in lows if in_scope(scope, u)]
    ids = set(low_units) | {c.unit_id for c in digest.new_cases + digest.near_deadline} \
        | {t.unit_id for t in digest.overdue_tasks}
    digest.unit_names = dict(db.session.execute(select(Unit.id, Unit.name).where(Unit.id.in_(sorted(ids)))).all()) \
        if ids else {}
    digest.low_ratings = sorted((digest.unit_names[u], lows[u]) for u in low_units)
    return digest


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def recipients() -> list[User]:
    """Active accounts with an e-mail address, in a stable order."""
    return list(db.session.scalars(select(User).where(User.active.is_(True), User.email.is_not(None),
                                                      User.email.contains("@")).order_by(User.id)))


def _claim(user_id: int, day: str) -> bool:
    """Write DigestSent first; False when this user's digest of `day` is already out."""
    if db.session.get(DigestSent, (user_id, day)) is not None:
        return False
    db.session.add(DigestSent(user_id=user_id, day=day, sent_at=datetime.now(timezone.utc)))
    try:
        db.session.commit()
    except IntegrityError:  # another run claimed it in between
        db.session.rollback()
        return False
    return True


def _release(user_id: int, day: str) -> None:
    row = db.session.get(DigestSent, (user_id, day))
    if row is not None:
        db.session.delete(row)
        db.session.commit()


def run_digest(day: date | None = None, *, dry_run: bool = False,
               echo: Callable[[str], None] = log.info) -> dict[str, int]:
    """Send (or print) each official's digest of `day`; returns counts per outcome."""
    from survey.progress.digest_mail import compose, deliver, plain_text

    if has_request_context():  # minutes of queries and SMTP: a scheduled job, never a page
        raise RuntimeError("run_digest runs from `flask digest` or a job, never inside a request")
    day = day or datetime.now(VIETNAM).date()
    start, end = window(day)
    lows, falls = low_ratings(start, end), significant_falls(period_of(end))
    totals = {"đã gửi": 0, "đã in ra nhật ký": 0, "chạy thử": 0, "bỏ qua": 0, "lỗi": 0}
    key = day.isoformat()
    for user in recipients():
        scope = visible_unit_ids(user)
        if scope is not None and not scope:
            totals["bỏ qua"] += 1
            echo(f"{user.email}: bỏ qua (tài khoản chưa được gán đơn vị)")
            continue
        if not dry_run and db.session.get(DigestSent, (user.id, key)) is not None:
            totals["bỏ qua"] += 1
            echo(f"{user.email}: bỏ qua (đã gửi tin ngày {day:%d/%m/%Y})")
            continue
        digest = gather(user, scope, day, lows, falls)
        if digest.empty:
            totals["bỏ qua"] += 1
            echo(f"{user.email}: bỏ qua (không có tin mới)")
            continue
        message = compose(digest, current_app.config)
        if dry_run:
            totals["chạy thử"] += 1
            echo(f"{user.email}: chạy thử, không gửi\n{plain_text(message)}")
            continue
        if not _claim(user.id, key):
            totals["bỏ qua"] += 1
            echo(f"{user.email}: bỏ qua (đã gửi tin ngày {day:%d/%m/%Y})")
            continue
        try:
            outcome = deliver(message, current_app.config)
        except Exception as error:  # one bad address or a refused message must not stop the others
            _release(user.id, key)
            totals["lỗi"] += 1
            log.exception("digest to %s failed", user.email)
            echo(f"{user.email}: lỗi khi gửi ({error.__class__.__name__}: {error}); lần chạy sau sẽ gửi lại")
            continue
        totals["đã gửi" if outcome == "sent" else "đã in ra nhật ký"] += 1
        echo(f"{user.email}: {'đã gửi' if outcome == 'sent' else 'đã in ra nhật ký (chưa cấu hình MAIL_SERVER)'}")
    return totals
