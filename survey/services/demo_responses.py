"""Believable demo responses and service volumes, so dashboards and reports show something.

Deterministic (one seeded generator), fast (bulk INSERTs, a few thousand rows per call) and
re-runnable: demo responses are recognised by their idempotency key prefix and replaced.
Each unit has its own satisfaction level, one unit has few responses (its estimates are "không
đủ độ tin cậy"), one counter's QR code is never used, and one unit has no service volumes in
the first period (its estimates are unweighted) so every dashboard state can be seen.
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable, Sequence, cast

from sqlalchemy import delete, insert, select, update

from survey.catalog.instrument import SERVICE_FIELDS, STANDING_CODE
from survey.catalog.periods import VIETNAM
from survey.extensions import db
from survey.indices import rollups
from survey.indices.scores import write_scores
from survey.intake.anonymity import to_the_hour  # stored as citizens' are: to the hour
from survey.models import Answer, Question, Response, ResponseScore, ServiceVolume, Survey, SurveyVersion, Unit
from survey.partitions import forget_keys, record_keys

DEMO_KEY = "demo-"
CHUNK = 2000

COMMENTS = (
    "Cán bộ hướng dẫn rất nhiệt tình, cảm ơn.",
    "Phòng chờ hơi nóng, nên lắp thêm quạt.",
    "Máy lấy số thứ tự hay bị lỗi.",
    "Thời gian chờ lâu quá, gần một tiếng mới đến lượt.",
    "Nên có thêm hướng dẫn nộp hồ sơ trực tuyến cho người lớn tuổi.",
    "Thủ tục nhanh gọn, đúng hẹn.",
    "Phải bổ sung giấy tờ hai lần vì hướng dẫn lần đầu chưa đủ.",
    "Thanh toán trực tuyến không được, phải nộp tiền mặt.",
    "Nhân viên lịch sự, giải thích dễ hiểu.",
    "Bãi gửi xe chật, nên mở rộng.",
)


@dataclass(frozen=True)
class NewResponse:
    """One response to insert: answers map item code to 1..5 (0/1 for yes/no), None for "không
    áp dụng", or text (a choice's code, "1;3" for several, an open answer)."""

    unit_id: int
    counter_id: int | None
    period: str
    submitted_at: datetime
    service_field: str | None
    answers: dict[str, int | str | None] = field(default_factory=dict)
    comment: str | None = None
    key: str = ""
    channel: str = "qr"


def insert_responses(version_id: int, rows: Sequence[NewResponse]) -> list[int]:
    """Bulk-insert responses and their answers; returns the new response ids in order."""
    version = cast(SurveyVersion, db.session.get(SurveyVersion, version_id))
    questions = dict(db.session.execute(
        select(Question.code, Question.id).where(Question.version_id == version_id)).all())
    ids: list[int] = []
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start:start + CHUNK]
        new_ids = db.session.scalars(
            insert(Response).returning(Response.id, sort_by_parameter_order=True),
            [{"survey_id": version.survey_id, "survey_version_id": version_id,
              "counter_id": r.counter_id, "unit_id": r.unit_id, "submitted_at": r.submitted_at,
              "period": r.period, "channel": r.channel, "service_field": r.service_field,
              "idempotency_key": r.key or f"{DEMO_KEY}{start + i}-{random.getrandbits(64):x}"}
             for i, r in enumerate(chunk)]).all()
        record_keys(db.session, new_ids)
        answers: list[dict[str, Any]] = []
        for rid, r in zip(new_ids, chunk):
            for code, value in r.answers.items():
                text = isinstance(value, str)
                answers.append({"response_id": rid, "period": r.period, "question_id": questions[code],
                                "value_int": None if text else value,
                                "value_text": value if text else None, "na": value is None})
            if r.comment:
                answers.append({"response_id": rid, "period": r.period, "question_id": questions["COMMENT"],
                                "value_int": None, "value_text": r.comment, "na": False})
        if answers:
            db.session.execute(insert(Answer), answers)
            write_scores(db.session, new_ids)  # Core inserts: no ORM flush to score them
        ids.extend(new_ids)
    # A version with answers is frozen (DESIGN.md §3), whoever stored them.
    db.session.execute(update(SurveyVersion).where(SurveyVersion.id == version_id)
                       .values(frozen=True))
    return ids


def _period_bounds(period: str, now: datetime) -> tuple[datetime, datetime]:
    year, half = int(period[:4]), period[-1]
    start = datetime(year, 1 if half == "1" else 7, 1, tzinfo=VIETNAM)
    end = datetime(year + (half == "2"), 7 if half == "1" else 1, 1, tzinfo=VIETNAM)
    return start, min(end, now.astimezone(VIETNAM))


def _office_moment(rng: random.Random, start: datetime, end: datetime) -> datetime:
    """A weekday moment in office hours (7:30-17:00 Vietnam time), returned in UTC."""
    days = max((end - start).days, 1)
    for _ in range(20):
        day = start + timedelta(days=rng.randrange(days))
        if day.weekday() < 5:
            break
    moment = day.replace(hour=7, minute=30) + timedelta(minutes=rng.randrange(570))
    return min(moment, end - timedelta(minutes=1)).astimezone(timezone.utc)


def _answer(rng: random.Random, p: float, allows_na: bool, required: bool, code: str
            ) -> tuple[bool, int | None]:
    """(keep, value): whether the item is answered at all, and 1..5 or None for N/A."""
    optional_item = code[:2] in ("A5", "A6")
    if not required and rng.random() < 0.35:
        return False, None
    if allows_na and rng.random() < (0.45 if optional_item else 0.08):
        return True, None
    if rng.random() < p:
        return True, 5 if rng.random() < 0.45 else 4
    return True, rng.choice((1, 2, 3, 3, 3))


def _clamp(x: float) -> float:
    return min(max(x, 0.05), 0.98)


def seed_demo_responses(n_per_unit: int = 150, periods: Iterable[str] = ("2026-H1", "2026-H2"),
                        seed: int = 2026, now: datetime | None = None) -> dict[str, int]:
    """Replace the demo responses and volumes; returns counts of what was written."""
    rng = random.Random(seed)
    now = now or datetime.now(timezone.utc)
    periods = tuple(periods)
    survey = db.session.scalar(select(Survey).where(Survey.code == STANDING_CODE))
    if survey is None:
        raise LookupError("Chưa có khảo sát SIPAS: chạy `flask seed-demo` trước.")
    version = cast(SurveyVersion, survey.current_version)  # seed-demo made it
    questions = db.session.scalars(select(Question).where(
        Question.version_id == version.id, Question.type == "likert5")).all()
    units = db.session.scalars(select(Unit).where(Unit.kind != "province").order_by(Unit.code)).all()
    _clear(periods, [u.id for u in units])
    fields = [f[0] for f in SERVICE_FIELDS]
    rows: list[NewResponse] = []
    volumes: dict[tuple[int, str, str], int] = {}
    for u_index, unit in enumerate(units):
        counters = [c for c in unit.counters if c.active]
        if not counters:
            continue
        # Unit level on the logit scale; the last counter of the last unit is never scanned.
        level = rng.gauss(1.0, 0.6)
        if u_index == len(units) - 1 and len(counters) > 1:
            counters = counters[:-1]
        field_mix = rng.sample(fields, k=min(4, len(fields)))
        small = u_index == 4  # one unit with too few responses for a reliable estimate
        for p_index, period in enumerate(periods):
            start, end = _period_bounds(period, now)
            if end <= start:
                continue
            n = max(8, n_per_unit // 6) if small else n_per_unit
            shift = 0.25 * p_index + rng.gauss(0, 0.15)
            counts: dict[str, int] = {}
            for i in range(n):
                person = rng.gauss(0, 0.8)
                field_ = None if rng.random() < 0.12 else rng.choice(field_mix)
                answers: dict[str, int | str | None] = {}
                for q in questions:
                    component_effect = -0.6 if q.component in ("A1", "A6") else 0.0
                    p = _clamp(1 / (1 + math.exp(-(level + shift + person + component_effect))))
                    keep, value = _answer(rng, p, q.allows_na, q.required, q.code)
                    if keep:
                        answers[q.code] = value
                rows.append(NewResponse(
                    unit_id=unit.id, counter_id=rng.choice(counters).id, period=period,
                    submitted_at=to_the_hour(_office_moment(rng, start, end)), service_field=field_,
                    answers=answers,
                    comment=rng.choice(COMMENTS) if rng.random() < 0.08 else None,
                    key=f"{DEMO_KEY}{period}-{unit.code}-{i}"))
                if field_:
                    counts[field_] = counts.get(field_, 0) + 1
            # Unit 5 has no volumes in the first period: its estimates are unweighted.
            if u_index == 5 and p_index == 0:
                continue
            for field_ in field_mix:
                volumes[(unit.id, period, field_)] = max(counts.get(field_, 0), 1) * rng.randint(8, 40)
    insert_responses(version.id, rows)
    if volumes:
        db.session.execute(insert(ServiceVolume), [
            {"unit_id": u, "period": p, "field": f, "dossiers": d} for (u, p, f), d in volumes.items()])
    db.session.commit()
    # Deleted responses cannot be subtracted from the rollup: start it again.
    rollups.reset()
    rollups.refresh()
    return {"responses": len(rows), "volumes": len(volumes)}


def _clear(periods: Sequence[str], unit_ids: list[int]) -> None:
    demo = select(Response.id).where(Response.idempotency_key.like(f"{DEMO_KEY}%"))
    db.session.execute(delete(Answer).where(Answer.response_id.in_(demo)))
    db.session.execute(delete(ResponseScore).where(ResponseScore.response_id.in_(demo)))
    db.session.execute(delete(Response).where(Response.idempotency_key.like(f"{DEMO_KEY}%")))
    forget_keys(db.session, f"{DEMO_KEY}%")
    db.session.execute(delete(ServiceVolume).where(ServiceVolume.period.in_(periods),
                                                   ServiceVolume.unit_id.in_(unit_ids)))
