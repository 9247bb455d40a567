"""Score rows (survey/indices/scores.py): written with the response, equal to what its answers imply.

The reference is analysis.indices.respondent_scores (plain NumPy, independent of the SQL), for
every question type (likert5 with "không áp dụng", yesno, choice, multi, text) and two versions
with different items and components, through every writer: the citizen's one statement
(intake.responses.store), the ORM, bulk writers (write_scores) and the migration's backfill.
"""
from __future__ import annotations

import json
import math
from itertools import count

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select, text

from analysis.indices import respondent_scores
from survey.catalog.instrument import STANDING_CODE, QuestionSpec, publish_questions
from survey.extensions import db
from survey.indices import rollups, scores
from survey.indices.aggregates import index_rows
from survey.intake import place, responses
from survey.models import (
    Answer,
    Counter,
    Question,
    Response,
    ResponseScore,
    RollupMeasure,
    Survey,
    SurveyVersion,
)
from survey.models.responses import QUARANTINED
from survey.models.rollups import KIND_COMPONENT, KIND_ITEM, KIND_OVERALL
from survey.review import quarantine
from tests.indices.test_aggregates import _random_data

_keys = count()


def _second_version() -> None:
    """Version 2: the standing questions minus A2's, plus a new component and every other type."""
    survey = db.session.scalar(select(Survey).where(Survey.code == STANDING_CODE))
    current = survey.current_version
    specs = [QuestionSpec(q.code, q.component, q.text_vi, q.text_en or "", q.type, q.required,
                          q.allows_na, tuple(tuple(c.items()) for c in q.choices) if q.choices else None,
                          q.max_length)
             for q in current.questions if q.component != "A2"]
    specs += [QuestionSpec("A7.1", "A7", "Mới", "New", allows_na=True),
              QuestionSpec("A7.2", "A7", "Mới 2", "New 2"),
              QuestionSpec("MULTI", "DEMO", "Nhiều", "Many", type="multi",
                           choices=((("value", "a"), ("vi", "a"), ("en", "a")),
                                    (("value", "b"), ("vi", "b"), ("en", "b")))),
              QuestionSpec("NOTE", None, "Ghi chú", "Note", type="text")]
    survey.current_version.frozen = True
    db.session.flush()
    publish_questions(survey, specs)
    db.session.commit()


def _versions() -> list[tuple[place.VersionRef, list[Question]]]:
    out = []
    for v in db.session.scalars(select(SurveyVersion).order_by(SurveyVersion.number)).all():
        out.append((place.VersionRef(v.id, v.survey_id, True, v.created_at), list(v.questions)))
    return out


ANSWER = st.one_of(st.none(), st.just("na"), st.integers(1, 5), st.integers(0, 1),
                   st.sampled_from(["a", "b", "a;b", "xin chào"]))


def _answer(q: Question, raw) -> responses.AnswerValue | None:
    """A plausible stored answer of question q from a drawn value (None: skipped)."""
    if raw is None:
        return None
    if raw == "na":
        return responses.AnswerValue(q.id, na=True)
    if q.type == "likert5":
        return responses.AnswerValue(q.id, value_int=raw if isinstance(raw, int) and raw >= 1 else 3)
    if q.type == "yesno":
        return responses.AnswerValue(q.id, value_int=raw if raw in (0, 1) else 1)
    # choice, multi and text answers are text; a drawn int stands for a stray number.
    return responses.AnswerValue(q.id, value_text=str(raw),
                                 value_int=raw if isinstance(raw, int) else None)


def _expected(questions: list[Question], answers: tuple[responses.AnswerValue, ...]
              ) -> dict[tuple[int, str], float]:
    """Score rows implied by the answers, from analysis.indices (the independent reference)."""
    by_id = {a.question_id: a for a in answers}
    items = [q for q in questions if q.type == "likert5"]
    values = np.array([[by_id[q.id].value_int if q.id in by_id and by_id[q.id].value_int is not None
                        else np.nan for q in items]], dtype=float)
    out: dict[tuple[int, str], float] = {}
    for q, v in zip(items, values[0]):
        if v in (1, 2, 3, 4, 5):
            out[(KIND_ITEM, q.code)] = float(v)
    in_index = [i for i, q in enumerate(items) if q.component not in (None, "OVERALL")]
    if in_index:
        comps, comp_scores, overall = respondent_scores(
            values[:, in_index], [items[i].component for i in in_index])
        for j, c in enumerate(comps):
            if not math.isnan(comp_scores[0, j]):
                out[(KIND_COMPONENT, c)] = float(comp_scores[0, j])
        if not math.isnan(overall[0]):
            out[(KIND_OVERALL, scores.OVERALL)] = float(overall[0])
    return out


def _values(ys) -> list:
    """A score row's array as a list (PostgreSQL: float8[]; SQLite: JSON text)."""
    return json.loads(ys) if isinstance(ys, str) else list(ys)


def _measure_names() -> dict[int, tuple[int, str]]:
    return {i: (k, c) for i, k, c in db.session.execute(
        select(RollupMeasure.id, RollupMeasure.kind, RollupMeasure.code))}


def _stored(response_id: int) -> dict[tuple[int, str], float]:
    """The response's one score row, position k read as the measure whose id is k."""
    rows = db.session.scalars(select(ResponseScore.ys).where(ResponseScore.response_id == response_id)).all()
    assert len(rows) <= 1
    names = _measure_names()
    return {names[k]: y for k, y in enumerate(_values(rows[0]) if rows else [], start=1) if y is not None}


def _assert_close(got: dict, want: dict) -> None:
    assert set(got) == set(want), (sorted(got), sorted(want))
    for k in want:
        assert math.isclose(got[k], want[k], rel_tol=1e-12, abs_tol=1e-15), (k, got[k], want[k])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_score_rows_equal_what_the_answers_imply_for_every_type_version_and_writer(app, counter, data):
    with app.test_request_context():
        if db.session.scalar(select(SurveyVersion.number).order_by(SurveyVersion.number.desc())) == 1:
            _second_version()
        versions = _versions()
        ref, questions = versions[data.draw(st.integers(0, len(versions) - 1))]
        drawn = data.draw(st.lists(ANSWER, min_size=len(questions), max_size=len(questions)))
        answers = tuple(a for a in (_answer(q, r) for q, r in zip(questions, drawn)) if a is not None)
        want = _expected(questions, answers)
        flags = data.draw(st.sampled_from([(), ("burst",)]))
        db.session.remove()
        # 1. the citizen path: one statement (PostgreSQL) / one transaction (SQLite)
        stored = responses.store(responses.Submission(
            version=ref, unit_id=counter.unit_id, counter_id=counter.id, channel="qr",
            idempotency_key=f"score-{next(_keys)}", answers=answers, flags=flags))
        _assert_close(_stored(stored.response_id), want)
        # 2. the ORM
        rid = _orm_response(ref, counter.unit_id, answers)
        _assert_close(_stored(rid), want)
        # 3. bulk writers and the migration's backfill, from the answer rows
        db.session.execute(delete(ResponseScore).where(ResponseScore.response_id.in_([rid, stored.response_id])))
        scores.write_scores(db.session, [rid])
        db.session.execute(text(scores.score_statement(scores.ANSWERS_OF.format(
            where=f" WHERE a.response_id = {int(stored.response_id)}"), scores.dialect_of(db.session))))
        db.session.commit()
        _assert_close(_stored(rid), want)
        _assert_close(_stored(stored.response_id), want)


def _orm_response(ref: place.VersionRef, unit_id: int, answers) -> int:
    response = Response(survey_id=ref.survey_id, survey_version_id=ref.id, unit_id=unit_id,
                        submitted_at=ref.created_at, period="2026-H2", channel="qr",
                        idempotency_key=f"orm-{next(_keys)}")
    response.answers = [Answer(question_id=a.question_id, value_int=a.value_int,
                               value_text=a.value_text, na=a.na) for a in answers]
    db.session.add(response)
    db.session.commit()
    return response.id


def _migration(name: str):
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "migrations" / "versions" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_migrations_add_every_measure_the_application_does():
    """i15a backfills (kind, code) rows, i15c maps them to measure ids: i15c must add at least
    the measures the application adds (the same text) before mapping, or rows would be lost;
    the rows themselves are compared in test_backfill_rebuilds_every_score_row."""
    module = _migration("i15c_fold")
    assert scores.MEASURE_ROWS in module.MEASURES
    assert "FROM response_score" in module.MEASURES


def _all_rows() -> list:
    """Every score value as (response_id, kind, code, period, y): measures by (kind, code),
    which stay what they mean whatever id."""
    names = _measure_names()
    return sorted((rid, *names[k], period, y)
                  for rid, period, ys in db.session.execute(
                      select(ResponseScore.response_id, ResponseScore.period, ResponseScore.ys))
                  for k, y in enumerate(_values(ys), start=1) if y is not None)


def _narrow_rows() -> list:
    """The same from the narrow table of revision i15d_watermark."""
    return sorted(tuple(r) for r in db.session.execute(text(
        "SELECT s.response_id, m.kind, m.code, s.period, s.y FROM response_score s "
        "JOIN rollup_measure m ON m.id = s.measure")))


def _same(after: list, before: list) -> None:
    assert [r[:4] for r in after] == [r[:4] for r in before]
    assert all(math.isclose(a[4], b[4], rel_tol=1e-12, abs_tol=1e-15) for a, b in zip(after, before))


def test_backfill_rebuilds_every_score_row(app):
    """Forget every score row, run the migration's backfill: the same rows come back (seeded
    demo responses, both backends)."""
    from flask_migrate import downgrade, upgrade

    with app.app_context():
        _random_data()
        before = _all_rows()
        assert len(before) > 3000
        db.session.remove()
        downgrade(revision="i13a_loop")
        upgrade()
        _same(_all_rows(), before)


def test_the_wide_rows_convert_to_narrow_rows_and_back_exactly(app):
    """Migration i16a_wide: downgrade gives each value back as its narrow row (the same float,
    bit for bit: SQLite's JSON keeps 17 digits), upgrade the same arrays again."""
    from flask_migrate import downgrade, upgrade

    with app.app_context():
        _random_data()
        before = _all_rows()
        arrays = sorted((r, p, _values(ys)) for r, p, ys in db.session.execute(
            select(ResponseScore.response_id, ResponseScore.period, ResponseScore.ys)))
        assert len(before) > 3000 and any(None in ys for _r, _p, ys in arrays)
        db.session.remove()
        downgrade(revision="i15d_watermark")
        assert _narrow_rows() == before
        db.session.remove()
        upgrade()
        assert sorted((r, p, _values(ys)) for r, p, ys in db.session.execute(
            select(ResponseScore.response_id, ResponseScore.period, ResponseScore.ys))) == arrays


def _overall(unit_id: int, period: str) -> float | None:
    rows = [r for r in index_rows(period, {unit_id}, stats=("overall",))]
    return rows[0].est.estimate if rows else None


def test_quarantined_responses_have_score_rows_but_count_in_no_sum(app):
    with app.app_context():
        _random_data()
        from datetime import datetime, timezone

        from survey.catalog.periods import period_of
        row = db.session.execute(select(Response.unit_id, Response.period).where(
            Response.status == "counted", Response.period == period_of(datetime.now(timezone.utc)))
            .limit(1)).one()
        unit_id, period = row
        before = _overall(unit_id, period)
        ids = db.session.scalars(select(Response.id).where(Response.unit_id == unit_id,
                                                           Response.period == period)).all()
        # A run of all-1 responses, stored quarantined by the citizen path: rows, no effect.
        counter_id = db.session.scalar(select(Counter.id).where(Counter.unit_id == unit_id))
        v = db.session.scalar(select(SurveyVersion).order_by(SurveyVersion.number.desc()))
        ref = place.VersionRef(v.id, v.survey_id, True, v.created_at)
        items = [q.id for q in v.questions if q.type == "likert5"]
        db.session.remove()
        for i in range(5):
            stored = responses.store(responses.Submission(
                version=ref, unit_id=unit_id, counter_id=counter_id, channel="qr",
                idempotency_key=f"held-{i}", flags=("burst",),
                answers=tuple(responses.AnswerValue(q, value_int=1) for q in items)))
            assert _stored(stored.response_id)
        db.session.remove()
        for fold in (False, True):
            if fold:
                rollups.refresh()
            assert math.isclose(_overall(unit_id, period), before, rel_tol=1e-12)
        # Released (through the one path of status changes, which puts a response the fold
        # passed into the late set): counted at once (live tail), and the same after the fold.
        released_n = quarantine.decide("release", quarantine.Selection(
            unit_id=unit_id, period=period, status=QUARANTINED))
        assert released_n == 5
        released = _overall(unit_id, period)
        assert released < before - 1e-6   # five all-1 responses, not float noise of a re-sum
        rollups.refresh()
        assert math.isclose(_overall(unit_id, period), released, rel_tol=1e-12)
        assert ids  # the unit had responses of its own
