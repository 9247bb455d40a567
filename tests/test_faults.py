"""Faults that can be made deterministic: the database unreachable, a connection killed in the middle
of a submission, a read-only or full SQLite file, and the ways one form gets sent twice.

The figures under real load (PostgreSQL restarted, a worker killed) come from bench/faults.py.
tests/intake/test_public_form.py already covers answers the database refuses (a disk-full trigger) and a plain
double submit.
"""
from __future__ import annotations

import re
import sqlite3
import threading

import psycopg
import pytest
import yaml
from sqlalchemy import event, func, select
from sqlalchemy.engine import make_url

from survey import create_app
from survey.extensions import db
from survey.intake.citizen_csrf import CITIZEN_CSRF_COOKIE
from survey.models import Answer, Response
from tests.conftest import DEMO_PASSWORDS, csrf_of, full_answers, hidden_fields, open_form
from tests.test_api import auth, make_token
from tests.test_fuzz_common import no_limits

__all__ = ["no_limits"]

RETRY_PAGE = "Hệ thống đang bận"
ANSWERS_NOT_STORED = "câu trả lời chưa được lưu"  # the form re-shown by the public view
OPINION_NOT_STORED = "Ý kiến của Ông/Bà chưa được lưu"  # the error page when no form could be built


def counts(app) -> tuple[int, int]:
    with app.app_context():
        result = (db.session.scalar(select(func.count()).select_from(Response)),
                  db.session.scalar(select(func.count()).select_from(Answer)))
        db.session.remove()
        return result


def partial_responses(app) -> int:
    """Responses that do not hold all 16 required answers (the form refuses fewer)."""
    with app.app_context():
        per_response = (select(Response.id, func.count(Answer.question_id).label("n"))
                        .outerjoin(Answer, Answer.response_id == Response.id).group_by(Response.id).subquery())
        result = db.session.scalar(select(func.count()).select_from(per_response).where(per_response.c.n < 16))
        db.session.remove()
        return result


def post(client, url: str, fields: dict, **extra):
    return client.post(url, data={**fields, **full_answers(), **extra})


def assert_clean_error_page(response) -> str:
    html = response.get_data(as_text=True)
    assert "Traceback" not in html and "sqlalchemy" not in html.lower() and "OperationalError" not in html
    return html


# ---------------------------------------------------------------- the database cannot be reached

@pytest.fixture
def unreachable(app):
    """Every new connection fails as if the server were down; pooled ones are dropped first."""
    with app.app_context():
        engine = db.engine
    dbapi = engine.dialect.dbapi

    def refuse(*_args, **_kwargs):
        raise dbapi.OperationalError("connection refused (test: database down)")

    class Switch:
        def down(self):
            engine.dispose()
            event.listen(engine, "do_connect", refuse)

        def up(self):
            event.remove(engine, "do_connect", refuse)

    switch = Switch()
    yield switch
    if event.contains(engine, "do_connect", refuse):
        switch.up()


def test_database_down_gives_retry_pages_in_vietnamese_and_recovers(app, client, counter, unreachable, no_limits):
    fields = open_form(client, counter.url)
    sign_in_csrf = csrf_of(client, "/dang-nhap")  # officials' forms: Flask-WTF's token, not the citizen form's
    api_token = make_token(app, "analyst")
    unreachable.down()

    page = client.get(counter.url)
    assert page.status_code == 503 and page.headers["Retry-After"]
    assert RETRY_PAGE in assert_clean_error_page(page)

    app.extensions.pop("citizen_known_places", None)  # as in a worker that never served this counter
    sent = post(client, counter.url, fields, q_COMMENT="Gửi lúc mất kết nối")
    assert sent.status_code == 503 and sent.headers["Retry-After"]
    html = assert_clean_error_page(sent)
    assert RETRY_PAGE in html and OPINION_NOT_STORED in html

    email, password = DEMO_PASSWORDS["official"]
    sign_in = client.post("/dang-nhap", data={"email": email, "password": password,
                                              "csrf_token": sign_in_csrf})
    assert sign_in.status_code == 503 and RETRY_PAGE in assert_clean_error_page(sign_in)

    api = client.get("/api/v1/units", headers=auth(api_token))
    assert api.status_code == 503 and api.is_json and "thử lại" in api.get_json()["error"]
    assert api.headers["Retry-After"].isdigit()
    with open("survey/api/openapi.yaml", encoding="utf-8") as spec:
        assert "503" in yaml.safe_load(spec)["paths"]["/units"]["get"]["responses"]  # documented

    unreachable.up()  # the server is back: no restart of the app needed
    assert counts(app) == (0, 0)
    assert post(client, counter.url, fields).status_code == 303
    assert counts(app) == (1, 16)


def test_post_while_database_down_re_shows_the_answers(app, client, counter, unreachable, no_limits):
    fields = open_form(client, counter.url)
    unreachable.down()
    sent = post(client, counter.url, fields, q_A3_1="2", q_COMMENT="Xin giữ lại ý kiến này")
    assert sent.status_code == 503 and sent.headers["Retry-After"].isdigit()
    html = assert_clean_error_page(sent)
    assert ANSWERS_NOT_STORED in html
    assert "Xin giữ lại ý kiến này</textarea>" in html
    assert re.search(r'name="q_A3_1"[^>]*value="2"[^>]*checked|value="2"[^>]*name="q_A3_1"[^>]*checked', html)
    resent = hidden_fields(html)
    assert resent["idem"] == fields["idem"]  # sending again cannot store twice
    unreachable.up()
    assert counts(app) == (0, 0)
    assert post(client, counter.url, resent, q_COMMENT="Xin giữ lại ý kiến này").status_code == 303
    assert post(client, counter.url, resent).status_code == 303  # and once more: still one response
    assert counts(app) == (1, 17)


# ---------------------------------------------------------------- PostgreSQL: connections killed

def _terminate(url: str, pid: int | None = None) -> int:
    """pg_terminate_backend on one backend (or every other one of this database) from outside."""
    parsed = make_url(url)
    with psycopg.connect(host=parsed.host, port=parsed.port or 5432, user=parsed.username,
                         dbname=parsed.database, autocommit=True) as conn:
        if pid is not None:
            return conn.execute("SELECT count(*) FROM (SELECT pg_terminate_backend(%s)) t", (pid,)).fetchone()[0]
        return conn.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                            "WHERE datname = current_database() AND pid <> pg_backend_pid()").fetchone()[0]


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_connection_killed_between_requests_is_replaced(app, client, counter, db_url, no_limits):
    first = open_form(client, counter.url)
    assert post(client, counter.url, first).status_code == 303
    assert _terminate(db_url) >= 1  # the kept citizen connection, at least
    second = open_form(client, counter.url)  # the dropped connection is noticed and replaced
    assert post(client, counter.url, second).status_code == 303
    assert counts(app) == (2, 32)


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_connection_killed_while_storing_stores_the_response_once(app, client, counter, db_url, no_limits):
    """The server drops the connection in the middle of the statement that stores the response and
    its answers (here while it waits for a lock on the answer table): nothing of it is kept, the
    statement runs again on a new connection, and the response is stored once, complete."""
    fields = open_form(client, counter.url)
    parsed = make_url(db_url)
    sent = {}

    def submit():
        sent["response"] = post(client, counter.url, fields, q_COMMENT="Mất kết nối giữa chừng")

    conninfo = dict(host=parsed.host, port=parsed.port or 5432, user=parsed.username, dbname=parsed.database)
    with psycopg.connect(**conninfo) as locker, psycopg.connect(**conninfo, autocommit=True) as watcher:
        locker.execute("LOCK TABLE answer IN ACCESS EXCLUSIVE MODE")
        worker = threading.Thread(target=submit)
        worker.start()
        waiting = None
        for _ in range(500):  # until the submission waits for the lock, inside its INSERT
            # From an autocommit connection: a transaction would keep its first activity snapshot.
            waiting = watcher.execute("SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                                      "AND datname = current_database()").fetchone()
            if waiting:
                break
            worker.join(0.02)
        assert waiting, "the submission never reached its INSERT"
        assert _terminate(db_url, waiting[0]) == 1
        locker.rollback()  # the lock goes; the retried statement can run
    worker.join(30)
    assert sent["response"].status_code == 303
    assert counts(app) == (1, 17) and partial_responses(app) == 0


def test_a_submission_failing_half_way_stores_nothing(app, counter):
    """One transaction per response: when an answer cannot be stored (here a question that does not
    exist), the response row written before it in the same transaction is not kept either."""
    from sqlalchemy.exc import IntegrityError

    from survey.intake import responses
    from survey.intake.place import VersionRef
    from survey.models import SurveyVersion

    with app.test_request_context():
        version = db.session.scalar(select(SurveyVersion).order_by(SurveyVersion.id.desc()))
        ref = VersionRef(version.id, version.survey_id, version.frozen, version.created_at)
        question_ids = [q.id for q in version.questions][:3]
        db.session.remove()
        answers = tuple(responses.AnswerValue(q, value_int=4) for q in question_ids)
        answers += (responses.AnswerValue(10**6, value_int=4),)  # no such question: the last insert fails
        submission = responses.Submission(version=ref, unit_id=counter.unit_id, counter_id=counter.id,
                                          channel="qr", idempotency_key="a" * 32, answers=answers)
        with pytest.raises(IntegrityError):
            responses.store(submission)
    assert counts(app) == (0, 0)


# ---------------------------------------------------------------- SQLite: read-only and full

def _sqlite_file(db_url: str) -> str:
    return make_url(db_url).database


def _integrity(path: str) -> str:
    with sqlite3.connect(path) as conn:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]


def _stored_ids(path: str) -> list[int]:
    with sqlite3.connect(path) as conn:
        return [row[0] for row in conn.execute("SELECT id FROM response ORDER BY id")]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_read_only_sqlite_file_gives_retry_pages_and_keeps_what_it_had(app, client, counter, db_url, no_limits):
    assert post(client, counter.url, open_form(client, counter.url)).status_code == 303
    path = _sqlite_file(db_url)
    before = _stored_ids(path)
    # Opened read-only, as after a mount went read-only or a wrong file mode (root ignores chmod).
    readonly = create_app({"TESTING": True, "SECRET_KEY": "test-secret", "PUBLIC_BASE_URL": "http://survey.test",
                           "SQLALCHEMY_DATABASE_URI": f"sqlite:///file:{path}?mode=ro&uri=true"})
    citizen = readonly.test_client()
    fields = open_form(citizen, counter.url)  # reading still works: the form opens
    response = post(citizen, counter.url, fields, q_COMMENT="Ổ đĩa chỉ đọc")
    html = assert_clean_error_page(response)
    assert response.status_code == 503 and ANSWERS_NOT_STORED in html and "Ổ đĩa chỉ đọc</textarea>" in html

    official = readonly.test_client()
    email, password = DEMO_PASSWORDS["official"]
    token = csrf_of(official, "/dang-nhap")
    sign_in = official.post("/dang-nhap", data={"email": email, "password": password, "csrf_token": token})
    assert sign_in.status_code == 503 and RETRY_PAGE in assert_clean_error_page(sign_in)

    with readonly.app_context():
        db.engine.dispose()
    assert _integrity(path) == "ok"
    assert _stored_ids(path) == before and len(before) == 1


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_full_sqlite_file_refuses_with_answers_kept_and_stays_consistent(app, client, counter, db_url, no_limits):
    path = _sqlite_file(db_url)
    with app.app_context():
        engine = db.engine
        pages = db.session.connection().exec_driver_sql("PRAGMA page_count").scalar()
        db.session.remove()

    # The disk fills up: no page may be added beyond what the file has now (SQLITE_FULL).
    def cap(dbapi_connection, _record):
        dbapi_connection.execute(f"PRAGMA max_page_count = {pages}")

    event.listen(engine, "connect", cap)
    engine.dispose()
    acknowledged, refused = 0, None
    try:
        for n in range(200):  # a few fit in the free space of existing pages, then the disk is full
            fields = open_form(client, counter.url)
            response = post(client, counter.url, fields, q_COMMENT=f"Phiếu {n} " + "ý kiến dài " * 80)
            if response.status_code == 303:
                acknowledged += 1
                continue
            refused = response
            break
    finally:
        event.remove(engine, "connect", cap)
        engine.dispose()
    assert refused is not None, "the capped file never filled up"
    html = assert_clean_error_page(refused)
    assert refused.status_code == 503 and ANSWERS_NOT_STORED in html and f"Phiếu {n} ý kiến dài" in html
    assert _integrity(path) == "ok"
    # 16 required answers and the comment each.
    assert counts(app) == (acknowledged, 17 * acknowledged) and partial_responses(app) == 0
    # Space again (the cap is gone): the same form is stored once.
    assert client.post(counter.url, data={**hidden_fields(html), **full_answers()}).status_code == 303
    assert counts(app) == (acknowledged + 1, 17 * acknowledged + 16)


# ---------------------------------------------------------------- one form, sent more than once

def test_retry_after_a_lost_acknowledgement_keeps_the_first_answers(app, client, counter, no_limits):
    """The first POST was stored but the phone never saw the 303 (timeout); the citizen changes
    an answer and sends again: still one response, the one first stored."""
    fields = open_form(client, counter.url)
    assert post(client, counter.url, fields, q_A1_1="5").status_code == 303
    again = post(client, counter.url, fields, q_A1_1="1")
    assert again.status_code == 303 and again.headers["Location"].endswith("/cam-on")
    with app.app_context():
        values = db.session.scalars(select(Answer.value_int).join(Response).where(
            Response.idempotency_key == fields["idem"])).all()
    assert counts(app) == (1, 16) and 5 in values and 1 not in values


def test_two_tabs_store_one_response_each_however_often_sent(app, client, counter, no_limits):
    tab_a, tab_b = open_form(client, counter.url), open_form(client, counter.url)
    assert tab_a["idem"] != tab_b["idem"]
    for fields in (tab_a, tab_b, tab_a, tab_b, tab_a):
        assert post(client, counter.url, fields).status_code == 303
    with app.app_context():
        keys = db.session.scalars(select(Response.idempotency_key)).all()
    assert sorted(keys) == sorted([tab_a["idem"], tab_b["idem"]])


def test_simultaneous_copies_of_one_form_store_one_response(app, client, counter, no_limits):
    """Eight copies of the same form arrive at once (double taps, a proxy's retries): every one
    is acknowledged, one response is stored."""
    fields = open_form(client, counter.url)
    session_cookie = client.get_cookie(CITIZEN_CSRF_COOKIE)  # the browser's, which its token is bound to
    start = threading.Barrier(8)
    statuses: list[int] = []

    def send():
        copy = app.test_client()
        if session_cookie is not None:
            copy.set_cookie(session_cookie.key, session_cookie.value)
        start.wait()
        statuses.append(post(copy, counter.url, fields).status_code)

    threads = [threading.Thread(target=send) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [303] * 8
    assert counts(app) == (1, 16)
