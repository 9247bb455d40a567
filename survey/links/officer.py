"""The officers' page: issue a dossier link by hand for one of their units, then print its slip.

Every signed-in official may issue links for their own units (ISSUE_DOSSIER_LINKS in the
permissions of issue 12; until then the blueprint's login rule plus access.can_see_unit in
service.issue). A link of another unit answers 404, like every other unit-scoped page.
"""
from __future__ import annotations

from flask import Response, abort, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import select

from survey.access import restrict, visible_unit_ids
from survey.catalog.instrument import SERVICE_FIELDS
from survey.extensions import db
from survey.links import bp
from survey.links.service import (
    DEFAULT_DAYS,
    MAX_DAYS,
    Invalid,
    Refused,
    UnitNotFound,
    issue,
    parse_request,
    state,
    visible_link,
)
from survey.links.slip import DEFAULT_SIZE, SIZES, slip_for, slip_html, slip_pdf
from survey.models import Counter, Unit

FORM_FIELDS = ("dossier_code", "unit", "counter", "service_field", "procedure_name", "expires_in_days")


def _units() -> list[Unit]:
    query = restrict(select(Unit).order_by(Unit.kind != "province", Unit.code),
                     visible_unit_ids(current_user), Unit.id)
    return list(db.session.scalars(query))


def _counters(units: list[Unit]) -> list[Counter]:
    ids = [u.id for u in units]
    return list(db.session.scalars(select(Counter).where(Counter.unit_id.in_(ids), Counter.active.is_(True))
                                   .order_by(Counter.code))) if ids else []


@bp.route("/", methods=["GET", "POST"])
def index():
    units = _units()
    values = {name: (request.form.get(name) or "").strip() for name in FORM_FIELDS}
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        try:
            data: dict = {k: v or None for k, v in values.items()}
            days = data["expires_in_days"]
            if days is not None and days.isascii() and days.isdigit() and len(days) < 6:
                data["expires_in_days"] = int(days)  # the form posts text; JSON sends a number
            link = issue(current_user, parse_request(data))
        except Invalid as invalid:
            errors, status = invalid.errors, 400
        except UnitNotFound:
            errors, status = {"unit": _("Không có đơn vị này trong phạm vi của bạn.")}, 404
        except Refused as refused:
            errors, status = {"dossier_code": str(refused)}, 409
        else:
            db.session.commit()
            return redirect(url_for("links.show", link_id=link.id), code=303)
        db.session.rollback()
    elif units and current_user.unit_id is not None:
        values["unit"] = next((u.code for u in units if u.id == current_user.unit_id), "")
    return render_template("links/index.html", units=units, counters=_counters(units), values=values,
                           errors=errors, fields=SERVICE_FIELDS, default_days=DEFAULT_DAYS,
                           max_days=MAX_DAYS), status


def _link_or_404(link_id: int):
    link = visible_link(visible_unit_ids(current_user), link_id)
    if link is None:
        abort(404)
    return link


@bp.get("/<int:link_id>")
def show(link_id: int):
    link = _link_or_404(link_id)
    slip = slip_for(link)
    return render_template("links/show.html", link=link, slip=slip, state=state(link),
                           qr=Markup(slip.qr_svg), sizes=SIZES)


def _size() -> str:
    size = request.args.get("kho", DEFAULT_SIZE)
    if size not in SIZES:
        abort(404)
    return size


def _printable(link_id: int):
    link = _link_or_404(link_id)
    if state(link) != "open":
        abort(410)  # a used or ended link: nothing worth printing
    return link


@bp.get("/<int:link_id>/phieu")
def slip_page(link_id: int):
    size = _size()
    slip = slip_for(_printable(link_id), size)
    return slip_html(slip, pdf_url=url_for("links.slip_download", link_id=link_id, kho=size))


@bp.get("/<int:link_id>/phieu.pdf")
def slip_download(link_id: int):
    size = _size()
    content = slip_pdf(slip_for(_printable(link_id), size))
    return Response(content, mimetype="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="phieu-danh-gia-{link_id}-{size}.pdf"'})
