"""Reading cases for officials: always through a scope (survey/access.py), so a case of another
unit is as absent as an unknown id."""
from __future__ import annotations

from datetime import date

from sqlalchemy import Select, and_, select

from survey.access import Scope, restrict
from survey.extensions import db
from survey.models import FeedbackCase, Question, SurveyVersion, Unit

LIST_LIMIT = 500  # a unit's page; older cases are reached by period


def late_clause(today: date):
    """Quá hạn, as SQL: not closed, not answered, and its due date has passed (cases.is_late)."""
    return and_(FeedbackCase.status != "closed", FeedbackCase.answered_at.is_(None),
                FeedbackCase.due_date.is_not(None), FeedbackCase.due_date < today)


def scoped_cases(scope: Scope) -> Select:
    return restrict(select(FeedbackCase), scope, FeedbackCase.unit_id)


def cases_for(scope: Scope, *, today: date, unit_id: int | None = None, status: str | None = None,
              late_only: bool = False, period: str | None = None) -> list[FeedbackCase]:
    """Cases in scope, newest first, filtered by unit, status, lateness and period."""
    query = scoped_cases(scope)
    if unit_id is not None:
        query = query.where(FeedbackCase.unit_id == unit_id)
    if status:
        query = query.where(FeedbackCase.status == status)
    if late_only:
        query = query.where(late_clause(today))
    if period:
        query = query.where(FeedbackCase.period == period)
    query = query.order_by(FeedbackCase.created_at.desc(), FeedbackCase.id.desc()).limit(LIST_LIMIT)
    return list(db.session.scalars(query))


def visible_case(scope: Scope, case_id: int) -> FeedbackCase | None:
    return db.session.scalar(scoped_cases(scope).where(FeedbackCase.id == case_id))


def unit_names(unit_ids) -> dict[int, str]:
    ids = set(unit_ids)
    if not ids:
        return {}
    return dict(db.session.execute(select(Unit.id, Unit.name).where(Unit.id.in_(ids))).all())


def item_texts(survey_id: int | None, codes: list[str] | None, lang: str = "vi") -> list[tuple[str, str]]:
    """(code, question text) of the low-rated items, as the survey's latest version words them."""
    if not codes:
        return []
    found: dict[str, str] = {}
    if survey_id is not None:
        rows = db.session.execute(
            select(Question.code, Question.text_vi, Question.text_en)
            .join(SurveyVersion, SurveyVersion.id == Question.version_id)
            .where(SurveyVersion.survey_id == survey_id, Question.code.in_(codes))
            .order_by(SurveyVersion.id))
        for code, text_vi, text_en in rows:  # later versions overwrite earlier ones
            found[code] = text_en if lang == "en" and text_en else text_vi
    return [(code, found.get(code, code)) for code in codes]
