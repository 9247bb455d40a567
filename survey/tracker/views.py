"""Tracker pages: the table with its summary and import form, the XLSX, tasks and causes per row."""
from __future__ import annotations

from typing import Any

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from werkzeug.exceptions import RequestEntityTooLarge

from forms.remediation import TaskForm, TrackerCauseForm, TrackerImportForm, validated_date
from survey.args import int_arg
from survey.dashboards import formatting
from survey.extensions import csrf, db
from survey.models.loop import TrackerCriterion, TrackerImport
from survey.permissions import Permission, requires
from survey.remediation import queries, service
from survey.remediation.views import create_and_show, units_in
from survey.services.imports import UPLOAD_MAX_BYTES, ImportRejected
from survey.tracker import bp, importer, table


@bp.context_processor
def _helpers():
    return {"fmt": formatting, "STATES": table.STATES, "index_title": table.index_title,
            "task_status_text": table.task_status_text, "today": queries.today()}


def _imports() -> list[TrackerImport]:
    return list(db.session.scalars(select(TrackerImport).order_by(TrackerImport.year.desc(),
                                                                  TrackerImport.index_kind)))


def _page(form: TrackerImportForm, errors: list | None = None, status: int = 200):
    imports = _imports()
    chosen_id = int_arg("import", 0)
    current = next((i for i in imports if i.id == chosen_id), imports[0] if imports else None)
    if chosen_id and current is not None and current.id != chosen_id:
        abort(404)
    today = queries.today()
    rows = table.rows_of(current, today) if current else []
    return render_template("tracker/index.html", form=form, errors=errors or [], imports=imports,
                           current=current, rows=rows, summary=table.summary_of(rows, today),
                           cause_form=TrackerCauseForm()), status


@bp.get("/")
@requires(Permission.MANAGE_TRACKER)
def index():
    return _page(TrackerImportForm())


@bp.post("/nhap")
@csrf.exempt  # parsed after raising the size limit; TrackerImportForm checks the CSRF token itself
@requires(Permission.MANAGE_TRACKER)
def upload():
    request.max_content_length = UPLOAD_MAX_BYTES
    try:
        form = TrackerImportForm()
        valid = form.validate_on_submit()
    except RequestEntityTooLarge:
        message = _("Tệp vượt quá giới hạn %(mb)s MB.", mb=UPLOAD_MAX_BYTES // (1024 * 1024))
        return _page(TrackerImportForm(formdata=None), [message], 413)
    if not valid:
        return _page(form, status=400)
    upload_file = form.file.data
    try:
        imp = importer.import_file(form.index_kind.data, form.year.data, upload_file.read(),
                                   upload_file.filename, current_user.id)
    except ImportRejected as rejected:
        db.session.rollback()
        return _page(form, rejected.errors, 422)
    db.session.commit()
    flash(_("Đã nhập kết quả %(title)s.", title=table.index_title(imp)), "ok")
    return redirect(_index_url(imp.id), code=303)


@bp.get("/<int:import_id>/xlsx")
@requires(Permission.MANAGE_TRACKER)
def export(import_id: int):
    imp = db.session.get(TrackerImport, import_id) or abort(404)
    today = queries.today()
    data = table.xlsx(imp, table.rows_of(imp, today), today)
    name = f"theo-doi-tieu-chi-{imp.index_kind.lower()}-{imp.year}.xlsx"
    return Response(data, mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


def _index_url(import_id: int) -> str:
    # "import" is a Python keyword, so the argument goes in a dict; Any, as url_for's **values are.
    args: dict[str, Any] = {"import": import_id}
    return url_for("tracker.index", **args)


def _criterion(criterion_id: int) -> TrackerCriterion:
    return db.session.get(TrackerCriterion, criterion_id) or abort(404)


@bp.post("/tieu-chi/<int:criterion_id>/nguyen-nhan")
@requires(Permission.MANAGE_TRACKER)
def cause(criterion_id: int):
    criterion = _criterion(criterion_id)
    form = TrackerCauseForm()
    if not form.validate_on_submit():
        abort(400)
    from survey.services import audit

    criterion.cause = (form.cause.data or "").strip() or None
    audit.record("tracker_cause", target=f"tracker_criterion:{criterion.id}")
    db.session.commit()
    flash(_("Đã ghi nguyên nhân mất điểm của tiêu chí %(code)s.", code=criterion.code), "ok")
    return redirect(_index_url(criterion.import_id), code=303)


@bp.route("/tieu-chi/<int:criterion_id>/nhiem-vu", methods=["GET", "POST"])
@requires(Permission.MANAGE_TRACKER)
def new_task(criterion_id: int):
    criterion = _criterion(criterion_id)
    form = TaskForm()
    form.criterion.choices = [(f"tracker:{criterion.code}", f"{criterion.code}. {criterion.content}")]
    units = units_in(None)
    form.lead_unit_id.choices = [(str(u.id), f"{u.code} – {u.name}") for u in units]
    errors: dict[str, str] = {}
    if request.method == "GET":
        form.cause.data = criterion.cause
    elif form.validate_on_submit():
        lead = next((u for u in units if str(u.id) == form.lead_unit_id.data), None)
        if lead is None:
            errors["lead_unit_id"] = _("Vui lòng chọn cơ quan chủ trì.")
        else:
            data = service.TaskInput(
                # The lead unit carries the task: its officials follow it and add the evidence.
                unit_id=lead.id, criterion_kind="tracker", criterion_code=criterion.code,
                tracker_criterion_id=criterion.id, action=form.action.data, lead_unit_id=lead.id,
                deadline=validated_date(form.deadline.data), today=queries.today(),
                cause_kind=form.cause_kind.data or None, cause=form.cause.data,
                cooperating=form.cooperating.data, owner=form.owner.data)
            done = create_and_show(data, _("Đã giao nhiệm vụ khắc phục cho tiêu chí %(code)s.", code=criterion.code),
                                   errors)
            if done is not None:
                return done
        db.session.rollback()
    for name, messages in form.errors.items():
        errors.setdefault(name, str(messages[0]))
    imp = db.session.get(TrackerImport, criterion.import_id)
    return render_template("tracker/task_new.html", form=form, criterion=criterion, imp=imp,
                           errors=errors), 400 if errors else 200
