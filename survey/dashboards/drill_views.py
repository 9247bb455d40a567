"""The drill-down: the province's own dashboard, down to a unit (views.index), down to a counter.

Figures come from indices/drill.py (one weighted read, relabelled); the window (half-year,
quarter, year, date range) from survey/args.window_arg, the one parser of dates.  Views pick
parameters, check scope and hand plain data to templates.
"""
from __future__ import annotations

from flask import abort, render_template
from flask_login import current_user
from sqlalchemy import or_, select

from survey.access import in_scope, visible_unit_ids
from survey.args import window_arg
from survey.catalog.instrument import COMPONENTS
from survey.catalog.periods import last_periods
from survey.dashboards import bp, charts, queries
from survey.dashboards.views import MEASURES, TREND_PERIODS, comparison_args, window_choices
from survey.extensions import db
from survey.indices import drill
from survey.indices.windows import Window
from survey.models import Counter, Unit
from survey.models.units import UNIT_KINDS
from survey.permissions import Permission, requires


def trend_periods(window: Window) -> list[str]:
    """The half-years a trend shows: the last TREND_PERIODS up to the window's last one."""
    return last_periods(window.periods[-1], TREND_PERIODS)


def _province_unit() -> Unit | None:
    return db.session.scalar(select(Unit).where(Unit.parent_id.is_(None)).order_by(Unit.id))


@bp.get("/tinh")
@requires(Permission.COMPARE_UNITS)
def overview():
    """The province: pooled index with its interval, components, weakest items, trend, and
    its units ranked on one measure with intervals and tie ranges."""
    window = window_arg()
    # Of one kind of unit when asked: the province of those units, pooled and ranked among them.
    kind, measure, stat, code, unit_ids, visible = comparison_args()
    figures = drill.province(window, unit_ids, stat, code, trend_periods(window))
    # The ranked units and the province (for its name) in one statement.
    names = {u.id: u for u in db.session.scalars(select(Unit).where(or_(
        Unit.id.in_(sorted(int(e.unit or 0) for e in figures.units)), Unit.parent_id.is_(None))))}
    top = min((u for u in names.values() if u.parent_id is None), key=lambda u: u.id, default=None)
    ranked = sorted((e for e in figures.units if e.reliable), key=lambda e: (e.rank, names[int(e.unit or 0)].code))
    unreliable = sorted((e for e in figures.units if e.unreliable), key=lambda e: names[int(e.unit or 0)].code)
    comp_scale = charts.scale_for([], 250, 300)
    components = [(f"{c} {n}", est) for c, n, est in figures.pooled.components if c in COMPONENTS]
    scale = charts.scale_for([e.ci_low for e in ranked], 0, 260)
    trend_pts, trend_line = charts.trend_points(figures.trend)
    return render_template(
        "dashboards/overview.html",
        window=window, kind=kind, measure=measure, stat=stat, province=top,
        choices=window_choices(queries.periods_with_responses(visible)),
        kinds=[k for k in UNIT_KINDS if k != "province"], measures=MEASURES,
        pooled=figures.pooled, weakest=figures.pooled.weakest(3),
        component_rows=charts.interval_rows(components, comp_scale), component_scale=comp_scale,
        trend_points=trend_pts, trend_line=trend_line,
        ranked=list(zip(ranked, charts.interval_rows([("", e) for e in ranked], scale))),
        unreliable=unreliable, names=names, scale=scale,
    )


@bp.get("/quay/<int:counter_id>")
@requires(Permission.VIEW_UNIT)
def counter(counter_id: int):
    """One counter: its index, components, items and trend (a domain of its unit's strata)."""
    window = window_arg()
    visible = visible_unit_ids(current_user)
    found = db.session.get(Counter, counter_id)
    # Another unit's counter is the same 404 as no counter: ids cannot be probed.
    if found is None or not in_scope(visible, found.unit_id):
        abort(404)
    unit = db.session.get(Unit, found.unit_id)
    periods = trend_periods(window)
    if window.period is not None and window.period in periods:
        per = drill.counters(found.unit_id, periods)   # one read serves the window and the trend
        mine = per.get((counter_id, window.period), {})
    else:
        mine = drill.counters(found.unit_id, window).get((counter_id, drill.window_key(window)), {})
        per = drill.counters(found.unit_id, periods, stats=("overall",))
    figures = drill.summary(mine)
    trend_pts, trend_line = charts.trend_points(
        [(p, per.get((counter_id, p), {}).get(("overall", "overall"))) for p in periods])
    comp_scale = charts.scale_for([], 250, 300)
    components = [(f"{c} {n}", est) for c, n, est in figures.components if c in COMPONENTS]
    return render_template(
        "dashboards/counter.html", counter=found, unit=unit, window=window,
        province=_province_unit() if visible is None else None,
        choices=window_choices(queries.periods_with_responses(visible)),
        summary=figures, weakest=figures.weakest(3),
        component_rows=charts.interval_rows(components, comp_scale), component_scale=comp_scale,
        trend_points=trend_pts, trend_line=trend_line,
    )
