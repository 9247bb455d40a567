"""Demo feedback cases, so the officials' list, a case page and the metrics show every state.

Called by `flask seed-demo-responses` after the responses exist. Re-runnable: demo cases are
recognised by their tokens, which are derived from a fixed label (so `demo_link(0)` is a known
private link to try), and replaced with their events. Cases are spread over the units, received
in the last weeks of the current period, in every status; some are rated, one is late.
"""
from __future__ import annotations

import base64
import hashlib
import random
from datetime import datetime, timedelta, timezone

from sqlalchemy import delete, select

from survey.catalog.instrument import STANDING_CODE
from survey.catalog.periods import in_vietnam, period_of
from survey.extensions import db
from survey.feedback.cases import hash_token, new_code
from survey.intake.anonymity import to_the_hour
from survey.models import CaseEvent, Counter, FeedbackCase, Survey, Unit, User

PER_UNIT = 9
MESSAGES = (
    "Phải bổ sung giấy tờ hai lần vì hướng dẫn lần đầu chưa đủ, đề nghị có danh mục rõ ràng.",
    "Chờ gần một tiếng mới đến lượt, máy lấy số bị lỗi.",
    "Hồ sơ trả chậm hơn giấy hẹn 3 ngày mà không được báo trước.",
    "Phòng chờ nóng, không có quạt.",
    "Không thanh toán trực tuyến được lệ phí, phải nộp tiền mặt.",
    None,
)
ANSWERS = (
    ("Đơn vị đã niêm yết danh mục giấy tờ tại quầy và trên cổng dịch vụ công; công chức hướng dẫn "
     "đã được nhắc nhở hướng dẫn đầy đủ một lần."),
    "Đơn vị đã thay máy lấy số và bố trí thêm một công chức vào giờ cao điểm.",
    "Đơn vị xin lỗi Ông/Bà; từ nay hồ sơ trễ hẹn đều có thư xin lỗi và hẹn lại bằng tin nhắn.",
)
# (status, answered, rating, closed): the plan of each unit's cases, in order.
PLAN = (
    ("received", False, None, False),
    ("classified", False, None, False),
    ("assigned", False, None, False),          # late: its due date is moved into the past
    ("answered", True, 4, False),
    ("answered", True, None, False),
    ("published", True, 5, False),
    ("closed", True, 2, True),
    ("closed", False, None, True),
    ("answered", True, 3, False),
)


def demo_token(n: int) -> str:
    """The private-link token of demo case n: 43 URL-safe characters, like a real one."""
    digest = hashlib.sha256(f"survey demo feedback case {n}".encode()).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _clear(count: int) -> None:
    hashes = [hash_token(demo_token(n)) for n in range(count)]
    ids = select(FeedbackCase.id).where(FeedbackCase.token_hash.in_(hashes))
    db.session.execute(delete(CaseEvent).where(CaseEvent.case_id.in_(ids)))
    db.session.execute(delete(FeedbackCase).where(FeedbackCase.token_hash.in_(hashes)))


def seed_feedback_demo(now: datetime | None = None, seed: int = 2026) -> int:
    """Replace the demo cases; returns how many were written."""
    rng = random.Random(seed)
    now = now or datetime.now(timezone.utc)
    units = db.session.scalars(select(Unit).where(Unit.kind != "province").order_by(Unit.code)).all()
    survey = db.session.scalar(select(Survey).where(Survey.code == STANDING_CODE))
    _clear(len(units) * PER_UNIT)
    today = in_vietnam(now).date()
    n, used = 0, set()
    for unit in units:
        counters = db.session.scalars(select(Counter).where(Counter.unit_id == unit.id)).all()
        official = db.session.scalar(select(User).where(User.unit_id == unit.id).order_by(User.id))
        for index, (status, answered, rating, closed) in enumerate(PLAN):
            created = now - timedelta(days=rng.randint(3, 25), hours=rng.randint(0, 8))
            if period_of(created) != period_of(now):
                created = now - timedelta(hours=rng.randint(1, 48))
            due = in_vietnam(created).date() + timedelta(days=10)
            if index == 2:
                due = today - timedelta(days=3)  # the late one
            answered_at = created + timedelta(days=rng.randint(1, 9)) if answered else None
            if answered_at is not None and answered_at > now:
                answered_at = now
            code = new_code(created)
            while code in used:
                code = new_code(created)
            used.add(code)
            case = FeedbackCase(
                code=code, token_hash=hash_token(demo_token(n)), unit_id=unit.id,
                counter_id=counters[index % len(counters)].id if counters else None,
                survey_id=survey.id if survey else None, period=period_of(created),
                low_items=rng.sample(["A1.2", "A2.3", "A3.1", "A4.2", "OVERALL"], k=rng.randint(1, 2)),
                message=MESSAGES[index % len(MESSAGES)], status=status,
                category="procedure" if status != "received" else None,
                assigned_to=official.id if official and status not in ("received", "classified") else None,
                due_date=due, answer=ANSWERS[index % len(ANSWERS)] if answered else None,
                answered_at=answered_at, answered_by=official.id if official and answered else None,
                public_answer=ANSWERS[index % len(ANSWERS)] if status == "published" else None,
                closed_at=(answered_at or created + timedelta(days=2)) if closed else None,
                followup_rating=rating, followup_at=to_the_hour(answered_at) if rating and answered_at else None,
                contact_consent=False, created_at=to_the_hour(created))
            db.session.add(case)
            db.session.flush()
            db.session.add_all(_events(case, official, created, answered_at))
            n += 1
    db.session.commit()
    return n


def _events(case: FeedbackCase, official: User | None, created: datetime,
            answered_at: datetime | None) -> list[CaseEvent]:
    actor = official.id if official else None
    steps = ["received"]
    for status in ("classified", "assigned", "answered", "published", "closed"):
        reached = {"classified": case.category is not None, "assigned": case.assigned_to is not None,
                   "answered": answered_at is not None, "published": case.status == "published",
                   "closed": case.status == "closed"}[status]
        if reached:
            steps.append(status)
    events, at, before = [], to_the_hour(created), None
    for i, status in enumerate(steps):
        if status == "answered" and answered_at is not None:
            at = answered_at
        elif i:
            at = at + timedelta(hours=3)
        events.append(CaseEvent(case_id=case.id, at=at, actor_id=None if i == 0 else actor,
                                from_status=before, to_status=status))
        before = status
    return events
