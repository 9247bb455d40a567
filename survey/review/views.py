"""The review page: flagged groups with their evidence, period-level signals, and decisions.

Views only read parameters, hand plain data to the template and call review.quarantine; every
decision is audited there, in the transaction that makes it.
"""
from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Literal, overload

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from analysis.report.language import N_
from survey.access import unit_or_404
from survey.catalog.periods import period_of, period_problem
from survey.dashboards import formatting
from survey.dashboards.queries import units_for_choice
from survey.models.responses import COUNTED, QUARANTINED, STATUSES
from survey.review import bp, evidence, groups
from survey.review.quarantine import ACTIONS, Selection, decide

# Marked for the catalogue, translated where shown (_(label) in the page, _(DONE[...]) below).
TABS = {QUARANTINED: N_("Đang cách ly"), "rejected": N_("Đã loại khỏi số liệu"),
        COUNTED: N_("Đã trả lại (được tính)")}
DONE = {"release": N_("Đã trả lại %(n)s phiếu vào số liệu."),
        "reject": N_("Đã loại %(n)s phiếu khỏi số liệu (có thể trả lại sau)."),
        "quarantine": N_("Đã cách ly %(n)s phiếu.")}


@overload
def _period(value: str | None, default: str) -> str: ...
@overload
def _period(value: str | None, default: None) -> str | None: ...


def _period(value: str | None, default: str | None) -> str | None:
    value = (value or "").strip() or default
    if value is not None and period_problem(value) is not None:
        abort(404 if request.method == "GET" else 400)
    return value


MAX_ID = 2**31 - 1        # unit, survey and counter ids are INTEGER columns on both backends
MAX_RESPONSE_ID = 2**62   # response ids are BIGINT on PostgreSQL


@overload
def _int(value: str | None, required: Literal[True], high: int = ...) -> int: ...
@overload
def _int(value: str | None, required: bool = ..., high: int = ...) -> int | None: ...


def _int(value: str | None, required: bool = False, high: int = MAX_ID) -> int | None:
    value = (value or "").strip()
    if not value:
        if required:
            abort(400)
        return None
    # isdigit() alone accepts "²"; ids past the column's range overflow the query.
    if not (value.isascii() and value.isdigit()) or len(value) > 19 or int(value) > high:
        abort(400 if request.method == "POST" else 404)
    return int(value)


def _day(value: str | None) -> date | None:
    if not value:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        abort(400)
    if not 2000 <= day.year <= 2100:  # year 1 or 9999 overflow the UTC bounds of the day
        abort(400)
    return day


@bp.get("/")
def index():
    status = request.args.get("status", QUARANTINED)
    if status not in STATUSES:
        abort(404)
    period = _period(request.args.get("period"), period_of(datetime.now(timezone.utc)))
    unit_id = _int(request.args.get("unit"))
    if unit_id is not None:
        unit_or_404(current_user, unit_id)
    return render_template(
        "review/index.html", fmt=formatting, tabs=TABS, status=status, period=period,
        unit_id=unit_id, units=units_for_choice(None), counts=groups.held_counts(),
        groups=groups.flagged_groups(status, period, unit_id),
        actions=ACTIONS, upto=groups.last_response_id(), volume=evidence.volume_excess(period),
        gaps=evidence.channel_gaps(period))


@bp.post("/quyet-dinh")
def decide_group():
    action = request.form.get("action", "")
    if action not in ACTIONS:
        abort(400)
    status = request.form.get("status", "")
    if status not in STATUSES:
        abort(400)
    unit = unit_or_404(current_user, _int(request.form.get("unit_id"), required=True))
    selection = Selection(
        unit_id=unit.id, survey_id=_int(request.form.get("survey_id"), required=True),
        period=_period(request.form.get("period"), None),
        counter_id=_int(request.form.get("counter_id")), day=_day(request.form.get("day")),
        flags=request.form.get("flags", ""), status=status,
        upto_id=_int(request.form.get("upto_id"), required=True, high=MAX_RESPONSE_ID))
    changed = decide(action, selection, current_user.id, request.form.get("note", "")[:500])
    flash(_(DONE[action], n=formatting.format_int(changed)), "ok")
    return redirect(url_for("review.index", status=status, period=selection.period))


@bp.post("/cach-ly")
def quarantine_unit():
    """An analyst's own quarantine of a unit's counted responses in a period (flag 'manual'),
    from the period-level signals: all of them, or the open channel only."""
    unit = unit_or_404(current_user, _int(request.form.get("unit_id"), required=True))
    period = _period(request.form.get("period"), None)
    if period is None:
        abort(400)
    selection = Selection(unit_id=unit.id, period=period, status=COUNTED,
                          counter_id=_int(request.form.get("counter_id")),
                          day=_day(request.form.get("day")),
                          open_only=request.form.get("open_only") == "1",
                          upto_id=_int(request.form.get("upto_id"), high=MAX_RESPONSE_ID))
    changed = decide("quarantine", selection, current_user.id,
                     request.form.get("note", "")[:500])
    flash(_(DONE["quarantine"], n=formatting.format_int(changed)), "ok")
    return redirect(url_for("review.index", status=QUARANTINED, period=period, unit=unit.id))
