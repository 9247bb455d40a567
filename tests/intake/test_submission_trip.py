"""Issue 15 item 5, the cheaper submission: what each saving must not weaken.

- the limits and the stuffing signals in one Redis round trip (security.take_submission_slot with
  a signals Recording): the limit still applies, every signal is still recorded, a flood records
  nothing;
- a POST without a counter lookup of its own (the worker's last lookup, re-checked in the storing
  statement): a counter retired, rotated or moved, or a survey closed or switched to the short
  form since, is handled exactly as by a fresh lookup, on SQLite and PostgreSQL;
- the citizen form's CSRF without the session (survey/intake/citizen_csrf.py);
- answer arrays written as PostgreSQL literals: every text survives.
"""
from __future__ import annotations

import time
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select, update

from forms.citizen import clean_text
from survey.extensions import db, limiter
from survey.intake import citizen_csrf, responses
from survey.intake.citizen_csrf import CITIZEN_CSRF_COOKIE
from survey.models import Answer, Counter, Response, Survey
from survey.review.signals import SubmissionContext, flags_of, recording
from survey.security import Flooded, take_submission_slot
from tests.conftest import full_answers, hidden_fields, open_form

MORNING = datetime(2026, 11, 24, 2, 0, tzinfo=timezone.utc)  # a Tuesday, 09:00 in Vietnam


def stored(app) -> list[tuple]:
    with app.app_context():
        return [tuple(r) for r in db.session.execute(
            select(Response.status, Response.flags, Response.unit_id).order_by(Response.id))]


def post(client, url, answers=None, **kwargs):
    return client.post(url, data={**open_form(client, url), **(answers or full_answers())}, **kwargs)


def context(counter: int = 1, client: str | None = "phone", fp: str = "same") -> SubmissionContext:
    return SubmissionContext(counter_id=counter, unit_id=10, survey_id=1, client_hash=client,
                             answers_fingerprint=fp, now=MORNING)


# -- one round trip: limits and signals ------------------------------------------------------------

@pytest.mark.parametrize("storage", ["memory", "redis"])
def test_one_trip_applies_the_limit_and_records_every_signal(app, storage, request):
    if storage == "redis":
        request.getfixturevalue("redis_limits")
    app.config.update(SUBMIT_LIMIT_PER_COUNTER="3 per minute", SIGNAL_IDENTICAL_RUN=4, SIGNAL_BURST_COUNT=4,
                      SIGNAL_SAME_CLIENT_PER_COUNTER=100, SIGNAL_SAME_CLIENT_PER_DAY=100)
    seen = []
    with app.test_request_context("/s/x", environ_base={"REMOTE_ADDR": "10.1.1.1"}):
        for _ in range(5):
            record = recording(context())
            slot = take_submission_slot("c1", record)
            seen.append((slot.flags, record.counts, tuple(flags_of(record))))
    assert [s[0] for s in seen] == [()] * 3 + [("limit-counter",)] * 2  # the limit still applies
    assert [s[1] for s in seen] == [(n, n, n, n) for n in range(1, 6)]  # every signal recorded
    assert [s[2] for s in seen] == [()] * 3 + [("identical-run",), ("burst", "identical-run")]


@pytest.mark.parametrize("storage", ["memory", "redis"])
def test_a_flooded_submission_is_refused_before_any_signal_is_recorded(app, storage, request):
    if storage == "redis":
        request.getfixturevalue("redis_limits")
    app.config["SUBMIT_FLOOD_LIMIT"] = "1 per minute"
    with app.test_request_context("/s/x", environ_base={"REMOTE_ADDR": "10.1.1.2"}):
        first = recording(context())
        take_submission_slot("c1", first)
        flooded = recording(context())
        with pytest.raises(Flooded):
            take_submission_slot("c1", flooded)
        assert flooded.counts is None
        app.config["SUBMIT_FLOOD_LIMIT"] = "100 per minute"
        after = recording(context())
        take_submission_slot("c1", after)
    assert first.counts == (1, 1, 1, 1) and after.counts == (2, 2, 2, 2)  # the flooded one left no trace


def _count_commands(monkeypatch) -> list:
    """Every command any Redis connection sends from now on (every path ends in send_command)."""
    from redis.connection import AbstractConnection

    calls = []
    real = AbstractConnection.send_command

    def counting(self, *args, **kwargs):
        calls.append(args[0])
        return real(self, *args, **kwargs)

    monkeypatch.setattr(AbstractConnection, "send_command", counting)
    return calls


def test_a_submission_costs_one_redis_round_trip(app, client, counter, redis_limits, monkeypatch):
    assert post(client, counter.url).status_code == 303  # the script is loaded now
    fields = open_form(client, counter.url)
    calls = _count_commands(monkeypatch)
    assert client.post(counter.url, data={**fields, **full_answers()}).status_code == 303
    assert calls == ["EVALSHA"]
    assert stored(app) == [("counted", None, counter.unit_id)] * 2


def test_a_server_that_forgot_the_script_is_sent_it_again(app, client, counter, redis_limits, monkeypatch):
    # A restarted or flushed Redis answers NOSCRIPT: the script is loaded once and the limits and
    # signals still apply to that very submission.
    app.config["SUBMIT_FLOOD_LIMIT"] = "2 per minute"
    assert post(client, counter.url).status_code == 303
    redis_limits.get_connection().script_flush()
    calls = _count_commands(monkeypatch)
    assert post(client, counter.url).status_code == 303
    assert calls == ["EVALSHA", "SCRIPT LOAD", "EVALSHA"]
    assert post(client, counter.url).status_code == 429  # counted in the flood window: 2 of 2 taken
    assert stored(app) == [("counted", None, counter.unit_id)] * 2


def test_a_dropped_redis_connection_is_replaced_and_the_submission_counted(app, client, counter, redis_limits):
    app.config["SUBMIT_FLOOD_LIMIT"] = "2 per minute"
    assert post(client, counter.url).status_code == 303
    pool = redis_limits.get_connection().connection_pool
    for conn in list(pool._available_connections):  # the server closed them (restart, timeout)
        conn._sock.close()
    assert post(client, counter.url).status_code == 303
    assert post(client, counter.url).status_code == 429
    assert stored(app) == [("counted", None, counter.unit_id)] * 2


def test_the_storage_down_loses_no_answers_and_skips_only_the_storage_rules(app, client, counter, monkeypatch,
                                                                             caplog):
    from limits.storage import RedisStorage

    monkeypatch.setattr(limiter, "_storage", RedisStorage("redis://127.0.0.1:1/0"))  # nothing listens
    assert post(client, counter.url).status_code == 303
    assert stored(app) == [("counted", None, counter.unit_id)]
    assert "submission limits unavailable" in caplog.text and "submission signals unavailable" in caplog.text


# -- the POST's place, re-checked as it is stored -----------------------------------------------

def _warm(client, counter) -> dict:
    """A form opened (the worker now knows the counter), answered."""
    return {**open_form(client, counter.url), **full_answers()}


def _counter(app, counter, **values) -> None:
    with app.app_context():
        db.session.execute(update(Counter).where(Counter.id == counter.id).values(**values))
        db.session.commit()


def _survey(app, **values) -> None:
    with app.app_context():
        db.session.execute(update(Survey).where(Survey.kind == "standing").values(**values))
        db.session.commit()


def test_a_counter_retired_after_the_form_opened_is_refused_at_post(app, client, counter):
    fields = _warm(client, counter)
    _counter(app, counter, active=False)
    refused = client.post(counter.url, data=fields)
    assert refused.status_code == 410 and stored(app) == []
    _counter(app, counter, active=True)
    assert client.post(counter.url, data=fields).status_code == 303  # nothing cached the refusal
    assert stored(app) == [("counted", None, counter.unit_id)]


def test_a_rotated_qr_code_and_a_closed_survey_are_refused_at_post(app, client, counter):
    fields = _warm(client, counter)
    _counter(app, counter, token_version=Counter.token_version + 1)
    replaced = client.post(counter.url, data=fields)
    assert replaced.status_code == 410 and stored(app) == []
    _counter(app, counter, token_version=Counter.token_version - 1)
    _survey(app, closes_at=datetime.now(timezone.utc) - timedelta(minutes=1))
    assert client.post(counter.url, data=fields).status_code == 410 and stored(app) == []
    _survey(app, closes_at=None, status="closed")
    assert client.post(counter.url, data=fields).status_code == 410 and stored(app) == []


def test_a_counter_moved_to_another_unit_stores_under_the_new_unit(app, client, counter):
    fields = _warm(client, counter)
    with app.app_context():
        other = db.session.scalar(select(Counter.unit_id).where(Counter.unit_id != counter.unit_id).limit(1))
    _counter(app, counter, unit_id=other)
    assert client.post(counter.url, data=fields).status_code == 303
    assert stored(app) == [("counted", None, other)]


def test_a_survey_switched_to_the_short_form_stores_only_its_questions(app, client, counter):
    fields = _warm(client, counter)
    _survey(app, short_form=True)
    assert client.post(counter.url, data=fields).status_code == 303
    with app.app_context():
        answers = db.session.scalar(select(func.count()).select_from(Answer))
    assert answers < len(full_answers())  # one item per component and the overall question


def test_the_recheck_is_part_of_the_store_on_both_databases(app, counter):
    """store() itself: a stale CounterCheck stores nothing and says so; a current one stores."""
    from survey.intake.place import VersionRef
    from survey.models import SurveyVersion

    with app.app_context():
        version = db.session.scalar(select(SurveyVersion).order_by(SurveyVersion.id))
        ref = VersionRef(version.id, version.survey_id, False, version.created_at)
        token_version = db.session.get(Counter, counter.id).token_version
        answers = tuple(responses.AnswerValue(q.id, value_int=4) for q in version.questions[:3])

        def submission(check, **kwargs):
            return responses.Submission(version=ref, unit_id=counter.unit_id, counter_id=counter.id, channel="qr",
                                        idempotency_key=uuid.uuid4().hex, answers=answers, recheck=check, **kwargs)

        for stale in (responses.CounterCheck(token_version + 1, False), responses.CounterCheck(token_version, True)):
            with pytest.raises(responses.PlaceChanged):
                responses.store(submission(stale))
        with pytest.raises(ValueError):
            responses.store(submission(responses.CounterCheck(token_version, False), dossier_code="HS-001"))
        assert db.session.scalar(select(func.count()).select_from(Response)) == 0
        assert responses.store(submission(responses.CounterCheck(token_version, False))).created
        db.session.execute(update(Counter).where(Counter.id == counter.id).values(active=False))
        db.session.commit()
        with pytest.raises(responses.PlaceChanged):
            responses.store(submission(responses.CounterCheck(token_version, False)))
        assert db.session.scalar(select(func.count()).select_from(Response)) == 1


# One rule for both paths: place.counter_opens_clause decides whether a fresh lookup opens the
# form, and place.COUNTER_UNCHANGED (that rule plus "as cached") gates the store. Each change of
# place after a form was opened is put through both, at one fixed time, on both databases.
NOW = datetime.now(timezone.utc).replace(microsecond=0)
CHANGES = {  # change -> (counter values, survey values, the form still opens as cached)
    "none": ({}, {}, True),
    "counter retired": ({"active": False}, {}, False),
    "QR code rotated": ({"token_version": Counter.token_version + 1}, {}, False),
    "counter moved": ({"unit_id": "other"}, {}, False),
    "survey closed": ({}, {"status": "closed"}, False),
    "survey back to draft": ({}, {"status": "draft"}, False),
    "opens later": ({}, {"opens_at": NOW + timedelta(seconds=1)}, False),
    "opens this instant": ({}, {"opens_at": NOW}, True),
    "closed this instant": ({}, {"closes_at": NOW}, False),
    "closes later": ({}, {"closes_at": NOW + timedelta(seconds=1)}, True),
    "ended": ({}, {"closes_at": NOW - timedelta(days=1)}, False),
    "switched to the short form": ({}, {"short_form": True}, False),
}


@pytest.mark.parametrize("change", list(CHANGES))
def test_the_lookup_and_the_store_judge_every_change_of_place_alike(app, counter, change):
    from survey.intake.place import lookup_counter
    from survey.intake.tokens import CounterToken
    from survey.models import SurveyVersion

    counter_values, survey_values, opens = CHANGES[change]
    with app.app_context():
        survey = db.session.scalar(select(Survey).where(Survey.kind == "standing"))
        token = CounterToken(counter.id, survey.id, db.session.get(Counter, counter.id).token_version)
        cached = lookup_counter(token, NOW)  # what a worker knew when the form opened
        assert cached.opens and cached.survey is not None and cached.counter is not None
        if counter_values.get("unit_id") == "other":
            counter_values = {"unit_id": db.session.scalar(
                select(Counter.unit_id).where(Counter.unit_id != counter.unit_id).limit(1))}
        if counter_values:
            db.session.execute(update(Counter).where(Counter.id == counter.id).values(**counter_values))
        if survey_values:
            db.session.execute(update(Survey).where(Survey.id == survey.id).values(**survey_values))
        db.session.commit()

        fresh = lookup_counter(token, NOW)  # the path that opens a form
        assert fresh.counter is not None and fresh.unit is not None and fresh.survey is not None
        fresh_says = (fresh.opens and fresh.counter.token_version == token.token_version
                      and fresh.unit.id == counter.unit_id and fresh.survey.short_form == cached.survey.short_form)

        version = db.session.scalar(select(SurveyVersion).where(SurveyVersion.survey_id == survey.id)
                                    .order_by(SurveyVersion.number.desc()))
        ref = type(cached.version)(version.id, version.survey_id, version.frozen, version.created_at)
        submission = responses.Submission(
            version=ref, unit_id=counter.unit_id, counter_id=counter.id, channel="qr",
            idempotency_key=uuid.uuid4().hex,
            answers=(responses.AnswerValue(version.questions[0].id, value_int=4),),
            recheck=responses.CounterCheck(token.token_version, cached.survey.short_form))
        try:
            store_says = responses.store(submission, NOW).created  # the path that stores from the cache
        except responses.PlaceChanged:
            store_says = False
        stored_rows = db.session.scalar(select(func.count()).select_from(Response))
    assert fresh_says == store_says == opens
    assert stored_rows == int(opens)


def test_the_survey_open_rule_in_sql_is_survey_is_open(app, counter):
    """survey_is_open (an ORM Survey, links and officials' pages) and place.survey_open_clause (the
    citizen lookups and the store's gate) agree on every status and every edge of the dates."""
    from survey.intake.place import lookup_counter
    from survey.intake.tokens import CounterToken
    from survey.models.surveys import survey_is_open

    moments = (None, NOW - timedelta(days=1), NOW - timedelta(microseconds=1), NOW, NOW + timedelta(seconds=1))
    with app.app_context():
        survey = db.session.scalar(select(Survey).where(Survey.kind == "standing"))
        token = CounterToken(counter.id, survey.id, db.session.get(Counter, counter.id).token_version)
        for status in ("open", "closed", "draft"):
            for opens_at in moments:
                for closes_at in moments:
                    db.session.execute(update(Survey).where(Survey.id == survey.id).values(
                        status=status, opens_at=opens_at, closes_at=closes_at))
                    db.session.commit()
                    found = lookup_counter(token, NOW)
                    expected = survey_is_open(status, opens_at, closes_at, NOW)
                    assert found.survey_open == expected, (status, opens_at, closes_at)
                    assert found.opens == expected  # the counter is active


# -- the citizen form's CSRF -------------------------------------------------------------------

def test_a_citizen_gets_a_csrf_cookie_once_and_no_session(app, client, counter):
    first = client.get(counter.url)
    cookies = first.headers.getlist("Set-Cookie")
    assert len(cookies) == 1 and cookies[0].startswith(CITIZEN_CSRF_COOKIE + "=")
    assert "HttpOnly" in cookies[0] and "SameSite=Lax" in cookies[0]
    again = client.get(counter.url)
    assert again.headers.getlist("Set-Cookie") == []  # the browser has it: no write per request
    assert client.get_cookie("session") is None


def test_a_token_from_another_browser_or_too_old_is_refused_with_the_answers_kept(app, client, counter):
    fields = {**open_form(client, counter.url), **full_answers("2"), "q_COMMENT": "Giữ nguyên"}
    stranger = app.test_client()  # no cookie, or its own
    open_form(stranger, counter.url)
    refused = stranger.post(counter.url, data=fields)
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "Giữ nguyên</textarea>" in html and stored(app) == []
    assert "Phiên làm việc đã hết hạn" in html
    # The re-shown form carries a token of this browser: sending it again stores.
    resent = stranger.post(counter.url, data={**fields, **hidden_fields(html)})
    assert resent.status_code == 303 and len(stored(app)) == 1
    with app.test_request_context(counter.url, headers={"Cookie": f"{CITIZEN_CSRF_COOKIE}={'n' * 22}"}):
        old = str(int(time.time()) - app.config["WTF_CSRF_TIME_LIMIT"] - 5)
        assert not citizen_csrf.valid(f"{old}.{citizen_csrf._mac('n' * 22, old)}")
        assert citizen_csrf.valid(citizen_csrf.token())
        assert not citizen_csrf.valid(citizen_csrf.token() + "0")
        assert not citizen_csrf.valid("١٢٣.ü")  # any text at all: refused, never an error


# -- answers as array literals -----------------------------------------------------------------

def test_every_comment_survives_the_array_literal(app, client, counter):
    texts = ['Dấu "ngoặc" và \\ gạch', "NULL", "{a,b}", "phẩy, cách  và\nxuống dòng", "'nháy đơn'"]
    for text in texts:
        assert post(client, counter.url, {**full_answers(), "q_COMMENT": text},
                    headers={"User-Agent": text[:8]}).status_code == 303
    with app.app_context():
        kept = db.session.scalars(select(Answer.value_text).where(Answer.value_text.is_not(None))
                                  .order_by(Answer.response_id)).all()
    assert kept == [clean_text(t) for t in texts]


def test_a_form_opened_before_a_key_rotation_is_still_accepted(app, client, counter):
    fields = {**open_form(client, counter.url), **full_answers()}
    old = app.config.get("WTF_CSRF_SECRET_KEY") or app.secret_key
    app.config["WTF_CSRF_SECRET_KEY"] = [old, "a-new-key-" + "x" * 32]  # survey/config.py during a rotation
    assert client.post(counter.url, data=fields).status_code == 303
    app.config["WTF_CSRF_SECRET_KEY"] = "a-new-key-" + "x" * 32  # the old key dropped
    again = {**open_form(client, counter.url), **full_answers()}
    app.config["WTF_CSRF_SECRET_KEY"] = "yet-another-key-" + "y" * 32
    assert client.post(counter.url, data=again).status_code == 422
    assert len(stored(app)) == 1
