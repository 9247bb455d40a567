"""Officials' side: own units only, each step recorded (event + audit), bad input refused."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from survey.catalog.periods import in_vietnam, period_of
from survey.extensions import db
from survey.feedback import cases
from survey.models import AuditLog, CaseEvent, FeedbackCase, Unit, User
from tests.conftest import login
from tests.feedback.conftest import csrf_in


def make_case(app, unit_code: str, message: str = "Chờ lâu", **values) -> int:
    with app.app_context():
        unit = db.session.scalar(select(Unit).where(Unit.code == unit_code))
        opened = cases.open_case(unit_id=unit.id, counter_id=None, survey_id=None, low_items=["A3.1"],
                                 message=message)
        case = db.session.scalar(select(FeedbackCase).where(FeedbackCase.code == opened.code))
        for key, value in values.items():
            setattr(case, key, value)
        db.session.commit()
        return case.id


@pytest.fixture
def own_and_other(app):
    return make_case(app, "00157", "Gọi tôi 0912345678 nhé, MARK-OWN"), make_case(app, "00178", "MARK-OTHER")


def post(client, case_id: int, step: str, data: dict):
    page = client.get(f"/quan-ly/phan-anh/{case_id}").get_data(as_text=True)
    return client.post(f"/quan-ly/phan-anh/{case_id}/{step}", data={"csrf_token": csrf_in(page), **data})


def test_list_and_case_pages_show_own_units_only(app, client, own_and_other):
    own, other = own_and_other
    login(client, "official")
    listing = client.get("/quan-ly/phan-anh/").get_data(as_text=True)
    with app.app_context():
        codes = {i: db.session.get(FeedbackCase, i).code for i in (own, other)}
    assert codes[own] in listing and codes[other] not in listing
    assert client.get(f"/quan-ly/phan-anh/{other}").status_code == 404
    assert post(client, own, "tra-loi", {"answer": "x"}).status_code == 303
    page = client.get(f"/quan-ly/phan-anh/{own}").get_data(as_text=True)
    other_post = client.post(f"/quan-ly/phan-anh/{other}/tra-loi", data={"csrf_token": csrf_in(page), "answer": "x"})
    assert other_post.status_code == 404
    with app.app_context():
        other_unit = db.session.scalar(select(Unit.id).where(Unit.code == "00178"))
    assert client.get(f"/quan-ly/phan-anh/?unit={other_unit}").status_code == 404


def test_citizen_text_is_redacted_for_officials(client, own_and_other):
    login(client, "official")
    page = client.get(f"/quan-ly/phan-anh/{own_and_other[0]}").get_data(as_text=True)
    assert "0912345678" not in page and "[đã ẩn]" in page and "MARK-OWN" in page


def test_each_step_writes_an_event_and_an_audit_row(app, client, own_and_other):
    own = own_and_other[0]
    login(client, "official")
    with app.app_context():
        official = db.session.scalar(select(User).where(User.email == "dongtien@demo.gov.vn"))
        official_id = official.id
    due = (in_vietnam(datetime.now(timezone.utc)).date() + timedelta(days=5)).isoformat()
    steps = [("phan-loai", {"category": "timeliness"}, "classified"),
             ("giao", {"assignee": str(official_id)}, "assigned"),
             ("han", {"due_date": due}, "assigned"),
             ("tra-loi", {"answer": "Đã bố trí thêm quầy."}, "answered"),
             ("cong-khai", {"public_answer": "Liên hệ 0987654321 để biết thêm."}, "published"),
             ("dong", {"note": "Xong"}, "closed")]
    for step, data, status in steps:
        response = post(client, own, step, data)
        assert response.status_code == 303, (step, response.status_code)
        with app.app_context():
            assert db.session.get(FeedbackCase, own).status == status, step
    with app.app_context():
        case = db.session.get(FeedbackCase, own)
        assert case.category == "timeliness" and case.assigned_to == official_id
        assert case.due_date.isoformat() == due and case.answered_by == official_id
        assert case.public_answer == "Liên hệ [đã ẩn] để biết thêm." and case.closed_at is not None
        events = db.session.scalars(select(CaseEvent).where(CaseEvent.case_id == own,
                                                            CaseEvent.actor_id == official_id)).all()
        assert len(events) == len(steps)
        actions = set(db.session.scalars(select(AuditLog.action).where(AuditLog.target == f"case:{case.code}")))
        assert actions == {"case_classify", "case_assign", "case_due_date", "case_answer", "case_publish", "case_close"}


def test_bad_input_is_refused_and_changes_nothing(app, client, own_and_other):
    own = own_and_other[0]
    login(client, "official")
    with app.app_context():
        stranger = db.session.scalar(select(User).where(User.email == "muongkhen@demo.gov.vn")).id
        events_before = db.session.scalar(select(func.count()).select_from(CaseEvent))
    yesterday = (in_vietnam(datetime.now(timezone.utc)).date() - timedelta(days=1)).isoformat()
    assert post(client, own, "phan-loai", {"category": "bogus"}).status_code == 400
    assert post(client, own, "giao", {"assignee": str(stranger)}).status_code == 400  # not a choice
    assert post(client, own, "han", {"due_date": yesterday}).status_code == 409
    assert post(client, own, "han", {"due_date": "31/02/2026"}).status_code == 400
    assert post(client, own, "tra-loi", {"answer": "   "}).status_code == 400
    assert post(client, own, "cong-khai", {"public_answer": "x"}).status_code == 409  # not answered yet
    assert client.get("/quan-ly/phan-anh/?status=bogus").status_code == 400
    assert client.get("/quan-ly/phan-anh/?period=1999-H1").status_code == 400
    assert client.get("/quan-ly/phan-anh/99999999").status_code == 404
    with app.app_context():
        case = db.session.get(FeedbackCase, own)
        assert (case.status, case.category, case.assigned_to, case.answer) == ("received", None, None, None)
        assert db.session.scalar(select(func.count()).select_from(CaseEvent)) == events_before
    assert post(client, own, "dong", {}).status_code == 303
    assert post(client, own, "tra-loi", {"answer": "muộn"}).status_code == 409  # closed


def test_filters_status_late_and_unit(app, client):
    today = in_vietnam(datetime.now(timezone.utc)).date()
    late = make_case(app, "00157", due_date=today - timedelta(days=2))
    answered = make_case(app, "00157", status="answered", answered_at=datetime.now(timezone.utc),
                         answer="ok", due_date=today - timedelta(days=2))
    fresh = make_case(app, "00157")
    login(client, "analyst")
    with app.app_context():
        codes = {i: db.session.get(FeedbackCase, i).code for i in (late, answered, fresh)}
        ward = db.session.scalar(select(Unit.id).where(Unit.code == "00157"))
    late_page = client.get("/quan-ly/phan-anh/?qua_han=1").get_data(as_text=True)
    assert codes[late] in late_page and codes[answered] not in late_page and codes[fresh] not in late_page
    answered_page = client.get("/quan-ly/phan-anh/?status=answered").get_data(as_text=True)
    assert codes[answered] in answered_page and codes[late] not in answered_page
    unit_page = client.get(f"/quan-ly/phan-anh/?unit={ward}&period={period_of(datetime.now(timezone.utc))}")
    assert unit_page.status_code == 200 and all(c in unit_page.get_data(as_text=True) for c in codes.values())
    metrics = unit_page.get_data(as_text=True).split('id="metrics"')[1].split("</section>")[0]
    assert f'data-unit="{ward}"' in metrics  # 3 cases, 1 answered, 1 late open


def test_menu_offers_the_feedback_page(client):
    login(client, "official")
    assert 'href="/quan-ly/phan-anh/"' in client.get("/quan-ly/").get_data(as_text=True)
