"""What the public results page shows, read once per period and kept for a few minutes.

Figures come from the same functions as the dashboards (survey/indices/aggregates.py for units,
survey/indices/pooled.py for the province), so counted responses only and the same weights.
A figure is published only when it is reliable: the estimator says so (Estimate.reliable) and
its unit had at least MIN_RESPONSES responses in that period. Anything else is "not enough
data", on the page and in the machine-readable copies alike (:func:`shown`).

Everything kept here is plain values (Estimates are frozen dataclasses, no ORM objects), so
the per-process cache never holds a session's rows.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date
from typing import Callable, Sequence

from flask import current_app
from sqlalchemy import func, select

from analysis import Estimate
from analysis.estimate import MIN_N
from survey.catalog.instrument import COMPONENTS, STANDING_CODE
from survey.catalog.periods import in_vietnam, last_periods
from survey.extensions import db
from survey.indices.aggregates import IndexRow, index_table_for
from survey.indices.pooled import pooled_rows
from survey.indices.stratum_sums import survey_id_of
from survey.models import CaseEvent, FeedbackCase, Response, Unit

MIN_RESPONSES = MIN_N   # DESIGN.md section 5: fewer responses, no published figure
TREND_PERIODS = 4       # the chosen half-year and the three before it
MAX_ANSWERS = 50        # published answers listed, newest first
CACHE_SECONDS = 300     # also the pages' Cache-Control max-age
_CACHE_KEY = "survey.results"


@dataclass(frozen=True)
class Point:
    """One period of a trend: the overall index and the responses it rests on."""

    period: str
    overall: Estimate | None
    responses: int


@dataclass(frozen=True)
class Entity:
    """The province (code None, pooled over every unit) or one unit, in the chosen period."""

    code: str | None
    name: str
    kind: str
    responses: int
    overall: Estimate | None
    components: tuple[tuple[str, str, Estimate | None], ...]   # (code, name, estimate)
    trend: tuple[Point, ...]


@dataclass(frozen=True)
class PublicAnswer:
    unit_name: str
    published_on: date | None
    text: str


@dataclass(frozen=True)
class Results:
    period: str
    province: Entity | None          # None: no counted response in the period
    units: tuple[Entity, ...]        # ranked units first (by rank), then by code
    answers: tuple[PublicAnswer, ...]


def shown(est: Estimate | None, responses: int) -> bool:
    """Whether `est` may be printed as a figure (else "chưa đủ số liệu")."""
    return est is not None and est.reliable and responses >= MIN_RESPONSES


def latest_period() -> str | None:
    """The latest half-year with a counted response to the standing survey."""
    survey_id = survey_id_of(STANDING_CODE)
    if survey_id is None:
        return None
    return db.session.scalar(select(func.max(Response.period))
                             .where(Response.survey_id == survey_id, Response.status == "counted"))


def cached(period: str, build: Callable[[str], Results] | None = None) -> Results:
    """results(period), computed at most once per CACHE_SECONDS in this process and app."""
    store: dict[str, tuple[float, Results]] = current_app.extensions.setdefault(_CACHE_KEY, {})
    now = time.monotonic()
    hit = store.get(period)
    if hit is not None and now - hit[0] < CACHE_SECONDS:
        return hit[1]
    value = (build or results)(period)
    # Expired entries of other periods go too, so odd ?ky= values cannot grow the dict for ever.
    for key in [k for k, (at, _) in store.items() if now - at >= CACHE_SECONDS]:
        del store[key]
    store[period] = (now, value)
    return value


def results(period: str) -> Results:
    periods = last_periods(period, TREND_PERIODS)
    rows = index_table_for(periods, None, stats=("overall", "component"))
    current = [r for r in rows if r.period == period]
    return Results(period=period, province=_province(period, periods, rows),
                   units=_units(current, rows, periods), answers=_answers(period))


def _components(found: dict[str, Estimate]) -> tuple[tuple[str, str, Estimate | None], ...]:
    return tuple((code, name, found.get(code)) for code, (name, _en) in COMPONENTS.items())


def _units(current: list[IndexRow], rows: Sequence[IndexRow], periods: list[str]) -> tuple[Entity, ...]:
    by_unit: dict[int, list[IndexRow]] = {}
    for r in rows:
        by_unit.setdefault(r.unit_id, []).append(r)
    overall = [r for r in current if r.stat == "overall"]  # already ranked first, then by code
    out = []
    for head in overall:
        mine = by_unit[head.unit_id]
        comps = {r.measure: r.est for r in mine if r.period == head.period and r.stat == "component"}
        per_period = {r.period: r for r in mine if r.stat == "overall"}
        trend = tuple(Point(p, per_period[p].est if p in per_period else None,
                            per_period[p].responses if p in per_period else 0) for p in periods)
        out.append(Entity(head.unit_code, head.unit_name, head.unit_kind, head.responses,
                          head.est, _components(comps), trend))
    return tuple(out)


def _province(period: str, periods: list[str], rows: Sequence[IndexRow]) -> Entity | None:
    responses: dict[str, int] = {}
    for r in rows:
        if r.stat == "overall":
            responses[r.period] = responses.get(r.period, 0) + r.responses
    if not responses.get(period):
        return None
    pooled = {p: pooled_rows(STANDING_CODE, [p], None) if responses.get(p) else {} for p in periods}
    now = pooled[period]
    province = db.session.scalar(select(Unit).where(Unit.kind == "province").order_by(Unit.id))
    return Entity(
        code=None, name=province.name if province else "Toàn tỉnh", kind="province",
        responses=responses[period], overall=now.get(("overall", "overall")),
        components=_components({m: e for (st, m), e in now.items() if st == "component"}),
        trend=tuple(Point(p, pooled[p].get(("overall", "overall")), responses.get(p, 0))
                    for p in periods))


def _answers(period: str) -> tuple[PublicAnswer, ...]:
    """Published answers of the period's cases: the anonymised text and its date, nothing else
    of the case (not its message, items, code or contact)."""
    published_at = (select(func.max(CaseEvent.at)).where(CaseEvent.case_id == FeedbackCase.id,
                                                         CaseEvent.to_status == "published")
                    .correlate(FeedbackCase).scalar_subquery())
    query = (select(Unit.name, published_at, FeedbackCase.public_answer)
             .join(Unit, Unit.id == FeedbackCase.unit_id)
             .where(FeedbackCase.status == "published", FeedbackCase.period == period,
                    FeedbackCase.public_answer.is_not(None))
             .order_by(published_at.desc(), FeedbackCase.id.desc()).limit(MAX_ANSWERS))
    return tuple(PublicAnswer(name, in_vietnam(at).date() if at else None, text or "")
                 for name, at, text in db.session.execute(query))
