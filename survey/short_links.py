"""Typeable links printed under each QR code: /q/<counter code>/<token version> → the signed URL.

The version is part of the link so that rotating a counter's QR code (Counter.token_version)
retires its typed link together with its printed code: an old poster's link and QR code both
get the "this poster was replaced" page (410), and only the current ones open the form. A link
without a version (posters printed before versions were added) is version 1.
"""
from __future__ import annotations

from flask import Blueprint, abort, current_app, redirect, url_for
from sqlalchemy import select

from survey.catalog.instrument import STANDING_CODE
from survey.extensions import db
from survey.intake.tokens import make_token
from survey.models import Counter, Survey

bp = Blueprint("short", __name__)


def short_path(code: str, token_version: int) -> str:
    return f"/q/{code}/{token_version}"


def short_url(code: str, token_version: int) -> str:
    """The typeable link printed under a counter's QR code, on the configured public host."""
    return current_app.config["PUBLIC_BASE_URL"].rstrip("/") + short_path(code, token_version)


@bp.get("/q/<code>")
def unversioned_link(code: str):
    # Not a `defaults` rule: Werkzeug would redirect /q/CODE/1 to /q/CODE.
    return counter_link(code, 1)


@bp.get("/q/<code>/<int:version>")
def counter_link(code: str, version: int):
    from survey.public.form_page import unavailable_page

    # Case-insensitive: people type what they read on a poster.
    counter = db.session.scalar(select(Counter).where(Counter.code == code.upper()))
    survey_id = db.session.scalar(select(Survey.id).where(Survey.code == STANDING_CODE))
    if counter is None or survey_id is None or version > counter.token_version:
        abort(404, description="token")
    if not counter.active:
        abort(410, description="counter")
    if version < counter.token_version:
        unavailable_page("replaced", 410)
    return redirect(url_for("public.survey_form",
                            token=make_token(counter.id, survey_id, counter.token_version)), code=302)
