"""GET the form for a counter's or a campaign unit's token; POST the answers.

Everything else is an error page. A counter token opens the survey at that counter (channel qr or
kiosk); a unit token opens a thematic campaign for one of its target units (channel link, no
counter).
"""
from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import cast

from flask import current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from survey.errors import UNAVAILABLE
from survey.extensions import csrf
from survey.feedback.intake import redirect_to_case
from survey.intake import citizen_csrf, responses
from survey.intake.anonymity import client_hash
from survey.intake.answers import (
    Checked,
    answers_fingerprint,
    first_value,
    posted_version,
)
from survey.intake.place import (
    CounterInfo,
    VersionInfo,
    remember,
)
from survey.intake.tokens import CounterToken, UnitToken
from survey.public import bp
from survey.public.form_page import (
    CHANNELS,
    FLOODED,
    Place,
    check_posted,
    citizen_lang,
    csrf_enabled,
    empty_page,
    known_counter,
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
from survey.review.signals import Recording, SubmissionContext, flags_of, recording
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
        csrf=citizen_csrf.token() if csrf_enabled() else "",
        idem=uuid.uuid4().hex,
        unit=place.unit.name,
        counter=place.counter.name if place.counter else "",
    )


@bp.post("/s/<token>")
@csrf.exempt  # checked below, so a stale token re-shows the form with answers instead of a 400
def submit(token: str):
    parsed = parse_token(token)
    return _submit(token, parsed, citizen_lang(), known_counter(parsed))


def _submit(token: str, parsed: CounterToken | UnitToken, lang: str, known: Place | None):
    """Check and store a submission. `known`: this worker's last lookup of the counter, used
    without looking it up again; the storing statement re-checks it (responses.CounterCheck), and
    when that fails, or a dossier code was typed, everything runs again from a fresh lookup."""
    try:
        place = known or resolve_parsed(parsed)
        version = version_for(place, posted_version(request.form))
    except UNAVAILABLE:
        page = unavailable_form(parsed, lang)
        if page is None:
            raise  # the plain retry page (survey/errors.py)
        return page
    key = place_key(parsed)
    if known is None:
        remember(key, (place, version))
    checked, form, page = check_posted(place, version, lang)
    if page is not None:
        return page
    assert checked is not None  # no page: the submission passed
    if known is not None and checked.dossier_code:
        return _submit(token, parsed, lang, None)  # its used_dossier step comes before any re-check

    if place.is_link:
        channel = "link"  # a campaign link is a link wherever it was opened
    else:
        channel = first_value(request.args, "c") or "qr"
        channel = channel if channel in CHANNELS else "qr"
    now = datetime.now(timezone.utc)
    client = client_hash(request.remote_addr, now)
    record = _signal_record(place, version, checked, client, now)
    try:
        slot = take_submission_slot(key, record)  # one round trip: the limits and the signals
    except Flooded as flood:
        return retry_form(place, version, lang, form, status=429, notice=FLOODED, retry_after=str(flood.retry))
    try:
        signals = _signal_flags(record)
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
            recheck=None if known is None else responses.CounterCheck(
                cast(CounterInfo, place.counter).token_version, place.survey.short_form),
        )
        stored = responses.store(submission, now)
    except responses.PlaceChanged:
        # Retired, rotated, moved or closed since this worker looked: the fresh lookup says which
        # (an error page), or stores against the new place (the signals then count it twice).
        slot.give_back()
        return _submit(token, parsed, lang, None)
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
                            c=first_value(request.args, "c")), code=303)


def _signal_record(place: Place, version: VersionInfo, checked: Checked, client: str | None,
                   now: datetime) -> Recording | None:
    """What the stuffing rules (survey/review/signals.py) record of this submission; None if that
    fails: a broken rule must not cost a citizen their answers."""
    context = SubmissionContext(
        counter_id=place.counter.id if place.counter else None,
        unit_id=place.unit.id,
        survey_id=place.survey.id,
        client_hash=client,
        answers_fingerprint=answers_fingerprint(checked.answers, version.questions),
        now=now,
    )
    try:
        return recording(context)
    except Exception:
        current_app.logger.exception("stuffing signals failed; stored without them")
        return None


def _signal_flags(record: Recording | None) -> tuple[str, ...]:
    """The stuffing rules' codes for this submission, once recorded (take_submission_slot)."""
    if record is None:
        return ()
    try:
        return tuple(flags_of(record))
    except Exception:
        current_app.logger.exception("stuffing signals failed; stored without them")
        return ()


@bp.get("/s/<token>/cam-on")
def thanks(token: str):
    place = resolve(token)
    lang = citizen_lang()
    kiosk = first_value(request.args, "c") == "kiosk" and not place.is_link
    return render_template("public/thanks.html", counter=place.counter, unit=place.unit,
                           survey=place.survey, lang=lang, kiosk=kiosk, token=token)


@bp.get("/")
def index():
    return render_template("public/index.html")


