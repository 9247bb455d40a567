"""Issue 11, the citizen write path: canonical tokens, quarantine instead of refusal, the store()
contract (links, used dossiers), coarse times, daily salts, rotation and QR keys."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from urllib.parse import quote

import pytest
from sqlalchemy import func, select

from survey.catalog.instrument import STANDING_CODE
from survey.extensions import db
from survey.intake import responses
from survey.intake.anonymity import client_hash
from survey.intake.answers import answers_fingerprint
from survey.intake.place import VersionRef, version_info
from survey.intake.responses import AnswerValue, Submission
from survey.intake.tokens import make_token, read_any_token
from survey.models import Answer, ClientSalt, Counter, DossierLink, Response, Survey, UsedDossier
from tests.conftest import full_answers, open_form


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def rows(app) -> list[tuple]:
    with app.app_context():
        return [tuple(r) for r in db.session.execute(
            select(Response.status, Response.flags, Response.counter_id).order_by(Response.id))]


def post(client, url, answers=None, **kwargs):
    return client.post(url, data={**open_form(client, url), **(answers or full_answers())}, **kwargs)


# -- canonical tokens ---------------------------------------------------------------------------

RESPELLINGS = {
    "padded": lambda t: t + "=",
    "padded twice": lambda t: t + "==",
    "accented": lambda t: t + "é",
    "shouted": lambda t: t + "!!",
    "truncated": lambda t: t[:-1],
    "extra letter": lambda t: t + "A",
    "dotted": lambda t: t + ".",
}


@pytest.mark.parametrize("how", sorted(RESPELLINGS))
def test_respelled_tokens_are_404_and_never_a_form(app, client, counter, how):
    url = "/s/" + quote(RESPELLINGS[how](counter.token), safe="")
    with app.app_context():
        assert read_any_token(RESPELLINGS[how](counter.token)) is None
    for response in (client.get(url), client.post(url, data=full_answers()), client.get(url + "/cam-on")):
        html = response.get_data(as_text=True)
        assert response.status_code == 404
        assert "Mã QR không hợp lệ" in html and "<form" not in html
    assert count(app, Response) == 0
    assert client.get(counter.url).status_code == 200  # the canonical one still opens


def test_limits_are_keyed_by_the_counter_not_the_url_text(app, client, counter):
    # Two valid spellings of one counter exist only across a QR key rotation: old and new key.
    app.config.update(SUBMIT_LIMIT_PER_COUNTER="2 per minute", QR_SIGNING_KEY="old-qr-key")
    with app.app_context():
        survey_id = db.session.scalar(select(Survey.id).where(Survey.code == STANDING_CODE))
        old = "/s/" + make_token(counter.id, survey_id, 1)
    app.config.update(QR_SIGNING_KEY="new-qr-key", QR_SIGNING_KEY_FALLBACKS="old-qr-key")
    with app.app_context():
        new = "/s/" + make_token(counter.id, survey_id, 1)
    assert old != new
    codes = [post(client, url, headers={"User-Agent": f"Phone {i}"}).status_code
             for i, url in enumerate((old, new, old, new))]
    assert codes == [303] * 4
    assert [r[:2] for r in rows(app)] == [("counted", None)] * 2 + [("quarantined", "limit-counter")] * 2


# -- store, then quarantine ---------------------------------------------------------------------

def test_over_the_limit_is_stored_quarantined_with_every_answer_and_thanked(app, client, counter):
    app.config["SUBMIT_LIMIT_PER_CLIENT"] = "1 per minute"
    extra = {"q_COMMENT": "Phiếu thứ hai", "service_field": "ho-tich"}
    assert post(client, counter.url, {**full_answers("5"), **extra}).status_code == 303
    second = post(client, counter.url, {**full_answers("2"), **extra})
    assert second.status_code == 303
    thanks = client.get(second.headers["Location"])
    assert thanks.status_code == 200 and "Cảm ơn Ông/Bà đã đánh giá!" in thanks.get_data(as_text=True)
    assert rows(app) == [("counted", None, counter.id), ("quarantined", "limit-client", counter.id)]
    with app.app_context():
        first_id, second_id = db.session.scalars(select(Response.id).order_by(Response.id)).all()
        answers = {rid: db.session.scalars(select(Answer).where(Answer.response_id == rid)).all()
                   for rid in (first_id, second_id)}
        assert len(answers[second_id]) == len(answers[first_id]) == len(full_answers()) + 1
        assert {a.value_int for a in answers[second_id] if a.value_int is not None} == {2}
        assert any(a.value_text == "Phiếu thứ hai" for a in answers[second_id])
        assert db.session.get(Response, second_id).service_field == "ho-tich"


def test_a_flood_from_one_address_is_refused_with_the_answers_kept(app, client, counter):
    app.config["SUBMIT_FLOOD_LIMIT"] = "2 per minute"
    for phone in range(2):
        assert post(client, counter.url, headers={"User-Agent": f"Phone {phone}"}).status_code == 303
    refused = post(client, counter.url, {**full_answers("3"), "q_COMMENT": "Đừng mất"},
                   headers={"User-Agent": "Phone 3"})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert "Đừng mất</textarea>" in html and 'value="3" checked' in html and "<form" in html
    assert count(app, Response) == 2
    other = post(client, counter.url, environ_base={"REMOTE_ADDR": "10.9.8.7"})
    assert other.status_code == 303 and count(app, Response) == 3


def test_signal_flags_quarantine_and_a_failing_rule_loses_nothing(app, client, counter, monkeypatch):
    seen = []

    def flags(record):
        seen.append(record.context)
        return ["burst"]

    monkeypatch.setattr("survey.public.views.flags_of", flags)
    assert post(client, counter.url).status_code == 303
    assert rows(app) == [("quarantined", "burst", counter.id)]
    ctx = seen[0]
    assert (ctx.counter_id, ctx.unit_id) == (counter.id, counter.unit_id) and len(ctx.client_hash) == 64
    assert len(ctx.answers_fingerprint) == 32 and ctx.now.tzinfo is not None and ctx.survey_id > 0

    def broken(record):
        raise RuntimeError("rule store down")

    monkeypatch.setattr("survey.public.views.flags_of", broken)
    assert post(client, counter.url, headers={"User-Agent": "Other"}).status_code == 303
    assert rows(app)[-1] == ("counted", None, counter.id)


def test_what_a_rule_quarantines_does_not_use_up_the_counters_allowance(app, client, counter, monkeypatch):
    app.config["SUBMIT_LIMIT_PER_COUNTER"] = "1 per minute"
    monkeypatch.setattr("survey.public.views.flags_of", lambda record: ["identical-run"])
    assert post(client, counter.url, headers={"User-Agent": "Stuffer"}).status_code == 303
    monkeypatch.setattr("survey.public.views.flags_of", lambda record: [])
    assert post(client, counter.url, headers={"User-Agent": "Citizen"}).status_code == 303
    assert post(client, counter.url, headers={"User-Agent": "Next citizen"}).status_code == 303
    assert [r[:2] for r in rows(app)] == [("quarantined", "identical-run"), ("counted", None),
                                          ("quarantined", "limit-counter")]


def test_answers_fingerprint_ignores_order_and_free_text(app, counter):
    with app.app_context():
        survey = db.session.scalar(select(Survey).where(Survey.code == STANDING_CODE))
        version = survey.current_version
        questions = version_info(VersionRef(version.id, survey.id, version.frozen, version.created_at)).questions
    likert = [q for q in questions if q.type == "likert5"][:2]
    text = next(q for q in questions if q.type == "text")
    a = (AnswerValue(likert[0].id, 4), AnswerValue(likert[1].id, 5), AnswerValue(text.id, value_text="Tốt"))
    b = (AnswerValue(text.id, value_text="Khác hẳn"), AnswerValue(likert[1].id, 5), AnswerValue(likert[0].id, 4))
    c = (AnswerValue(likert[0].id, 4), AnswerValue(likert[1].id, 4))
    assert answers_fingerprint(a, questions) == answers_fingerprint(b, questions)
    assert answers_fingerprint(a, questions) != answers_fingerprint(c, questions)


# -- store(): links, used dossiers ---------------------------------------------------------------

def _version(app) -> VersionRef:
    survey = db.session.scalar(select(Survey).where(Survey.code == STANDING_CODE))
    version = survey.current_version
    return VersionRef(version.id, survey.id, version.frozen, version.created_at)


def _submission(app, counter, **kwargs) -> Submission:
    version = _version(app)
    question = version_info(version).questions[0]
    return Submission(version=version, unit_id=counter.unit_id, counter_id=counter.id, channel="link",
                      idempotency_key=uuid.uuid4().hex, answers=(AnswerValue(question.id, 4),), **kwargs)


def _link(app, counter, expires_in=timedelta(days=7)) -> int:
    survey_id = db.session.scalar(select(Survey.id).where(Survey.code == STANDING_CODE))
    now = datetime.now(timezone.utc)
    link = DossierLink(survey_id=survey_id, unit_id=counter.unit_id, counter_id=counter.id,
                       dossier_hash=responses.dossier_hash(survey_id, f"HS-{uuid.uuid4().hex[:8]}"),
                       service_field="ho-tich", created_at=now, expires_at=now + expires_in)
    db.session.add(link)
    db.session.commit()
    return link.id


def test_a_link_gives_one_response_and_is_marked_used_in_the_same_transaction(app, counter):
    with app.app_context():
        link_id = _link(app, counter)
        first = _submission(app, counter, verified=True, dossier_link_id=link_id)
        stored = responses.store(first)
        assert stored.created
        assert responses.store(first) == responses.Stored(stored.response_id, created=False)  # double tap
        with pytest.raises(responses.LinkUsed):
            responses.store(_submission(app, counter, verified=True, dossier_link_id=link_id))
        db.session.expire_all()
        assert db.session.get(DossierLink, link_id).used is True
        assert db.session.scalar(select(func.count()).select_from(Response)) == 1
        assert db.session.scalar(select(func.count()).select_from(UsedDossier)) == 1
        response = db.session.get(Response, stored.response_id)
        assert (response.verified, response.status) == (True, "counted")
        expired = _link(app, counter, expires_in=timedelta(seconds=-1))
        with pytest.raises(responses.LinkUsed):
            responses.store(_submission(app, counter, verified=True, dossier_link_id=expired))
        db.session.expire_all()
        assert db.session.get(DossierLink, expired).used is False
        assert db.session.scalar(select(func.count()).select_from(Response)) == 1
        assert db.session.scalar(select(func.count()).select_from(Answer)) == 1


def test_a_dossier_rated_before_raises_and_stores_nothing(app, counter):
    with app.app_context():
        stored = responses.store(_submission(app, counter, dossier_code="H12-2026-001"))
        with pytest.raises(responses.DuplicateDossier):
            responses.store(_submission(app, counter, dossier_code=" h12-2026-001 "))
        # A link for a dossier already rated on the open form: refused too, the link left unused.
        survey_id = _version(app).survey_id
        link_id = _link(app, counter)
        db.session.get(DossierLink, link_id).dossier_hash = responses.dossier_hash(survey_id, "H12-2026-001")
        db.session.commit()
        with pytest.raises(responses.DuplicateDossier):
            responses.store(_submission(app, counter, verified=True, dossier_link_id=link_id))
        db.session.expire_all()
        assert db.session.get(DossierLink, link_id).used is False
        assert db.session.scalars(select(Response.id)).all() == [stored.response_id]
        assert db.session.scalar(select(func.count()).select_from(UsedDossier)) == 1


def test_flags_store_the_response_quarantined(app, counter):
    with app.app_context():
        stored = responses.store(_submission(app, counter, flags=("limit-counter", "burst")))
        response = db.session.get(Response, stored.response_id)
        assert (response.status, response.flags) == ("quarantined", "limit-counter,burst")


# -- anonymity on the write side ------------------------------------------------------------------

def test_submitted_at_is_stored_to_the_hour_and_the_period_from_the_exact_time(app, counter):
    # 23:59:30 on 30/06 in Hà Nội: the exact time is in the first half-year.
    exact = datetime(2026, 6, 30, 16, 59, 30, 123, tzinfo=timezone.utc)
    with app.app_context():
        stored = responses.store(_submission(app, counter), now=exact)
        response = db.session.get(Response, stored.response_id)
        at = response.submitted_at.replace(tzinfo=response.submitted_at.tzinfo or timezone.utc)
        assert at == datetime(2026, 6, 30, 16, 0, tzinfo=timezone.utc)
        assert (at.minute, at.second, at.microsecond) == (0, 0, 0) and response.period == "2026-H1"


def test_a_citizen_submission_has_no_minutes_or_seconds(app, client, counter):
    assert post(client, counter.url).status_code == 303
    with app.app_context():
        at = db.session.scalar(select(Response.submitted_at))
        assert (at.minute, at.second, at.microsecond) == (0, 0, 0)


def test_client_salt_is_made_once_per_day_and_changes_the_hash_across_days(app):
    day_one = datetime(2026, 3, 2, 3, 0, tzinfo=timezone.utc)
    with app.app_context():
        first = client_hash("203.0.113.5", day_one)
        app.extensions.pop("client_salt")  # another worker: reads the same row
        assert client_hash("203.0.113.5", day_one + timedelta(hours=5)) == first
        assert client_hash("203.0.113.6", day_one) != first
        assert db.session.scalar(select(func.count()).select_from(ClientSalt)) == 1
        next_day = client_hash("203.0.113.5", day_one + timedelta(days=1))
        assert next_day != first
        days = db.session.scalars(select(ClientSalt.day).order_by(ClientSalt.day)).all()
        assert days == ["2026-03-02", "2026-03-03"]
        # Once the day's salt is gone, nobody can make that day's hash again.
        db.session.execute(ClientSalt.__table__.delete().where(ClientSalt.day == "2026-03-02"))
        db.session.commit()
        app.extensions.pop("client_salt")
        assert client_hash("203.0.113.5", day_one) != first


# -- rotation and QR keys ---------------------------------------------------------------------------

def test_rotation_retires_the_old_poster_and_its_short_link_together(app, client, counter):
    with app.app_context():
        code = db.session.get(Counter, counter.id).code
    assert client.get(f"/q/{code}/1").headers["Location"].endswith(counter.url)
    assert client.get(f"/q/{code.lower()}").headers["Location"].endswith(counter.url)  # legacy = version 1
    with app.app_context():
        db.session.get(Counter, counter.id).token_version += 1
        db.session.commit()
        survey_id = db.session.scalar(select(Survey.id).where(Survey.code == STANDING_CODE))
        new_url = "/s/" + make_token(counter.id, survey_id, 2)
    for old in (counter.url, f"/q/{code}/1", f"/q/{code}", f"/q/{code.lower()}/1"):
        response = client.get(old)
        html = response.get_data(as_text=True)
        assert response.status_code == 410, old
        assert "Mã QR này đã được thay mới" in html and "quầy" in html and "<form" not in html
    assert client.post(counter.url, data=full_answers()).status_code == 410
    assert client.get(f"/q/{code}/2").headers["Location"].endswith(new_url)
    assert client.get(f"/q/{code}/3").status_code == 404
    assert client.get(new_url).status_code == 200
    assert post(client, new_url).status_code == 303 and count(app, Response) == 1


def test_qr_codes_and_posters_print_the_versioned_short_link(app, runner, tmp_path):
    result = runner.invoke(args=["qr-codes", "-o", str(tmp_path / "qr")])
    assert result.exit_code == 0, result.output
    code, _url, short = next(line for line in result.stdout.splitlines() if "\t" in line).split("\t")
    assert short == f"http://survey.test/q/{code}/1"


def test_a_secret_key_change_keeps_posters_when_the_qr_key_is_set(app, client, counter):
    app.config["QR_SIGNING_KEY"] = "qr-key-2026"
    with app.app_context():
        survey_id = db.session.scalar(select(Survey.id).where(Survey.code == STANDING_CODE))
        url = "/s/" + make_token(counter.id, survey_id, 1)
    app.config["SECRET_KEY"] = "a-brand-new-session-key"
    assert client.get(url).status_code == 200
    # Rotating the QR key itself: the old one listed as a fallback keeps printed posters working.
    app.config.update(QR_SIGNING_KEY="qr-key-2027", QR_SIGNING_KEY_FALLBACKS="unrelated, qr-key-2026")
    assert client.get(url).status_code == 200
    with app.app_context():
        assert make_token(counter.id, survey_id, 1) != url.removeprefix("/s/")  # new ones: new key
    app.config["QR_SIGNING_KEY_FALLBACKS"] = ""
    assert client.get(url).status_code == 404


def test_the_migration_moves_rated_dossiers_to_used_dossier(app):
    from flask_migrate import downgrade, upgrade
    from sqlalchemy import text

    with app.app_context():
        db.session.remove()
        downgrade(revision="i11a_integrity_base")
        with db.engine.begin() as conn:
            version_id, survey_id = conn.execute(text("SELECT id, survey_id FROM survey_version")).first()
            unit_id = conn.execute(text("SELECT id FROM unit")).scalar()
            for key, hashed in (("k1", "a" * 64), ("k2", None)):
                conn.execute(text(
                    "INSERT INTO response (survey_id, survey_version_id, unit_id, submitted_at, period, channel, "
                    "idempotency_key, dossier_hash, status, verified) VALUES (:s, :v, :u, :t, '2026-H1', 'qr', "
                    ":k, :h, 'counted', false)"),
                    {"s": survey_id, "v": version_id, "u": unit_id, "t": datetime(2026, 3, 2, tzinfo=timezone.utc),
                     "k": key, "h": hashed})
        upgrade()
        with db.engine.connect() as conn:
            used = conn.execute(text("SELECT survey_id, dossier_hash FROM used_dossier")).all()
            assert used == [(survey_id, "a" * 64)]
            assert conn.execute(text("SELECT count(*) FROM response")).scalar() == 2
