"""Thematic campaigns, officials' side: create via the web forms, roles, lifecycle, progress, versions."""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from survey.catalog.periods import VIETNAM, as_utc
from survey.extensions import db
from survey.intake.tokens import make_token, make_unit_token
from survey.models import AuditLog, CampaignTarget, Counter, Response, Survey, SurveyVersion, Unit, User
from survey.services import campaigns as service
from tests.conftest import csrf_of, full_answers, hidden_fields, login

BASE = "/quan-ly/chuyen-de"
HEALTH_WARD, KHEN, LAC_SON = "00157", "00178", "00217"  # Phường Đồng Tiến, Xã Mường Khến, Xã Lạc Sơn


def today_vn() -> date:
    return datetime.now(VIETNAM).date()


def fmt(day: date) -> str:
    return day.strftime("%d/%m/%Y")


def unit_id(app, code: str) -> int:
    with app.app_context():
        return db.session.scalar(select(Unit.id).where(Unit.code == code))


def campaign_data(app, quotas: dict[str, int | None] | None = None, **overrides) -> dict:
    """The new-campaign form as an analyst fills it: A, B and custom questions, demographics."""
    quotas = {HEALTH_WARD: 4, KHEN: None} if quotas is None else quotas
    ids = {code: unit_id(app, code) for code in quotas}
    data = {
        "title": "Khảo sát sự hài lòng về chính sách y tế năm 2026",
        "purpose": "Đánh giá việc cung cấp thông tin và tiếp nhận góp ý về chính sách y tế.",
        "opens_on": fmt(today_vn() - timedelta(days=1)),
        "closes_on": fmt(today_vn() + timedelta(days=30)),
        "units": [str(i) for i in ids.values()],
        "a_codes": ["A1.1", "A3.1"],
        "area": "y-te",
        "b_codes": ["B1.1", "B2.1", "B3.1"],
        "custom-0-type": "multi",
        "custom-0-text_vi": "Ông/Bà biết chính sách qua kênh nào?",
        "custom-0-text_en": "Where did you hear about the policy?",
        "custom-0-choices": "Loa phát thanh\nZalo | Zalo\nTrang thông tin điện tử | Website",
        "custom-1-type": "yesno",
        "custom-1-text_vi": "Gia đình Ông/Bà có thẻ bảo hiểm y tế không?",
        "custom-1-required": "y",
        "custom-2-type": "text",
        "custom-2-text_vi": "Ông/Bà đề xuất gì để chính sách tốt hơn?",
        "demographics": "y",
    }
    for code, quota in quotas.items():
        data[f"quota_{ids[code]}"] = "" if quota is None else str(quota)
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def create_campaign(client, app, **overrides) -> int:
    data = campaign_data(app, **overrides)
    data["csrf_token"] = csrf_of(client, f"{BASE}/moi")
    response = client.post(f"{BASE}/moi", data=data)
    assert response.status_code == 303, response.get_data(as_text=True)[:3000]
    return int(re.search(r"/(\d+)$", response.headers["Location"]).group(1))


def post_action(client, survey_id: int, action: str):
    token = csrf_of(client, f"{BASE}/{survey_id}")
    # Closing asks for confirmation first (xac_nhan=1 is the confirm page's button).
    return client.post(f"{BASE}/{survey_id}/{action}", data={"csrf_token": token, "xac_nhan": "1"})


def unit_link(app, survey_id: int, code: str) -> str:
    uid = unit_id(app, code)
    with app.test_request_context():
        return f"/s/{make_unit_token(uid, survey_id)}"


def answer_link(client, url: str, extra: dict | None = None, addr: str = "10.1.0.1"):
    """Open the unit link and answer every required question; a distinct address per citizen."""
    page = client.get(url)
    assert page.status_code == 200, page.status_code
    data = hidden_fields(page.get_data(as_text=True))
    required = re.findall(r'<legend>[^<]*<abbr[^>]*>\*</abbr></legend>', page.get_data(as_text=True))
    assert required  # the page marks required questions
    for name in set(re.findall(r'name="(q_[A-Z0-9_]+)" value="4"', page.get_data(as_text=True))):
        data[name] = "4"
    data["q_C2"] = "1"
    data.update(extra or {})
    return client.post(url, data=data, environ_base={"REMOTE_ADDR": addr})


def audit_actions(app) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(AuditLog.action).order_by(AuditLog.id)))


def test_analyst_creates_a_campaign_with_a_b_and_custom_questions(app, client):
    login(client, "analyst")
    survey_id = create_campaign(client, app)
    with app.app_context():
        survey = db.session.get(Survey, survey_id)
        assert (survey.kind, survey.status, survey.collects_demographics) == ("thematic", "draft", True)
        assert survey.title_vi == "Khảo sát sự hài lòng về chính sách y tế năm 2026"
        # Days are Vietnamese calendar days: open from 00:00 on the first, until the end of the last.
        opens = datetime.combine(today_vn() - timedelta(days=1), datetime.min.time(), tzinfo=VIETNAM)
        closes = datetime.combine(today_vn() + timedelta(days=31), datetime.min.time(), tzinfo=VIETNAM)
        assert as_utc(survey.opens_at) == opens and as_utc(survey.closes_at) == closes
        targets = {t.unit.code: t.quota for t in db.session.scalars(select(CampaignTarget))}
        assert targets == {HEALTH_WARD: 4, KHEN: None}
        version = survey.current_version
        assert (version.number, version.frozen) == (1, False)
        questions = {q.code: q for q in version.questions}
        assert [q.code for q in version.questions] == [
            "A1.1", "A3.1", "B1.1", "B2.1", "B3.1", "C1", "C2", "C3", "OVERALL", "COMMENT",
            "CONSENT", "AGE", "SEX", "AREA"]
        assert "y tế" in questions["B1.1"].text_vi and "health care" in questions["B1.1"].text_en
        assert questions["B2.1"].component == "B2" and questions["B2.1"].allows_na
        assert questions["C1"].type == "multi" and questions["C1"].component is None
        assert questions["C1"].choices == [
            {"value": "1", "vi": "Loa phát thanh", "en": "Loa phát thanh"},
            {"value": "2", "vi": "Zalo", "en": "Zalo"},
            {"value": "3", "vi": "Trang thông tin điện tử", "en": "Website"}]
        assert questions["C2"].type == "yesno" and questions["C2"].required
        assert questions["C3"].type == "text" and not questions["C3"].required
        assert questions["AGE"].component == "DEMO" and questions["CONSENT"].type == "yesno"
        analyst = db.session.scalar(select(User).where(User.role == "analyst"))
        row = db.session.scalar(select(AuditLog).where(AuditLog.action == "campaign_created"))
        assert row.user_id == analyst.id and row.target == f"survey:{survey_id}"
    listing = client.get(BASE + "/").get_data(as_text=True)
    assert "Khảo sát sự hài lòng về chính sách y tế năm 2026" in listing and "Đang soạn thảo" in listing
    page = client.get(f"{BASE}/{survey_id}").get_data(as_text=True)
    assert fmt(today_vn() - timedelta(days=1)) in page and fmt(today_vn() + timedelta(days=30)) in page
    assert "Phát hành" in page and "/s/" not in page  # links exist only once published


def test_campaign_form_shows_the_bank_and_the_unit_tree(client):
    login(client, "analyst")
    page = client.get(f"{BASE}/moi")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Công chức lịch sự khi tiếp nhận, giải quyết hồ sơ" in html  # group A from the instrument
    assert "B3.2" in html and ">Nước sạch<" in html and ">Cải cách hành chính<" in html
    assert "Xã Mường Khến" in html and 'name="units"' in html and "dd/mm/yyyy" in html


@pytest.mark.parametrize("change,message", [
    ({"title": ""}, "Vui lòng nhập tên đợt khảo sát."),
    ({"opens_on": "31/02/2026"}, "Nhập ngày theo dạng dd/mm/yyyy"),
    ({"opens_on": "2026-03-01"}, "Nhập ngày theo dạng dd/mm/yyyy"),
    ({"closes_on": fmt(today_vn() - timedelta(days=5))}, "Ngày kết thúc phải từ ngày bắt đầu trở đi."),
    ({"units": []}, "Chọn ít nhất một đơn vị được khảo sát."),
    ({"custom-0-choices": "Chỉ một phương án"}, "cần ít nhất 2 phương án"),
    ({"a_codes": [], "b_codes": [], "area": "", "custom-0-text_vi": "", "custom-1-text_vi": "",
      "custom-2-text_vi": ""}, "Chọn ít nhất một câu hỏi"),
])
def test_invalid_campaign_forms_are_refused_in_vietnamese(app, client, change, message):
    login(client, "analyst")
    data = campaign_data(app, **change)
    data["csrf_token"] = csrf_of(client, f"{BASE}/moi")
    response = client.post(f"{BASE}/moi", data=data)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert message in html
    assert "Khảo sát sự hài lòng về chính sách y tế" in html or change.get("title") == ""  # kept
    with app.app_context():
        assert db.session.scalars(select(Survey).where(Survey.kind == "thematic")).all() == []


def test_campaign_form_needs_its_csrf_token(app, client):
    login(client, "analyst")
    response = client.post(f"{BASE}/moi", data=campaign_data(app))
    assert response.status_code == 400
    with app.app_context():
        assert db.session.scalars(select(Survey).where(Survey.kind == "thematic")).all() == []


def _direct_campaign(app) -> tuple[int, int]:
    """A published campaign made through the service, for routes an official must not reach."""
    with app.app_context():
        uid = db.session.scalar(select(Unit.id).where(Unit.code == HEALTH_WARD))
        survey = service.create(service.CampaignInput(
            "Chuyên đề", "", today_vn(), today_vn() + timedelta(days=3), (service.Target(uid, 5),),
            a_codes=("A1.1",)))
        service.publish(survey)
        return survey.id, uid


@pytest.mark.parametrize("who", ["official", "other_official"])
def test_officials_get_403_on_every_campaign_route(app, client, who):
    survey_id, uid = _direct_campaign(app)
    login(client, who)
    token = csrf_of(client, "/quan-ly/")  # a valid CSRF token, so the refusal is the role's
    routes = [("get", "/"), ("get", "/moi"), ("post", "/moi"), ("get", f"/{survey_id}"),
              ("get", f"/{survey_id}/sua"), ("post", f"/{survey_id}/sua"),
              ("post", f"/{survey_id}/phat-hanh"), ("post", f"/{survey_id}/ket-thuc"),
              ("get", f"/{survey_id}/qr/{uid}.png"), ("get", f"/{survey_id}/qr/{uid}.svg")]
    for method, path in routes:
        response = getattr(client, method)(BASE + path, data={"csrf_token": token, "xac_nhan": "1"})
        assert response.status_code == 403, (method, path, response.status_code)
    with app.app_context():
        assert db.session.get(Survey, survey_id).status == "open"
    # The menu does not offer the area either.
    assert "Khảo sát chuyên đề" not in client.get("/quan-ly/").get_data(as_text=True)


def test_signed_out_visitors_are_sent_to_login(app, client):
    survey_id, _uid = _direct_campaign(app)
    for path in ("/", f"/{survey_id}", "/moi"):
        response = client.get(BASE + path)
        assert response.status_code == 302 and "/dang-nhap" in response.headers["Location"]


def test_admin_may_run_campaigns_too(app, client):
    login(client, "admin")
    assert client.get(BASE + "/").status_code == 200
    assert create_campaign(client, app) > 0


def test_lifecycle_draft_open_closed(app, client):
    login(client, "analyst")
    survey_id = create_campaign(client, app)
    link = unit_link(app, survey_id, HEALTH_WARD)
    draft = client.get(link)
    assert draft.status_code == 404 and "<form" not in draft.get_data(as_text=True)
    assert "Đợt khảo sát chưa mở" in draft.get_data(as_text=True)

    assert post_action(client, survey_id, "phat-hanh").status_code == 303
    page = client.get(f"{BASE}/{survey_id}").get_data(as_text=True)
    assert "Đang mở" in page and "http://survey.test/s/" in page and "Tải mã QR (PNG)" in page
    assert client.get(link).status_code == 200
    assert post_action(client, survey_id, "phat-hanh").status_code == 303  # a second publish …
    assert "Chỉ phát hành được đợt khảo sát đang soạn thảo." in client.get(f"{BASE}/{survey_id}").get_data(as_text=True)

    assert post_action(client, survey_id, "ket-thuc").status_code == 303
    with app.app_context():
        assert db.session.get(Survey, survey_id).status == "closed"
    closed = client.get(link)
    assert closed.status_code == 410 and "Đợt khảo sát đã kết thúc" in closed.get_data(as_text=True)
    assert client.post(link, data=full_answers()).status_code == 410
    edit = client.get(f"{BASE}/{survey_id}/sua")
    assert edit.status_code == 303
    assert "không sửa được nữa" in client.get(f"{BASE}/{survey_id}").get_data(as_text=True)
    assert audit_actions(app)[-3:] == ["campaign_created", "campaign_published", "campaign_closed"]
    with app.app_context():
        assert db.session.scalars(select(Response)).all() == []


def test_publishing_needs_a_closing_date_still_ahead(app, client):
    login(client, "analyst")
    old = today_vn() - timedelta(days=10)
    survey_id = create_campaign(client, app, opens_on=fmt(old), closes_on=fmt(old + timedelta(days=2)))
    post_action(client, survey_id, "phat-hanh")
    assert "Ngày kết thúc đã qua" in client.get(f"{BASE}/{survey_id}").get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Survey, survey_id).status == "draft"


def test_passing_the_closing_date_closes_the_campaign(app, client):
    login(client, "analyst")
    survey_id = create_campaign(client, app)
    post_action(client, survey_id, "phat-hanh")
    with app.app_context():
        db.session.get(Survey, survey_id).closes_at = datetime.now(timezone.utc) - timedelta(minutes=1)
        db.session.commit()
    assert "Đã kết thúc" in client.get(BASE + "/").get_data(as_text=True)
    assert client.get(unit_link(app, survey_id, HEALTH_WARD)).status_code == 410


def test_progress_counts_responses_against_quota(app, client):
    login(client, "analyst")
    survey_id = create_campaign(client, app)
    post_action(client, survey_id, "phat-hanh")
    ward, khen = unit_link(app, survey_id, HEALTH_WARD), unit_link(app, survey_id, KHEN)
    for i in range(3):
        assert answer_link(client, ward, addr=f"10.2.0.{i}").status_code == 303
    assert answer_link(client, khen, addr="10.2.1.1").status_code == 303
    # A standing-survey answer at the same ward's counter is not this campaign's.
    with app.app_context():
        counter = db.session.scalar(select(Counter).join(Unit).where(Unit.code == HEALTH_WARD))
        standing = db.session.scalar(select(Survey).where(Survey.kind == "standing"))
        counter_url = f"/s/{make_token(counter.id, standing.id, counter.token_version)}"
    fields = hidden_fields(client.get(counter_url).get_data(as_text=True))
    assert client.post(counter_url, data={**fields, **full_answers()}).status_code == 303
    with app.app_context():
        rows = service.progress(db.session.get(Survey, survey_id))
        assert [(p.unit.code, p.quota, p.responses) for p in rows] == [(HEALTH_WARD, 4, 3), (KHEN, None, 1)]
        assert rows[0].share == 0.75 and rows[1].share is None
    page = client.get(f"{BASE}/{survey_id}").get_data(as_text=True)
    assert "width:75.0%" in page and "75 %" in page and "không đặt chỉ tiêu" in page
    assert re.search(r"Tổng số phiếu: <b>4</b> / 4", page)


def test_answered_version_is_frozen_and_an_edit_makes_version_2(app, client):
    login(client, "analyst")
    survey_id = create_campaign(client, app)
    # Before any answer, edits change version 1 in place.
    edit_url = f"{BASE}/{survey_id}/sua"
    data = campaign_data(app, **{"a_codes": ["A1.1", "A3.1", "A3.2"]})
    data.update({"csrf_token": csrf_of(client, edit_url), "custom-0-code": "C1", "custom-1-code": "C2",
                 "custom-2-code": "C3"})
    assert client.post(edit_url, data=data).status_code == 303
    post_action(client, survey_id, "phat-hanh")
    link = unit_link(app, survey_id, HEALTH_WARD)
    assert answer_link(client, link).status_code == 303
    stale_form = hidden_fields(client.get(link).get_data(as_text=True))  # opened before the edit
    with app.app_context():
        v1 = db.session.get(Survey, survey_id).current_version
        assert (v1.number, v1.frozen) == (1, True)
        v1_id, v1_codes = v1.id, [q.code for q in v1.questions]
        assert "A3.2" in v1_codes

    # Only the closing date changes: the questionnaire is the same, so no new version.
    data["closes_on"] = fmt(today_vn() + timedelta(days=40))
    data["csrf_token"] = csrf_of(client, edit_url)
    assert client.post(edit_url, data=data).status_code == 303
    with app.app_context():
        assert len(db.session.get(Survey, survey_id).versions) == 1

    # A question edit on an answered campaign makes version 2; version 1 is untouched.
    data.update({"custom-1-text_vi": "Ông/Bà có thẻ bảo hiểm y tế còn hạn không?",
                 "csrf_token": csrf_of(client, edit_url)})
    response = client.post(edit_url, data=data)
    assert response.status_code == 303
    assert "phiên bản 2" in client.get(f"{BASE}/{survey_id}").get_data(as_text=True)
    assert answer_link(client, link, addr="10.3.0.2").status_code == 303
    # The form opened on version 1 is stored against version 1.
    stale = {**stale_form, "q_A1_1": "5", "q_A3_1": "5", "q_A3_2": "5", "q_B1_1": "5", "q_B2_1": "5",
             "q_B3_1": "5", "q_OVERALL": "5", "q_C2": "0"}
    assert client.post(link, data=stale, environ_base={"REMOTE_ADDR": "10.3.0.3"}).status_code == 303
    with app.app_context():
        survey = db.session.get(Survey, survey_id)
        assert [v.number for v in survey.versions] == [1, 2]
        v1 = db.session.get(SurveyVersion, v1_id)
        assert [q.code for q in v1.questions] == v1_codes
        c2_v1 = next(q for q in v1.questions if q.code == "C2")
        c2_v2 = next(q for q in survey.versions[1].questions if q.code == "C2")  # code kept by the edit
        assert c2_v1.text_vi == "Gia đình Ông/Bà có thẻ bảo hiểm y tế không?"
        assert c2_v2.text_vi == "Ông/Bà có thẻ bảo hiểm y tế còn hạn không?"
        numbers = db.session.execute(
            select(SurveyVersion.number).join(Response, Response.survey_version_id == SurveyVersion.id)
            .order_by(Response.id)).scalars().all()
        assert numbers == [1, 2, 1]
        updates = db.session.scalars(select(AuditLog).where(AuditLog.action == "campaign_updated")
                                     .order_by(AuditLog.id)).all()
        assert [(a.details["version"], a.details["new_version"]) for a in updates] == [
            (1, False), (1, False), (2, True)]


def test_edit_form_starts_from_the_campaign(app, client):
    login(client, "analyst")
    survey_id = create_campaign(client, app)
    html = client.get(f"{BASE}/{survey_id}/sua").get_data(as_text=True)
    assert 'value="Khảo sát sự hài lòng về chính sách y tế năm 2026"' in html
    assert re.search(r'name="a_codes" value="A3\.1" checked', html)
    assert not re.search(r'name="a_codes" value="A2\.1" checked', html)
    assert '<option selected value="y-te">' in html
    assert "Zalo\n" in html and "Trang thông tin điện tử | Website" in html
    assert 'value="C1"' in html and fmt(today_vn() + timedelta(days=30)) in html
    assert 'name="quota_' in html and 'value="4"' in html


def test_qr_codes_download_per_target_unit(app, client):
    login(client, "analyst")
    survey_id = create_campaign(client, app)
    ward, other = unit_id(app, HEALTH_WARD), unit_id(app, LAC_SON)
    assert client.get(f"{BASE}/{survey_id}/qr/{ward}.png").status_code == 404  # draft: no link yet
    post_action(client, survey_id, "phat-hanh")
    png = client.get(f"{BASE}/{survey_id}/qr/{ward}.png")
    assert png.status_code == 200 and png.mimetype == "image/png" and png.data.startswith(b"\x89PNG")
    assert "attachment" in png.headers["Content-Disposition"] and HEALTH_WARD in png.headers["Content-Disposition"]
    svg = client.get(f"{BASE}/{survey_id}/qr/{ward}.svg")
    assert svg.mimetype == "image/svg+xml" and b"<svg" in svg.data
    assert client.get(f"{BASE}/{survey_id}/qr/{other}.png").status_code == 404  # not a target
    assert client.get(f"{BASE}/{survey_id}/qr/{ward}.gif").status_code == 404
    assert client.get(f"{BASE}/999999").status_code == 404
    assert audit_actions(app).count("campaign_qr_downloaded") == 2
