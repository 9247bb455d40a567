"""answer.period on both databases (migration i15b_parts): every writer fills it with its
response's period, and the commands about partitions say so plainly on SQLite."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone

from sqlalchemy import select, text

from survey.catalog.instrument import STANDING_CODE
from survey.extensions import db
from survey.intake import responses
from survey.intake.place import VersionRef, version_info
from survey.intake.responses import AnswerValue, Submission
from survey.models import Answer, Response, Survey, Unit
from survey.services.demo_responses import NewResponse, insert_responses


def _version() -> VersionRef:
    survey = db.session.scalar(select(Survey).where(Survey.code == STANDING_CODE))
    version = survey.current_version
    return VersionRef(version.id, survey.id, version.frozen, version.created_at)


def _periods_of_answers() -> list[tuple[str, str]]:
    """(answer period, its response's period) for every answer."""
    return db.session.execute(text("SELECT a.period, r.period FROM answer a JOIN response r "
                                   "ON r.id = a.response_id")).all()


def test_every_writer_copies_the_period_to_the_answers(app):
    with app.app_context():
        ref = _version()
        question = version_info(ref).questions[0]
        unit = db.session.scalar(select(Unit).where(Unit.kind != "province").order_by(Unit.id))
        # The citizen store statement ...
        responses.store(Submission(version=ref, unit_id=unit.id, counter_id=None, channel="qr",
                                   idempotency_key=uuid.uuid4().hex, answers=(AnswerValue(question.id, 4),)),
                        now=datetime(2025, 12, 31, 16, 59, tzinfo=timezone.utc))  # still 2025-H2 in Vietnam
        # ... the ORM (an answer added to its response, and one naming only its response id) ...
        response = Response(survey_id=ref.survey_id, survey_version_id=ref.id, unit_id=unit.id,
                            submitted_at=datetime(2026, 2, 1, tzinfo=timezone.utc), period="2026-H1",
                            channel="qr", idempotency_key=uuid.uuid4().hex)
        response.answers.append(Answer(question_id=question.id, value_int=5))
        db.session.add(response)
        db.session.commit()
        other = version_info(ref).questions[1]
        db.session.add(Answer(response_id=response.id, question_id=other.id, value_int=3))
        db.session.commit()
        # ... and the bulk writer of demo data and imports.
        insert_responses(ref.id, [NewResponse(unit.id, None, "2024-H2", datetime(2024, 8, 1, tzinfo=timezone.utc),
                                              None, {question.code: 2})])
        db.session.commit()
        pairs = _periods_of_answers()
        assert sorted(a for a, _ in pairs) == ["2024-H2", "2025-H2", "2026-H1", "2026-H1"]
        assert all(a == r for a, r in pairs)


def test_partition_commands_on_each_database(app, runner, tmp_path):
    with app.app_context():
        result = runner.invoke(args=["partitions", "ensure"])
        assert result.exit_code == 0, result.output
        if db.engine.dialect.name == "sqlite":
            assert "không phân vùng" in result.output
            archived = runner.invoke(args=["partitions", "archive", "2025-H1", "-o", str(tmp_path / "x.dump")])
            assert archived.exit_code != 0 and "PostgreSQL" in archived.output
        else:
            assert "đã có" in result.output
