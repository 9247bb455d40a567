"""Remediation plans: from the dashboard to a task, bad input refused, scope, status and notes."""
from __future__ import annotations

import io
from datetime import date, datetime, timedelta, timezone

from sqlalchemy import func, select

from survey.catalog.periods import period_of
from survey.extensions import db
from survey.indices.aggregates import unit_summary
from survey.models import AuditLog
from survey.models.loop import RemediationTask, TaskNote
from survey.remediation import queries
from tests.conftest import login
from tests.remediation.conftest import csrf_from

NEW = "/quan-ly/khac-phuc/moi"


def _form(client, unit_id: int, criterion: str, period: str = "2026-H1") -> tuple[str, dict]:
    url = f"{NEW}?unit={unit_id}&period={period}&tieu_chi={criterion}"
    page = client.get(url)
    assert page.status_code == 200
    return url, {"csrf_token": csrf_from(page.get_data(as_text=True)), "criterion": criterion,
                 "period": period, "target": "90,5", "cause_kind": "subjective",
                 "cause": "Khu vực chờ chật", "action": "Lắp thêm ghế chờ", "lead_unit_id": str(unit_id),
                 "cooperating": "Văn phòng UBND", "owner": "Phó Chủ tịch",
                 "deadline": (date.today() + timedelta(days=30)).isoformat()}


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_weak_item_on_the_dashboard_becomes_a_task_with_a_frozen_baseline(app, client, responses):
    ward = responses["00157"]
    login(client, "official")
    dashboard = client.get(f"/quan-ly/bang-dieu-khien/?unit={ward}&period=2026-H1").get_data(as_text=True)
    with app.app_context():
        summary = unit_summary(ward, "2026-H1")
        weak = summary.weakest(3)[0]
    link = f"/quan-ly/khac-phuc/moi?unit={ward}&amp;period=2026-H1&amp;tieu_chi=item:{weak.code}"
    assert link in dashboard
    assert "tieu_chi=component:A1" in dashboard  # one per component too
    url, data = _form(client, ward, f"item:{weak.code}")
    response = client.post(url, data=data)
    assert response.status_code == 303, response.get_data(as_text=True)
    with app.app_context():
        task = db.session.scalar(select(RemediationTask))
        assert (task.criterion_kind, task.criterion_code, task.unit_id) == ("item", weak.code, ward)
        assert task.baseline_period == "2026-H1"
        assert task.baseline_estimate == weak.rate.estimate
        assert (task.baseline_ci_low, task.baseline_ci_high) == (weak.rate.ci_low, weak.rate.ci_high)
        assert task.target == 0.905 and task.status == "not_started" and task.cause_kind == "subjective"
        assert db.session.scalar(select(AuditLog.action).where(AuditLog.target == f"task:{task.id}")) \
            == "remediation_task_created"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Lắp thêm ghế chờ" in page and "Chưa bắt đầu" in page


def test_past_deadline_and_unknown_criterion_are_refused_and_nothing_is_written(app, client, responses):
    ward = responses["00157"]
    login(client, "official")
    url, data = _form(client, ward, "item:A1.2")
    past = client.post(url, data={**data, "deadline": (date.today() - timedelta(days=1)).isoformat()})
    assert past.status_code == 400
    assert "Thời hạn hoàn thành không được là một ngày đã qua." in past.get_data(as_text=True)
    unknown = client.post(url, data={**data, "criterion": "item:Z9.9"})
    assert unknown.status_code == 400 and "Không có tiêu chí (câu hỏi) mã Z9.9" in unknown.get_data(as_text=True)
    bad_date = client.post(url, data={**data, "deadline": "31/02/2030"})
    assert bad_date.status_code == 400 and "Ngày không hợp lệ" in bad_date.get_data(as_text=True)
    other_lead = client.post(url, data={**data, "lead_unit_id": str(responses["00178"])})
    assert other_lead.status_code == 400 and "Cơ quan chủ trì" in other_lead.get_data(as_text=True)
    with app.app_context():
        assert _count(RemediationTask) == 0


def test_status_notes_and_the_list_filters(app, client, responses):
    ward = responses["00157"]
    login(client, "official")
    for criterion, days in (("item:A1.2", 30), ("component:A6", 5)):
        url, data = _form(client, ward, criterion)
        deadline = (date.today() + timedelta(days=days)).isoformat()
        assert client.post(url, data={**data, "deadline": deadline}).status_code == 303
    with app.app_context():
        first, second = db.session.scalars(select(RemediationTask).order_by(RemediationTask.id)).all()
        ids = first.id, second.id
    page = client.get(f"/quan-ly/khac-phuc/{ids[0]}").get_data(as_text=True)
    token = csrf_from(page)
    task_url = f"/quan-ly/khac-phuc/{ids[0]}"
    assert client.post(f"{task_url}/tien-do", data={"csrf_token": token, "text": "Đã mua ghế"}).status_code == 303
    assert client.post(f"{task_url}/tinh-trang", data={"csrf_token": token, "status": "done"}).status_code == 303
    assert client.post(f"{task_url}/tinh-trang", data={"csrf_token": token, "status": "bogus"}).status_code == 400
    with app.app_context():
        task = db.session.get(RemediationTask, ids[0])
        assert task.status == "done" and task.completed_at is not None
        assert [n.text for n in db.session.scalars(select(TaskNote))] == ["Đã mua ghế"]
        # Make the second one overdue (as if its deadline passed).
        db.session.get(RemediationTask, ids[1]).deadline = date.today() - timedelta(days=1)
        db.session.commit()
        counts = queries.task_counts(None, unit_id=ward)
        assert (counts.not_started, counts.in_progress, counts.done, counts.overdue) == (1, 0, 1, 1)
        assert [t.id for t in queries.tasks_for(None, overdue_only=True)] == [ids[1]]
        assert [t.id for t in queries.tasks_for(None, status="done")] == [ids[0]]
        assert [t.id for t in queries.tasks_for(None, criterion_code="A6")] == [ids[1]]
        assert [t.id for t in queries.tasks_for({responses["00178"]})] == []
        assert [t.id for t in queries.tasks_for(None, deadline_to=date.today())] == [ids[1]]
        assert queries.task_counts(None, period="2020-H1").total == 0
        assert queries.task_counts(None, period=period_of(datetime.now(timezone.utc))).total == 2
    listing = client.get("/quan-ly/khac-phuc/?status=overdue").get_data(as_text=True)
    assert f"/quan-ly/khac-phuc/{ids[1]}" in listing and 'id="tasks"' in listing
    assert f'href="/quan-ly/khac-phuc/{ids[0]}"' not in listing.split('id="tasks"')[1]
    assert client.get("/quan-ly/khac-phuc/?status=xyz").status_code == 400
    assert client.get("/quan-ly/khac-phuc/?han_den=hôm-qua").status_code == 400


def test_other_commune_gets_404_on_the_task_and_cannot_attach_evidence(app, client, responses, evidence_dir):
    from tests.remediation import samples

    ward = responses["00157"]
    login(client, "official")
    url, data = _form(client, ward, "item:A1.2")
    task_url = client.post(url, data=data).headers["Location"]
    other = app.test_client()
    login(other, "other_official")
    assert other.get(task_url).status_code == 404
    token = csrf_from(other.get("/quan-ly/khac-phuc/").get_data(as_text=True))
    upload = other.post(f"{task_url}/ho-so", data={"csrf_token": token, "file": (io.BytesIO(samples.pdf()), "x.pdf")},
                        content_type="multipart/form-data")
    assert upload.status_code == 404
    assert other.post(f"{task_url}/tinh-trang", data={"csrf_token": token, "status": "done"}).status_code == 404
    assert other.post(f"{task_url}/tien-do", data={"csrf_token": token, "text": "x"}).status_code == 404
    # The other commune cannot open a plan for a unit outside its scope either.
    assert other.get(f"{NEW}?unit={ward}").status_code == 404
    assert not evidence_dir.exists() or not list(evidence_dir.iterdir())
    # Sở Nội vụ sees every unit's plans.
    analyst = app.test_client()
    login(analyst, "analyst")
    assert analyst.get(task_url).status_code == 200
    assert task_url in analyst.get("/quan-ly/khac-phuc/").get_data(as_text=True)
