"""Fixtures of the progress report and digest tests: demo responses plus rows in the loop tables
(tasks with evidence, feedback cases, typed sections) in two units, one of them the demo
official's (Phường Đồng Tiến, 00157) and one another official's (Xã Mường Khến, 00178).

The report and digest read these rows through survey/remediation and survey/feedback.
"""
from __future__ import annotations

import secrets
from datetime import date, datetime, timezone

import pytest
from sqlalchemy import select

from survey.catalog.periods import VIETNAM
from survey.extensions import db
from survey.models import Survey, Unit
from survey.models.loop import EvidenceFile, FeedbackCase, ProgressReport, RemediationTask
from survey.services.demo_responses import NewResponse, insert_responses, seed_demo_responses

PERIOD = "2026-H2"
TODAY = date(2026, 12, 7)
NOW = datetime(2026, 12, 7, 3, 0, tzinfo=timezone.utc)
OWN, OTHER = "00157", "00178"
DIFFICULTIES = "Thiếu máy tính tra cứu ở khu vực chờ.\nĐường truyền mạng chập chờn."
PROPOSALS = "Đề nghị Sở Nội vụ hỗ trợ kinh phí nâng cấp thiết bị."


def add_responses(unit: Unit, period: str, values: list[int], when: datetime, status: str = "counted") -> None:
    """Responses answering every five-point item with one value each (rated in `when`'s hour)."""
    survey = db.session.scalar(select(Survey).where(Survey.code == "SIPAS"))
    version = survey.current_version
    codes = [q.code for q in version.questions if q.type == "likert5"]
    rows = [NewResponse(unit_id=unit.id, counter_id=unit.counters[0].id, period=period, submitted_at=when,
                        service_field=None, answers={c: v for c in codes},
                        key=f"test-{secrets.token_hex(8)}") for v in values]
    insert_responses(version.id, rows)
    if status != "counted":
        from survey.models import Response
        db.session.execute(Response.__table__.update().where(Response.idempotency_key.in_([r.key for r in rows]))
                           .values(status=status))
    db.session.commit()


def _at(day: date, hour: int = 9) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=VIETNAM).astimezone(timezone.utc)


DONE_ACTION, LATE_ACTION = "Bố trí thêm ghế chờ và biển chỉ dẫn", "Sửa máy lấy số thứ tự"


@pytest.fixture
def world(app, seed_variant):
    """Demo responses in both halves of 2026, and the loop rows the reports and digest read."""
    seed_variant("progress world", _world)
    with app.app_context():
        units = {u.code: u.id for u in db.session.scalars(select(Unit))}
        task = {t.action: t.id for t in db.session.scalars(select(RemediationTask))}
        return {"own": units[OWN], "other": units[OTHER], "done": task[DONE_ACTION], "late": task[LATE_ACTION]}


def _world() -> None:
    seed_demo_responses(n_per_unit=40, now=NOW)
    units = {u.code: u for u in db.session.scalars(select(Unit))}
    own, other = units[OWN], units[OTHER]

    def task(unit, action, status, deadline, completed=None, kind="component", code="A1"):
        t = RemediationTask(unit_id=unit.id, criterion_kind=kind, criterion_code=code,
                            baseline_period="2026-H1", action=action, lead_unit_id=unit.id,
                            owner="Nguyễn Văn An", deadline=deadline, status=status,
                            completed_at=completed, created_at=_at(date(2026, 7, 2)),
                            updated_at=_at(date(2026, 7, 2)))
        db.session.add(t)
        db.session.flush()
        return t

    done = task(own, DONE_ACTION, "done", date(2026, 9, 30),
                completed=_at(date(2026, 9, 20)))
    task(own, "Tập huấn kỹ năng giao tiếp cho công chức", "in_progress", date(2027, 1, 15),
         kind="item", code="A3.1")
    task(own, LATE_ACTION, "not_started", date(2026, 11, 30), kind="overall",
                code="overall")
    task(other, "Công khai phí, lệ phí tại quầy", "in_progress", date(2026, 10, 1), kind="component",
         code="A2")
    for name in ("bien-ban-kiem-tra.pdf", "ảnh khu vực chờ.jpg"):
        db.session.add(EvidenceFile(task_id=done.id, stored_name=secrets.token_hex(16), original_name=name,
                                    content_type="application/pdf", size=10, sha256="0" * 64,
                                    uploaded_at=_at(date(2026, 9, 21))))

    def case(unit, code, created, due, answered=None, rating=None):
        db.session.add(FeedbackCase(code=code, token_hash=secrets.token_hex(32), unit_id=unit.id,
                                    period=PERIOD, status="answered" if answered else "received",
                                    due_date=due, answered_at=answered, followup_rating=rating,
                                    created_at=created, message="Số điện thoại 0912345678"))

    case(own, "PA-001", _at(date(2026, 12, 6)), date(2026, 12, 8))          # new, due in 1 day
    case(own, "PA-002", _at(date(2026, 11, 1)), date(2026, 11, 10), _at(date(2026, 11, 5)), 5)
    case(other, "PA-003", _at(date(2026, 12, 6)), date(2026, 12, 9))
    db.session.add(ProgressReport(unit_id=own.id, period=PERIOD, difficulties=DIFFICULTIES,
                                  proposals=PROPOSALS, updated_at=NOW))
    db.session.commit()
