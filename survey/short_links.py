"""Typeable links printed under each QR code: /q/<counter code> → the counter's signed survey URL."""
from __future__ import annotations

from flask import Blueprint, abort, redirect
from sqlalchemy import select

from survey.extensions import db
from survey.models import Counter, Survey
from survey.services.instrument import STANDING_CODE
from survey.services.tokens import make_token

bp = Blueprint("short", __name__)


@bp.get("/q/<code>")
def counter_link(code: str):
    # Case-insensitive: people type what they read on a poster.
    counter = db.session.scalar(select(Counter).where(Counter.code == code.upper()))
    survey_id = db.session.scalar(select(Survey.id).where(Survey.code == STANDING_CODE))
    if counter is None or survey_id is None:
        abort(404)
    if not counter.active:
        abort(410, description="counter")
    from flask import url_for

    return redirect(url_for("public.survey_form",
                            token=make_token(counter.id, survey_id, counter.token_version)), code=302)
