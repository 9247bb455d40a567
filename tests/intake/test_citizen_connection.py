"""The citizen path's kept connection (survey/intake/citizen_connection.py).

On PostgreSQL its statements run on the psycopg connection itself, not through SQLAlchemy's
execution: the values must be the ones SQLAlchemy gives for the same statement, and the
connection must never leak into the pool in autocommit, nor outlive its engine.
"""
from __future__ import annotations

from datetime import datetime, timezone

import psycopg
import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DataError, IntegrityError

from survey.catalog.instrument import SIPAS_STANDING, publish_questions
from survey.catalog.question_bank import DEMOGRAPHICS
from survey.extensions import db
from survey.intake import citizen_connection, place
from survey.intake.responses import _EXISTING
from survey.models import CampaignTarget, Survey, SurveyVersion
from tests.conftest import open_form

NOW = datetime.now(timezone.utc)  # the lookups say whether the survey is open at this time


def _backends(url: str) -> int:
    parsed = make_url(url)
    with psycopg.connect(host=parsed.host, port=parsed.port or 5432, user=parsed.username,
                         dbname=parsed.database, autocommit=True) as conn:
        return conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                            "AND pid <> pg_backend_pid()").fetchone()[0]


def test_hot_statements_give_what_sqlalchemy_gives(app, counter):
    with app.test_request_context():
        survey = db.session.scalar(select(Survey).order_by(Survey.id))
        # A questionnaire with choice lists (stored as JSON) besides the five-point items.
        version = publish_questions(survey, (*SIPAS_STANDING, *DEMOGRAPHICS))
        db.session.commit()
        target = db.session.scalar(select(CampaignTarget))
        cases = [
            (place._COUNTER_LOOKUP, {"counter_id": counter.id, "survey_id": survey.id, "now": NOW}),
            (place._COUNTER_LOOKUP, {"counter_id": 10**6, "survey_id": survey.id, "now": NOW}),  # no such counter
            (place._UNIT_LOOKUP, {"unit_id": counter.unit_id, "survey_id": survey.id, "now": NOW}),
            (place._VERSION_LOOKUP, {"version_id": version.id, "survey_id": survey.id}),
            (place._QUESTIONS, {"version_id": version.id}),
            (_EXISTING, {"key": "0" * 32}),
        ]
        if target is not None:
            cases.append((place._UNIT_LOOKUP, {"unit_id": target.unit_id, "survey_id": target.survey_id, "now": NOW}))
        for statement, params in cases:
            expected = [tuple(row) for row in db.session.execute(statement, params)]
            found = citizen_connection.rows(statement, params)
            assert [tuple(row) for row in found] == expected
            assert [[type(v) for v in row] for row in found] == [[type(v) for v in row] for row in expected]
        questions = citizen_connection.rows(place._QUESTIONS, {"version_id": version.id})
        assert len(questions) == len(SIPAS_STANDING) + len(DEMOGRAPHICS)
        assert any(isinstance(row[8], list) and row[8] for row in questions)  # choices came back as JSON


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_driver_errors_arrive_as_sqlalchemy_errors(app, counter, db_url):
    with app.test_request_context():
        version = db.session.scalar(select(SurveyVersion))
        db.session.remove()
        statement = place._COUNTER_LOOKUP
        with pytest.raises(DataError) as refused:  # what survey/errors.py turns into a 400
            citizen_connection.rows(statement, {"counter_id": "not a number", "survey_id": version.survey_id,
                                                "now": NOW})
        assert not refused.value.connection_invalidated
        # and the kept connection still works afterwards
        assert citizen_connection.first(statement, {"counter_id": counter.id, "survey_id": version.survey_id,
                                                    "now": NOW})


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_kept_connection_never_reaches_the_session_and_goes_with_its_engine(app, client, counter, db_url):
    open_form(client, counter.url)
    with app.app_context():
        kept = citizen_connection.citizen_connection()
        assert kept.driver_level and len(kept._idle) == 1 and kept._idle[0].driver_connection.autocommit
        session_connection = db.session.connection().connection.driver_connection
        assert session_connection.autocommit is False
        assert session_connection is not kept._idle[0].driver_connection
        db.session.remove()
        assert _backends(db_url) >= 2  # the session's pooled connection and the kept one
        db.engine.dispose()
    assert _backends(db_url) == 0


def test_a_unique_violation_is_an_integrity_error(app, counter, db_url):
    from tests.test_faults import counts

    with app.test_request_context():
        version = db.session.scalar(select(SurveyVersion))
        ref = place.VersionRef(version.id, version.survey_id, True, version.created_at)
        db.session.remove()
        from survey.intake import responses

        sub = responses.Submission(version=ref, unit_id=counter.unit_id, counter_id=counter.id, channel="qr",
                                   idempotency_key="b" * 32, answers=(), dossier_code="HS-0001")
        first = responses.store(sub)
        again = responses.store(sub)  # same key: found, not stored twice
        assert first.created and not again.created and again.response_id == first.response_id
        with pytest.raises(responses.DuplicateDossier):
            responses.store(responses.Submission(version=ref, unit_id=counter.unit_id, counter_id=counter.id,
                                                 channel="qr", idempotency_key="c" * 32, answers=(),
                                                 dossier_code="hs-0001 "))
        with pytest.raises(IntegrityError):  # another key, a counter that does not exist
            responses.store(responses.Submission(version=ref, unit_id=counter.unit_id, counter_id=10**6,
                                                 channel="qr", idempotency_key="d" * 32, answers=()))
    assert counts(app) == (1, 0)


def _lookup(counter) -> tuple:
    survey_id = db.session.scalar(select(Survey.id).order_by(Survey.id))
    return (place._COUNTER_LOOKUP, {"counter_id": counter.id, "survey_id": survey_id, "now": NOW})


def test_a_thread_per_request_does_not_keep_a_connection_per_thread(app, counter):
    """`flask run` serves each request on a new thread: the kept connections must not pile up
    (fifteen of them used to exhaust the pool, and every later request waited for one)."""
    import threading

    with app.app_context():
        kept = citizen_connection.citizen_connection()
        statement, params = _lookup(counter)
        db.session.remove()

        def request() -> None:
            with app.app_context():
                assert citizen_connection.rows(statement, params)

        for _ in range(kept.KEEP + 8):
            thread = threading.Thread(target=request)
            thread.start()
            thread.join()
        assert len(kept._kept) == len(kept._idle) == 1
        assert db.engine.pool.checkedout() == 1
        db.session.execute(select(Survey.id)).all()  # the officials' session still gets a connection


def test_overlapping_statements_beyond_keep_go_back_to_the_pool_out_of_autocommit(app, counter, db_url):
    with app.app_context():
        kept = citizen_connection.citizen_connection()
        lookup = _lookup(counter)
        db.session.remove()
        lent = [kept._take() for _ in range(kept.KEEP + 2)]
        assert db.engine.pool.checkedout() == kept.KEEP + 2
        for conn in lent:
            kept._give_back(conn)
        assert len(kept._idle) == len(kept._kept) == kept.KEEP
        assert db.engine.pool.checkedout() == kept.KEEP
        if kept.driver_level:  # what the pool hands the session now is one of the two given back
            assert db.session.connection().connection.driver_connection.autocommit is False
        db.session.remove()
        # a connection lent while the engine is disposed is not kept afterwards
        one = kept._take()
        db.engine.dispose()
        kept._give_back(one)
        assert kept._kept == set() and kept._idle == []
        assert citizen_connection.first(*lookup) is not None  # and a new one is made
