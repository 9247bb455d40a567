"""API endpoints. Every read goes through access.scope with the token's user, like the pages.

The gate (survey/gate.py) has authenticated the bearer token (g.api_user) and checked the route's
permission before any view here runs; arguments are read by survey/args.py, as on the pages.
"""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from flask import g, jsonify, request, send_file
from sqlalchemy import select

from survey.api import bp
from survey.api.errors import error_response
from survey.args import BadArgument, int_arg, period_arg, unit_arg
from survey.extensions import db
from survey.models import Survey, Unit, User
from survey.permissions import Permission, requires
from survey.services import exports, imports
from survey.services.access import restrict, unit_or_404, visible_unit_ids

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
    after = int_arg("after", 0, 0, 2**62)
    # One more than asked tells whether another page exists without a COUNT over the table.
    records = list(exports.iter_responses(_user(), flt, after_id=after, limit=limit + 1))
    page, more = records[:limit], len(records) > limit
    return jsonify({
        "unit": {"id": unit.id, "code": unit.code, "name": unit.name},
        "period": flt.period,
        "responses": [
            {"id": r.id, "survey": r.survey_code, "version": r.version, "period": r.period,
             "submitted_at": _iso(r.submitted_at), "unit_code": r.unit_code, "counter_code": r.counter_code,
             "channel": r.channel, "service_field": r.service_field, "answers": r.answers}
            for r in page
        ],
        "next_after": page[-1].id if more else None,
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
        for c in exports.response_counts(_user(), flt)
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
