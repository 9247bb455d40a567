"""Dashboard pages: one unit's indices (every role), the province ranking (analysts, admins).

Views only pick parameters, check access and hand plain data to templates; numbers come from
indices/aggregates (SQL aggregates -> analysis.indices) and dashboards/queries; comments from
indices/comments.
"""
from __future__ import annotations

from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from typing import NamedTuple

from flask import abort, render_template, request
from flask_login import current_user
from sqlalchemy import select

from survey.access import Scope, restrict, visible_unit_ids
from survey.args import find_unit, period_arg, unit_arg, window_arg
from survey.catalog.instrument import COMPONENTS, STANDING_CODE
from survey.catalog.periods import last_periods
from survey.dashboards import bp, charts, formatting, queries
from survey.extensions import db
from survey.indices import comments, drill
from survey.indices.aggregates import index_rows, trend, unit_summary
from survey.models import Unit
from survey.models.units import UNIT_KINDS
from survey.officials.nav import can
from survey.permissions import Permission, requires

TREND_PERIODS = 4


@bp.context_processor
def _formatting():
    return {"fmt": formatting, "charts": charts}  # charts: the trend chart's frame (charts.TREND)


def _default_unit(visible: Scope, units: Sequence[queries.UnitChoice], period: str) -> Unit | None:
    """The reader's own unit, else the first with responses in the period, else the first."""
    if current_user.unit_id is not None:
        return find_unit(visible, unit_id=current_user.unit_id)
    found = queries.first_unit_with_responses(visible, period)  # already restricted to the scope
    if found is not None:
        return found
    return find_unit(visible, unit_id=units[0].id) if units else None


@bp.get("/")
@requires(Permission.VIEW_UNIT)
def index():
    window = window_arg()
    # Counts, comments and held responses are per half-year: the window's (last) one.
    period = window.period or window.periods[-1]
    visible = visible_unit_ids(current_user)
    # A reader of a few units: whole units, and the page's unit is then already in the session.
    units = queries.units_for_choice(visible)
    unit = unit_arg(visible) or _default_unit(visible, units, period)
    if unit is None:
        abort(404)
    # ?xac_thuc=1: the index on verified (dossier-link) responses alone, a robustness check.
    verified_only = request.args.get("xac_thuc") == "1"
    # One read (by counter, pooled back to the unit) for the window's figures and the trend.
    trend_periods = last_periods(period, TREND_PERIODS)
    rows, per_counter = drill.unit_reading(unit.id, trend_periods, verified_only=verified_only)
    key = drill.window_key(window)
    if window.period is None:
        rows_now, per_counter = drill.unit_reading(unit.id, window, verified_only=verified_only)
        rows = rows + rows_now
    summary = unit_summary(unit.id, key, verified_only=verified_only, rows=rows)
    components = [(f"{code} {name}", est) for code, name, est in summary.components]
    comp_scale = charts.scale_for([], 250, 300)
    trend_pts, trend_line = charts.trend_points(
        trend(unit.id, trend_periods, verified_only=verified_only, rows=rows))
    counts = queries.unit_counts(visible, unit.id, period)
    columns, column_width = charts.day_columns(counts.days)
    # Against the province (every unit, all responses): its value, the unit's rank, the gap.
    standing = None if verified_only else drill.standing(unit.id, window)
    province = next((u for u in units if u.kind == "province"), None)
    return render_template(
        "dashboards/index.html",
        unit=unit, period=period, window=window, summary=summary,
        units=units, province=province if can(Permission.COMPARE_UNITS) else None,
        choices=window_choices(sorted(set(counts.periods) | {period}, reverse=True)),
        component_rows=charts.interval_rows(components, comp_scale), component_scale=comp_scale,
        weakest=summary.weakest(3),
        trend_points=trend_pts, trend_line=trend_line,
        counters=[(c, per_counter.get((c.id, key), {}).get(("overall", "overall")))
                  for c in counts.counters],
        standing=standing,
        columns=columns, column_width=column_width,
        comments=comments.latest(visible, STANDING_CODE, unit_ids={unit.id}, period=period),
        # Sở Nội vụ decides on held responses; others only see figures without them.
        held=counts.held if can(Permission.REVIEW_QUARANTINE) else 0,
        verified_only=verified_only, verified=counts.verified,
    )


def window_choices(periods: list[str]) -> dict[str, list[str]]:
    """Half-years with responses, and the quarters and years they hold (newest first)."""
    years = sorted({p[:4] for p in periods}, reverse=True)
    quarters = sorted({f"{p[:4]}-Q{q}" for p in periods
                       for q in ((1, 2) if p.endswith("H1") else (3, 4))}, reverse=True)
    return {"periods": periods, "quarters": quarters, "years": years}


MEASURES = {"overall": ("overall", "overall"), **{c: ("component", c) for c in COMPONENTS}}


class Comparison(NamedTuple):
    kind: str
    measure: str
    stat: str
    code: str
    unit_ids: AbstractSet[int] | None  # the units compared; None: the whole province
    visible: AbstractSet[int] | None   # the units the reader sees; None: the whole province


def comparison_args() -> Comparison:
    """A comparison page's ?kind=&measure=: the units the reader sees, of one kind when asked,
    so they rank like with like; 404 on an unknown kind or measure."""
    kind = request.args.get("kind", "")
    measure = request.args.get("measure", "overall")
    if (kind and kind not in UNIT_KINDS) or measure not in MEASURES:
        abort(404)
    stat, code = MEASURES[measure]
    visible = visible_unit_ids(current_user)
    unit_ids = visible
    if kind:
        unit_ids = set(db.session.scalars(
            restrict(select(Unit.id).where(Unit.kind == kind), visible, Unit.id)))
    return Comparison(kind, measure, stat, code, unit_ids, visible)


@bp.get("/so-sanh")
@requires(Permission.COMPARE_UNITS)
def province():
    period = period_arg()
    kind, measure, stat, code, unit_ids, visible = comparison_args()
    rows = [r for r in index_rows(period, unit_ids, stats=(stat,)) if r.measure == code]
    ranked = sorted((r for r in rows if r.est.reliable), key=lambda r: (r.est.rank, r.unit_code))
    unreliable = sorted((r for r in rows if r.est.unreliable), key=lambda r: r.unit_code)
    scale = charts.scale_for([r.est.ci_low for r in ranked], 0, 260)
    bars = charts.interval_rows([(r.unit_name, r.est) for r in ranked], scale)
    return render_template(
        "dashboards/province.html",
        period=period, kind=kind, measure=measure, stat=stat,
        periods=sorted(set(queries.periods_with_responses(visible)) | {period}, reverse=True),
        kinds=[k for k in UNIT_KINDS if k != "province"], measures=MEASURES,
        ranked=list(zip(ranked, bars)), unreliable=unreliable, scale=scale,
        unweighted=any(not r.weighted for r in rows),
    )
