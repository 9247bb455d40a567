"""The citizen hot path: the cached empty form, the quick check of submissions, the limit counts.

Each shortcut is compared with the slow path it replaces (a full render, the WTForms form), so
the shortcut can only be faster, never different.
"""
from __future__ import annotations

import re
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from forms.citizen import build_citizen_form, field_name
from survey.catalog.instrument import SIPAS_STANDING, publish_questions
from survey.catalog.question_bank import DEMOGRAPHICS
from survey.extensions import db, limiter
from survey.intake import pages
from survey.intake.answers import collect, drop_demographics_without_consent, quick_check
from survey.intake.place import VersionRef, version_info
from survey.models import Counter, Response, Survey, SurveyVersion, Unit
from survey.public.form_page import FIELDS, question_views
from tests.conftest import full_answers, hidden_fields, open_form

TOKEN_VALUES = re.compile(r'(name="(?:csrf_token|idem)"[^>]*value=")[^"]*(")')


def without_tokens(html: str) -> str:
    return TOKEN_VALUES.sub(r"\1…\2", html)


def stored(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Response))


def test_cached_form_is_the_full_render_with_fresh_tokens(app, client, counter):
    first = client.get(counter.url).get_data(as_text=True)
    second = client.get(counter.url).get_data(as_text=True)  # from the cache
    app.extensions["citizen_pages"].clear()
    rendered = client.get(counter.url).get_data(as_text=True)  # rendered anew
    assert without_tokens(first) == without_tokens(second) == without_tokens(rendered)
    assert "@@" not in second
    keys = [hidden_fields(page)["idem"] for page in (first, second, rendered)]
    assert len(set(keys)) == 3 and all(re.fullmatch(r"[0-9a-f]{32}", k) for k in keys)
    # Each served token is this session's own and works once posted.
    assert client.post(counter.url, data={**hidden_fields(second), **full_answers()}).status_code == 303


def test_each_phone_gets_its_own_csrf_token_from_the_cached_form(app, counter):
    tokens = set()
    for _ in range(3):
        phone = app.test_client()
        tokens.add(hidden_fields(phone.get(counter.url).get_data(as_text=True))["csrf_token"])
    assert len(tokens) == 3
    # A token served to one phone is refused from another (the form is re-shown, nothing stored).
    one, other = app.test_client(), app.test_client()
    fields = hidden_fields(one.get(counter.url).get_data(as_text=True))
    other.get(counter.url)
    response = other.post(counter.url, data={**fields, **full_answers()})
    assert response.status_code == 422 and "Phiên làm việc đã hết hạn" in response.get_data(as_text=True)
    assert stored(app) == 0


def test_languages_are_cached_apart(client, counter):
    for _ in range(2):
        vi = client.get(counter.url).get_data(as_text=True)
        en = client.get(counter.url + "?lang=en").get_data(as_text=True)
        assert '<html lang="vi">' in vi and "Rất hài lòng" in vi and "Very satisfied" not in vi
        assert '<html lang="en">' in en and "Very satisfied" in en and "Rất hài lòng</span>" not in en


def test_counter_and_unit_names_are_per_request_and_escaped(app, client, counter):
    client.get(counter.url)  # cached
    with app.app_context():
        c = db.session.get(Counter, counter.id)
        c.name = "Quầy <b>số 1</b> & \"hồ sơ\""
        db.session.get(Unit, c.unit_id).name = "Phường Đồng Tiến"
        other = db.session.scalars(select(Counter).where(Counter.id != counter.id)).first()
        other_url = counter.url.replace(counter.token, "")  # filled below
        from survey.intake.tokens import make_token

        survey_id = db.session.scalar(select(Survey.id).where(Survey.code == "SIPAS"))
        other_url = "/s/" + make_token(other.id, survey_id, other.token_version)
        other_name = other.name
        db.session.commit()
    html = client.get(counter.url).get_data(as_text=True)
    assert "Quầy &lt;b&gt;số 1&lt;/b&gt; &amp; &#34;hồ sơ&#34;" in html and "<b>số 1" not in html
    assert "Phường Đồng Tiến · Quầy" in html
    assert other_name in client.get(other_url).get_data(as_text=True)


def test_new_questions_replace_the_cached_form(app, client, counter):
    import dataclasses

    assert client.post(counter.url, data={**open_form(client, counter.url), **full_answers()}).status_code == 303
    old = client.get(counter.url).get_data(as_text=True)  # version 1, frozen, cached
    with app.app_context():
        survey = db.session.scalar(select(Survey).where(Survey.code == "SIPAS"))
        specs = list(SIPAS_STANDING)
        specs[0] = dataclasses.replace(specs[0], text_vi="Dễ tìm nơi làm thủ tục")
        v2 = publish_questions(survey, specs)
        db.session.commit()
        v2_id = v2.id
    new = client.get(counter.url).get_data(as_text=True)
    assert "Dễ tìm nơi làm thủ tục" not in old and "Dễ tìm nơi làm thủ tục" in new
    assert hidden_fields(new)["version"] == str(v2_id)


def test_an_unfrozen_version_edited_in_place_is_not_served_stale(app, client, counter):
    import dataclasses

    before = client.get(counter.url).get_data(as_text=True)  # version 1, not frozen yet
    with app.app_context():
        survey = db.session.scalar(select(Survey).where(Survey.code == "SIPAS"))
        specs = list(SIPAS_STANDING)
        specs[0] = dataclasses.replace(specs[0], text_vi="Câu hỏi sửa tại chỗ")
        version = publish_questions(survey, specs)
        db.session.commit()
        assert version.number == 1 and not version.frozen  # same id, new questions
    after = client.get(counter.url).get_data(as_text=True)
    assert "Câu hỏi sửa tại chỗ" not in before and "Câu hỏi sửa tại chỗ" in after
    assert hidden_fields(before)["version"] == hidden_fields(after)["version"]


def test_survey_title_change_shows_at_once(app, client, counter):
    client.get(counter.url)
    with app.app_context():
        db.session.scalar(select(Survey).where(Survey.code == "SIPAS")).title_vi = "Khảo sát mới"
        db.session.commit()
    assert "<h1>Khảo sát mới</h1>" in client.get(counter.url).get_data(as_text=True)


def test_frozen_questions_are_read_once(app, client, counter):
    assert client.post(counter.url, data={**open_form(client, counter.url), **full_answers()}).status_code == 303
    client.get(counter.url)
    with app.app_context():
        version = db.session.scalar(select(SurveyVersion))
        assert version.frozen
        cache = app.extensions["citizen_versions"]
        assert list(cache) == [(version.id, version.created_at)]


# Quick check against the WTForms form, on generated submissions. A standing version and one with
# every question type (choice, multi, text, demographics behind consent).

def _campaign_version(app) -> VersionRef:

    from survey.catalog.instrument import QuestionSpec

    with app.app_context():
        survey = Survey(code="QC", title_vi="Kiểm tra", kind="thematic", status="open",
                        collects_demographics=True)
        db.session.add(survey)
        db.session.flush()
        specs = [
            QuestionSpec("A1.1", "A1", "Dễ tìm", "Easy", required=True, allows_na=True),
            QuestionSpec("B1.1", "B1", "Thông tin", "Info", type="yesno", required=False, allows_na=True),
            QuestionSpec("C1", "C", "Chọn", "Pick", type="choice", required=True,
                         choices=((("value", "a"), ("vi", "A"), ("en", "A")),
                                  (("value", "b"), ("vi", "B"), ("en", "B")))),
            QuestionSpec("C2", "C", "Nhiều", "Many", type="multi", required=False,
                         choices=((("value", "x"), ("vi", "X"), ("en", "X")),
                                  (("value", "y"), ("vi", "Y"), ("en", "Y")),
                                  (("value", "z"), ("vi", "Z"), ("en", "Z")))),
            QuestionSpec("C3", None, "Viết", "Write", type="text", required=True, max_length=20),
            QuestionSpec("COMMENT", None, "Ý kiến", "Comment", type="text", required=False, max_length=30),
            *DEMOGRAPHICS,
        ]
        version = publish_questions(survey, specs)
        db.session.commit()
        return VersionRef(version.id, survey.id, False, version.created_at)


VALUE = st.one_of(
    st.sampled_from(["1", "2", "3", "4", "5", "0", "6", "na", "a", "b", "x", "y", "z", "", " ", " 4", "4 ",
                     "abc", "٤", "ab.12", "H12.34-2026", "  H12.34-2026  ", "\n", "na "]),
    st.text(max_size=40),
)


def _valid_values(q) -> list:
    if q.type == "likert5":
        return list("12345") + (["na"] if q.allows_na else [])
    if q.type == "yesno":
        return ["1", "0"] + (["na"] if q.allows_na else [])
    if q.type in ("choice", "multi"):
        return list(q.choice_values)
    return ["Tốt", "  có khoảng trắng  ", "na", "x" * (q.max_length or 1000)]


@st.composite
def posted(draw, questions):
    """A complete, valid submission, then up to three things changed: where the paths could differ."""
    data = MultiDict()
    data.add("idem", uuid.uuid4().hex)
    data.add("version", "7")
    for q in questions:
        if q.required or draw(st.booleans()):
            values = _valid_values(q)
            if q.type == "multi":
                for v in draw(st.lists(st.sampled_from(values), min_size=1, max_size=len(values), unique=True)):
                    data.add(field_name(q.code), v)
            else:
                data.add(field_name(q.code), draw(st.sampled_from(values)))
    if draw(st.booleans()):
        data.add("service_field", draw(st.sampled_from(["", "ho-tich", "dat-dai"])))
    if draw(st.booleans()):
        data.add("dossier_code", draw(st.sampled_from(["", "H12.34-2026-00789", " ab_12 "])))
    names = [field_name(q.code) for q in questions] + ["idem", "version", "service_field", "dossier_code"]
    for _ in range(draw(st.integers(0, 3))):
        name = draw(st.sampled_from(names))
        action = draw(st.sampled_from(["set", "set", "delete", "add"]))
        value = draw(st.one_of(
            st.sampled_from(["6", "0", "na", "", " 4", "4 ", "b", "٤", "1;2"]),  # near misses
            VALUE,
            st.sampled_from(["nuclear", uuid.uuid4().hex + "\n", "A" * 32, "12345678901", "x" * 21,
                             "x" * 31, "x" * 1001, "ab", "H12/34"]),
        ))
        if action == "delete":
            data.poplist(name)
        elif action == "add":
            data.add(name, value)
        else:
            data.setlist(name, [value])
    return data


outcomes: list[tuple[bool, bool]] = []  # (quick check accepted, form accepted), for the count below


def _compare(app, ref: VersionRef, data: MultiDict) -> None:
    with app.test_request_context(method="POST", data=data):
        version = version_info(ref)
        quick = quick_check(data, version)
        form = build_citizen_form(question_views(version, "vi"), FIELDS["vi"], formdata=data, meta={"csrf": False})
        drop_demographics_without_consent(form, version)
        valid = form.validate()
        outcomes.append((quick is not None, valid))
        if quick is None:
            return  # the form decides, as before
        assert valid, form.errors  # the quick check never accepts what the form refuses …
        assert quick.answers == collect(form, version)  # … and stores exactly the same values
        assert quick.idempotency_key == form.idem.data
        assert quick.service_field == (form.service_field.data or None)
        assert quick.dossier_code == (form.dossier_code.data or None)


def _standing_ref(app) -> VersionRef:
    with app.app_context():
        v = db.session.scalar(select(SurveyVersion))
        return VersionRef(v.id, v.survey_id, False, v.created_at)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_quick_check_agrees_with_the_form_on_the_standing_survey(app, data):
    ref = _standing_ref(app)
    with app.app_context():
        questions = version_info(ref).questions
    _compare(app, ref, data.draw(posted(questions)))


@pytest.fixture
def campaign_ref(app) -> VersionRef:
    return _campaign_version(app)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_quick_check_agrees_with_the_form_on_every_question_type(app, campaign_ref, data):
    with app.app_context():
        questions = version_info(campaign_ref).questions
    _compare(app, campaign_ref, data.draw(posted(questions)))


NEAR_MISSES = ["6", "0", "1", "2", "na", "", " ", " 4", "4 ", "a", "b", "x", "ab", "٤", "1;2", "x" * 21,
               "x" * 31, "x" * 1001, "H12.34-2026", " H12.34 ", "H12/34\n", "nuclear", "ho-tich",
               uuid.uuid4().hex, uuid.uuid4().hex + "\n", "A" * 32, "12345678901", "7", None]


@pytest.mark.parametrize("which", ["standing", "campaign"])
def test_quick_check_agrees_with_the_form_on_every_single_change(app, which):
    ref = _standing_ref(app) if which == "standing" else _campaign_version(app)
    with app.app_context():
        questions = version_info(ref).questions
    base = MultiDict({"idem": uuid.uuid4().hex, "version": "7", "q_CONSENT": "1"})
    for q in questions:
        base.add(field_name(q.code), _valid_values(q)[0])
    names = [field_name(q.code) for q in questions] + ["idem", "version", "service_field", "dossier_code"]
    for name in names:
        for value in NEAR_MISSES:
            for extra in (False, True):
                body = base.copy()
                if value is None:
                    body.poplist(name)
                elif extra:
                    body.add(name, value)
                else:
                    body.setlist(name, [value])
                _compare(app, ref, body)


def test_generated_submissions_exercised_both_outcomes():
    # Guards the two tests above: had the generator produced only refusals, they proved nothing.
    assert sum(1 for quick, _ in outcomes if quick) >= 100
    assert sum(1 for quick, valid in outcomes if not quick and not valid) >= 100


def test_quick_check_accepts_the_usual_submission(app):
    ref = _standing_ref(app)
    body = MultiDict({**full_answers(), "idem": uuid.uuid4().hex, "version": str(ref.id),
                      "q_COMMENT": "  Tốt  ", "q_A5_1": "na", "service_field": "ho-tich",
                      "dossier_code": " H12.34-2026-00789 "})
    with app.test_request_context(method="POST", data=body):
        checked = quick_check(body, version_info(ref))
    assert checked is not None and len(checked.answers) == 18
    assert checked.dossier_code == "H12.34-2026-00789" and checked.service_field == "ho-tich"
    assert any(a.value_text == "Tốt" for a in checked.answers) and any(a.na for a in checked.answers)


# Submission limits on Redis (production's storage), counted by survey/security.py.

def statuses(app) -> list[tuple[str, str | None]]:
    with app.app_context():
        return [tuple(r) for r in db.session.execute(select(Response.status, Response.flags).order_by(Response.id))]


def test_limits_on_redis_count_stored_submissions_only(app, client, counter, redis_limits):
    app.config["SUBMIT_LIMIT_PER_CLIENT"] = "3 per minute"
    assert client.post(counter.url, data=open_form(client, counter.url)).status_code == 422  # not counted
    fields = open_form(client, counter.url)
    codes = [client.post(counter.url, data={**fields, **full_answers()}).status_code]
    codes.append(client.post(counter.url, data={**fields, **full_answers()}).status_code)  # double tap
    for _ in range(3):
        codes.append(client.post(counter.url, data={**open_form(client, counter.url), **full_answers()}).status_code)
    assert codes == [303] * 5  # never refused: the fourth is stored quarantined
    assert statuses(app) == [("counted", None)] * 3 + [("quarantined", "limit-client")]
    connection = redis_limits.get_connection()
    keys = {k.decode().split(":", 1)[1].split("/", 1)[0] + "/" + k.decode().rsplit("/", 2)[1]: k
            for k in connection.keys(redis_limits.prefixed_key("submit-*"))}
    assert sorted(keys) == ["submit-address/300", "submit-client/3",
                            "submit-counter/1000", "submit-counter/120"]
    # The quarantined one took a place only in its address's flood windows.
    assert int(connection.get(keys["submit-client/3"])) == 3 and 0 < connection.ttl(keys["submit-client/3"]) <= 60
    assert int(connection.get(keys["submit-counter/120"])) == 3
    assert 0 < connection.ttl(keys["submit-counter/120"]) <= 3600
    assert int(connection.get(keys["submit-address/300"])) == 4
    assert f"/c{counter.id}/" in keys["submit-counter/120"].decode()  # the counter id, not the URL text
    another_phone = {"User-Agent": "Another phone"}
    hidden = open_form(client, counter.url)
    assert client.post(counter.url, data={**hidden, **full_answers()}, headers=another_phone).status_code == 303
    assert statuses(app)[-1] == ("counted", None)


def test_counter_limit_on_redis_holds_across_phones(app, client, counter, redis_limits):
    app.config["SUBMIT_LIMIT_PER_COUNTER"] = "2 per minute"
    codes = []
    for phone in range(4):
        hidden = open_form(client, counter.url)
        codes.append(client.post(counter.url, data={**hidden, **full_answers()},
                                 headers={"User-Agent": f"Phone {phone}"}).status_code)
    assert codes == [303] * 4
    assert statuses(app) == [("counted", None)] * 2 + [("quarantined", "limit-counter")] * 2


def test_flood_on_redis_is_refused_with_the_answers_kept(app, client, counter, redis_limits):
    app.config["SUBMIT_FLOOD_LIMIT"] = "2 per minute"
    for phone in range(2):
        hidden = open_form(client, counter.url)
        assert client.post(counter.url, data={**hidden, **full_answers()},
                           headers={"User-Agent": f"Phone {phone}"}).status_code == 303
    hidden = open_form(client, counter.url)
    refused = client.post(counter.url, data={**hidden, **full_answers("2"), "q_COMMENT": "Giữ lại nhé"},
                          headers={"User-Agent": "Phone 9"})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 429 and 0 < int(refused.headers["Retry-After"]) <= 60
    assert "Giữ lại nhé</textarea>" in html and 'value="2" checked' in html
    assert stored(app) == 2


def test_on_redis_a_rule_quarantined_submission_gives_back_its_counter_place(app, client, counter, redis_limits,
                                                                            monkeypatch):
    app.config["SUBMIT_LIMIT_PER_COUNTER"] = "1 per minute"
    monkeypatch.setattr("survey.public.views.flags_of", lambda record: ["burst"])
    hidden = open_form(client, counter.url)
    assert client.post(counter.url, data={**hidden, **full_answers()}).status_code == 303
    monkeypatch.setattr("survey.public.views.flags_of", lambda record: [])
    for phone in range(2):
        hidden = open_form(client, counter.url)
        assert client.post(counter.url, data={**hidden, **full_answers()},
                           headers={"User-Agent": f"Phone {phone}"}).status_code == 303
    assert statuses(app) == [("quarantined", "burst"), ("counted", None), ("quarantined", "limit-counter")]


def test_a_failing_limit_store_does_not_lose_answers(app, client, counter, monkeypatch):
    from limits.storage import RedisStorage

    monkeypatch.setattr(limiter, "_storage", RedisStorage("redis://127.0.0.1:1/0"))  # nothing listens
    response = client.post(counter.url, data={**open_form(client, counter.url), **full_answers()})
    assert response.status_code == 303 and stored(app) == 1


def test_page_pieces_are_escaped_and_markers_never_leak():
    html = f"<p>{pages.MARKERS['unit']} · {pages.MARKERS['counter']}</p><i>{pages.MARKERS['csrf']}</i>"
    page = pages.Page.cut(html)
    out = page.fill(unit="A & B", counter="<x>", csrf="t.o-k_en", idem="unused")
    assert out == "<p>A &amp; B · &lt;x&gt;</p><i>t.o-k_en</i>"
