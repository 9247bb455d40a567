"""Citizens' comments: redacted in every output an official reads, one survey at a time, counted
responses only; the unredacted text only through the administrator's audited action."""
from __future__ import annotations

import csv
import io
import json
import subprocess
import uuid
from datetime import date, datetime, timedelta, timezone

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from survey.catalog.instrument import STANDING_CODE
from survey.extensions import db
from survey.indices import comments
from survey.models import Answer, AuditLog, Response, Survey, Unit, User
from survey.services import api_tokens, campaigns
from tests.conftest import DEMO_PASSWORDS, csrf_of, login

OWN = "00157"       # the demo official's ward
PERIOD = "2026-H1"
WHEN = datetime(2026, 3, 2, 1, 30, tzinfo=timezone.utc)   # 02/03/2026 08:30 in Vietnam
PERSONAL = "Gọi tôi 0912 345 678, thư nguyen.van.a@gmail.com, CCCD 001203004567 nhé"
REDACTED = "Gọi tôi [đã ẩn], thư [đã ẩn], CCCD [đã ẩn] nhé"
SECRETS = ("345 678", "0912", "nguyen.van.a", "gmail", "001203004567")
CAMPAIGN_TEXT = "Ý kiến riêng của chuyên đề y tế"
QUARANTINED_TEXT = "Ý kiến của phiếu đang bị tạm giữ"


def _store(survey: Survey, unit_id: int, text: str, status: str = "counted",
           when: datetime = WHEN) -> int:
    version = survey.current_version
    questions = {q.code: q for q in version.questions}
    counter_id = db.session.get(Unit, unit_id).counters[0].id if survey.code == STANDING_CODE else None
    response = Response(survey_id=survey.id, survey_version_id=version.id, counter_id=counter_id,
                        unit_id=unit_id, period=PERIOD, channel="qr" if counter_id else "link",
                        submitted_at=when, idempotency_key=uuid.uuid4().hex, service_field="ho-tich",
                        status=status)
    response.answers = [Answer(question_id=questions["A1.1"].id, value_int=4),
                        Answer(question_id=questions["COMMENT"].id, value_text=text)]
    db.session.add(response)
    db.session.commit()
    return response.id


@pytest.fixture
def world(app):
    """In the official's ward: a counted SIPAS comment full of personal data, a quarantined one,
    and a thematic campaign's comment in the same unit and period."""
    with app.app_context():
        unit_id = db.session.scalar(select(Unit.id).where(Unit.code == OWN))
        sipas = db.session.scalar(select(Survey).where(Survey.code == STANDING_CODE))
        personal = _store(sipas, unit_id, PERSONAL)
        _store(sipas, unit_id, QUARANTINED_TEXT, status="quarantined", when=WHEN + timedelta(days=1))
        today = date.today()
        campaign = campaigns.create(campaigns.CampaignInput(
            "Chuyên đề y tế", "", today, today + timedelta(days=3), (campaigns.Target(unit_id, 5),),
            a_codes=("A1.1",)))
        campaigns.publish(campaign)
        _store(campaign, unit_id, CAMPAIGN_TEXT, when=WHEN + timedelta(days=2))
        return {"unit_id": unit_id, "personal": personal, "campaign": campaign.code}


def _flat(text: str) -> str:
    return " ".join(text.split())


def _assert_redacted(text: str, where: str) -> None:
    assert REDACTED in _flat(text), where
    leaked = [s for s in SECRETS if s in text]
    assert not leaked, (where, leaked)
    assert QUARANTINED_TEXT not in text, where


# --- the rule itself ------------------------------------------------------------------------

@pytest.mark.parametrize("raw, shown", [
    (PERSONAL, REDACTED),
    ("gọi 0912.345.678 hoặc a.b@c.vn", "gọi [đã ẩn] hoặc [đã ẩn]"),
    ("sđt: +84 912-345-678", "sđt: [đã ẩn]"),
    ("số bàn (028) 3823 4567", "số bàn [đã ẩn]"),
    ("liên hệ 0236.3822.123 giờ hành chính", "liên hệ [đã ẩn] giờ hành chính"),
    ("sdt0387654321", "sdt[đã ẩn]"),
    ("CMND 123456789 bị giữ", "CMND [đã ẩn] bị giữ"),
    ("căn cước 0012 0300 4567", "căn cước [đã ẩn]"),
    # Not personal: a counter number, a date, a time, a fee, an item code.
    ("quầy số 3 ngày 12/5/2026 lúc 8:30, phí 1.500.000 đồng, tiêu chí A1.2",
     "quầy số 3 ngày 12/5/2026 lúc 8:30, phí 1.500.000 đồng, tiêu chí A1.2"),
])
def test_redact(raw, shown):
    assert comments.redact(raw) == shown


def test_reader_filters_by_survey_status_and_scope_and_gives_days(app, world):
    with app.app_context():
        own = comments.latest(None, STANDING_CODE, unit_ids={world["unit_id"]}, period=PERIOD)
        assert [c.text for c in own] == [REDACTED]
        assert type(own[0].date) is date and own[0].date == date(2026, 3, 2)  # a day, no time
        # The campaign's comment belongs to the campaign, and only there.
        assert [c.text for c in comments.latest(None, world["campaign"])] == [CAMPAIGN_TEXT]
        # Scope: a unit outside the caller's units gives nothing, even when asked for by id.
        assert comments.latest(set(), STANDING_CODE, unit_ids={world["unit_id"]}) == []
        assert comments.latest({world["unit_id"] + 1000}, STANDING_CODE) == []
        assert comments.by_response([world["personal"]]) == {world["personal"]: {"COMMENT": REDACTED}}


# --- every output an official reads ---------------------------------------------------------

def test_dashboard_shows_redacted_counted_sipas_comments_with_their_day(client, world):
    login(client, "official")
    url = f"/quan-ly/bang-dieu-khien/?unit={world['unit_id']}&period={PERIOD}"
    html = client.get(url).get_data(as_text=True)
    _assert_redacted(html, "dashboard")
    assert CAMPAIGN_TEXT not in html
    assert "02/03/2026" in html and "08:30" not in html


def test_unit_pdf_report_is_redacted_and_has_no_campaign_comment(client, world):
    login(client, "official")
    response = client.get(f"/quan-ly/bao-cao/don-vi/{world['unit_id']}.pdf?period={PERIOD}")
    assert response.status_code == 200, response.status_code
    text = subprocess.run(["pdftotext", "-enc", "UTF-8", "-", "-"], input=response.get_data(),
                          capture_output=True, check=True).stdout.decode()
    assert "Ý kiến của người dân" in text
    _assert_redacted(text, "unit PDF")
    assert _flat(CAMPAIGN_TEXT) not in _flat(text)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_exports_are_redacted(client, world, fmt):
    login(client, "official")
    response = client.get(f"/quan-tri/du-lieu/phieu-tra-loi.{fmt}?period={PERIOD}&survey={STANDING_CODE}")
    assert response.status_code == 200
    if fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(response.get_data().decode("utf-8-sig"))))
    else:
        sheet = load_workbook(io.BytesIO(response.get_data()), read_only=True).active
        header, *body = list(sheet.iter_rows(values_only=True))
        rows = [dict(zip(header, row)) for row in body]
    texts = [r["COMMENT"] for r in rows if r["COMMENT"]]
    assert REDACTED in texts
    _assert_redacted("\n".join(texts), fmt)
    assert CAMPAIGN_TEXT not in texts


def test_api_is_redacted(app, client, world):
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == DEMO_PASSWORDS["official"][0]))
        _token, plain = api_tokens.create(user, "kiểm thử ý kiến")
        db.session.commit()
    response = client.get(f"/api/v1/units/{world['unit_id']}/responses?period={PERIOD}",
                          headers={"Authorization": f"Bearer {plain}"})
    assert response.status_code == 200
    texts = [r["answers"].get("COMMENT") for r in response.get_json()["responses"]]
    assert REDACTED in texts
    _assert_redacted(json.dumps(response.get_json(), ensure_ascii=False), "API")


# --- the unredacted text: administrators only, every read audited ---------------------------

def test_admin_reads_the_raw_text_and_the_read_is_audited(app, client, world):
    login(client, "admin")
    url = "/quan-tri/y-kien-nguyen-van"
    token = csrf_of(client, url)
    refused = client.post(url, data={"csrf_token": token, "response_id": world["personal"], "reason": ""})
    assert refused.status_code == 422 and PERSONAL not in refused.get_data(as_text=True)
    response = client.post(url, data={"csrf_token": token, "response_id": world["personal"],
                                      "reason": "Người dân đề nghị gọi lại"})
    assert response.status_code == 200
    assert PERSONAL in response.get_data(as_text=True)
    with app.app_context():
        rows = db.session.scalars(select(AuditLog).where(AuditLog.action == "comment_raw_read")).all()
        assert [(r.target, r.details["reason"]) for r in rows] == [
            (f"response:{world['personal']}", "Người dân đề nghị gọi lại")]
        admin = db.session.scalar(select(User.id).where(User.email == DEMO_PASSWORDS["admin"][0]))
        assert rows[0].user_id == admin


@pytest.mark.parametrize("who", ["official", "analyst"])
def test_only_administrators_read_raw_text(app, client, world, who):
    login(client, who)
    token = csrf_of(client, "/quan-ly/")
    response = client.post("/quan-tri/y-kien-nguyen-van",
                           data={"csrf_token": token, "response_id": world["personal"], "reason": "x"})
    assert response.status_code == 403
    with app.app_context():
        assert db.session.scalars(select(AuditLog).where(AuditLog.action == "comment_raw_read")).all() == []
