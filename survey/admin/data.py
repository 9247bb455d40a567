"""Data: downloads (EXPORT_DATA, scoped to the user's units), service-volume upload (IMPORT_VOLUMES)."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Sequence

from flask import Response, abort, render_template, request, send_file, stream_with_context
from flask_login import current_user
from sqlalchemy import func, select

from forms.admin import UploadForm
from survey.access import restrict, visible_unit_ids
from survey.admin import bp
from survey.admin.uploads import read_upload
from survey.args import period_arg, unit_arg
from survey.catalog.instrument import STANDING_CODE
from survey.extensions import csrf, db
from survey.i18n import current_lang
from survey.indices import exports
from survey.models import Response as SurveyResponse
from survey.models import ServiceVolume, Survey, Unit
from survey.permissions import Permission, allows, requires
from survey.services import audit, imports

CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _page_context() -> dict:
    visible = visible_unit_ids(current_user)
    units = db.session.execute(restrict(select(Unit.id, Unit.code, Unit.name).order_by(Unit.code),
                                        visible, Unit.id)).all()
    periods = db.session.scalars(restrict(select(SurveyResponse.period).distinct(), visible,
                                          SurveyResponse.unit_id).order_by(SurveyResponse.period.desc())).all()
    en = current_lang() == "en"
    surveys = [(code, (title_en if en and title_en else title_vi)) for code, title_vi, title_en in
               db.session.execute(select(Survey.code, Survey.title_vi, Survey.title_en).order_by(Survey.id))]
    volumes: Sequence[Any] = []
    if allows(current_user.role, Permission.IMPORT_VOLUMES):
        volumes = db.session.execute(
            select(ServiceVolume.period, func.count(), func.sum(ServiceVolume.dossiers))
            .group_by(ServiceVolume.period).order_by(ServiceVolume.period.desc())).all()
    return {"units": units, "periods": periods, "surveys": surveys, "volumes": volumes,
            "standing": STANDING_CODE}


@bp.get("/du-lieu")
@requires(Permission.EXPORT_DATA)
def data():
    return render_template("admin/data.html", upload=UploadForm(), errors=[], result=None, **_page_context())


def _filter() -> exports.ExportFilter:
    """The request's filters, checked (survey/args.py): a bad period or unit number is 400, a unit
    the user may not read is 404. No period means every period."""
    period = period_arg(default_current=False)
    unit = unit_arg(visible_unit_ids(current_user))
    unit_id = unit.id if unit is not None else None
    survey_code = (request.args.get("survey") or STANDING_CODE).strip()
    if db.session.scalar(select(Survey.id).where(Survey.code == survey_code)) is None:
        abort(404)
    return exports.ExportFilter(period=period, unit_id=unit_id, survey_code=survey_code)


def _filename(stem: str, flt: exports.ExportFilter, fmt: str) -> str:
    parts = [stem, flt.survey_code or "", flt.period or "", f"dv{flt.unit_id}" if flt.unit_id else "",
             datetime.now(timezone.utc).strftime("%Y%m%d")]
    return "-".join(p for p in parts if p) + "." + fmt


def _send(rows, flt: exports.ExportFilter, fmt: str, stem: str, sheet: str):
    name = _filename(stem, flt, fmt)
    if fmt == "csv":
        # Streamed: rows are fetched chunk by chunk while the client downloads.
        return Response(stream_with_context(exports.csv_chunks(rows)), mimetype=CSV_TYPE,
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})
    # XLSX is a zip: it cannot be streamed row by row, so it is built in a temporary file first.
    return send_file(exports.write_xlsx(rows, sheet), mimetype=XLSX_TYPE, as_attachment=True,
                     download_name=name, max_age=0)


@bp.get("/du-lieu/phieu-tra-loi.<any(csv, xlsx):fmt>")
@requires(Permission.EXPORT_DATA)
def export_responses(fmt: str):
    flt = _filter()
    audit.record("export", target="responses", format=fmt, period=flt.period, unit_id=flt.unit_id,
                 survey=flt.survey_code)
    db.session.commit()
    codes = exports.question_codes(flt)
    rows = exports.response_table(exports.iter_responses(visible_unit_ids(current_user), flt), codes,
                                  exports.answer_labels(flt))
    return _send(rows, flt, fmt, "phieu-tra-loi", "Phiếu trả lời")


@bp.get("/du-lieu/so-phieu.<any(csv, xlsx):fmt>")
@requires(Permission.EXPORT_DATA)
def export_counts(fmt: str):
    flt = _filter()
    audit.record("export", target="response_counts", format=fmt, period=flt.period, unit_id=flt.unit_id,
                 survey=flt.survey_code)
    db.session.commit()
    rows = exports.count_table(exports.response_counts(visible_unit_ids(current_user), flt))
    return _send(rows, flt, fmt, "so-phieu", "Số phiếu")


@bp.route("/du-lieu/khoi-luong-ho-so", methods=["POST"])
@csrf.exempt  # parsed after raising the size limit; UploadForm checks the CSRF token itself
@requires(Permission.IMPORT_VOLUMES)
def volumes_import():
    form, payload = read_upload()
    errors, result = [], None
    if payload is not None:
        try:
            result = imports.apply_volumes(imports.parse_volumes_csv(payload))
        except imports.ImportRejected as rejected:
            db.session.rollback()
            errors = rejected.errors
        else:
            imports.record_volume_change(result, via="web", filename=form.file.data.filename or None)
            db.session.commit()
    status = 422 if errors or any(f.errors for f in form) else 200
    return render_template("admin/data.html", upload=form, errors=errors, result=result,
                           **_page_context()), status

