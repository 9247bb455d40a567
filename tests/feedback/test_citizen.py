"""The citizen's side: the reply box opens a case, the private link follows it, the rating is once."""
from __future__ import annotations

import hashlib
import re
import secrets

from sqlalchemy import select

from survey.extensions import db, limiter
from survey.feedback import cases
from survey.models import CaseEvent, FeedbackCase, Response, User
from tests.conftest import csrf_of, login
from tests.feedback.conftest import csrf_in, only_case, open_case_via_form, submit

CODE = re.compile(r"PA-\d{4}-[23456789ABCDEFGHJKMNPQRSTUVWXYZ]{4}")


def count_cases(app) -> int:
    with app.app_context():
        return len(db.session.scalars(select(FeedbackCase)).all())


def test_form_always_offers_the_reply_box(client, counter):
    html = client.get(counter.url).get_data(as_text=True)
    assert 'name="reply"' in html and "Tôi muốn được trả lời" in html
    english = client.get(counter.url + "?lang=en").get_data(as_text=True)
    assert "I would like a reply" in english


def test_ticked_low_rating_opens_a_case_with_its_own_copy(app, client, counter):
    token = open_case_via_form(client, counter.url)
    page = client.get(f"/phan-anh/{token}?moi=1")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    case = only_case(app)
    assert CODE.fullmatch(case.code) and case.code in html
    assert "Lưu lại liên kết này để theo dõi" in html and f"/phan-anh/{token}" in html
    assert 'id="copy-link"' in html
    assert page.headers["Cache-Control"] == "no-store" and page.headers["Referrer-Policy"] == "no-referrer"
    assert case.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in repr(vars(case))  # only the hash is stored
    assert (case.unit_id, case.counter_id, case.status) == (counter.unit_id, counter.id, "received")
    assert case.low_items == ["A3.1"] and case.message == "Chờ lâu quá"
    assert case.created_at.minute == 0 and case.created_at.second == 0
    assert re.fullmatch(r"20\d\d-H[12]", case.period) and case.due_date is not None
    assert "Đã tiếp nhận" in html and "Chờ lâu quá" in html


def test_box_is_ignored_without_a_low_rating_or_comment(app, client, counter):
    response = submit(client, counter.url, {"reply": "y"})
    assert response.status_code == 303 and "/cam-on" in response.headers["Location"]
    assert count_cases(app) == 0


def test_low_rating_without_the_box_opens_nothing_and_costs_nothing(app, client, counter, monkeypatch):
    def refuse(**_kwargs):
        raise AssertionError("open_case called without the box")

    monkeypatch.setattr(cases, "open_case", refuse)
    response = submit(client, counter.url, {"q_A1_1": "1", "q_COMMENT": "Tệ"})
    assert response.status_code == 303 and "/cam-on" in response.headers["Location"]
    assert count_cases(app) == 0


def test_comment_alone_is_enough(app, client, counter):
    open_case_via_form(client, counter.url, {"q_A3_1": "4", "q_COMMENT": "Xin hướng dẫn nộp trực tuyến"})
    case = only_case(app)
    assert case.low_items is None and case.message == "Xin hướng dẫn nộp trực tuyến"


def test_response_and_case_share_nothing_that_joins_them(app, client, counter):
    token = open_case_via_form(client, counter.url)
    with app.app_context():
        response_table, case_table = Response.__table__, FeedbackCase.__table__
        assert not any("case" in c.name for c in response_table.columns)
        assert not any("response" in c.name for c in case_table.columns)
        assert not any(fk.column.table.name == "response" for fk in case_table.foreign_keys)
        assert not any(fk.column.table.name == "response" for fk in CaseEvent.__table__.foreign_keys)
        assert not any(fk.column.table.name == "feedback_case" for fk in response_table.foreign_keys)
        stored = db.session.scalars(select(Response)).one()
        case = db.session.scalars(select(FeedbackCase)).one()
        response_values = {str(getattr(stored, c.name)) for c in response_table.columns}
        case_values = {str(getattr(case, c.name)) for c in case_table.columns}
        assert {case.code, case.token_hash, token}.isdisjoint(response_values)
        assert {stored.idempotency_key, str(stored.client_hash)}.isdisjoint(case_values)
        # Both to the hour: the case's time says no more about the citizen than the response's.
        assert case.created_at == stored.submitted_at


def test_quarantined_submission_still_opens_a_plain_case(app, client, counter):
    app.config["SUBMIT_LIMIT_PER_CLIENT"] = "1 per day"
    submit(client, counter.url)
    open_case_via_form(client, counter.url)
    with app.app_context():
        statuses = sorted(r.status for r in db.session.scalars(select(Response)))
        assert statuses == ["counted", "quarantined"]
        case = db.session.scalars(select(FeedbackCase)).one()
        assert case.status == "received"
        assert not {c.name for c in FeedbackCase.__table__.columns} & {"flags", "quarantined", "verified"}


def answer_as_official(app, client, code: str, text: str = "Đơn vị đã bố trí thêm quầy.") -> None:
    login(client, "official")
    with app.app_context():
        case_id = db.session.scalar(select(FeedbackCase.id).where(FeedbackCase.code == code))
    page = client.get(f"/quan-ly/phan-anh/{case_id}").get_data(as_text=True)
    response = client.post(f"/quan-ly/phan-anh/{case_id}/tra-loi", data={"csrf_token": csrf_in(page), "answer": text})
    assert response.status_code == 303, response.status_code
    client.post("/dang-xuat", data={"csrf_token": csrf_in(page)})


def rate(client, token: str, value: str, csrf: str | None = None):
    page = client.get(f"/phan-anh/{token}").get_data(as_text=True)
    csrf = csrf or csrf_in(page)
    return client.post(f"/phan-anh/{token}/danh-gia", data={"csrf_token": csrf, "rating": value})


def test_citizen_flow_answer_then_one_rating(app, client, ward_counter):
    citizen = app.test_client()
    token = open_case_via_form(citizen, ward_counter)
    case = only_case(app)
    before = citizen.get(f"/phan-anh/{token}").get_data(as_text=True)
    assert "Bạn hài lòng thế nào với cách xử lý phản ánh?" not in before  # nothing to rate yet
    assert rate(citizen, token, "4").status_code == 409
    answer_as_official(app, client, case.code)
    page = citizen.get(f"/phan-anh/{token}").get_data(as_text=True)
    assert "Đơn vị đã bố trí thêm quầy." in page and "Đã trả lời" in page
    assert "Bạn hài lòng thế nào với cách xử lý phản ánh?" in page
    assert rate(citizen, token, "9").status_code == 400  # not a choice
    done = rate(citizen, token, "4")
    assert done.status_code == 303
    assert only_case(app).followup_rating == 4
    again = citizen.post(f"/phan-anh/{token}/danh-gia", data={"csrf_token": csrf_in(page), "rating": "1"})
    assert again.status_code == 409 and "đã đánh giá" in again.get_data(as_text=True)
    assert only_case(app).followup_rating == 4


def test_closed_without_answer_cannot_be_rated(app, client, counter):
    token = open_case_via_form(client, counter.url)
    with app.app_context():
        case = db.session.scalars(select(FeedbackCase)).one()
        cases.close(case, db.session.scalar(select(User).where(User.role == "admin")))
        db.session.commit()
    page = client.get(f"/phan-anh/{token}").get_data(as_text=True)
    assert "Đã đóng" in page and "không có gì để đánh giá" in page
    csrf = csrf_of(client, "/dang-nhap")  # the page has no form left: a session token
    assert rate(client, token, "5", csrf).status_code == 409
    assert only_case(app).followup_rating is None


def test_unknown_token_is_the_bad_qr_page(client):
    bad_qr = client.get("/s/khong-phai-ma")
    for token in (secrets.token_urlsafe(32), "short", "x" * 200):
        page = client.get(f"/phan-anh/{token}")
        assert page.status_code == 404 == bad_qr.status_code
        assert page.get_data(as_text=True) == bad_qr.get_data(as_text=True)
    response = client.post(f"/phan-anh/{secrets.token_urlsafe(32)}/danh-gia", data={"rating": "5"})
    assert response.status_code in (400, 404)


def test_guessing_is_rate_limited_even_for_a_real_link(app, client, counter):
    token = open_case_via_form(client, counter.url)
    app.config["CASE_MISS_LIMIT"] = "3 per hour"
    limiter.reset()
    for _ in range(3):
        assert client.get(f"/phan-anh/{secrets.token_urlsafe(32)}").status_code == 404
    assert client.get(f"/phan-anh/{secrets.token_urlsafe(32)}").status_code == 429
    assert client.get(f"/phan-anh/{token}").status_code == 429  # a guesser learns nothing more
    other = app.test_client()  # another address is not held back by this one's guesses
    assert other.get(f"/phan-anh/{token}", environ_base={"REMOTE_ADDR": "10.0.0.9"}).status_code == 200


def test_real_visits_do_not_count_as_misses(app, client, counter):
    token = open_case_via_form(client, counter.url)
    app.config["CASE_MISS_LIMIT"] = "2 per hour"
    limiter.reset()
    for _ in range(5):
        assert client.get(f"/phan-anh/{token}").status_code == 200


def test_english_case_page(client, counter):
    token = open_case_via_form(client, counter.url)
    html = client.get(f"/phan-anh/{token}?lang=en&moi=1").get_data(as_text=True)
    assert "Save this link to follow up" in html and "Received" in html and "Tiếng Việt" in html


def test_dossier_link_form_opens_a_case_too(app, client):
    from tests.links.test_dossier_links import answer, issue, path_of

    url = path_of(issue(app, client).get_json()["url"])
    posted = answer(client, url, "4", q_A2_1="2", reply="y")
    assert posted.status_code == 303 and "/phan-anh/" in posted.headers["Location"]
    case = only_case(app)
    assert case.low_items == ["A2.1"] and case.counter_id is not None
    with app.app_context():
        stored = db.session.scalars(select(Response)).one()
        assert stored.verified and case.created_at == stored.submitted_at
