"""Remediation pages: the list (with Sở Nội vụ's overdue and at-risk list), a new task prefilled
from the dashboard, a task's page (effect, notes, evidence) and its status and note forms.

Every route needs MANAGE_REMEDIATION (survey/gate.py); units and tasks outside the official's
scope are 404, so ids cannot be probed.
"""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response as WerkzeugResponse

from forms.remediation import EvidenceForm, NoteForm, StatusForm, TaskForm, parse_date, parse_number, validated_date
from survey.access import Scope, restrict, visible_unit_ids
from survey.args import BadArgument, find_unit, parse_period, period_arg, unit_arg
from survey.catalog.loop_labels import (
    CAUSE_LABELS,
    CRITERION_KIND_LABELS,
    OVERDUE_LABEL,
    TASK_STATUS_LABELS,
    in_lang,
    label,
)
from survey.dashboards import formatting
from survey.extensions import db
from survey.indices.aggregates import UnitSummary, unit_summary
from survey.models import Unit
from survey.models.loop import TASK_STATUSES, TrackerCriterion
from survey.permissions import Permission, requires
from survey.remediation import bp, queries, service
from survey.remediation.effect import effect_periods, task_effect
from survey.remediation.watch import AT_RISK_DAYS, watch_list


@bp.context_processor
def _helpers():
    return {"fmt": formatting, "format_points": formatting.format_points, "label": label, "STATUS": TASK_STATUS_LABELS,
            "CAUSE": CAUSE_LABELS, "KIND": CRITERION_KIND_LABELS, "OVERDUE": in_lang(OVERDUE_LABEL),
            "criterion_label": service.criterion_label, "today": queries.today()}


def units_in(scope: Scope) -> list[Unit]:
    return list(db.session.scalars(restrict(select(Unit).order_by(Unit.kind != "province", Unit.code),
                                            scope, Unit.id)))


def _scope() -> Scope:
    return visible_unit_ids(current_user)


def task_or_404(task_id: int):
    task = queries.visible_task(_scope(), task_id)
    if task is None:
        abort(404)
    return task


@bp.get("/")
@requires(Permission.MANAGE_REMEDIATION)
def index():
    scope = _scope()
    unit = unit_arg(scope)
    status = request.args.get("status") or None
    if status not in (None, "overdue", *TASK_STATUSES):
        raise BadArgument(_("Tình trạng không hợp lệ."))
    try:
        deadline_to = parse_date(request.args.get("han_den"))
    except ValueError:
        raise BadArgument(_("Ngày không hợp lệ; nhập theo dạng dd/mm/yyyy.")) from None
    criterion = (request.args.get("tieu_chi") or "").strip()[:64] or None
    tasks = queries.tasks_for(scope, unit_id=unit.id if unit else None, status=status,
                              overdue_only=request.args.get("qua_han") == "1",
                              criterion_code=criterion, deadline_to=deadline_to)
    units = {u.id: u for u in units_in(scope)}
    return render_template(
        "remediation/index.html", tasks=tasks, units=units, unit=unit, status=status,
        overdue_only=request.args.get("qua_han") == "1", criterion=criterion or "",
        deadline_to=deadline_to, counts=queries.task_counts(scope, unit_id=unit.id if unit else None),
        watched=watch_list(scope), at_risk_days=AT_RISK_DAYS, province_wide=scope is None,
        criteria=sorted({t.criterion_code for t in queries.tasks_for(scope)}))


def criterion_choices(summary: UnitSummary | None) -> list[tuple[str, str]]:
    """(value, label) for every criterion, each with its current value and interval."""
    def value(est) -> str:
        if est is None:
            return _("chưa có số liệu")
        return f"{formatting.format_percent(est.estimate)} ({formatting.format_interval(est.ci_low, est.ci_high)})"

    items = {i.code: i.rate for i in summary.items} if summary else {}
    comps = {c: est for c, _n, est in summary.components} if summary else {}
    out = [("overall:overall", f"{_('Chỉ số hài lòng chung')} — {value(summary.overall if summary else None)}")]
    out += [(f"component:{code}", f"{service.criterion_label('component', code)} — {value(comps.get(code))}")
            for code in sorted(comps or service.COMPONENTS)]
    out += [(f"item:{code}", f"{code} {text} — {value(items.get(code))}")
            for code, text in service.item_criteria().items()]
    return out


def chosen_estimate(summary: UnitSummary, value: str):
    kind, _sep, code = value.partition(":")
    if kind == "overall":
        return summary.overall
    if kind == "component":
        return next((est for c, _n, est in summary.components if c == code), None)
    return next((i.rate for i in summary.items if i.code == code), None)


def create_and_show(data: service.TaskInput, message: str,
                    errors: dict[str, str]) -> WerkzeugResponse | None:
    """Create the task (committed, flashed) and go to its page; None with `errors` filled when
    the service refuses it. The dashboard's and the tracker's "new task" forms both end here."""
    try:
        task = service.create_task(data, current_user.id)
    except service.Invalid as invalid:
        errors.update(invalid.errors)
        return None
    db.session.commit()
    flash(message, "ok")
    return redirect(url_for("remediation.show", task_id=task.id), code=303)


@bp.route("/moi", methods=["GET", "POST"])
@requires(Permission.MANAGE_REMEDIATION)
def new():
    scope = _scope()
    # From the dashboard the unit is named; otherwise the official's own (or the first visible).
    unit = unit_arg(scope) or find_unit(scope, unit_id=current_user.unit_id) \
        or next(iter(units_in(scope)), None) or abort(404)
    period = period_arg()
    form = TaskForm()
    summary = unit_summary(unit.id, period)
    form.criterion.choices = criterion_choices(summary)
    lead_units = units_in(scope)
    form.lead_unit_id.choices = [(str(u.id), f"{u.code} – {u.name}") for u in lead_units]
    errors: dict[str, str] = {}
    if request.method == "GET":
        form.criterion.data = request.args.get("tieu_chi") or "overall:overall"
        form.lead_unit_id.data = str(unit.id)
        form.period.data = period
    elif form.validate_on_submit():
        kind, _sep, code = (form.criterion.data or "").partition(":")
        lead = (find_unit(scope, unit_id=int(form.lead_unit_id.data))
                if (form.lead_unit_id.data or "").isdigit() else None)
        if lead is None:
            errors["lead_unit_id"] = _("Cơ quan chủ trì phải là một đơn vị trong phạm vi của bạn.")
        try:
            baseline_period = parse_period(form.period.data) if form.period.data else period
        except BadArgument as bad:
            errors["criterion"] = bad.description
            baseline_period = None
        target = parse_number(form.target.data)
        if lead is not None and not errors:
            data = service.TaskInput(
                unit_id=unit.id, criterion_kind=kind, criterion_code=code, action=form.action.data,
                lead_unit_id=lead.id, deadline=validated_date(form.deadline.data), today=queries.today(),
                baseline_period=baseline_period, target=None if target is None else target / 100,
                cause_kind=form.cause_kind.data or None, cause=form.cause.data,
                cooperating=form.cooperating.data, owner=form.owner.data)
            done = create_and_show(data, _("Đã lập nhiệm vụ khắc phục."), errors)
            if done is not None:
                return done
        db.session.rollback()
    for name, messages in form.errors.items():
        errors.setdefault(name, str(messages[0]))
    current = chosen_estimate(summary, form.criterion.data or "overall:overall")
    return render_template("remediation/new.html", form=form, unit=unit, period=period, errors=errors,
                           current=current, summary=summary), 400 if errors else 200


def _show(task, status_code: int = 200, evidence_error: str | None = None):
    from survey.remediation.evidence_views import max_bytes

    criterion = db.session.get(TrackerCriterion, task.tracker_criterion_id) if task.tracker_criterion_id else None
    return render_template(
        "remediation/show.html", task=task, unit=db.session.get(Unit, task.unit_id),
        lead=db.session.get(Unit, task.lead_unit_id), tracker_criterion=criterion,
        effect=task_effect(task), periods=effect_periods(task),
        notes=service.notes_of(task.id), evidence=service.evidence_of([task.id])[task.id],
        status_form=StatusForm(status=task.status), note_form=NoteForm(), evidence_form=EvidenceForm(),
        evidence_error=evidence_error, max_mb=max_bytes() // (1024 * 1024)), status_code


@bp.get("/<int:task_id>")
@requires(Permission.MANAGE_REMEDIATION)
def show(task_id: int):
    return _show(task_or_404(task_id))


@bp.post("/<int:task_id>/tinh-trang")
@requires(Permission.MANAGE_REMEDIATION)
def status(task_id: int):
    task = task_or_404(task_id)
    form = StatusForm()
    if not form.validate_on_submit() or form.status.data not in TASK_STATUSES:
        abort(400)
    service.set_status(task, form.status.data, current_user.id)
    db.session.commit()
    flash(_("Tình trạng: %(status)s.", status=label(TASK_STATUS_LABELS, task.status)), "ok")
    return redirect(url_for("remediation.show", task_id=task.id), code=303)


@bp.post("/<int:task_id>/tien-do")
@requires(Permission.MANAGE_REMEDIATION)
def note(task_id: int):
    task = task_or_404(task_id)
    form = NoteForm()
    if form.validate_on_submit():
        service.add_note(task, form.text.data, current_user.id)
        db.session.commit()
        flash(_("Đã ghi tiến độ."), "ok")
    else:
        flash(_("Chưa ghi: %(why)s", why="; ".join(str(m) for ms in form.errors.values() for m in ms)), "error")
    return redirect(url_for("remediation.show", task_id=task.id), code=303)

