"""GET the form for a counter's or a campaign unit's token; POST the answers.

Everything else is an error page. A counter token opens the survey at that counter (channel qr or
kiosk); a unit token opens a thematic campaign for one of its target units (channel link, no
counter).
"""
from __future__ import annotations

import uuid
from datetime import datetime, timezone

from flask import current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_wtf.csrf import generate_csrf
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from survey.errors import UNAVAILABLE
from survey.extensions import csrf
from survey.feedback.intake import redirect_to_case
from survey.intake import responses
from survey.intake.anonymity import client_hash
from survey.intake.answers import (
    Checked,
    answers_fingerprint,
    posted_version,
)
from survey.intake.place import (
    VersionInfo,
    remember,
)
from survey.public import bp
from survey.public.form_page import (
    CHANNELS,
    FLOODED,
    Place,
    check_posted,
    citizen_lang,
    csrf_enabled,
    empty_page,
    parse_token,
    place_key,
    posted_form,
    render_form,
    resolve,
    resolve_parsed,
    retry_form,
    unavailable_form,
    version_for,
)
from survey.review.signals import SubmissionContext, submission_flags
from survey.security import Flooded, take_submission_slot


@bp.get("/s/<token>")
def survey_form(token: str):
    parsed = parse_token(token)
    place = resolve_parsed(parsed)
    lang = citizen_lang()
    version = version_for(place)
    remember(place_key(parsed), (place, version))
    page = empty_page(place, version, lang)
    return page.fill(
        csrf=generate_csrf() if csrf_enabled() else "",
        idem=uuid.uuid4().hex,
        unit=place.unit.name,
        counter=place.counter.name if place.counter else "",
    )


@bp.post("/s/<token>")
@csrf.exempt  # checked below, so a stale token re-shows the form with answers instead of a 400
def submit(token: str):
    lang = citizen_lang()
    parsed = parse_token(token)
    try:
        place = resolve_parsed(parsed)
        version = version_for(place, posted_version(request.form))
    except UNAVAILABLE:
        page = unavailable_form(parsed, lang)
        if page is None:
            raise  # the plain retry page (survey/errors.py)
        return page
    key = place_key(parsed)
    remember(key, (place, version))
    checked, form, page = check_posted(place, version, lang)
    if page is not None:
        return page
    assert checked is not None  # no page: the submission passed

    if place.is_link:
        channel = "link"  # a campaign link is a link wherever it was opened
    else:
        channel = request.args.get("c", "qr")
        channel = channel if channel in CHANNELS else "qr"
    now = datetime.now(timezone.utc)
    try:
        slot = take_submission_slot(key)
    except Flooded as flood:
        return retry_form(place, version, lang, form, status=429, notice=FLOODED, retry_after=str(flood.retry))
    try:
        client = client_hash(request.remote_addr, now)
        signals = _signal_flags(place, version, checked, client, now)
        if signals and not slot.flags:
            slot.quarantined()
        flags = slot.flags + signals
        submission = responses.Submission(
            version=version.ref,
            unit_id=place.unit.id,
            counter_id=place.counter.id if place.counter else None,
            channel=channel,
            idempotency_key=checked.idempotency_key,
            answers=checked.answers,
            service_field=checked.service_field,
            dossier_code=checked.dossier_code,
            client_hash=client,
            flags=tuple(dict.fromkeys(flags)),
        )
        stored = responses.store(submission, now)
    except responses.DuplicateDossier:
        slot.give_back()
        form = form or posted_form(version, lang)[0]
        form.version.data = str(version.id)
        form.dossier_code.errors = [_("Hồ sơ này đã được đánh giá trong đợt khảo sát. Mỗi hồ sơ chỉ đánh giá một lần.")]
        form.idem.data = uuid.uuid4().hex
        return render_form(place, version, form, lang, status=409)
    except (OperationalError, SQLAlchemyError):
        slot.give_back()
        current_app.logger.exception("storing a response failed")
        return retry_form(place, version, lang, form)
    if not stored.created:
        slot.give_back()
    else:
        # "Tôi muốn được trả lời": a case of its own, after the response and not joined to it.
        to_case = redirect_to_case(request.form, checked.answers, version.questions,
                                   unit_id=place.unit.id, counter_id=submission.counter_id,
                                   survey_id=place.survey.id, now=now, lang=lang)
        if to_case is not None:
            return to_case
    return redirect(url_for("public.thanks", token=token, lang=lang if lang == "en" else None,
                            c=request.args.get("c")), code=303)


def _signal_flags(place: Place, version: VersionInfo, checked: Checked, client: str | None,
                  now: datetime) -> tuple[str, ...]:
    """The stuffing rules' codes for this submission (survey/review/signals.py); none if they fail:
    a broken rule must not cost a citizen their answers."""
    context = SubmissionContext(
        counter_id=place.counter.id if place.counter else None,
        unit_id=place.unit.id,
        survey_id=place.survey.id,
        client_hash=client,
        answers_fingerprint=answers_fingerprint(checked.answers, version.questions),
        now=now,
    )
    try:
        return tuple(submission_flags(context))
    except Exception:
        current_app.logger.exception("stuffing signals failed; stored without them")
        return ()


@bp.get("/s/<token>/cam-on")
def thanks(token: str):
    place = resolve(token)
    lang = citizen_lang()
    kiosk = request.args.get("c") == "kiosk" and not place.is_link
    return render_template("public/thanks.html", counter=place.counter, unit=place.unit,
                           survey=place.survey, lang=lang, kiosk=kiosk, token=token)


@bp.get("/")
def index():
    return render_template("public/index.html")


