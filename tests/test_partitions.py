"""Responses, answers and score rows partitioned by period on PostgreSQL (migration i15b_parts,
survey/partitions.py, docs/scale.md §5). PostgreSQL only: SQLite has no partitions
(tests/test_partitions_orm.py covers what both databases share)."""
from __future__ import annotations

import shutil
import subprocess
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import func, select, text

from survey import partitions
from survey.catalog.instrument import STANDING_CODE
from survey.catalog.periods import following, period_of
from survey.extensions import db
from survey.indices import rollups
from survey.indices.stratum_sums import instrument_of, overall_scores
from survey.intake import responses
from survey.intake.place import VersionRef, version_info
from survey.intake.responses import AnswerValue, Submission
from survey.models import Answer, Response, RollupCell, Survey
from tests.conftest import _reset_pg

# 23:59:59 on 30 June and 00:00:01 on 1 July 2026 in Vietnam (UTC+7).
LAST_SECOND_H1 = datetime(2026, 6, 30, 16, 59, 59, tzinfo=timezone.utc)
FIRST_SECOND_H2 = datetime(2026, 6, 30, 17, 0, 1, tzinfo=timezone.utc)


@pytest.fixture
def db_url(pg_url):
    """This module's tests run on PostgreSQL only."""
    _reset_pg(pg_url)
    return pg_url


def _sql(statement: str, **params):
    return db.session.execute(text(statement), params)


def _where(table: str, **params) -> list[tuple]:
    """(partition, count) of a partitioned table's rows matching the conditions."""
    cond = " AND ".join(f"{k} = :{k}" for k in params) or "true"
    return [tuple(r) for r in _sql(f"SELECT tableoid::regclass::text, count(*) FROM {table} WHERE {cond} "
                                   "GROUP BY 1 ORDER BY 1", **params)]


def _submission(key: str | None = None) -> Submission:
    survey = db.session.scalar(select(Survey).where(Survey.code == STANDING_CODE))
    version = survey.current_version
    ref = VersionRef(version.id, survey.id, version.frozen, version.created_at)
    likert = [q for q in version_info(ref).questions if q.type == "likert5"][:3]
    return Submission(version=ref, unit_id=db.session.scalar(text("SELECT min(id) FROM unit WHERE kind <> 'province'")),
                      counter_id=None, channel="qr", idempotency_key=key or uuid.uuid4().hex,
                      answers=tuple(AnswerValue(q.id, 4) for q in likert))


def _snapshot():
    return (_sql("SELECT id, period, idempotency_key, status FROM response ORDER BY id").all(),
            _sql("SELECT response_id, question_id, value_int, value_text, na FROM answer "
                 "ORDER BY response_id, question_id").all(),
            _scores())


def _scores():
    """The score values as narrow rows (response_id, measure, period, y), whichever shape the
    table has at this revision (one row per measure before i16a_wide, an array after)."""
    wide = _sql("SELECT count(*) FROM information_schema.columns WHERE table_name = 'response_score' "
                "AND column_name = 'ys'").scalar()
    if not wide:
        return _sql("SELECT response_id, measure, period, y FROM response_score ORDER BY response_id, measure").all()
    return _sql("SELECT s.response_id, CAST(e.i AS SMALLINT), s.period, e.y FROM response_score s "
                "CROSS JOIN LATERAL unnest(s.ys) WITH ORDINALITY AS e(y, i) WHERE e.y IS NOT NULL "
                "ORDER BY 1, 2").all()


def test_the_migration_converts_a_database_with_data_and_back(app):
    with app.app_context():
        for year, month in ((2025, 3), (2025, 9), (2026, 3)):
            responses.store(_submission(), now=datetime(year, month, 10, 3, tzinfo=timezone.utc))
        db.session.remove()
        downgrade(revision="i15c_fold")
        before = _snapshot()
        assert {r.period for r in before[0]} == {"2025-H1", "2025-H2", "2026-H1"} and before[1] and before[2]
        last_id = _sql("SELECT last_value FROM response_id_seq").scalar()
        db.session.commit()
        db.session.remove()
        upgrade()
        assert _snapshot() == before  # every row, with its id
        for table in partitions.TABLES:
            names = partitions.partitions(db.session.connection(), table)
            assert {"2025-H1", "2025-H2", "2026-H1", "DEFAULT"} <= set(names)
            assert _where(table, period="2025-H2") == [(f"{table}_2025_h2", _where(table, period="2025-H2")[0][1])]
        assert _where("answer", period="2025-H1") == [("answer_2025_h1", 3)]
        assert _sql("SELECT count(*) FROM answer a JOIN response r ON r.id = a.response_id "
                    "AND r.period = a.period").scalar() == len(before[1])
        assert sorted(_sql("SELECT idempotency_key, period, response_id FROM response_key").all()) == sorted(
            (r.idempotency_key, r.period, r.id) for r in before[0])
        db.session.commit()
        stored = responses.store(_submission())
        assert stored.response_id == last_id + 1  # the sequence goes on
        db.session.remove()
        downgrade(revision="i15c_fold")
        after = _snapshot()
        assert after[0][:3] == before[0] and after[1][:len(before[1])] == before[1]
        assert _sql("SELECT relkind FROM pg_class WHERE relname = 'response'").scalar() == "r"
        assert _sql("SELECT to_regclass('response_key')").scalar() is None
        db.session.commit()
        db.session.remove()
        upgrade()


def test_a_submission_lands_in_its_period_and_a_retry_across_30_june_is_refused(app):
    with app.app_context():
        # No partition for 2026-H1 (a fresh database has the current and next half-year): the
        # submission goes to the DEFAULT partitions, and `ensure` moves it out with its answers.
        sub = _submission()
        first = responses.store(sub, now=LAST_SECOND_H1)
        assert first.created
        assert _where("response", id=first.response_id) == [("response_default", 1)]
        assert _where("answer", response_id=first.response_id, period="2026-H1") == [("answer_default", 3)]
        db.session.commit()
        with db.engine.begin() as conn:
            done = partitions.ensure(conn, now=FIRST_SECOND_H2)
        assert {"response_2026_h1", "answer_2026_h1", "response_score_2026_h1"} <= set(done.created)
        assert done.moved["response_2026_h1"] == 1 and done.moved["answer_2026_h1"] == 3
        assert _where("response", id=first.response_id) == [("response_2026_h1", 1)]
        assert _where("answer", response_id=first.response_id) == [("answer_2026_h1", 3)]
        assert _where("response_score", response_id=first.response_id)[0][0] == "response_score_2026_h1"
        assert _sql("SELECT count(*) FROM response_default").scalar() == 0

        # The same form sent again two seconds later, now in 2026-H2: the same response.
        again = responses.store(sub, now=FIRST_SECOND_H2)
        assert again == responses.Stored(first.response_id, created=False)
        # ... and a double tap in the same period too.
        assert responses.store(sub, now=LAST_SECOND_H1) == again
        assert db.session.scalar(select(func.count()).select_from(Response)
                                 .where(Response.idempotency_key == sub.idempotency_key)) == 1
        # A new form in 2026-H2 goes to its partition.
        later = responses.store(_submission(), now=FIRST_SECOND_H2)
        assert _where("response", id=later.response_id)[0][0] == "response_2026_h2"
        assert _where("answer", response_id=later.response_id) == [("answer_2026_h2", 3)]


def test_ensure_is_idempotent(app, runner):
    with app.app_context():
        first = runner.invoke(args=["partitions", "ensure"])
        assert first.exit_code == 0, first.output
        with db.engine.begin() as conn:
            assert partitions.ensure(conn) == partitions.Ensured([], {})
            # A year on (cron): that half-year and the next one.
            later = datetime.now(timezone.utc) + timedelta(days=366)
            ahead = [period_of(later), following(period_of(later))]
            assert partitions.ensure(conn, now=later).created == [
                f"{t}_{partitions.suffix(p)}" for p in ahead for t in partitions.TABLES]
            assert partitions.ensure(conn, now=later).created == []


def test_other_writers_keep_the_key_unique_across_periods(app):
    """The ORM (tests, scripts) and the bulk writers record the key in response_key too."""
    with app.app_context():
        sub = _submission()
        response = Response(survey_id=sub.version.survey_id, survey_version_id=sub.version.id, unit_id=sub.unit_id,
                            submitted_at=LAST_SECOND_H1, period="2026-H1", channel="qr",
                            idempotency_key=sub.idempotency_key)
        response.answers.append(Answer(question_id=sub.answers[0].question_id, value_int=5))
        db.session.add(response)
        db.session.commit()
        assert _sql("SELECT period FROM answer WHERE response_id = :i", i=response.id).scalar() == "2026-H1"
        assert responses.store(sub, now=FIRST_SECOND_H2) == responses.Stored(response.id, created=False)
        # A bulk writer's duplicate fails its transaction.
        _sql("INSERT INTO response (survey_id, survey_version_id, unit_id, submitted_at, period, channel, "
             "idempotency_key) VALUES (:s, :v, :u, now(), '2026-H2', 'qr', :k)",
             s=sub.version.survey_id, v=sub.version.id, u=sub.unit_id, k=sub.idempotency_key)
        new_id = _sql("SELECT max(id) FROM response").scalar()
        with pytest.raises(Exception, match="pk_response_key"):
            partitions.record_keys(db.session, [new_id])
        db.session.rollback()


def test_archive_moves_an_old_period_out_and_keeps_its_figures(app, runner, tmp_path):
    if shutil.which("pg_dump") is None:
        pytest.skip("pg_dump not installed")
    with app.app_context():
        old = responses.store(_submission(), now=datetime(2025, 3, 10, 3, tzinfo=timezone.utc))
        kept = responses.store(_submission(), now=datetime(2025, 9, 10, 3, tzinfo=timezone.utc))
        with db.engine.begin() as conn:
            partitions.ensure(conn)
        rollups.refresh()
        db.session.commit()
        cells = db.session.scalar(select(func.count()).select_from(RollupCell))
        assert cells
        now = period_of(datetime.now(timezone.utc))
        current = runner.invoke(args=["partitions", "archive", now, "-o", str(tmp_path / "x.dump")])
        assert current.exit_code != 0 and "kỳ hiện tại" in current.output
        dump = tmp_path / "2025-H1.dump"
        result = runner.invoke(args=["partitions", "archive", "2025-H1", "-o", str(dump)])
        assert result.exit_code == 0, result.output
        listing = subprocess.run(["pg_restore", "--list", str(dump)], check=True, capture_output=True, text=True)
        assert "response_2025_h1" in listing.stdout and "answer_2025_h1" in listing.stdout
        db.session.expire_all()
        assert db.session.get(Response, old.response_id) is None
        assert db.session.get(Response, kept.response_id) is not None
        assert _sql("SELECT count(*) FROM response_key WHERE period = '2025-H1'").scalar() == 0
        assert "2025-H1" not in partitions.partitions(db.session.connection(), "answer")
        assert db.session.scalar(select(func.count()).select_from(RollupCell)) == cells
        again = runner.invoke(args=["partitions", "archive", "2025-H1", "-o", str(tmp_path / "y.dump")])
        assert again.exit_code != 0 and "không có phân vùng" in again.output


def test_a_period_join_scans_one_answer_partition(app):
    """The app's answer-to-response join carries the period, so PostgreSQL prunes."""
    with app.app_context():
        for when in (datetime(2025, 3, 10, 3, tzinfo=timezone.utc), datetime(2025, 9, 10, 3, tzinfo=timezone.utc)):
            responses.store(_submission(), now=when)
        with db.engine.begin() as conn:
            partitions.ensure(conn)
        inst = instrument_of()
        assert inst is not None
        query = select(func.count()).select_from(overall_scores(inst, [Response.period == "2025-H2"]))
        sql = str(query.compile(db.engine, compile_kwargs={"literal_binds": True}))
        plan = "\n".join(r[0] for r in _sql("EXPLAIN " + sql))
        assert partitions.scanned(plan.splitlines(), "answer") == {"answer_2025_h2"}, plan
        # On the id alone (as before the migration) it would read every answer partition.
        plan = [r[0] for r in _sql("EXPLAIN " + sql.replace("response.period = answer.period", "true"))]
        assert len(partitions.scanned(plan, "answer")) == len(partitions.partitions(db.session.connection(), "answer"))


def test_answers_belong_to_a_response_of_their_period(app):
    """The per-partition foreign keys: no answer without its response in the same period, and
    deleting a response deletes its answers (ON DELETE CASCADE), in a new period's partitions too."""
    with app.app_context():
        with db.engine.begin() as conn:
            partitions.ensure(conn, now=datetime(2025, 9, 10, 3, tzinfo=timezone.utc))
        stored = responses.store(_submission(), now=datetime(2025, 9, 10, 3, tzinfo=timezone.utc))
        question = _sql("SELECT question_id FROM answer WHERE response_id = :i LIMIT 1", i=stored.response_id).scalar()
        for period in ("2026-H1", "2025-H2"):
            with pytest.raises(Exception, match="foreign key"):
                _sql("INSERT INTO answer (response_id, period, question_id, value_int, na) "
                     "VALUES (:i, :p, :q, 3, false)", i=stored.response_id + (period == "2025-H2"), p=period,
                     q=question)
            db.session.rollback()
        _sql("DELETE FROM response WHERE id = :i", i=stored.response_id)
        assert _sql("SELECT count(*) FROM answer WHERE response_id = :i", i=stored.response_id).scalar() == 0
        db.session.rollback()
