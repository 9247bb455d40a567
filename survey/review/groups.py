"""Flagged responses in groups, with the evidence an analyst needs to decide on each.

A group is the responses of one survey at one counter on one Vietnam day with the same reasons
(``Response.flags``) and status: a burst, a night of out-of-hours answers, one phone's run.
Evidence: how many, at which hours, how many share one answer pattern, and the unit's overall
index now (counted responses) and with the group counted too.  Plain data, no formatting.
"""
from __future__ import annotations

from collections import Counter as Tally
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Sequence, cast

from sqlalchemy import func, select

from analysis import Estimate
from survey.dashboards.queries import as_date, local_day, local_hour
from survey.extensions import db
from survey.indices import aggregates
from survey.models import Answer, Counter, Response, Survey, Unit
from survey.models.responses import COUNTED, QUARANTINED
from survey.review.quarantine import Selection, held_ids

PAGE = 30
CODES_VI = {
    "limit-client": "vượt giới hạn của một điện thoại",
    "limit-counter": "vượt giới hạn của một quầy",
    "burst": "dồn dập tại một quầy",
    "out-of-hours": "ngoài giờ làm việc",
    "same-client": "nhiều phiếu từ một máy",
    "identical-run": "chuỗi câu trả lời giống hệt nhau",
    "manual": "chuyên viên cách ly",
}


@dataclass
class Group:
    unit_id: int
    unit_code: str
    unit_name: str
    survey_id: int
    survey_code: str
    counter_id: int | None
    counter_name: str | None
    day: date
    period: str
    flags: str
    status: str
    responses: int
    upto_id: int
    hours: list[tuple[int, int]] = field(default_factory=list)
    top_pattern: int = 0
    index_now: Estimate | None = None
    index_with: Estimate | None = None

    @property
    def reasons(self) -> list[str]:
        return [CODES_VI.get(c, c) for c in self.flags.split(",") if c]

    def selection(self) -> Selection:
        return Selection(unit_id=self.unit_id, survey_id=self.survey_id, period=self.period,
                         counter_id=self.counter_id, day=self.day, flags=self.flags,
                         status=self.status, upto_id=self.upto_id)


def flagged_groups(status: str = QUARANTINED, period: str | None = None,
                   unit_id: int | None = None, limit: int = PAGE) -> list[Group]:
    """The newest groups of flagged responses with this status, largest first within a day."""
    day = local_day(Response.submitted_at).label("day")
    n = func.count().label("n")
    query = (select(Response.unit_id, Unit.code, Unit.name, Response.survey_id, Survey.code,
                    Response.counter_id, Counter.name, day, Response.period, Response.flags,
                    Response.status, n, func.max(Response.id))
             .join(Unit, Unit.id == Response.unit_id)
             .join(Survey, Survey.id == Response.survey_id)
             .outerjoin(Counter, Counter.id == Response.counter_id)
             .where(Response.status == status, Response.flags.isnot(None), Response.flags != "")
             .group_by(Response.unit_id, Unit.code, Unit.name, Response.survey_id, Survey.code,
                       Response.counter_id, Counter.name, day, Response.period, Response.flags,
                       Response.status)
             .order_by(day.desc(), n.desc(), Unit.code).limit(limit))
    if period:
        query = query.where(Response.period == period)
    if unit_id is not None:
        query = query.where(Response.unit_id == unit_id)
    groups = [Group(u, uc, un, s, sc, c, cn, as_date(d), p, f, st, int(k), int(top))
              for u, uc, un, s, sc, c, cn, d, p, f, st, k, top in db.session.execute(query)]
    now: dict[tuple[int, str, str], Any] = {}
    for g in groups:
        _evidence(g, now)
    return groups


def _overall(unit_id: int, period: str, survey_code: str, include: Sequence[int] = ()
             ) -> Estimate | None:
    rows = aggregates.index_table_for([period], {unit_id}, survey_code, stats=("overall",),
                                      include=include)
    return rows[0].est if rows else None


def _evidence(g: Group, now: dict[tuple[int, str, str], Any]) -> None:
    where = g.selection().where()
    hour = local_hour(Response.submitted_at)
    g.hours = [(int(h), int(k)) for h, k in db.session.execute(
        select(hour, func.count()).where(*where).group_by(hour).order_by(hour))]
    patterns: dict[int, list[tuple]] = {}
    ids = select(Response.id).where(*where)
    for rid, qid, value, na in db.session.execute(
            select(Answer.response_id, Answer.question_id, Answer.value_int, Answer.na)
            .where(Answer.response_id.in_(ids), Answer.value_text.is_(None))):
        patterns.setdefault(rid, []).append((qid, value, na))
    tally = Tally(tuple(sorted(p)) for p in patterns.values())
    g.top_pattern = max(tally.values(), default=0)
    key = (g.unit_id, g.period, g.survey_code)
    if key not in now:
        now[key] = _overall(g.unit_id, g.period, g.survey_code)
    g.index_now = now[key]
    if g.status != COUNTED:
        g.index_with = _overall(g.unit_id, g.period, g.survey_code, held_ids(g.selection()))


def held_counts() -> dict[str, int]:
    """Responses per status among the flagged ones (the page's tabs)."""
    return dict(db.session.execute(
        select(Response.status, func.count()).where(Response.flags.isnot(None),
                                                    Response.flags != "")
        .group_by(Response.status)).all())


def last_response_id() -> int:
    """Decisions taken from the page apply to responses up to this id: what the analyst saw."""
    return cast(int, db.session.scalar(select(func.coalesce(func.max(Response.id), 0))))
