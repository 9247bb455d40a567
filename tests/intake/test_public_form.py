"""Scan → form → stored response, and every kind of bad input on the way."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from survey.extensions import db
from survey.models import Answer, Counter, Question, Response, Survey, SurveyVersion, UsedDossier
from tests.conftest import full_answers, hidden_fields, open_form


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def submit(client, url, extra=None, fields=None, **kwargs):
    data = dict(fields if fields is not None else open_form(client, url))
    data.update(full_answers())
    data.update(extra or {})
    return client.post(url, data=data, **kwargs)


def test_form_renders_the_standing_survey_for_the_counter(client, counter):
    response = client.get(counter.url)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Trung tâm Phục vụ hành chính công tỉnh" in html
    assert "Quầy 1 – Đất đai, tài nguyên môi trường" in html
    # The scale is labelled in words, and "not applicable" appears only where a question allows it.
    for label in ("Rất không hài lòng", "Không hài lòng", "Bình thường", "Hài lòng", "Rất hài lòng"):
        assert f"{label}</span>" in html
    assert html.count('value="na"') == 13  # A1.3 A2.3 A4.1–3 A5.1–4 A6.1–4
    assert 'name="q_A3_1" value="na"' not in html
    assert "Công chức lịch sự khi tiếp nhận, giải quyết hồ sơ" in html
    assert hidden_fields(html).keys() == {"csrf_token", "idem", "version"}
    assert "<script" not in html  # works without JavaScript
    assert len(response.data) < 30_000  # DESIGN §6: under 30 KB on a slow phone


def test_valid_submission_stores_one_response_with_its_answers(app, client, counter):
    response = submit(client, counter.url, {"q_COMMENT": "Cán bộ nhiệt tình, chu đáo", "q_A5_1": "na",
                                             "service_field": "ho-tich"})
    assert response.status_code == 303
    thanks = client.get(response.headers["Location"])
    assert "Cảm ơn Ông/Bà đã đánh giá!" in thanks.get_data(as_text=True)
    with app.app_context():
        stored = db.session.scalars(select(Response)).one()
        assert (stored.counter_id, stored.unit_id, stored.channel) == (counter.id, counter.unit_id, "qr")
        assert stored.service_field == "ho-tich" and re.fullmatch(r"20\d\d-H[12]", stored.period)
        assert stored.submitted_at is not None and (stored.status, stored.flags) == ("counted", None)
        assert not stored.verified
        by_code = {
            q.code: a
            for a, q in db.session.execute(
                select(Answer, Question).join(Question, Answer.question_id == Question.id)
            ).all()
        }
        assert len(by_code) == 18
        assert by_code["A3.1"].value_int == 4 and by_code["OVERALL"].value_int == 4
        assert by_code["A5.1"].na and by_code["A5.1"].value_int is None
        assert by_code["COMMENT"].value_text == "Cán bộ nhiệt tình, chu đáo"
        version = db.session.get(SurveyVersion, stored.survey_version_id)
        assert version.frozen


def test_double_submit_stores_exactly_one_response(app, client, counter):
    fields = open_form(client, counter.url)
    first = submit(client, counter.url, fields=fields)
    again = submit(client, counter.url, fields=fields)  # back button, double tap, retry
    assert first.status_code == again.status_code == 303
    assert count(app, Response) == 1
    assert count(app, Answer) == 16


def test_missing_required_answers_keep_what_was_typed(app, client, counter):
    data = open_form(client, counter.url)
    data.update({"q_A1_1": "5", "q_COMMENT": "Chờ lâu quá"})
    response = client.post(counter.url, data=data)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Vui lòng chọn một mức đánh giá." in html
    assert 'name="q_A1_1" value="5" checked' in html
    assert "Chờ lâu quá</textarea>" in html
    assert count(app, Response) == 0 and count(app, Answer) == 0


@pytest.mark.parametrize("bad", ["0", "6", "abc", "4.5", "-1", "na"])
def test_out_of_range_values_are_refused(app, client, counter, bad):
    # "na" is out of range too: A3.1 (staff polite) does not allow "không áp dụng".
    response = submit(client, counter.url, {"q_A3_1": bad})
    assert response.status_code == 422
    assert "Lựa chọn không hợp lệ, vui lòng chọn lại." in response.get_data(as_text=True)
    assert count(app, Response) == 0


def test_oversized_comment_is_refused_and_kept(app, client, counter):
    long = "Ý kiến " * 200  # 1,400 characters, over the 1,000 cap
    response = submit(client, counter.url, {"q_COMMENT": long})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Ý kiến dài quá 1000 ký tự" in html
    assert long.strip() in html
    assert count(app, Response) == 0


def test_unknown_question_ids_are_ignored(app, client, counter):
    response = submit(client, counter.url, {"q_ZZ_9": "5", "q_1": "3", "question_999": "1"})
    assert response.status_code == 303
    assert count(app, Answer) == 16


@pytest.mark.parametrize("field,value", [("idem", "not-a-key"), ("idem", ""), ("version", "abc"),
                                         ("version", "")])
def test_tampered_hidden_fields_get_a_fresh_form_with_answers(app, client, counter, field, value):
    fields = open_form(client, counter.url)
    fields[field] = value
    response = submit(client, counter.url, fields=fields)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Biểu mẫu không hợp lệ" in html
    assert 'name="q_OVERALL" value="4" checked' in html
    assert re.search(r'name="idem"[^>]*value="[0-9a-f]{32}"', html)
    assert count(app, Response) == 0


def test_version_of_another_survey_is_not_used(app, client, counter):
    with app.app_context():
        other = Survey(code="OTHER", title_vi="Khác", kind="thematic", status="open")
        db.session.add(other)
        db.session.flush()
        foreign = SurveyVersion(survey=other, number=1, created_at=func.now())
        db.session.add(foreign)
        db.session.commit()
        foreign_id = foreign.id
    fields = open_form(client, counter.url)
    fields["version"] = str(foreign_id)
    assert submit(client, counter.url, fields=fields).status_code == 303
    with app.app_context():
        assert db.session.scalar(select(Response.survey_version_id)) != foreign_id


@pytest.mark.parametrize("csrf", [None, "", "forged.token.value"])
def test_missing_or_invalid_csrf_token_keeps_answers(app, client, counter, csrf):
    fields = open_form(client, counter.url)
    if csrf is None:
        del fields["csrf_token"]
    else:
        fields["csrf_token"] = csrf
    response = submit(client, counter.url, {"q_COMMENT": "Giữ lại giúp tôi"}, fields=fields)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Phiên làm việc đã hết hạn" in html and "Giữ lại giúp tôi</textarea>" in html
    assert count(app, Response) == 0
    # The re-shown form carries a fresh token: pressing "Gửi" again works.
    again = client.post(counter.url, data={**hidden_fields(html), **full_answers()})
    assert again.status_code == 303 and count(app, Response) == 1


def test_wrong_http_method_gets_a_vietnamese_page(client, counter):
    for method in (client.put, client.delete, client.patch):
        response = method(counter.url)
        assert response.status_code == 405
        assert "Thao tác không được hỗ trợ" in response.get_data(as_text=True)
    assert client.post(counter.url + "/cam-on").status_code == 405


def test_oversized_request_body_is_refused(app, client, counter):
    fields = open_form(client, counter.url)
    response = submit(client, counter.url, {"q_COMMENT": "x" * 70_000}, fields=fields)
    assert response.status_code == 413
    assert "Nội dung gửi quá lớn" in response.get_data(as_text=True)
    assert count(app, Response) == 0


def test_retired_counter_gets_a_page_never_a_form(app, client, counter):
    fields = open_form(client, counter.url)
    with app.app_context():
        db.session.get(Counter, counter.id).active = False
        db.session.commit()
    for response in (client.get(counter.url), submit(client, counter.url, fields=fields)):
        html = response.get_data(as_text=True)
        assert response.status_code == 410
        assert "Quầy này đã ngừng sử dụng" in html and "<form" not in html
    assert count(app, Response) == 0


@pytest.mark.parametrize("change", [{"status": "closed"}, {"closes_at": "past"}, {"opens_at": "future"}])
def test_closed_survey_refuses_politely(app, client, counter, change):
    from datetime import datetime, timedelta, timezone

    now = datetime.now(timezone.utc)
    with app.app_context():
        survey = db.session.scalar(select(Survey))
        if "status" in change:
            survey.status = "closed"
        elif "closes_at" in change:
            survey.closes_at = now - timedelta(minutes=1)
        else:
            survey.opens_at = now + timedelta(days=1)
        db.session.commit()
    response = client.get(counter.url)
    assert response.status_code == 410
    assert "Đợt khảo sát đã kết thúc" in response.get_data(as_text=True)
    assert client.post(counter.url, data=full_answers()).status_code == 410
    assert count(app, Response) == 0


def test_dossier_code_allows_one_response_per_dossier(app, client, counter):
    first = submit(client, counter.url, {"dossier_code": "H12.34-2026-00789"})
    assert first.status_code == 303
    # Same dossier, typed differently, from another phone (new form, new idempotency key).
    second = submit(client, counter.url, {"dossier_code": " h12.34-2026-00789 ", "q_COMMENT": "Lần hai"})
    html = second.get_data(as_text=True)
    assert second.status_code == 409
    assert "Hồ sơ này đã được đánh giá" in html and "Lần hai</textarea>" in html
    assert count(app, Response) == 1
    with app.app_context():
        stored = db.session.scalar(select(UsedDossier.dossier_hash))
        assert stored and "00789" not in stored  # not stored readably (Decree 13/2023)
        assert "dossier_hash" not in Response.__table__.c  # nor tied to the response
    assert submit(client, counter.url, {"dossier_code": "H12.34-2026-00790"}).status_code == 303
    assert count(app, Response) == 2


@pytest.mark.parametrize("bad", ["<script>", "ab", "x" * 41, "mã hồ sơ"])
def test_malformed_dossier_code_is_refused(app, client, counter, bad):
    response = submit(client, counter.url, {"dossier_code": bad})
    assert response.status_code == 422
    assert "Mã hồ sơ chỉ gồm chữ, số" in response.get_data(as_text=True)
    assert count(app, Response) == 0


def test_invalid_service_field_is_refused(app, client, counter):
    response = submit(client, counter.url, {"service_field": "nuclear"})
    assert response.status_code == 422
    assert count(app, Response) == 0


FAIL_ANSWERS = {
    # The database refuses the answers as a full disk would: the response row written just before
    # them, in the same transaction, must go too.
    "postgresql": ["CREATE FUNCTION test_disk_full() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                   "RAISE EXCEPTION 'could not extend file' USING ERRCODE = 'disk_full'; END $$",
                   "CREATE TRIGGER test_disk_full BEFORE INSERT ON answer FOR EACH STATEMENT "
                   "EXECUTE FUNCTION test_disk_full()"],
    "sqlite": ["CREATE TRIGGER test_disk_full BEFORE INSERT ON answer BEGIN "
               "SELECT RAISE(ABORT, 'database or disk is full'); END"],
}
HEAL_ANSWERS = {"postgresql": ["DROP TRIGGER test_disk_full ON answer", "DROP FUNCTION test_disk_full()"],
                "sqlite": ["DROP TRIGGER test_disk_full"]}


def _run_sql(app, statements: list[str]) -> None:
    with app.app_context():
        with db.engine.begin() as conn:
            for statement in statements:
                conn.exec_driver_sql(statement)


def test_database_failure_shows_retry_page_with_answers_and_stores_nothing(app, client, counter):
    fields = open_form(client, counter.url)
    with app.app_context():
        backend = db.engine.dialect.name
    _run_sql(app, FAIL_ANSWERS[backend])
    try:
        response = submit(client, counter.url, {"q_COMMENT": "Đừng mất nhé"}, fields=fields)
    finally:
        _run_sql(app, HEAL_ANSWERS[backend])
    html = response.get_data(as_text=True)
    assert response.status_code == 503 and response.headers["Retry-After"].isdigit()
    assert "câu trả lời chưa được lưu" in html and "Đừng mất nhé</textarea>" in html
    assert count(app, Response) == 0 and count(app, Answer) == 0
    # Retrying with the same form stores it once.
    assert client.post(counter.url, data={**hidden_fields(html), **full_answers()}).status_code == 303
    assert count(app, Response) == 1 and count(app, Answer) == 16


def test_invisible_control_characters_are_dropped_from_text_answers(app, client, counter):
    # NUL cannot be stored by PostgreSQL (it gave a 503 "try again later" that never got better)
    # and spreadsheets refuse the others: they go, the comment stays; tabs and line breaks stay.
    response = submit(client, counter.url, {"q_COMMENT": " Tốt\x00 lắm\x01,\tcảm ơn\r\nquầy \x1f"})
    assert response.status_code == 303
    with app.app_context():
        assert db.session.scalar(select(Answer.value_text).where(Answer.value_text.is_not(None))) \
            == "Tốt lắm,\tcảm ơn\r\nquầy"
    only_control = submit(client, counter.url, {"q_COMMENT": "\x00\x01 \x02"})
    assert only_control.status_code == 303  # an empty comment: no answer row for it
    assert count(app, Response) == 2 and count(app, Answer) == 16 + 17


def test_english_is_second_language(client, counter):
    html = client.get(counter.url + "?lang=en").get_data(as_text=True)
    assert '<html lang="en">' in html
    assert "Staff were polite" in html and "Very satisfied" in html and "Not applicable" in html
    assert "Tiếng Việt" in html


def test_kiosk_channel_returns_to_a_new_form(app, client, counter):
    url = counter.url + "?c=kiosk"
    response = submit(client, url)
    assert response.status_code == 303
    thanks = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'http-equiv="refresh"' in thanks
    with app.app_context():
        assert db.session.scalar(select(Response.channel)) == "kiosk"
