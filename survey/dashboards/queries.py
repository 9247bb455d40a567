"""What the dashboards read besides the indices: counts per counter and day, periods.

Comments come from indices/comments, the one reader of citizens' text (redacted there).

Every function takes a scope (survey/access.Scope: the visible unit ids, None for every unit)
or unit ids the caller has already checked against one; none formats anything.  Counts are of
counted responses only (stratum_sums.counted): quarantined and rejected ones count in no
figure; :func:`held_in_quarantine` tells analysts they exist.

Each count is one select (the ``_*_select`` builders); :func:`unit_counts` sends a unit
dashboard's counts together as one UNION ALL statement, the standalone functions one each.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Protocol, Sequence

from sqlalchemy import Boolean, Date, Integer, Select, String, cast, func, literal, null, select, union, union_all
from sqlalchemy.sql.elements import ColumnElement

from survey.access import Scope, restrict
from survey.catalog.instrument import STANDING_CODE
from survey.extensions import db
from survey.indices.stratum_sums import counted, survey_id_of, unfolded
from survey.links.service import verified_select
from survey.models import Counter, Response, RollupStratum, Unit
from survey.models.responses import QUARANTINED

# Every count select has these columns, so that they can be sent as one UNION ALL.
DAY, COUNTER, PERIOD, VERIFIED, HELD = range(5)


def _row(part: int, key=None, name=None, active=None, n=None) -> list:
    """The five union columns: part, key, name, active, n (NULLs typed for PostgreSQL)."""
    return [literal(part, Integer).label("part"),
            (cast(null(), String) if key is None else cast(key, String)).label("key"),
            (cast(null(), String) if name is None else name).label("name"),
            (cast(null(), Boolean) if active is None else active).label("active"),
            (func.count() if n is None else n).label("n")]


def _periods_select(visible: Scope, survey_code: str) -> Select:
    """Periods with counted responses, from the rollup's strata and the unfolded tail: every
    counted response is in exactly one of them (indices/rollups.py), and both are small, where
    a GROUP BY over the responses reads every response of the scope (a million for Sở Nội vụ)."""
    survey_id = survey_id_of(survey_code)
    folded = restrict(select(RollupStratum.period.label("period"))
                      .where(RollupStratum.survey_id == survey_id, RollupStratum.responses > 0),
                      visible, RollupStratum.unit_id)
    tail = restrict(select(Response.period.label("period"))
                    .where(Response.survey_id == survey_id, counted(), unfolded(survey_id)),
                    visible, Response.unit_id)
    periods = union(folded, tail).subquery()
    return select(*_row(PERIOD, periods.c.period)).group_by(periods.c.period)


def periods_with_responses(visible: Scope, survey_code: str = STANDING_CODE) -> list[str]:
    return sorted((key for _p, key, *_ in db.session.execute(
        _periods_select(visible, survey_code))), reverse=True)


def first_unit_with_responses(visible: Scope, period: str,
                              survey_code: str = STANDING_CODE) -> Unit | None:
    """The first unit (by code) with counted responses in the period: from the rollup's strata
    and the unfolded tail, as :func:`_periods_select`."""
    survey_id = survey_id_of(survey_code)
    folded = restrict(select(RollupStratum.unit_id.label("unit_id"))
                      .where(RollupStratum.survey_id == survey_id, RollupStratum.period == period,
                             RollupStratum.responses > 0), visible, RollupStratum.unit_id)
    tail = restrict(select(Response.unit_id.label("unit_id"))
                    .where(Response.survey_id == survey_id, Response.period == period, counted(),
                           unfolded(survey_id)), visible, Response.unit_id)
    units = union(folded, tail).subquery()
    return db.session.scalar(select(Unit).join(units, units.c.unit_id == Unit.id)
                             .order_by(Unit.code).limit(1))


@dataclass(frozen=True)
class CounterCount:
    id: int
    code: str
    name: str
    active: bool
    responses: int


def _counters_select(unit_id: int, period: str, survey_code: str) -> Select:
    counts = (select(Response.counter_id, func.count().label("n"))
              .where(Response.unit_id == unit_id, Response.period == period,
                     Response.survey_id == survey_id_of(survey_code), counted())
              .group_by(Response.counter_id).subquery())
    # The key carries the id and the code ("17 Q01"): the union has one key column.
    key = cast(Counter.id, String) + literal(" ", String) + Counter.code
    return (select(*_row(COUNTER, key, Counter.name, Counter.active,
                         func.coalesce(counts.c.n, 0)))
            .outerjoin(counts, counts.c.counter_id == Counter.id)
            .where(Counter.unit_id == unit_id))


def _counters(rows) -> list[CounterCount]:
    return sorted((CounterCount(int(key.split(" ", 1)[0]), key.split(" ", 1)[1], name, bool(active), int(n))
                   for _p, key, name, active, n in rows), key=lambda c: c.code)


def counter_counts(unit_id: int, period: str, survey_code: str = STANDING_CODE) -> list[CounterCount]:
    """Every counter of the unit with its responses in the period, zero included."""
    return _counters(db.session.execute(_counters_select(unit_id, period, survey_code)))


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


def _daily_select(unit_id: int, period: str, survey_code: str) -> Select:
    day = local_day(Response.submitted_at)
    return (select(*_row(DAY, day))
            .where(Response.unit_id == unit_id, Response.period == period,
                   Response.survey_id == survey_id_of(survey_code), counted())
            .group_by(day))


def _days(rows) -> list[tuple[date, int]]:
    return sorted((as_date(key), int(n)) for _p, key, _name, _active, n in rows)


def daily_counts(unit_id: int, period: str, survey_code: str = STANDING_CODE) -> list[tuple[date, int]]:
    return _days(db.session.execute(_daily_select(unit_id, period, survey_code)))


def _held_select(unit_id: int, period: str) -> Select:
    return select(*_row(HELD)).select_from(Response).where(
        Response.unit_id == unit_id, Response.period == period, Response.status == QUARANTINED)


def held_in_quarantine(unit_id: int, period: str) -> int:
    """Responses of the unit in the period waiting for Sở Nội vụ's review (every survey)."""
    return int(db.session.execute(_held_select(unit_id, period)).one().n or 0)


@dataclass(frozen=True)
class UnitCounts:
    days: list[tuple[date, int]]     # counted responses per day in Vietnam, oldest first
    counters: list[CounterCount]     # every counter of the unit, zero included, by code
    periods: list[str]               # periods with responses in the scope, newest first
    verified: int                    # through a dossier link
    held: int                        # quarantined, every survey (for Sở Nội vụ only)


def unit_counts(visible: Scope, unit_id: int, period: str,
                survey_code: str = STANDING_CODE) -> UnitCounts:
    """A unit dashboard's counts in one statement; ``periods`` is over the whole scope."""
    verified = verified_select({unit_id}, period, survey_code).subquery()
    parts = [_daily_select(unit_id, period, survey_code),
             _counters_select(unit_id, period, survey_code),
             _periods_select(visible, survey_code),
             select(*_row(VERIFIED, n=verified.c[0])),
             _held_select(unit_id, period)]
    by_part: dict[int, list] = {p: [] for p in (DAY, COUNTER, PERIOD, VERIFIED, HELD)}
    for row in db.session.execute(union_all(*parts)):
        by_part[row.part].append(row)
    return UnitCounts(
        days=_days(by_part[DAY]), counters=_counters(by_part[COUNTER]),
        periods=sorted((r.key for r in by_part[PERIOD]), reverse=True),
        verified=sum(int(r.n or 0) for r in by_part[VERIFIED]),
        held=sum(int(r.n or 0) for r in by_part[HELD]))


class UnitChoice(Protocol):
    """What the unit picker shows of a unit (a Unit, or a row of these four columns)."""

    @property
    def id(self) -> int: ...
    @property
    def code(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def kind(self) -> str: ...


def units_for_choice(visible: Scope) -> Sequence[UnitChoice]:
    """The unit picker's units, province first.  Every unit (a province-wide reader): rows of
    four columns, as a country's 3,321 ORM objects took longer to build than the rest of the
    page.  A unit's own subtree (a few): whole units, so the page's unit, looked up next, is
    already in the session."""
    if visible is not None:
        return list(db.session.scalars(restrict(select(Unit).order_by(Unit.kind != "province", Unit.code),
                                                visible, Unit.id)))
    return list(db.session.execute(select(Unit.id, Unit.code, Unit.name, Unit.kind)
                                   .order_by(Unit.kind != "province", Unit.code)))
