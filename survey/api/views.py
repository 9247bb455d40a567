"""API endpoints. Every read takes the token user's scope (access.visible_unit_ids), like the pages.

The gate (survey/gate.py) has authenticated the bearer token (g.api_user) and checked the route's
permission before any view here runs; arguments are read by survey/args.py, as on the pages.
"""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from flask import Response, g, jsonify, request, send_file, url_for
from sqlalchemy import select

from survey.access import restrict, unit_or_404, visible_unit_ids
from survey.api import bp
from survey.api.errors import error_response
from survey.args import MAX_ID, BadArgument, int_arg, period_arg, unit_arg
from survey.extensions import db
from survey.indices import exports
from survey.links import service as dossier_links
from survey.links.slip import SIZES as SLIP_SIZES
from survey.links.slip import slip_for, slip_html, slip_pdf
from survey.links.tokens import link_url
from survey.models import Survey, Unit, User
from survey.permissions import Permission, requires
from survey.services import imports

SPEC = Path(__file__).with_name("openapi.yaml")
DEFAULT_LIMIT, MAX_LIMIT = 500, 5000


@bp.errorhandler(BadArgument)
def bad_argument(error: BadArgument):
    return error_response(400, error.description)


def _user() -> User:
    return g.api_user


def _period() -> str | None:
    return period_arg(default_current=False)


def _survey_code() -> str | None:
    code = (request.args.get("survey") or "").strip() or None
    if code is not None and db.session.scalar(select(Survey.id).where(Survey.code == code)) is None:
        raise BadArgument(f"Không có khảo sát mã \"{code}\".")
    return code


def _iso(moment: datetime) -> str:
    aware = moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)  # SQLite: naive UTC
    return aware.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


@bp.get("/openapi.yaml")
def openapi():
    return send_file(SPEC, mimetype="application/yaml", max_age=300)


@bp.get("/units")
@requires(Permission.EXPORT_DATA)
def units():
    query = restrict(select(Unit).order_by(Unit.code), visible_unit_ids(_user()), Unit.id)
    return jsonify({"units": [
        {"id": u.id, "code": u.code, "name": u.name, "name_en": u.name_en, "kind": u.kind,
         "parent_id": u.parent_id}
        for u in db.session.scalars(query)
    ]})


@bp.get("/units/<int:unit_id>/responses")
@requires(Permission.EXPORT_DATA)
def unit_responses(unit_id: int):
    unit = unit_or_404(_user(), unit_id)
    flt = exports.ExportFilter(period=_period(), unit_id=unit.id, survey_code=_survey_code())
    limit = int_arg("limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    after = request.args.get("after") or None
    try:
        # One more than asked tells whether another page exists without a COUNT over the table.
        found = exports.iter_responses(visible_unit_ids(_user()), flt, after=after, limit=limit + 1)
    except ValueError:  # the cursor is read before any row, so nothing else lands here
        raise BadArgument("Tham số after phải là giá trị next_after của trang trước.") from None
    records = list(found)
    page, more = records[:limit], len(records) > limit
    return jsonify({
        "unit": {"id": unit.id, "code": unit.code, "name": unit.name},
        "period": flt.period,
        # No response id and no time finer than the hour (docs/anonymity.md).
        "responses": [
            {"survey": r.survey_code, "version": r.version, "period": r.period,
             "submitted_at": _iso(r.hour), "unit_code": r.unit_code, "counter_code": r.counter_code,
             "channel": r.channel, "service_field": r.service_field, "answers": r.answers}
            for r in page
        ],
        "next_after": page[-1].position if more else None,
    })


@bp.get("/responses/counts")
@requires(Permission.EXPORT_DATA)
def response_counts():
    unit = unit_arg(visible_unit_ids(_user()))
    unit_id = unit.id if unit is not None else None
    flt = exports.ExportFilter(period=_period(), unit_id=unit_id, survey_code=_survey_code())
    return jsonify({"period": flt.period, "counts": [
        {"unit_id": c.unit_id, "unit_code": c.unit_code, "unit_name": c.unit_name, "period": c.period,
         "responses": c.responses}
        for c in exports.response_counts(visible_unit_ids(_user()), flt)
    ]})


@bp.post("/volumes")
@requires(Permission.IMPORT_VOLUMES)
def volumes():
    user = _user()
    request.max_content_length = imports.UPLOAD_MAX_BYTES
    mimetype = request.mimetype
    try:
        if mimetype == "application/json":
            payload = request.get_json(silent=True)
            if payload is None:
                return error_response(400, "Nội dung JSON không đọc được.")
            rows = imports.parse_volumes_json(payload)
        elif mimetype in ("text/csv", "text/plain"):
            rows = imports.parse_volumes_csv(request.get_data())
        else:
            return error_response(415)
        result = imports.apply_volumes(rows)
    except imports.ImportRejected as rejected:
        db.session.rollback()
        return error_response(
            422, f"Dữ liệu có {len(rejected.errors)} lỗi; không có dòng nào được ghi.",
            errors=[e.as_dict() for e in rejected.errors])
    imports.record_volume_change(result, via="api", user_id=user.id)
    db.session.commit()
    return jsonify({"created": result.created, "updated": result.updated, "unchanged": result.unchanged,
                    "periods": result.periods})


@bp.post("/dossier-links")
@requires(Permission.ISSUE_DOSSIER_LINKS)
def create_dossier_link():
    """A one-time link for a dossier of one of the token owner's units (survey/links)."""
    if request.mimetype != "application/json":
        return error_response(415, "Kiểu nội dung phải là application/json.")
    payload = request.get_json(silent=True)
    if payload is None:
        return error_response(400, "Nội dung JSON không đọc được.")
    try:
        link = dossier_links.issue(_user(), dossier_links.parse_request(payload))
    except dossier_links.Invalid as invalid:
        db.session.rollback()
        return error_response(400, "Dữ liệu không hợp lệ.", fields=invalid.errors)
    except dossier_links.UnitNotFound:
        db.session.rollback()
        return error_response(404)
    except dossier_links.Refused as refused:
        db.session.rollback()
        return error_response(409, str(refused))
    db.session.commit()
    slip = {size: url_for("api.dossier_link_slip", link_id=link.id, size=size, _external=True)
            for size in SLIP_SIZES}
    response = jsonify({"id": link.id, "url": link_url(link.id), "qr_svg": slip_for(link).qr_svg,
                        "slip_url": slip["a6"], "slip_url_80mm": slip["80mm"],
                        "expires_at": _iso(link.expires_at)})
    response.status_code = 201
    return response


@bp.get("/dossier-links/<int:link_id>/slip")
@requires(Permission.ISSUE_DOSSIER_LINKS)
def dossier_link_slip(link_id: int):
    size = request.args.get("size", "a6")
    fmt = request.args.get("format", "pdf")
    if size not in SLIP_SIZES or fmt not in ("pdf", "html"):
        raise BadArgument("Tham số size là a6 hoặc 80mm; format là pdf hoặc html.")
    link = dossier_links.visible_link(visible_unit_ids(_user()), link_id) if link_id <= MAX_ID else None
    if link is None:
        return error_response(404)
    if dossier_links.state(link) != "open":
        return error_response(410, "Phiếu này đã được đánh giá hoặc đã hết hạn; không in lại được.")
    slip = slip_for(link, size)
    if fmt == "html":
        return Response(slip_html(slip), mimetype="text/html")
    return Response(slip_pdf(slip), mimetype="application/pdf")
