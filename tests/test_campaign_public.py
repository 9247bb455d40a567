"""Thematic campaigns, citizens' side: unit links, new question types, consent, refusals."""
from __future__ import annotations

from datetime import timedelta

import pytest
from itsdangerous import URLSafeSerializer
from sqlalchemy import func, select

from survey.extensions import db
from survey.intake.tokens import (
    CounterToken,
    UnitToken,
    make_token,
    make_unit_token,
    read_any_token,
    read_token,
    read_unit_token,
)
from survey.models import Answer, Question, Response, Survey
from tests.conftest import hidden_fields, login
from tests.test_campaigns import (
    BASE,
    HEALTH_WARD,
    KHEN,
    LAC_SON,
    create_campaign,
    fmt,
    post_action,
    today_vn,
    unit_id,
    unit_link,
)

ANSWERS = {"q_A1_1": "4", "q_A3_1": "5", "q_B1_1": "3", "q_B2_1": "na", "q_B3_1": "2", "q_OVERALL": "4",
           "q_C2": "1"}


@pytest.fixture
def campaign(app, client) -> int:
    """A published campaign (A, B on health care, custom questions, demographics) for two units."""
    login(client, "analyst")
    survey_id = create_campaign(client, app)
    assert post_action(client, survey_id, "phat-hanh").status_code == 303
    return survey_id


def stored(app) -> list[Response]:
    with app.app_context():
        return db.session.scalars(select(Response).order_by(Response.id)).all()


def answers_by_code(app, response_id: int) -> dict[str, Answer]:
    with app.app_context():
        rows = db.session.execute(
            select(Question.code, Answer).join(Answer, Answer.question_id == Question.id)
            .where(Answer.response_id == response_id)).all()
        return {code: answer for code, answer in rows}


def send(client, url: str, extra: dict | None = None, addr: str = "10.9.0.1"):
    data = hidden_fields(client.get(url).get_data(as_text=True))
    data.update(ANSWERS)
    data.update(extra or {})
    return client.post(url, data=data, environ_base={"REMOTE_ADDR": addr})


def test_unit_link_shows_the_campaign_form(app, client, campaign):
    response = client.get(unit_link(app, campaign, HEALTH_WARD))
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Khảo sát sự hài lòng về chính sách y tế năm 2026" in html and "Phường Đồng Tiến" in html
    assert "Đánh giá việc cung cấp thông tin" in html  # the purpose
    assert "B1. Cung cấp thông tin về chính sách" in html and "chính sách y tế" in html
    assert html.count('type="checkbox" name="q_C1"') == 3 and "Có thể chọn nhiều phương án." in html
    assert 'name="q_C2" value="1"' in html and 'name="q_C2" value="0"' in html
    assert 'name="q_C3"' in html and "<textarea" in html
    # Demographics sit inside the consent block, after the consent radios (CSS reveals them, no JS).
    consent = html.index('id="q_CONSENT-1"')
    assert consent < html.index('class="demo"') < html.index('name="q_AGE"')
    assert "Thành thị" in html and "Nông thôn" in html
    # Not at a counter: no service field or dossier code.
    assert 'name="service_field"' not in html and 'name="dossier_code"' not in html
    assert "<script" not in html and len(response.data) < 30_000


def test_english_wording_of_group_b(app, client, campaign):
    html = client.get(unit_link(app, campaign, HEALTH_WARD) + "?lang=en").get_data(as_text=True)
    assert "Information on health care policy is provided fully and in time" in html
    assert "Website" in html


def test_submission_through_the_unit_link_is_stored_as_link_for_the_unit(app, client, campaign):
    url = unit_link(app, campaign, KHEN)
    response = send(client, url, {"q_C1": ["3", "1"], "q_C3": "Cần thêm buổi tuyên truyền ở thôn bản"})
    assert response.status_code == 303
    thanks = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Cảm ơn Ông/Bà đã đánh giá!" in thanks and "Xã Mường Khến" in thanks
    [row] = stored(app)
    assert (row.channel, row.unit_id, row.counter_id, row.survey_id) == ("link", unit_id(app, KHEN), None, campaign)
    answers = answers_by_code(app, row.id)
    assert answers["C1"].value_text == "1;3"  # codes in the order shown, one row for the question
    assert answers["C2"].value_int == 1 and answers["B2.1"].na and answers["B3.1"].value_int == 2
    assert answers["C3"].value_text == "Cần thêm buổi tuyên truyền ở thôn bản"
    assert "AGE" not in answers and "CONSENT" not in answers


def test_channel_is_link_whatever_the_url_says(app, client, campaign):
    url = unit_link(app, campaign, HEALTH_WARD)
    assert send(client, url + "?c=kiosk").status_code == 303
    assert stored(app)[0].channel == "link"


@pytest.mark.parametrize("bad", [["9"], ["1", "1"], ["x"]])
def test_multiple_choice_refuses_unknown_or_repeated_codes(app, client, campaign, bad):
    response = send(client, unit_link(app, campaign, HEALTH_WARD), {"q_C1": bad})
    assert response.status_code == 422
    assert "Lựa chọn không hợp lệ" in response.get_data(as_text=True)
    assert stored(app) == []


def test_required_custom_question_is_enforced_and_answers_kept(app, client, campaign):
    response = send(client, unit_link(app, campaign, HEALTH_WARD), {"q_C2": "", "q_C1": ["2"]})
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "Vui lòng chọn một phương án." in html
    assert 'name="q_C1" value="2" checked' in html
    assert stored(app) == []


DEMOGRAPHICS = {"q_AGE": "30-44", "q_SEX": "nu", "q_AREA": "nong-thon"}


@pytest.mark.parametrize("consent", [None, "0"])
def test_demographics_are_dropped_without_consent(app, client, campaign, consent):
    extra = dict(DEMOGRAPHICS)
    if consent is not None:
        extra["q_CONSENT"] = consent
    assert send(client, unit_link(app, campaign, HEALTH_WARD), extra).status_code == 303
    answers = answers_by_code(app, stored(app)[0].id)
    assert not {"AGE", "SEX", "AREA"} & answers.keys()
    assert ("CONSENT" in answers) == (consent is not None)
    if consent is not None:
        assert answers["CONSENT"].value_int == 0


def test_demographics_are_kept_with_consent(app, client, campaign):
    extra = {**DEMOGRAPHICS, "q_CONSENT": "1"}
    assert send(client, unit_link(app, campaign, HEALTH_WARD), extra).status_code == 303
    answers = answers_by_code(app, stored(app)[0].id)
    assert answers["CONSENT"].value_int == 1
    assert (answers["AGE"].value_text, answers["SEX"].value_text, answers["AREA"].value_text) == (
        "30-44", "nu", "nong-thon")


def test_bad_demographic_value_matters_only_with_consent(app, client, campaign):
    url = unit_link(app, campaign, HEALTH_WARD)
    assert send(client, url, {"q_AGE": "17", "q_CONSENT": "1"}).status_code == 422
    assert send(client, url, {"q_AGE": "17", "q_CONSENT": "0"}, addr="10.9.0.2").status_code == 303
    assert "AGE" not in answers_by_code(app, stored(app)[0].id)


def test_link_for_a_unit_the_campaign_does_not_target_is_refused(app, client, campaign):
    url = unit_link(app, campaign, LAC_SON)
    for response in (client.get(url), client.post(url, data=ANSWERS)):
        html = response.get_data(as_text=True)
        assert response.status_code == 404
        assert "Đường dẫn khảo sát không hợp lệ" in html and "<form" not in html
    assert stored(app) == []


def _forged(app, campaign: int, kind: str) -> str:
    ward = unit_id(app, HEALTH_WARD)
    with app.app_context():
        standing = db.session.scalar(select(Survey.id).where(Survey.kind == "standing"))
    with app.test_request_context():
        real = make_unit_token(ward, campaign)
        ours = URLSafeSerializer("test-secret", salt="counter-qr-v1")
        return {
            "other_secret": URLSafeSerializer("guess", salt="counter-qr-v1").dumps(["u", ward, campaign, 1]),
            "altered": real[:-2] + ("xx" if not real.endswith("xx") else "yy"),
            "payload_swapped": (make_unit_token(unit_id(app, LAC_SON), campaign).split(".")[0]
                                + "." + real.split(".")[1]),
            "wrong_tag": ours.dumps(["x", ward, campaign, 1]),
            "wrong_version": ours.dumps(["u", ward, campaign, 2]),
            "booleans": ours.dumps(["u", True, campaign, 1]),
            "no_survey": make_unit_token(ward, 999_999),
            "no_unit": make_unit_token(999_999, campaign),
            "standing_survey": make_unit_token(ward, standing),
        }[kind]


@pytest.mark.parametrize("kind", ["other_secret", "altered", "payload_swapped", "wrong_tag", "wrong_version",
                                  "booleans", "no_survey", "no_unit", "standing_survey"])
def test_forged_unit_tokens_never_open_a_form(app, client, campaign, kind):
    url = f"/s/{_forged(app, campaign, kind)}"
    for response in (client.get(url), client.post(url, data=ANSWERS)):
        html = response.get_data(as_text=True)
        assert response.status_code == 404, kind
        assert "<form" not in html
    assert stored(app) == []


def test_campaign_not_yet_open_says_when_it_opens(app, client):
    login(client, "analyst")
    start = today_vn() + timedelta(days=3)
    survey_id = create_campaign(client, app, opens_on=fmt(start), closes_on=fmt(start + timedelta(days=9)))
    post_action(client, survey_id, "phat-hanh")
    assert "Đã phát hành, chưa đến ngày bắt đầu" in client.get(f"{BASE}/{survey_id}").get_data(as_text=True)
    response = client.get(unit_link(app, survey_id, HEALTH_WARD))
    html = response.get_data(as_text=True)
    assert response.status_code == 410 and fmt(start) in html and "<form" not in html


def test_closed_campaign_refuses_a_form_opened_before_closing(app, client, campaign):
    url = unit_link(app, campaign, HEALTH_WARD)
    fields = hidden_fields(client.get(url).get_data(as_text=True))
    login(client, "analyst")
    post_action(client, campaign, "ket-thuc")
    response = client.post(url, data={**fields, **ANSWERS})
    assert response.status_code == 410 and "Đợt khảo sát đã kết thúc" in response.get_data(as_text=True)
    assert stored(app) == []


def test_token_kinds_stay_apart_and_counter_tokens_keep_working(app):
    with app.test_request_context():
        counter, unit = make_token(7, 1, 3), make_unit_token(7, 1)
        assert read_token(counter) == CounterToken(7, 1, 3) and read_any_token(counter) == CounterToken(7, 1, 3)
        assert read_unit_token(unit) == UnitToken(7, 1) and read_any_token(unit) == UnitToken(7, 1)
        assert read_token(unit) is None and read_unit_token(counter) is None
        assert read_any_token("not-a-token") is None


def test_unit_links_never_count_as_counter_responses(app, client, campaign):
    send(client, unit_link(app, campaign, HEALTH_WARD))
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Response)
                                 .where(Response.counter_id.isnot(None))) == 0
