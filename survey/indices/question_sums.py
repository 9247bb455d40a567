"""The SQL behind a campaign's own questions and its demographic breakdowns: counts only.

Every figure of a thematic report's question section is estimated (survey/indices/
thematic.py) from these GROUP BYs, per weighting stratum (unit x period x service field, the
key of stratum_sums) and answer; no answer row reaches Python.  Weights are constant within a
stratum, so counts per (stratum, answer) are all the estimators need.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import AbstractSet, Any, Sequence

from sqlalchemy import Float, String, and_, cast, func, select
from sqlalchemy.orm import aliased

from survey.extensions import db
from survey.indices.stratum_sums import Instrument, _field_expr, counted, overall_scores
from survey.models import Answer, Question, Response

# Answer kinds read as numbers; the others (choice, multi) are stored as text codes.
NUMERIC = ("likert5", "yesno")


@dataclass(frozen=True)
class AnswerCount:
    """Responses of one stratum giving one answer (with one demographic answer, if any)."""

    stratum: tuple[int, str, str]   # (unit_id, period, field), field '' when none
    code: str                       # question code
    value: str                      # "1".."5", "0"/"1", a choice code, "1;3" for multi
    n: int
    group: tuple[str, str] | None = None   # (demographic code, its answer)


@dataclass(frozen=True)
class ScoreSums:
    """Per stratum and demographic answer: count, Σy, Σy² of the respondent overall score."""

    stratum: tuple[int, str, str]
    group: tuple[str, str]
    n: int
    s1: float
    s2: float


def _where(survey_id: int, unit_ids: AbstractSet[int] | None) -> list[Any]:
    where = [Response.survey_id == survey_id, counted()]
    if unit_ids is not None:
        where.append(Response.unit_id.in_(sorted(unit_ids)))
    return where


def _value(a: Any) -> Any:
    # One text column for every kind: the numeric answers as their digits.
    return func.coalesce(a.value_text, cast(a.value_int, String))


def answer_counts(survey_id: int, unit_ids: AbstractSet[int] | None, codes: Sequence[str],
                  demographics: Sequence[str] = ()) -> list[AnswerCount]:
    """Counted answers of `codes` (not "không áp dụng"), per stratum and answer; and, when
    `demographics` are given, also per (demographic code, answer) of the same response."""
    if not codes:
        return []
    f = _field_expr()
    a, q = aliased(Answer), aliased(Question)
    value = _value(a)
    base = [Response.unit_id, Response.period, f, q.code, value]
    answered = and_(a.na.is_not(True), value.is_not(None))
    out = [AnswerCount((r[0], r[1], r[2]), r[3], r[4], r[5]) for r in db.session.execute(
        select(*base, func.count())
        .join(a, a.response_id == Response.id).join(q, q.id == a.question_id)
        .where(*_where(survey_id, unit_ids), q.code.in_(codes), answered)
        .group_by(*base))]
    if demographics:
        d, dq = aliased(Answer), aliased(Question)
        keys = [*base, dq.code, d.value_text]
        out += [AnswerCount((r[0], r[1], r[2]), r[3], r[4], r[7], (r[5], r[6]))
                for r in db.session.execute(
                    select(*keys, func.count())
                    .join(a, a.response_id == Response.id).join(q, q.id == a.question_id)
                    .join(d, d.response_id == Response.id).join(dq, dq.id == d.question_id)
                    .where(*_where(survey_id, unit_ids), q.code.in_(codes), answered,
                           dq.code.in_(demographics), d.value_text.is_not(None))
                    .group_by(*keys))]
    return out


def score_sums(inst: Instrument, survey_id: int, unit_ids: AbstractSet[int] | None,
               demographics: Sequence[str]) -> list[ScoreSums]:
    """The respondent overall score (stratum_sums' definition) summed per stratum and
    demographic answer: the main index by group."""
    if not inst.components or not demographics:
        return []
    where = _where(survey_id, unit_ids)
    scores = overall_scores(inst, where)
    f = _field_expr()
    d, dq = aliased(Answer), aliased(Question)
    y = cast(scores.c.y, Float)
    keys = [Response.unit_id, Response.period, f, dq.code, d.value_text]
    rows = db.session.execute(
        select(*keys, func.count(y), func.sum(y), func.sum(y * y))
        .join(scores, scores.c.rid == Response.id)
        .join(d, d.response_id == Response.id).join(dq, dq.id == d.question_id)
        .where(*where, dq.code.in_(demographics), d.value_text.is_not(None), y.is_not(None))
        .group_by(*keys))
    return [ScoreSums((r[0], r[1], r[2]), (r[3], r[4]), int(r[5]), float(r[6] or 0), float(r[7] or 0))
            for r in rows if r[5]]


def answered(survey_id: int, unit_ids: AbstractSet[int] | None, codes: Sequence[str]) -> dict[str, int]:
    """Counted non-empty answers per question code (an open question's count, not its text)."""
    if not codes:
        return {}
    q = aliased(Question)
    rows = db.session.execute(
        select(q.code, func.count()).join(Answer, Answer.question_id == q.id)
        .join(Response, and_(Response.id == Answer.response_id, Response.period == Answer.period))
        .where(*_where(survey_id, unit_ids), q.code.in_(codes), Answer.na.is_not(True),
               func.length(func.trim(func.coalesce(Answer.value_text, ""))) > 0)
        .group_by(q.code))
    return {r[0]: int(r[1]) for r in rows}
