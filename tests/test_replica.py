"""Replica reads (survey/replica.py): dashboards read the replica, citizens and writes the primary.

Two levels. With DATABASE_REPLICA_URL pointing at the same database as the primary (a second
engine, no replication), statements are counted per engine: that proves the routing rule on
both backends. With a real private primary + streaming replica (tests/pgcluster.py; skipped
only when Debian's PostgreSQL 15 binaries are absent), the dashboard is served by a server in
recovery (pg_is_in_recovery()) and shows what citizens wrote to the primary.
"""
from __future__ import annotations

import re
from contextlib import contextmanager
from typing import Iterator

import pytest
from flask_migrate import upgrade
from sqlalchemy import event, select, text

import survey.replica as replica
from survey import create_app
from survey.catalog.instrument import STANDING_CODE
from survey.demo import seed_demo
from survey.extensions import db, limiter
from survey.intake.tokens import make_token
from survey.models import Counter, Survey
from survey.replica import REPLICA_BIND
from survey.services.demo_responses import seed_demo_responses
from tests import pgcluster
from tests.conftest import full_answers, login, open_form
from tests.indices.test_exports import OWN

DASH = "/quan-ly/bang-dieu-khien/"


def _app(primary: str, replica: str, tmp_path, **extra):
    return create_app({"TESTING": True, "SECRET_KEY": "test-secret",
                       "SQLALCHEMY_DATABASE_URI": primary, "DATABASE_REPLICA_URL": replica,
                       "PUBLIC_BASE_URL": "http://survey.test", "QR_OUTPUT_DIR": str(tmp_path / "qr"),
                       "EVIDENCE_DIR": str(tmp_path / "evidence"), "SIGNAL_OPENING_HOURS": "",
                       **extra})


@contextmanager
def per_engine(app) -> Iterator[dict[str, list[str]]]:
    """The statements each engine sends while the block runs."""
    seen: dict[str, list[str]] = {"primary": [], "replica": []}
    with app.app_context():
        engines = {"primary": db.engine, "replica": db.engines[REPLICA_BIND]}
    hooks = {}
    for name, engine in engines.items():
        def record(conn, cursor, statement, *args, _name=name):
            seen[_name].append(statement)
        hooks[name] = record
        event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        for name, engine in engines.items():
            event.remove(engine, "before_cursor_execute", hooks[name])


@pytest.fixture
def routed(db_url, tmp_path):
    """The demo province, with the "replica" bind on the same database."""
    app = _app(db_url, db_url, tmp_path)
    with app.app_context():
        upgrade()
        seed_demo()
        seed_demo_responses(n_per_unit=10, periods=("2026-H2",))
        limiter.reset()
    yield app
    with app.app_context():
        db.session.remove()
        for engine in db.engines.values():
            engine.dispose()


def _counter_url(app) -> str:
    """The first demo counter's QR path (as the conftest ``counter`` fixture makes it)."""
    with app.app_context():
        c = db.session.scalar(select(Counter).order_by(Counter.id))
        survey = db.session.scalar(select(Survey).where(Survey.code == STANDING_CODE))
        return f"/s/{make_token(c.id, survey.id, c.token_version)}"


def test_dashboard_reads_the_replica_and_the_gate_the_primary(routed):
    client = routed.test_client()
    login(client, "official")
    with per_engine(routed) as seen:
        assert client.get(DASH).status_code == 200
    # The index table's sums (responses, rollup) come from the replica only.
    assert any("response" in s for s in seen["replica"])
    assert not any("rollup_cell" in s or "FROM response" in s for s in seen["primary"])
    # Who is signed in is read on the primary (a revoked session never rides on lag).
    assert any("user" in s for s in seen["primary"])


def test_citizen_path_never_touches_the_replica(routed):
    client = routed.test_client()
    url = _counter_url(routed)
    before = _responses(routed)
    with per_engine(routed) as seen:
        form = open_form(client, url)
        assert client.post(url, data={**form, **full_answers()}).status_code == 303
    # (On PostgreSQL the store goes through the citizen path's raw connection of the primary
    # engine, which engine events do not see: the row is counted instead.)
    assert seen["replica"] == [] and _responses(routed) == before + 1


def _responses(app) -> int:
    with app.app_context(), db.engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM response")).scalar_one())


def test_an_officials_write_sends_the_next_reads_to_the_primary(routed, monkeypatch):
    client = routed.test_client()
    login(client, "official")
    page = client.get("/quan-ly/phieu-hen/").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    form = {"csrf_token": token, "dossier_code": "000.00.15.H01-260301-0009", "unit": OWN,
            "counter": f"{OWN}-Q1", "service_field": "dat-dai", "procedure_name": "",
            "expires_in_days": "14"}
    assert client.post("/quan-ly/phieu-hen/", data=form).status_code == 303
    with per_engine(routed) as seen:
        assert client.get(DASH).status_code == 200
    assert seen["replica"] == []  # within REPLICA_STICKY_SECONDS of the write
    later = replica.time.time() + routed.config["REPLICA_STICKY_SECONDS"] + 1
    monkeypatch.setattr(replica.time, "time", lambda: later)
    with per_engine(routed) as seen:
        assert client.get(DASH).status_code == 200
    assert seen["replica"]  # the window is over: back to the replica


def test_without_the_setting_there_is_no_second_engine(app):
    with app.app_context():
        assert REPLICA_BIND not in db.engines


@pytest.fixture(scope="module")
def streaming():
    reason = pgcluster.unavailable()
    if reason:
        pytest.skip(f"no private primary + replica: {reason}")
    pair = pgcluster.start_pair()
    yield pair
    pair.stop()


def test_a_streaming_replica_serves_the_dashboard(streaming, tmp_path):
    app = _app(streaming.primary_url, streaming.replica_url, tmp_path)
    with app.app_context():
        upgrade()
        seed_demo()
        seed_demo_responses(n_per_unit=10, periods=("2026-H2",))
        limiter.reset()
        with db.engines[REPLICA_BIND].connect() as conn:
            assert conn.execute(text("SELECT pg_is_in_recovery()")).scalar() is True
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT pg_is_in_recovery()")).scalar() is False
    client = app.test_client()
    url = _counter_url(app)
    with per_engine(app) as seen:
        form = open_form(client, url)
        assert client.post(url, data={**form, **full_answers()}).status_code == 303
    assert seen["replica"] == []  # the citizen wrote to the primary
    streaming.wait_replayed()
    login(client, "official")
    with per_engine(app) as seen:
        page = client.get(DASH)
    assert page.status_code == 200 and any("response" in s for s in seen["replica"])
    with app.app_context():
        db.session.remove()
        for engine in db.engines.values():
            engine.dispose()
