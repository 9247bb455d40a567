"""The citizen form page, shared by counter links (views.py) and dossier links (dossier_link.py):
which place a token names, the questions in the citizen's language, rendering, the page cache,
and the check of posted answers."""
from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Any, cast

from flask import abort, current_app, make_response, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from forms.citizen import QuestionView, build_citizen_form
from survey.catalog.instrument import COMPONENTS, SERVICE_FIELDS
from survey.catalog.periods import VIETNAM, as_utc
from survey.catalog.question_bank import B_COMPONENTS, section_titles
from survey.errors import RETRY_AFTER
from survey.intake import citizen_csrf, pages
from survey.intake.answers import (
    Checked,
    collect,
    drop_demographics_without_consent,
    first_value,
    posted_version,
    quick_check,
)
from survey.intake.place import (
    CounterInfo,
    QuestionInfo,
    SurveyInfo,
    UnitInfo,
    VersionInfo,
    VersionRef,
    lookup_counter,
    lookup_unit,
    remembered,
    version_info,
    version_ref,
)
from survey.intake.tokens import CounterToken, UnitToken, read_any_token

CHANNELS = {"qr", "kiosk", "link"}
SECTION_TITLES = section_titles()
NUMBERED = {**COMPONENTS, **B_COMPONENTS}  # sections headed "A1. …", "B2. …"


@dataclass(frozen=True)
class Place:
    """Where the citizen answers: a counter (and its unit), or a campaign's target unit."""

    unit: UnitInfo
    counter: CounterInfo | None
    survey: SurveyInfo
    version: VersionRef  # the survey's current version
    # A dossier link's service field (code) and procedure: shown, fixed, not asked (survey/links).
    service_field: str | None = None
    procedure: str | None = None

    @property
    def is_link(self) -> bool:
        return self.counter is None


def citizen_lang() -> str:
    return "en" if first_value(request.args, "lang") == "en" else "vi"


def unavailable_page(kind: str, status: int, opens_at: datetime | None = None):
    """Stop with a page saying why this link or poster opens no form (never a form)."""
    opens_on = opens_at.astimezone(VIETNAM).strftime("%d/%m/%Y") if opens_at else None
    page = render_template("public/unavailable.html", kind=kind, code=status, opens_on=opens_on)
    abort(make_response(page, status))


def parse_token(token: str) -> CounterToken | UnitToken:
    """The token's content, or the 404 "Mã QR không hợp lệ" page (re-spelled tokens included)."""
    parsed = read_any_token(token)
    if parsed is None:
        abort(404, description="token")
    return parsed


def place_key(parsed: CounterToken | UnitToken) -> str:
    """What a token names, for limits and per-worker caches: never the URL text, which a stuffer
    can re-spell (survey/intake/tokens.py accepts only the canonical one, this holds anyway)."""
    if isinstance(parsed, CounterToken):
        return f"c{parsed.counter_id}"
    return f"u{parsed.unit_id}-s{parsed.survey_id}"


def known_counter(parsed: CounterToken | UnitToken) -> Place | None:
    """This worker's last lookup of a counter token's place (survey.intake.place.remember), when
    it still matches the token; None for a campaign's unit token. Only for storing, which
    re-checks it in the same statement (responses.CounterCheck): never to open a form."""
    if not isinstance(parsed, CounterToken):
        return None
    known = remembered(place_key(parsed))
    if known is None:
        return None
    place = cast(tuple[Place, VersionInfo], known)[0]
    counter = place.counter
    if counter is None or place.survey.id != parsed.survey_id or counter.token_version != parsed.token_version:
        return None
    return place


def resolve(token: str) -> Place:
    """The place and survey a token opens, or the error page that explains why not."""
    return resolve_parsed(parse_token(token))


def resolve_parsed(parsed: CounterToken | UnitToken) -> Place:
    if isinstance(parsed, CounterToken):
        return _resolve_counter(parsed)
    now = datetime.now(timezone.utc)
    found = lookup_unit(parsed, now)
    survey, unit = found.survey, found.unit
    if survey is None or unit is None or survey.kind != "thematic":
        abort(404, description="token")
    if not found.targeted:
        unavailable_page("not-target", 404)
    if survey.status == "draft":
        unavailable_page("draft", 404)
    if survey.status == "open" and survey.opens_at is not None and now < as_utc(survey.opens_at):
        unavailable_page("not-yet", 410, as_utc(survey.opens_at))
    if not found.survey_open or found.version is None:
        abort(410, description="survey")
    return Place(unit, None, survey, found.version)


def _resolve_counter(parsed: CounterToken) -> Place:
    found = lookup_counter(parsed, datetime.now(timezone.utc))
    counter, survey = found.counter, found.survey
    if counter is None or survey is None or counter.token_version < parsed.token_version:
        abort(404, description="token")
    if not counter.active:
        abort(410, description="counter")
    if counter.token_version > parsed.token_version:
        # A poster printed before the counter's code was rotated: say so, point to the new one.
        unavailable_page("replaced", 410)
    # place.counter_opens_clause, the rule the storing statement re-checks (responses.CounterCheck)
    if not found.opens or found.version is None:
        abort(410, description="survey")
    return Place(cast(UnitInfo, found.unit), counter, survey, found.version)  # a counter's unit


def question_views(version: VersionInfo, lang: str) -> tuple[QuestionView, ...]:
    return tuple(
        QuestionView(
            code=q.code,
            component=q.component,
            text=q.text(lang),
            type=q.type,
            required=q.required,
            allows_na=q.allows_na,
            choices=tuple(
                (c["value"], c.get(lang) or c["vi"]) for c in q.choice_dicts()
            ),
            max_length=q.max_length,
        )
        for q in version.questions
    )


def _fields(lang: str) -> tuple[tuple[str, str], ...]:
    return tuple((code, en if lang == "en" else vi) for code, vi, en in SERVICE_FIELDS)


FIELDS = {lang: _fields(lang) for lang in ("vi", "en")}


def short_form(questions: tuple[QuestionInfo, ...]) -> tuple[QuestionInfo, ...]:
    """The first item of each numbered component (A1…A6, B1…B3) and every other question
    (overall, comment, demographics, the campaign's own questions), in their order."""
    seen: set[str] = set()
    kept = []
    for q in questions:
        if q.component in NUMBERED:
            if q.component in seen:
                continue
            seen.add(q.component)
        kept.append(q)
    return tuple(kept)


def version_for(place: Place, posted: int | None = None) -> VersionInfo:
    """The questions the citizen is asked: the version they were shown, if it is really one of
    this survey's, else the current; only the short form's when the survey asks for it.

    A form opened before an administrator published new questions is still stored against the
    questions the citizen actually read. On the short form the items not asked are neither
    required nor stored, so they are missing from the estimates, not zero.
    """
    ref = place.version
    if posted is not None and posted != ref.id:
        ref = version_ref(posted, place.survey.id) or ref
    version = version_info(ref)
    if place.survey.short_form:
        version = replace(version, questions=short_form(version.questions))
    return version


SECONDS_PER_QUESTION = 7


def promised_minutes(questions: tuple[QuestionView, ...]) -> int:
    """What the intro promises, in whole minutes: about 7 seconds a question (a five-point item
    tapped on a phone); the standing form's 24 questions make 3, the short form's 9 make 1."""
    return max(1, round(len(questions) * SECONDS_PER_QUESTION / 60))


def render_form(place: Place, version: VersionInfo, form, lang, status=200, notice=None, preview=False):
    questions = question_views(version, lang)
    sections: list[tuple[str, str, str, list]] = []  # (component, number, heading, fields)
    for q in questions:
        key = q.component or ""
        if not sections or sections[-1][0] != key:
            titles = SECTION_TITLES.get(key)
            sections.append((key, key if key in NUMBERED else "", titles[lang == "en"] if titles else "", []))
        sections[-1][3].append(form[q.name])
    survey = place.survey
    return (
        render_template(
            "public/form.html",
            counter=place.counter,
            unit=place.unit,
            survey=survey,
            form=form,
            sections=sections,
            lang=lang,
            notice=notice,
            fixed_field=dict(FIELDS[lang]).get(place.service_field) if place.service_field else None,
            procedure=place.procedure,
            title=survey.title_en if lang == "en" and survey.title_en else survey.title_vi,
            minutes=promised_minutes(questions),
            preview=preview,
        ),
        status,
    )


def csrf_enabled() -> bool:
    return current_app.config.get("WTF_CSRF_ENABLED", True)


def _page_key(place: Place, version: VersionInfo, lang: str) -> tuple:
    # Everything the form template reads, but the per-request values filled in by pages.Page.
    s = place.survey
    # A frozen version is known by its id and creation time; an unfrozen one by its questions.
    return (version.cache_key or version.questions, lang, place.is_link, s.kind, s.title_vi, s.title_en,
            s.purpose, s.privacy_vi, s.short_form, csrf_enabled())


def citizen_form(version: VersionInfo, lang: str, meta: dict | None = None, **kwargs):
    """The WTForms form of a version's questions, with the citizen pages' CSRF
    (survey/intake/citizen_csrf.py) instead of Flask-WTF's session token."""
    return build_citizen_form(question_views(version, lang), FIELDS[lang],
                              meta={**(meta or {}), "csrf_class": citizen_csrf.CitizenCSRF}, **kwargs)


def empty_page(place: Place, version: VersionInfo, lang: str) -> pages.Page:
    key = _page_key(place, version, lang)
    page = pages.get(key)
    if page is None:
        marked = Place(
            UnitInfo(place.unit.id, pages.MARKERS["unit"]),
            None if place.is_link else replace(cast(CounterInfo, place.counter), name=pages.MARKERS["counter"]),
            place.survey,
            place.version,
        )
        form = citizen_form(version, lang, formdata=None)
        form.idem.data = pages.MARKERS["idem"]
        form.version.data = str(version.id)
        if "csrf_token" in form:
            form.csrf_token.current_token = pages.MARKERS["csrf"]
        html, _status = render_form(marked, version, form, lang)
        page = pages.put(key, html)
    return page



def posted_form(version: VersionInfo, lang: str):
    """The WTForms form of what was posted, validated: it decides what is wrong, and re-shows."""
    form = citizen_form(version, lang, meta={"csrf": True})
    drop_demographics_without_consent(form, version)
    valid = form.validate()
    return form, valid


def _csrf_valid() -> bool:
    return citizen_csrf.valid(request.form.get("csrf_token"))


def unavailable_form(parsed: CounterToken | UnitToken, lang: str):
    """The form with the citizen's answers and a "send again" notice, when the database cannot be
    reached to resolve the token: from what this worker last knew of its place, else None."""
    known = remembered(place_key(parsed))
    if known is None:
        return None
    place, version = cast(tuple[Place, VersionInfo], known)  # what submit() remembered
    if parsed.survey_id != place.survey.id or (
            isinstance(parsed, CounterToken)
            and cast(CounterInfo, place.counter).token_version != parsed.token_version):
        return None  # another survey, or a replaced poster: no form, even to say "send again"
    if posted_version(request.form) not in (None, version.id):
        return None
    return retry_form(place, version, lang)


BUSY = _l("Hệ thống đang bận, câu trả lời chưa được lưu. Vui lòng bấm Gửi lại sau ít phút.")
FLOODED = _l("Địa chỉ mạng này đang gửi quá nhiều phiếu nên hệ thống tạm ngừng nhận. Câu trả lời của "
             "Ông/Bà chưa được lưu, vẫn được giữ dưới đây; vui lòng bấm Gửi lại sau ít phút.")


def retry_form(place: Place, version: VersionInfo, lang: str, form=None, status: int = 503,
                notice=BUSY, retry_after: str = RETRY_AFTER):
    """503 (or 429 for a flood): nothing was stored; the form again with every answer, asking to
    send it again."""
    form = form or posted_form(version, lang)[0]
    form.version.data = str(version.id)
    html, status = render_form(place, version, form, lang, status=status, notice=str(notice))
    return html, status, {"Retry-After": retry_after}


def check_posted(place: Place, version: VersionInfo, lang: str) -> tuple[Checked | None, Any, Any]:
    """(what was posted, as it will be stored; the WTForms form if one was built; None), or
    (None, form, the 422 page that shows it again with every answer kept)."""
    # Nearly every submission is complete and well formed: read it straight from the posted
    # fields. Anything else goes through the WTForms form, which says what is wrong.
    checked = quick_check(request.form, version) if _csrf_valid() else None
    form = None
    if checked is None:
        form, valid = posted_form(version, lang)
        if not valid:
            form.version.data = str(version.id)
            notice = None
            if "csrf_token" in form.errors:
                notice = _("Phiên làm việc đã hết hạn. Câu trả lời của Ông/Bà vẫn được giữ, vui lòng bấm Gửi lại.")
            if "idem" in form.errors or "version" in form.errors:
                # Tampered or lost hidden fields: a fresh key, the citizen's answers kept.
                form.idem.data = uuid.uuid4().hex
                notice = notice or _("Biểu mẫu không hợp lệ, vui lòng kiểm tra và bấm Gửi lại.")
            return None, form, render_form(place, version, form, lang, status=422, notice=notice)
        checked = Checked(form.idem.data, collect(form, version), form.service_field.data or None,
                          form.dossier_code.data or None)
    return checked, form, None




def preview_form(survey: Any, unit: Any, lang: str):
    """A campaign's citizen form exactly as a citizen of `unit` will see it, marked "Xem trước".

    For officials (campaigns.preview): no token, no CSRF token or idempotency key, and a form
    that cannot be sent (method GET, button disabled), so nothing can be stored from it.
    """
    version = survey.current_version
    ref = VersionRef(version.id, survey.id, version.frozen, version.created_at)
    info = SurveyInfo(survey.id, survey.kind, survey.status, survey.opens_at, survey.closes_at,
                      survey.title_vi, survey.title_en, survey.purpose, survey.privacy_vi)
    questions = version_info(ref)
    form = build_citizen_form(question_views(questions, lang), FIELDS[lang], formdata=None,
                              meta={"csrf": False})
    return render_form(Place(UnitInfo(unit.id, unit.name), None, info, ref), questions, form, lang,
                       preview=True)
