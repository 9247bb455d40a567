"""GET the form for a counter's token; POST the answers. Everything else is an error page."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone

from flask import abort, current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.orm import selectinload

from forms.citizen import NA, QuestionView, build_citizen_form, field_name
from survey.extensions import csrf, db
from survey.models import Counter, Survey, SurveyVersion
from survey.public import bp
from survey.services import responses
from survey.services.instrument import COMPONENTS, SERVICE_FIELDS
from survey.services.tokens import read_token

CHANNELS = {"qr", "kiosk", "link"}
SECTION_TITLES = {**COMPONENTS, "OVERALL": ("Đánh giá chung", "Overall")}


def _lang() -> str:
    return "en" if request.args.get("lang") == "en" else "vi"


def _resolve(token: str) -> tuple[Counter, Survey]:
    """The counter and survey a token opens, or the error page that explains why not."""
    parsed = read_token(token)
    if parsed is None:
        abort(404, description="token")
    counter = db.session.get(Counter, parsed.counter_id)
    survey = db.session.get(Survey, parsed.survey_id)
    if counter is None or survey is None or counter.token_version != parsed.token_version:
        abort(404, description="token")
    if not counter.active:
        abort(410, description="counter")
    if not survey.is_open(datetime.now(timezone.utc)) or survey.current_version is None:
        abort(410, description="survey")
    return counter, survey


def _views(version: SurveyVersion, lang: str) -> tuple[QuestionView, ...]:
    return tuple(
        QuestionView(
            code=q.code,
            component=q.component,
            text=q.text(lang),
            type=q.type,
            required=q.required,
            allows_na=q.allows_na,
            choices=tuple(
                (c["value"], c.get(lang) or c["vi"]) for c in (q.choices or ())
            ),
            max_length=q.max_length,
        )
        for q in version.questions
    )


def _fields(lang: str) -> tuple[tuple[str, str], ...]:
    return tuple((code, en if lang == "en" else vi) for code, vi, en in SERVICE_FIELDS)


def _version_for(survey: Survey, posted: str | None) -> SurveyVersion:
    """The version the citizen was shown, if it is really one of this survey's; else the current.

    A form opened before an administrator published new questions is still stored against the
    questions the citizen actually read.
    """
    if posted and posted.isdigit():
        version = db.session.get(SurveyVersion, int(posted))
        if version is not None and version.survey_id == survey.id:
            return version
    return survey.current_version


def _render(counter, survey, version, form, lang, status=200, notice=None):
    questions = _views(version, lang)
    sections: list[tuple[str, str, list]] = []
    for q in questions:
        key = q.component or ""
        if not sections or sections[-1][0] != key:
            titles = SECTION_TITLES.get(key)
            sections.append((key if key in COMPONENTS else "", titles[lang == "en"] if titles else "", []))
        sections[-1][2].append(form[q.name])
    return (
        render_template(
            "public/form.html",
            counter=counter,
            survey=survey,
            form=form,
            sections=sections,
            lang=lang,
            notice=notice,
            title=survey.title_en if lang == "en" and survey.title_en else survey.title_vi,
        ),
        status,
    )


@bp.get("/s/<token>")
def survey_form(token: str):
    counter, survey = _resolve(token)
    lang = _lang()
    version = survey.current_version
    form = build_citizen_form(_views(version, lang), _fields(lang), formdata=None)
    form.idem.data = uuid.uuid4().hex
    form.version.data = str(version.id)
    return _render(counter, survey, version, form, lang)


@bp.post("/s/<token>")
@csrf.exempt  # checked below, so a stale token re-shows the form with answers instead of a 400
def submit(token: str):
    counter, survey = _resolve(token)
    lang = _lang()
    version = _version_for(survey, request.form.get("version"))
    form = build_citizen_form(_views(version, lang), _fields(lang), meta={"csrf": True})

    if not form.validate():
        form.version.data = str(version.id)
        notice = None
        if "csrf_token" in form.errors:
            notice = _("Phiên làm việc đã hết hạn. Câu trả lời của Ông/Bà vẫn được giữ, vui lòng bấm Gửi lại.")
        if "idem" in form.errors or "version" in form.errors:
            # Tampered or lost hidden fields: a fresh key, the citizen's answers kept.
            form.idem.data = uuid.uuid4().hex
            notice = notice or _("Biểu mẫu không hợp lệ, vui lòng kiểm tra và bấm Gửi lại.")
        return _render(counter, survey, version, form, lang, status=422, notice=notice)

    answers = []
    questions = {q.code: q for q in version.questions}
    for code, q in questions.items():
        raw = form[field_name(code)].data
        if raw in (None, ""):
            continue
        if raw == NA:
            answers.append(responses.AnswerValue(q.id, na=True))
        elif q.type in ("likert5", "yesno"):
            answers.append(responses.AnswerValue(q.id, value_int=int(raw)))
        else:
            answers.append(responses.AnswerValue(q.id, value_text=raw))
    channel = request.args.get("c", "qr")
    submission = responses.Submission(
        version=version,
        counter=counter,
        channel=channel if channel in CHANNELS else "qr",
        idempotency_key=form.idem.data,
        answers=tuple(answers),
        service_field=form.service_field.data or None,
        dossier_code=form.dossier_code.data or None,
        client_address=request.remote_addr,
    )
    try:
        responses.store(submission)
    except responses.DuplicateDossier:
        form.dossier_code.errors = [_("Hồ sơ này đã được đánh giá trong đợt khảo sát. Mỗi hồ sơ chỉ đánh giá một lần.")]
        form.idem.data = uuid.uuid4().hex
        return _render(counter, survey, version, form, lang, status=409)
    except (OperationalError, SQLAlchemyError):
        current_app.logger.exception("storing a response failed")
        notice = _("Hệ thống đang bận, câu trả lời chưa được lưu. Vui lòng bấm Gửi lại sau ít phút.")
        return _render(counter, survey, version, form, lang, status=503, notice=notice)
    return redirect(url_for("public.thanks", token=token, lang=lang if lang == "en" else None,
                            c=request.args.get("c")), code=303)


@bp.get("/s/<token>/cam-on")
def thanks(token: str):
    counter, survey = _resolve(token)
    lang = _lang()
    kiosk = request.args.get("c") == "kiosk"
    return render_template("public/thanks.html", counter=counter, survey=survey, lang=lang,
                           kiosk=kiosk, token=token)


@bp.get("/")
def index():
    return render_template("public/index.html")


