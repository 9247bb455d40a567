"""Citizens' free text (comments and a campaign's open questions): the only query that reads it.

Everything an official reads of a comment comes from here: the dashboard, the PDF reports, the
CSV/XLSX exports and the API. So the rules are kept in one place:

- contact data and ID numbers are replaced by :data:`REDACTED` (:func:`redact`): citizens type
  their phone number, e-mail or citizen ID card into the box to be called back, and a comment
  read by the staff of the rated unit must not name its writer (Decree 13/2023/NĐ-CP);
- only responses that count (``Response.status == 'counted'``): a quarantined or rejected
  response is in no figure, and its text is not shown either;
- one survey at a time: a thematic campaign's comments never reach the SIPAS unit report;
- only the units in the caller's scope (``access.visible_unit_ids``; None = the whole province);
- a comment carries its day, never its time or counter (together they could name the writer).

The unredacted text is read only by :func:`raw_texts`, behind an administrator's audited action
(survey/admin/comments.py).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import AbstractSet, Iterable, cast

from sqlalchemy import Select, false, func, select

from analysis.report.model import Comment
from survey.catalog.periods import in_vietnam
from survey.extensions import db
from survey.models import Answer, Question, Response, Survey

REDACTED = "[đã ẩn]"
COUNTED = "counted"
FREE_TEXT = "text"  # Question.type of the comment box and of a campaign's open questions

_EMAIL = r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"
# A run of digits that may hold a separator or two between digits: "0912 345 678", "0912.345.678",
# "+84-912-345-678", "(028) 3823 4567", "001203004567". What the run spells is decided by its
# digit count in _mask, not by the separators, which people place anyhow.
_DIGITS = r"\+?\(?\d(?:[ .\-()]{0,2}\d)*"
_SENSITIVE = re.compile(rf"{_EMAIL}|(?<![\d+]){_DIGITS}")
# Vietnamese mobile numbers have 10 digits (0 + 9: 03x, 05x, 07x, 08x, 09x), landlines 11
# (02x area code + 8), both 11-12 with +84; the citizen ID card (CCCD) has 12 digits and the old
# identity card (CMND) 9. So 9 digits or more is a person's number. Shorter runs (a counter number,
# a date, a price such as 1.500.000) stay. A 9-digit price ("150.000.000") is hidden too: hiding a
# number too many is the safe side.
MIN_PERSONAL_DIGITS = 9


def _mask(match: re.Match[str]) -> str:
    found = match.group(0)
    if "@" in found:
        return REDACTED
    digits = sum(ch.isdigit() for ch in found)
    return REDACTED if digits >= MIN_PERSONAL_DIGITS else found


def redact(text: str) -> str:
    """`text` with phone numbers, e-mail addresses and ID-card numbers replaced by REDACTED."""
    return _SENSITIVE.sub(_mask, text)


def _texts(survey_code: str | None, scope: AbstractSet[int] | None) -> Select:
    """Non-empty free-text answers of counted responses, in `scope`, of one survey (or any)."""
    query = (select(Response.id, Response.submitted_at, Question.code, Answer.value_text)
             .join(Answer, Answer.response_id == Response.id)
             .join(Question, Question.id == Answer.question_id)
             .where(Response.status == COUNTED, Question.type == FREE_TEXT,
                    func.length(func.trim(Answer.value_text)) > 0))
    if survey_code is not None:
        query = query.where(Response.survey_id == select(Survey.id).where(Survey.code == survey_code)
                            .scalar_subquery())
    if scope is not None:
        query = query.where(Response.unit_id.in_(sorted(scope)) if scope else false())
    return query


def _day(moment: datetime):
    return in_vietnam(moment).date()


def latest(scope: AbstractSet[int] | None, survey_code: str, *, unit_ids: Iterable[int] | None = None,
           period: str | None = None, limit: int = 10, codes: Iterable[str] | None = None
           ) -> list[Comment]:
    """Newest first, redacted, with their day: a survey's comments in the caller's `scope`.

    `unit_ids` narrows to some units (a unit's dashboard or report); units outside the scope
    are dropped, not an error: the caller has already answered 404 for those it was asked.
    `codes` narrows to some questions (a campaign's open question "C3", or "COMMENT").
    """
    if unit_ids is not None:
        wanted = set(unit_ids)
        scope = wanted if scope is None else scope & wanted
    query = _texts(survey_code, scope)
    if period is not None:
        query = query.where(Response.period == period)
    if codes is not None:
        query = query.where(Question.code.in_(sorted(codes)))
    rows = db.session.execute(query.order_by(Response.submitted_at.desc(), Response.id.desc(),
                                             Question.position).limit(limit)).all()
    return [Comment(date=_day(at), text=redact(text.strip())) for _id, at, _code, text in rows]


def by_response(response_ids: list[int]) -> dict[int, dict[str, str]]:
    """Response id -> question code -> redacted text, for exports and the API.

    The ids come from a scoped export query; responses that do not count are left out here
    as well, so an export never carries a quarantined response's text whatever else it shows.
    """
    if not response_ids:
        return {}
    out: dict[int, dict[str, str]] = {}
    for response_id, _at, code, text in db.session.execute(
            _texts(None, None).where(Response.id.in_(response_ids))):
        out.setdefault(response_id, {})[code] = redact(text)
    return out


@dataclass(frozen=True)
class RawText:
    response_id: int
    code: str
    text: str


def raw_texts(response_id: int) -> list[RawText]:
    """The unredacted free text of one response, whatever its status.

    Only for the administrator's audited action: the caller writes the audit row.
    """
    rows = db.session.execute(
        select(Question.code, Answer.value_text)
        .join(Question, Question.id == Answer.question_id)
        .where(Answer.response_id == response_id, Question.type == FREE_TEXT,
               Answer.value_text.is_not(None))
        .order_by(Question.position)).all()
    return [RawText(response_id, code, cast(str, text)) for code, text in rows]  # is_not(None) above
