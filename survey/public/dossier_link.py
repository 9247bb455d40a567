"""The citizen's side of a dossier link: /h/<token> opens the standing form with the field fixed.

Routes of the public blueprint (same language rule, no Flask-Limiter work, same error pages). The
form is the counter form itself (survey/public/form_page.py renders it), without the service-field and
dossier-code questions: the link knows both, so the stratum is exact. No submission limits here:
each link stores at most one response, and only the one-stop system or an officer can mint links.
"""
from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import cast

from flask import abort, current_app, make_response, redirect, render_template, request, url_for
from sqlalchemy import select
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from survey.extensions import csrf, db
from survey.feedback.intake import redirect_to_case
from survey.intake import responses
from survey.intake.answers import posted_version
from survey.intake.place import lookup_counter, lookup_unit
from survey.intake.tokens import CounterToken, UnitToken
from survey.links.service import state
from survey.links.tokens import read_link_token
from survey.models import Response
from survey.models.integrity import DossierLink
from survey.public import bp, form_page


def _closed(kind: str, status: int):
    """Stop with the page saying why this slip opens no form: 'used' or 'expired'."""
    abort(make_response(render_template("links/closed.html", kind=kind), status))


def _link(token: str) -> DossierLink:
    link_id = read_link_token(token)
    link = db.session.get(DossierLink, link_id) if link_id is not None else None
    if link is None:
        abort(404, description="token")  # "Mã QR không hợp lệ"
    return link


def _place(link: DossierLink) -> form_page.Place:
    """The link's unit (and counter), the standing survey and its current version, or an error page."""
    # A counter retired after the slip was printed still takes its answer: the dossier was served.
    now = datetime.now(timezone.utc)
    if link.counter_id is not None:
        found = lookup_counter(CounterToken(link.counter_id, link.survey_id, 0), now)
    else:
        found = lookup_unit(UnitToken(link.unit_id, link.survey_id), now)
    if found.unit is None or found.survey is None:
        abort(404, description="token")
    if not found.survey_open or found.version is None:
        abort(410, description="survey")
    return form_page.Place(found.unit, found.counter, found.survey, found.version,
                       service_field=link.service_field, procedure=link.procedure_name)


def _open_link(token: str) -> tuple[DossierLink, form_page.Place]:
    link = _link(token)
    now_state = state(link)
    if now_state != "open":
        _closed(now_state, 410)
    return link, _place(link)


def _already_stored(key: str | None) -> bool:
    if not key:
        return False
    return len(key) <= 64 and db.session.scalar(
        select(Response.id).where(Response.idempotency_key == key)) is not None


@bp.get("/h/<token>")
def dossier_link_form(token: str):
    _link_row, place = _open_link(token)
    lang = form_page.citizen_lang()
    version = form_page.version_for(place)
    form = form_page.citizen_form(version, lang, formdata=None)
    form.idem.data = uuid.uuid4().hex
    form.version.data = str(version.id)
    return form_page.render_form(place, version, form, lang)


@bp.post("/h/<token>")
@csrf.exempt  # checked by check_posted, so a stale token re-shows the form with answers kept
def dossier_link_submit(token: str):
    link = _link(token)
    if link.used and _already_stored(request.form.get("idem")):
        # A double tap or a retry after a lost reply: this very submission was stored.
        return redirect(url_for("public.dossier_link_thanks", token=token,
                                lang=form_page.citizen_lang() if form_page.citizen_lang() == "en" else None), code=303)
    link, place = _open_link(token)
    lang = form_page.citizen_lang()
    version = form_page.version_for(place, posted_version(request.form))
    checked, form, page = form_page.check_posted(place, version, lang)
    if page is not None:
        return page
    assert checked is not None  # no page: the submission passed
    submission = responses.Submission(
        version=version.ref,
        unit_id=place.unit.id,
        counter_id=place.counter.id if place.counter else None,
        channel="link",
        idempotency_key=checked.idempotency_key,
        answers=checked.answers,
        service_field=link.service_field,  # the link's, whatever was posted
        verified=True,
        dossier_link_id=link.id,
    )
    link_id = link.id
    db.session.rollback()  # end the read before store() takes the link row in its own transaction
    now = datetime.now(timezone.utc)
    try:
        stored = responses.store(submission, now)
    except responses.DuplicateDossier:
        _closed("used", 409)
    except responses.LinkUsed:
        _closed(state(cast(DossierLink, db.session.get(DossierLink, link_id))), 409)
    except (OperationalError, SQLAlchemyError):
        current_app.logger.exception("storing a dossier-link response failed")
        return form_page.retry_form(place, version, lang, form)
    if stored.created:
        to_case = redirect_to_case(request.form, checked.answers, version.questions,
                                   unit_id=place.unit.id, counter_id=submission.counter_id,
                                   survey_id=place.survey.id, now=now, lang=lang)
        if to_case is not None:
            return to_case
    return redirect(url_for("public.dossier_link_thanks", token=token,
                            lang=lang if lang == "en" else None), code=303)


@bp.get("/h/<token>/cam-on")
def dossier_link_thanks(token: str):
    link = _link(token)
    if not link.used:
        return redirect(url_for("public.dossier_link_form", token=token))
    place = _place(link)
    return render_template("public/thanks.html", counter=place.counter, unit=place.unit,
                           survey=place.survey, lang=form_page.citizen_lang(), kiosk=False, token=token)
