"""A backup restored into a fresh database holds every response and answer."""
from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from survey import create_app
from tests.conftest import full_answers, open_form

TABLES = ("response", "answer", "unit", "counter", "question", "user_account", "audit_log")


def snapshot(url: str) -> dict[str, list]:
    engine = create_engine(url)
    with engine.connect() as conn:
        data = {t: conn.execute(text(f"SELECT * FROM {t} ORDER BY 1, 2")).all() for t in TABLES}
    engine.dispose()
    return data


@pytest.fixture
def fresh_target(db_url, tmp_path):
    if db_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'restored.sqlite3'}"
        return
    base = make_url(db_url)
    name = f"{base.database}_restore"
    info = f"host={base.host} port={base.port or 5432} user={base.username} dbname=postgres"
    with psycopg.connect(info, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    yield base.set(database=name).render_as_string(hide_password=False)
    with psycopg.connect(info, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_backup_and_restore_keep_every_response(app, client, counter, runner, db_url, fresh_target,
                                                tmp_path):
    for comment in ("Tốt", "Chờ hơi lâu", "Cán bộ nhiệt tình"):
        data = {**open_form(client, counter.url), **full_answers("5"), "q_COMMENT": comment}
        assert client.post(counter.url, data=data).status_code == 303
    dump = tmp_path / "backup.bin"
    result = runner.invoke(args=["backup", "-o", str(dump)])
    assert result.exit_code == 0, result.output
    assert dump.stat().st_size > 0

    target_app = create_app({"SQLALCHEMY_DATABASE_URI": fresh_target, "SECRET_KEY": "test-secret",
                             "TESTING": True})
    restored = target_app.test_cli_runner().invoke(args=["restore", str(dump)])
    assert restored.exit_code == 0, restored.output
    before, after = snapshot(db_url), snapshot(fresh_target)
    assert len(after["response"]) == 3 and len(after["answer"]) == 3 * 17
    assert after == before
    # The restored database serves the same QR codes and takes new answers.
    target_client = target_app.test_client()
    data = {**open_form(target_client, counter.url), **full_answers()}
    assert target_client.post(counter.url, data=data).status_code == 303
    with target_app.app_context():
        from survey.extensions import db

        db.engine.dispose()


def test_restore_refuses_a_database_with_data(app, runner, tmp_path):
    dump = tmp_path / "backup.bin"
    assert runner.invoke(args=["backup", "-o", str(dump)]).exit_code == 0
    again = runner.invoke(args=["restore", str(dump)])
    assert again.exit_code != 0 and "chỉ khôi phục vào CSDL trống" in again.output
