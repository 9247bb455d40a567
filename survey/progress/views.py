"""Pages of the 6-month progress report: view and download (VIEW_UNIT, own units), edit the
typed sections (MANAGE_REMEDIATION, own units); the province version for COMPARE_UNITS.

Every download and every edit is audited; the unit in the URL is checked against the reader's
scope (survey/access.py: another unit's id is 404).
"""
from __future__ import annotations

from datetime import datetime, timezone

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from analysis.report.format_vi import format_datetime
from analysis.report.language import language
from survey import i18n
from survey.access import restrict, unit_or_404, visible_unit_ids
from survey.args import BadArgument, parse_period, period_arg
from survey.catalog.periods import in_vietnam
from survey.dashboards import formatting
from survey.extensions import db
from survey.models import Unit
from survey.models.loop import ProgressReport
from survey.permissions import Permission, allows, requires
from survey.progress import bp, data, document
from survey.progress.output import render
from survey.services import audit

MAX_TEXT = 10_000  # characters per typed section: a few pages, no more


def _download(model, fmt: str, target: str, period: str) -> Response:
    content, mimetype, filename = render(model, fmt, i18n.translations(i18n.current_lang()))
    audit.record("progress_report_download", target=target, period=period, format=fmt)
    db.session.commit()
    return Response(content, mimetype=mimetype,
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def _page(model, *, unit: Unit | None, period: str, may_edit: bool, save_url: str, base_url: str):
    """The report as a page (the same words as the files), downloads, and the typed sections' form."""
    owner = unit or data.province_unit()
    typed = data.typed_sections(owner.id if owner else None, period)
    with language(i18n.translations(i18n.current_lang())):
        doc = document.build(model)
    return render_template("progress/page.html", doc=doc, unit=unit, period=period,
                           may_edit=may_edit, save_url=save_url, base_url=base_url, typed=typed,
                           max_text=MAX_TEXT,
                           updated_text=format_datetime(in_vietnam(typed.updated_at)) if typed else None)


@bp.get("/")
@requires(Permission.VIEW_UNIT)
def index():
    period = period_arg()
    units = db.session.scalars(restrict(select(Unit).order_by(Unit.kind != "province", Unit.code),
                                        visible_unit_ids(current_user), Unit.id)).all()
    return render_template("progress/index.html", units=units, period=period,
                           province=allows(current_user.role, Permission.COMPARE_UNITS))


@bp.get("/<int:unit_id>")
@requires(Permission.VIEW_UNIT)
def unit_page(unit_id: int):
    unit = unit_or_404(current_user, unit_id)
    period = period_arg()
    model = data.unit_progress(unit, period, visible_unit_ids(current_user))
    return _page(model, unit=unit, period=period,
                 may_edit=allows(current_user.role, Permission.MANAGE_REMEDIATION),
                 save_url=url_for("progress.unit_save", unit_id=unit.id),
                 base_url=url_for("progress.unit_page", unit_id=unit.id))


@bp.get("/<int:unit_id>.pdf")
@requires(Permission.VIEW_UNIT)
def unit_pdf(unit_id: int):
    unit = unit_or_404(current_user, unit_id)
    period = period_arg()
    return _download(data.unit_progress(unit, period, visible_unit_ids(current_user)), "pdf", unit.code, period)


@bp.get("/<int:unit_id>.docx")
@requires(Permission.VIEW_UNIT)
def unit_docx(unit_id: int):
    unit = unit_or_404(current_user, unit_id)
    period = period_arg()
    return _download(data.unit_progress(unit, period, visible_unit_ids(current_user)), "docx", unit.code, period)


@bp.get("/tinh")
@requires(Permission.COMPARE_UNITS)
def province_page():
    period = period_arg()
    return _page(data.province_progress(period), unit=None, period=period,
                 may_edit=allows(current_user.role, Permission.MANAGE_REMEDIATION),
                 save_url=url_for("progress.province_save"), base_url=url_for("progress.province_page"))


@bp.get("/tinh.pdf")
@requires(Permission.COMPARE_UNITS)
def province_pdf():
    period = period_arg()
    return _download(data.province_progress(period), "pdf", "province", period)


@bp.get("/tinh.docx")
@requires(Permission.COMPARE_UNITS)
def province_docx():
    period = period_arg()
    return _download(data.province_progress(period), "docx", "province", period)


def _save(unit: Unit, back: str):
    period = parse_period(request.form.get("period"))
    texts = {name: (request.form.get(name) or "").strip() for name in ("difficulties", "proposals")}
    too_long = [name for name, text in texts.items() if len(text) > MAX_TEXT]
    if too_long:
        raise BadArgument(_("Mỗi nội dung tối đa %(n)s ký tự.", n=formatting.format_int(MAX_TEXT)))
    row = data.typed_sections(unit.id, period)
    if row is None:
        row = ProgressReport(unit_id=unit.id, period=period)
        db.session.add(row)
    row.difficulties = texts["difficulties"] or None
    row.proposals = texts["proposals"] or None
    row.updated_by = current_user.id
    row.updated_at = datetime.now(timezone.utc)
    audit.record("progress_report_save", target=unit.code, period=period,
                 difficulties_chars=len(texts["difficulties"]), proposals_chars=len(texts["proposals"]))
    db.session.commit()
    flash(_("Đã lưu nội dung báo cáo."), "ok")
    return redirect(f"{back}?period={period}")


@bp.post("/<int:unit_id>")
@requires(Permission.MANAGE_REMEDIATION)
def unit_save(unit_id: int):
    unit = unit_or_404(current_user, unit_id)
    return _save(unit, url_for("progress.unit_page", unit_id=unit.id))


@bp.post("/tinh")
@requires(Permission.COMPARE_UNITS)
def province_save():
    root = data.province_unit()
    if root is None:
        abort(404)
    return _save(root, url_for("progress.province_page"))
