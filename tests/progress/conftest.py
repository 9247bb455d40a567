"""Fixtures of the progress report and digest tests: demo responses plus rows in the loop tables
(tasks with evidence, feedback cases, typed sections) in two units, one of them the demo
official's (Phường Đồng Tiến, 00157) and one another official's (Xã Mường Khến, 00178).

Until the remediation and feedback packages are merged, `loop_modules` stands in for their
read functions with small fakes over the same tables (tests only, never app code).
"""
from __future__ import annotations

import importlib
import secrets
import sys
import types
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from survey.access import restrict
from survey.extensions import db
from survey.models import Survey, Unit
from survey.models.loop import EvidenceFile, FeedbackCase, ProgressReport, RemediationTask
from survey.catalog.periods import VIETNAM
from survey.services.demo_responses import NewResponse, insert_responses, seed_demo_responses

PERIOD = "2026-H2"
TODAY = date(2026, 12, 7)
NOW = datetime(2026, 12, 7, 3, 0, tzinfo=timezone.utc)
OWN, OTHER = "00157", "00178"
DIFFICULTIES = "Thiếu máy tính tra cứu ở khu vực chờ.\nĐường truyền mạng chập chờn."
PROPOSALS = "Đề nghị Sở Nội vụ hỗ trợ kinh phí nâng cấp thiết bị."


def _fake_modules() -> dict[str, types.ModuleType]:
    def tasks_for(scope, *, unit_id=None, status=None, overdue_only=False, criterion_code=None,
                  deadline_to=None):
        query = restrict(select(RemediationTask), scope, RemediationTask.unit_id)
        if unit_id is not None:
            query = query.where(RemediationTask.unit_id == unit_id)
        if deadline_to is not None:
            query = query.where(RemediationTask.deadline <= deadline_to)
        return list(db.session.scalars(query.order_by(RemediationTask.deadline)))

    def task_effect(task):
        return None

    def _cases(scope):
        return restrict(select(FeedbackCase), scope, FeedbackCase.unit_id)

    def case_metrics(scope, period, unit_id=None, today=None):
        rows = [c for c in db.session.scalars(_cases(scope).where(FeedbackCase.period == period))
                if unit_id is None or c.unit_id == unit_id]
        return types.SimpleNamespace(cases=len(rows), answered=sum(c.answered_at is not None for c in rows),
                                     late_open=sum(c.late_on(TODAY) for c in rows), on_time=None,
                                     followup=None, followup_satisfied=None)

    def new_cases_since(scope, since):
        return list(db.session.scalars(_cases(scope).where(FeedbackCase.created_at >= since)))

    def cases_near_deadline(scope, today, days=2):
        return list(db.session.scalars(_cases(scope).where(
            FeedbackCase.answered_at.is_(None), FeedbackCase.due_date.between(today, today + timedelta(days=days)))))

    modules = {name: types.ModuleType(name) for name in (
        "survey.remediation", "survey.remediation.queries", "survey.remediation.effect",
        "survey.feedback", "survey.feedback.metrics")}
    modules["survey.remediation.queries"].tasks_for = tasks_for
    modules["survey.remediation.effect"].task_effect = task_effect
    modules["survey.feedback.metrics"].case_metrics = case_metrics
    modules["survey.feedback.metrics"].new_cases_since = new_cases_since
    modules["survey.feedback.metrics"].cases_near_deadline = cases_near_deadline
    return modules


def loop_merged() -> bool:
    try:
        importlib.import_module("survey.remediation.effect")
        importlib.import_module("survey.feedback.metrics")
    except ImportError:
        return False
    return True


@pytest.fixture(autouse=True)
def loop_modules(monkeypatch):
    if not loop_merged():
        for name, module in _fake_modules().items():
            monkeypatch.setitem(sys.modules, name, module)


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


@pytest.fixture
def world(app):
    """Demo responses in both halves of 2026, and the loop rows the reports and digest read."""
    with app.app_context():
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

        done = task(own, "Bố trí thêm ghế chờ và biển chỉ dẫn", "done", date(2026, 9, 30),
                    completed=_at(date(2026, 9, 20)))
        task(own, "Tập huấn kỹ năng giao tiếp cho công chức", "in_progress", date(2027, 1, 15),
             kind="item", code="A3.1")
        late = task(own, "Sửa máy lấy số thứ tự", "not_started", date(2026, 11, 30), kind="overall",
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
        return {"own": own.id, "other": other.id, "done": done.id, "late": late.id}
