"""Feedback cases: opening one, finding it by its private token, and every step of the workflow.

A case never points at a response (DESIGN.md §7): it holds its own copy of what the citizen chose
to send. Its times are to the hour, like responses'; its code names the month only.

The private link's token is 32 random bytes (secrets.token_urlsafe); only its SHA-256 is stored,
so the database alone opens no case page. The token is shown to the citizen once, on the page
the form redirects to, and never written anywhere by the app (beyond the server's access log
of any URL).

Officials' steps (classify, assign, due date, answer, publish, close) each add a CaseEvent and an
audit row to the session; the caller commits, so the step and its record are one transaction.
Nothing here reads the request: views pass the acting user.
"""
from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.exc import IntegrityError

from survey.catalog.loop_labels import CASE_CATEGORY_LABELS
from survey.catalog.periods import in_vietnam, period_of
from survey.extensions import db
from survey.feedback import contact
from survey.indices.comments import redact
from survey.intake.anonymity import to_the_hour
from survey.models import CaseEvent, FeedbackCase, User
from survey.services import audit

# No 0/O, 1/I/L: a code is read aloud over the phone and typed from a screenshot.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_RANDOM = 4
TOKEN_BYTES = 32
_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")  # token_urlsafe(32): 43 characters, no padding
OPEN = ("received", "classified", "assigned")
MAX_MESSAGE = 4000
MAX_ANSWER = 4000


class StepRefused(ValueError):
    """The step does not apply to the case as it is now; the message says why (Vietnamese)."""


@dataclass(frozen=True)
class Opened:
    code: str
    token: str  # shown to the citizen once; never stored


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def new_code(now: datetime) -> str:
    """"PA-2612-4K7Q": the Vietnam year and month, then four characters nobody misreads."""
    month = in_vietnam(now).strftime("%y%m")
    tail = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_RANDOM))
    return f"PA-{month}-{tail}"


def open_case(*, unit_id: int, counter_id: int | None, survey_id: int | None,
              low_items: list[str], message: str | None, now: datetime | None = None,
              due_days: int = 10) -> Opened:
    """Store a new case (committed) and return its code and private token.

    A code or token that happens to exist already is drawn again (unique columns decide).
    """
    now = now or datetime.now(timezone.utc)
    for _attempt in range(8):
        token = secrets.token_urlsafe(TOKEN_BYTES)
        case = FeedbackCase(
            code=new_code(now), token_hash=hash_token(token), unit_id=unit_id, counter_id=counter_id,
            survey_id=survey_id, period=period_of(now), low_items=list(low_items) or None,
            message=(message or None) and message[:MAX_MESSAGE], status="received",
            due_date=in_vietnam(now).date() + timedelta(days=due_days),
            created_at=to_the_hour(now), contact_consent=False)
        db.session.add(case)
        try:
            db.session.flush()
        except IntegrityError:
            db.session.rollback()
            continue
        db.session.add(CaseEvent(case_id=case.id, at=to_the_hour(now), to_status="received"))
        db.session.commit()
        return Opened(case.code, token)
    raise RuntimeError("could not draw a unique case code")


def token_shape_ok(token: str) -> bool:
    return bool(_TOKEN.fullmatch(token))


def find_by_token(token: str) -> FeedbackCase | None:
    """The case of a private link; None for anything else (malformed tokens cost no query)."""
    if not token_shape_ok(token):
        return None
    return db.session.scalar(select(FeedbackCase).where(FeedbackCase.token_hash == hash_token(token)))


def history(case: FeedbackCase) -> list[CaseEvent]:
    return list(db.session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id)
                                   .order_by(CaseEvent.at, CaseEvent.id)))


def is_closed(case: FeedbackCase) -> bool:
    return case.status == "closed"


def can_rate(case: FeedbackCase) -> bool:
    """Rated once, and only once there is an answer to rate (a case closed unanswered is not)."""
    return case.answered_at is not None and case.followup_rating is None


def officials_of(case: FeedbackCase) -> list[User]:
    """Who a case may be assigned to: the active accounts of the case's unit."""
    return list(db.session.scalars(select(User).where(User.unit_id == case.unit_id, User.active.is_(True))
                                   .order_by(User.name)))


# ---------------------------------------------------------------- steps

def _step(case: FeedbackCase, actor: User | None, action: str, to_status: str | None,
          note: str | None = None, now: datetime | None = None, **details) -> None:
    now = now or datetime.now(timezone.utc)
    before = case.status
    if to_status is not None:
        case.status = to_status
    db.session.add(CaseEvent(case_id=case.id, at=now, actor_id=actor.id if actor else None,
                             from_status=before, to_status=to_status, note=note))
    audit.record(f"case_{action}", target=f"case:{case.code}",
                 user_id=actor.id if actor else None, **details)


def _open_or_refuse(case: FeedbackCase) -> None:
    if case.status not in OPEN:
        raise StepRefused("Phản ánh đã được trả lời hoặc đã đóng.")


def classify(case: FeedbackCase, category: str, actor: User) -> None:
    _open_or_refuse(case)
    if category not in CASE_CATEGORY_LABELS:
        raise StepRefused("Loại phản ánh không hợp lệ.")
    case.category = category
    _step(case, actor, "classify", "classified" if case.status == "received" else None,
          note=CASE_CATEGORY_LABELS[category][0], category=category)


def assign(case: FeedbackCase, assignee: User, actor: User) -> None:
    _open_or_refuse(case)
    if assignee.unit_id != case.unit_id or not assignee.active:
        raise StepRefused("Chỉ giao cho công chức đang làm việc tại đơn vị của phản ánh.")
    case.assigned_to = assignee.id
    _step(case, actor, "assign", "assigned", note=assignee.name, assignee_id=assignee.id)


def set_due(case: FeedbackCase, due: date, actor: User, today: date) -> None:
    _open_or_refuse(case)
    if due < today:
        raise StepRefused("Hạn xử lý không được ở trong quá khứ.")
    case.due_date = due
    _step(case, actor, "due_date", None, note=due.strftime("%d/%m/%Y"), due=due.isoformat())


def answer(case: FeedbackCase, text: str, actor: User, now: datetime | None = None) -> None:
    _open_or_refuse(case)
    text = (text or "").strip()
    if not text:
        raise StepRefused("Vui lòng nhập nội dung trả lời.")
    now = now or datetime.now(timezone.utc)
    case.answer = text[:MAX_ANSWER]
    case.answered_at = now
    case.answered_by = actor.id
    _step(case, actor, "answer", "answered", now=now)


def publish(case: FeedbackCase, public_answer: str, actor: User) -> None:
    """The anonymised answer for the public results page; phone numbers and the like are masked
    again here, whatever the official typed."""
    if case.status != "answered":
        raise StepRefused("Chỉ công khai phản ánh đã được trả lời và chưa đóng.")
    text = (public_answer or "").strip()
    if not text:
        raise StepRefused("Vui lòng nhập nội dung công khai.")
    case.public_answer = redact(text)[:MAX_ANSWER]
    _step(case, actor, "publish", "published")


def close(case: FeedbackCase, actor: User | None, note: str | None = None,
          now: datetime | None = None) -> None:
    """Close the case and forget the citizen's contact at once."""
    if is_closed(case):
        raise StepRefused("Phản ánh đã đóng.")
    now = now or datetime.now(timezone.utc)
    case.closed_at = now
    case.contact_encrypted = None
    _step(case, actor, "close", "closed", note=(note or "").strip()[:500] or None, now=now)


# ---------------------------------------------------------------- the citizen's steps

def rate(case: FeedbackCase, rating: int, now: datetime | None = None) -> bool:
    """Store the follow-up rating once; False (nothing changed) when it cannot be rated.

    One conditional UPDATE, so two taps racing each other store one rating, never two.
    """
    if not can_rate(case) or rating not in range(1, 6):
        return False
    at = to_the_hour(now or datetime.now(timezone.utc))
    # An UPDATE's result is a CursorResult (it has rowcount); Session.execute is typed as Result.
    changed = cast(CursorResult, db.session.execute(
        update(FeedbackCase)
        .where(FeedbackCase.id == case.id, FeedbackCase.followup_rating.is_(None),
               FeedbackCase.answered_at.is_not(None))
        .values(followup_rating=rating, followup_at=at),
        execution_options={"synchronize_session": False})).rowcount
    if changed != 1:
        return False
    db.session.add(CaseEvent(case_id=case.id, at=at, note="followup"))
    return True


def leave_contact(case: FeedbackCase, value: str, now: datetime | None = None) -> None:
    """Keep the citizen's contact, encrypted, with their consent; refused once the case is closed."""
    if is_closed(case):
        raise StepRefused("closed")
    case.contact_encrypted = contact.encrypt(value)
    case.contact_consent = True
    db.session.add(CaseEvent(case_id=case.id, at=to_the_hour(now or datetime.now(timezone.utc)),
                             note="contact"))
