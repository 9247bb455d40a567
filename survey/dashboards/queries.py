"""What the dashboards read besides the indices: counts per counter and day, periods.

Comments come from indices/comments, the one reader of citizens' text (redacted there).

Every function takes unit ids the caller has already checked against survey/access; none
formats anything.  Counts are of counted responses only (stratum_sums.counted): quarantined and
rejected ones count in no figure; :func:`held_in_quarantine` tells analysts they exist.
"""
from __future__ import annotations

from typing import AbstractSet

import re
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Date, Integer, cast, func, select
from sqlalchemy.sql.elements import ColumnElement

from survey.extensions import db
from survey.models import Counter, Response, Survey, Unit
from survey.models.responses import QUARANTINED
from survey.indices.stratum_sums import counted
from survey.catalog.instrument import STANDING_CODE

PERIOD_RE = re.compile(r"^\d{4}-H[12]$")


def _survey_id(survey_code: str) -> int | None:
    return db.session.scalar(select(Survey.id).where(Survey.code == survey_code))


def periods_with_responses(unit_ids: AbstractSet[int] | None, survey_code: str = STANDING_CODE) -> list[str]:
    query = select(Response.period).distinct().where(Response.survey_id == _survey_id(survey_code),
                                                     counted())
    if unit_ids is not None:
        query = query.where(Response.unit_id.in_(sorted(unit_ids)))
    return sorted(db.session.scalars(query).all(), reverse=True)


def first_unit_with_responses(unit_ids: AbstractSet[int] | None, period: str,
                              survey_code: str = STANDING_CODE) -> int | None:
    query = (select(Response.unit_id).join(Unit, Unit.id == Response.unit_id)
             .where(Response.period == period, Response.survey_id == _survey_id(survey_code),
                    counted())
             .group_by(Response.unit_id, Unit.code).order_by(Unit.code).limit(1))
    if unit_ids is not None:
        query = query.where(Response.unit_id.in_(sorted(unit_ids)))
    return db.session.scalar(query)


@dataclass(frozen=True)
class CounterCount:
    code: str
    name: str
    active: bool
    responses: int


def counter_counts(unit_id: int, period: str, survey_code: str = STANDING_CODE) -> list[CounterCount]:
    """Every counter of the unit with its responses in the period, zero included."""
    counts = (select(Response.counter_id, func.count().label("n"))
              .where(Response.unit_id == unit_id, Response.period == period,
                     Response.survey_id == _survey_id(survey_code), counted())
              .group_by(Response.counter_id).subquery())
    rows = db.session.execute(
        select(Counter.code, Counter.name, Counter.active, func.coalesce(counts.c.n, 0))
        .outerjoin(counts, counts.c.counter_id == Counter.id)
        .where(Counter.unit_id == unit_id).order_by(Counter.code)).all()
    return [CounterCount(*row) for row in rows]


def local_day(column) -> ColumnElement:
    """The calendar day in Vietnam (UTC+7 all year, no daylight saving) of a UTC timestamp."""
    if db.engine.dialect.name == "sqlite":
        return func.date(column, "+7 hours")
    return cast(func.timezone("Asia/Ho_Chi_Minh", column), Date)


def local_hour(column) -> ColumnElement:
    """The hour (0-23) in Vietnam of a UTC timestamp."""
    if db.engine.dialect.name == "sqlite":
        return cast(func.strftime("%H", column, "+7 hours"), Integer)
    return cast(func.extract("hour", func.timezone("Asia/Ho_Chi_Minh", column)), Integer)


def as_date(value) -> date:
    """A local_day() value as a date (SQLite gives the ISO text)."""
    return value if isinstance(value, date) else date.fromisoformat(value)


def daily_counts(unit_id: int, period: str, survey_code: str = STANDING_CODE) -> list[tuple[date, int]]:
    day = local_day(Response.submitted_at).label("day")
    rows = db.session.execute(
        select(day, func.count()).where(Response.unit_id == unit_id, Response.period == period,
                                        Response.survey_id == _survey_id(survey_code), counted())
        .group_by(day).order_by(day)).all()
    return [(as_date(d), n) for d, n in rows]


def held_in_quarantine(unit_id: int, period: str) -> int:
    """Responses of the unit in the period waiting for Sở Nội vụ's review (every survey)."""
    return db.session.scalar(select(func.count()).select_from(Response).where(
        Response.unit_id == unit_id, Response.period == period,
        Response.status == QUARANTINED)) or 0


def units_for_choice(unit_ids: AbstractSet[int] | None) -> list[Unit]:
    query = select(Unit).order_by(Unit.kind != "province", Unit.code)
    if unit_ids is not None:
        query = query.where(Unit.id.in_(sorted(unit_ids)))
    return list(db.session.scalars(query))
