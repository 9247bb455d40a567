"""Generated inputs against the citizen form and random tokens and paths (see test_fuzz_common).

Each accepted POST (303) stores at most one response, at the counter's own unit and counter, with
only answers from the questions it showed; anything refused stores nothing.
"""
from __future__ import annotations

import uuid

from hypothesis import assume, given
from hypothesis import strategies as st
from sqlalchemy import func, select

from survey.catalog.instrument import SERVICE_FIELDS
from survey.extensions import db
from survey.models import Answer, Question, Response
from tests.conftest import REQUIRED_CODES, open_form
from tests.test_fuzz_common import (
    FUZZ,
    TEXT,
    TRICKY,
    assert_no_server_error,
    changed_tables,
    encode,
    extra_fields,
    form_body,
    last_state,
    no_limits,
    snapshot,
    sometimes,
)

__all__ = ["no_limits"]  # the fixture, used by name below

OPTIONAL_CODES = ("A5.1", "A5.2", "COMMENT")  # asked but not required on the standing survey
SERVICE_CODES = [code for code, _vi, _en in SERVICE_FIELDS]
REUSED_IDEM = "f" * 32  # the same key again and again: double taps, retries, two tabs


def answer_value():
    return st.one_of(
        st.sampled_from(["1", "2", "3", "4", "5"]),
        st.just(["4", "5"]),  # the same radio twice
        st.sampled_from(["na", "0", "6", "-1", "4.0", " 4", "٤", "４"]),
        TEXT,
    )


@st.composite
def citizen_bodies(draw, hidden: dict[str, str]):
    fields: dict = {}
    fields["csrf_token"] = draw(st.one_of(st.just(hidden["csrf_token"]), st.none(), TEXT))
    fields["idem"] = draw(st.one_of(st.builds(lambda: uuid.uuid4().hex), st.just(REUSED_IDEM), st.none(), TEXT))
    fields["version"] = draw(st.one_of(st.just(hidden["version"]), st.none(),
                                       st.integers(-5, 10**12).map(str), TEXT))
    broken = draw(st.booleans())
    for code in REQUIRED_CODES + OPTIONAL_CODES[:2]:
        name = "q_" + code.replace(".", "_")
        fields[name] = draw(st.one_of(answer_value(), st.none())) if broken else "4"
    fields["q_COMMENT"] = draw(st.one_of(st.none(), TEXT, st.text(min_size=990, max_size=1100)))
    fields["service_field"] = draw(sometimes(st.one_of(st.sampled_from(SERVICE_CODES), TEXT)))
    fields["dossier_code"] = draw(sometimes(st.one_of(st.from_regex(r"[A-Z0-9]{3}[./_-][0-9]{2,8}", fullmatch=True),
                                                      TEXT)))
    body = form_body(fields, draw(extra_fields()))
    query = draw(st.sampled_from(["", "?c=kiosk", "?lang=en", "?c=link", "?c=%00", "?lang=xx&c=qr&c=kiosk"]))
    raw = draw(st.sampled_from(["form", "form", "form", "multipart", "json", "garbage", "huge"]))
    return body, query, raw


def _send(client, url: str, body, raw: str):
    if raw == "multipart":
        data = {}
        for name, value in body:
            data.setdefault(name, []).append(value)
        return client.post(url, data=data, content_type="multipart/form-data")
    if raw == "json":
        return client.post(url, json=dict(body))
    if raw == "garbage":
        return client.post(url, data=b"\xff\xfe%%%&&==" + encode(body),
                           content_type="application/x-www-form-urlencoded")
    if raw == "huge":
        return client.post(url, data=encode(body + [("q_COMMENT", "x" * 70_000)]),
                           content_type="application/x-www-form-urlencoded")
    return client.post(url, data=encode(body), content_type="application/x-www-form-urlencoded")


def _latest(app):
    with app.app_context():
        response = db.session.scalar(select(Response).order_by(Response.id.desc()))
        answers = db.session.scalar(select(func.count()).select_from(Answer).where(Answer.response_id == response.id))
        questions = set(db.session.scalars(select(Question.id).where(
            Question.version_id == response.survey_version_id)))
        foreign = db.session.scalar(select(func.count()).select_from(Answer).where(
            Answer.response_id == response.id, Answer.question_id.not_in(questions)))
        result = response.unit_id, response.counter_id, answers, foreign
        db.session.remove()
        return result


def test_fuzzed_citizen_posts_store_one_response_or_nothing(app, client, counter, no_limits):
    hidden = open_form(client, counter.url)

    @FUZZ
    @given(case=citizen_bodies(hidden))
    def check(case):
        body, query, raw = case
        before = last_state(app)
        response = _send(client, counter.url + query, body, raw)
        assert_no_server_error(response, repr(case)[:500])
        after = snapshot(app)
        if response.status_code == 303:
            stored = after["response"][0] - before["response"][0]
            assert stored in (0, 1)
            if stored:
                unit_id, counter_id, answers, foreign = _latest(app)
                assert (unit_id, counter_id) == (counter.unit_id, counter.id)
                assert answers == after["answer"][0] - before["answer"][0] and answers >= len(REQUIRED_CODES)
                assert foreign == 0
        else:
            assert response.status_code in (400, 409, 413, 415, 422), response.status_code
            assert changed_tables(before, after) == []
            if response.status_code in (409, 422) and raw == "form":
                # The form comes back: same page, answers kept, a fresh or the same key.
                assert 'name="idem"' in response.get_data(as_text=True)

    check()


PATH_PREFIXES = ["/s/", "/s/", "/q/", "/", "/quan-tri/", "/quan-ly/", "/api/v1/", "/dang-nhap/", "/static/"]


@st.composite
def random_requests(draw, good_token: str):
    prefix = draw(st.sampled_from(PATH_PREFIXES))
    tail = draw(st.one_of(
        TEXT.map(lambda t: t.replace("?", "%3F").replace("#", "%23")),
        st.just(good_token[:-1] + ("A" if good_token[-1] != "A" else "B")),  # one character off
        st.just(good_token + "." + good_token.split(".")[-1]),
        st.just(good_token + "/cam-on"),
        st.from_regex(r"[A-Za-z0-9_.\-]{1,120}", fullmatch=True),
    ))
    method = draw(st.sampled_from(["GET", "GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "PATCH"]))
    query = draw(st.one_of(st.just(""), TEXT.map(lambda t: "?" + t.replace("#", "%23"))))
    # Known, left to its owner: test_fuzz_officials.test_options_on_officials_home_is_not_a_server_error.
    assume(not (method == "OPTIONS" and prefix == "/quan-ly/"))
    return method, prefix + tail + query


def test_fuzzed_tokens_and_paths_never_fail_or_write(app, client, counter, no_limits):
    @FUZZ
    @given(request=random_requests(counter.token))
    def check(request):
        method, path = request
        before = last_state(app)
        response = client.open(path, method=method, data=b"q_A1_1=4" if method == "POST" else None)
        after = snapshot(app)
        assert_no_server_error(response, f"{method} {path!r}")
        assert changed_tables(before, after) == []

    check()


def test_tricky_values_cover_nul_and_long_text():
    # The shared alphabet is what finds NUL bytes and oversized names: keep them in it.
    examples = set(TRICKY.wrapped_strategy.elements) if hasattr(TRICKY, "wrapped_strategy") else set(TRICKY.elements)
    assert "\x00" in examples and any(len(e) > 255 for e in examples)


# ---------------------------------------------------------------- found by fuzzing

def test_huge_version_number_is_refused_without_a_server_error(app, client, counter):
    # Found by the fuzzer on PostgreSQL: 20 digits in the hidden version field overflowed the
    # INTEGER key when it was looked up (DataError, a 500). The public form now range-checks it and
    # re-shows the form; survey/errors.py turns any DataError into a 400 page, never a 500.
    data = {**open_form(client, counter.url), "q_COMMENT": "Giữ lại nhé", "version": "9" * 20}
    response = client.post(counter.url, data=data)
    html = response.get_data(as_text=True)
    assert response.status_code in (400, 422) and "Traceback" not in html
    if response.status_code == 422:
        assert "Giữ lại nhé</textarea>" in html
