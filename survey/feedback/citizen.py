"""The citizen's side of a case: /phan-anh/<token>, reached only through the private link.

No account, no name: whoever holds the link follows the case, leaves a contact (with consent)
and, once it is answered, rates the handling once. The token is 256 random bits, and guessing is
limited anyway: every request per address (CASE_PAGE_LIMIT), and unknown links per address
(CASE_MISS_LIMIT, counted only when the answer is 404). An unknown or malformed token gets the
same 404 page as a bad QR code, so a guess learns nothing. Pages are never cached
(survey/auth/sessions.py: only the form blueprints are) and send no Referer.
"""
from __future__ import annotations

from flask import abort, current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _

from forms.feedback import ContactForm, FollowupForm
from survey.catalog.loop_labels import CASE_STATUS_LABELS, label
from survey.catalog.periods import in_vietnam
from survey.extensions import db, limiter
from survey.feedback import case_bp, cases, contact
from survey.feedback.queries import item_texts
from survey.models import FeedbackCase
from survey.public.form_page import citizen_lang

# The citizen's view of the workflow, in order (published and closed are both an ending).
STEPS = ("received", "classified", "assigned", "answered", "published", "closed")

page_limit = limiter.shared_limit(lambda: current_app.config["CASE_PAGE_LIMIT"], scope="case-page")
miss_limit = limiter.shared_limit(lambda: current_app.config["CASE_MISS_LIMIT"], scope="case-miss",
                                  deduct_when=lambda response: response.status_code == 404)


@case_bp.after_request
def _private(response):
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _case_or_404(token: str) -> FeedbackCase:
    case = cases.find_by_token(token)
    if case is None:
        abort(404, description="token")  # the bad-QR page: nothing says whether a case exists
    return case


def _lang_arg(lang: str) -> str | None:
    return "en" if lang == "en" else None


def private_link(token: str) -> str:
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    return base + url_for("case.show", token=token)


def _history(case: FeedbackCase, lang: str) -> list[tuple[str, str]]:
    """(dd/mm/yyyy, status label) of each status the case went through, as the citizen sees it."""
    return [(in_vietnam(e.at).strftime("%d/%m/%Y"), label(CASE_STATUS_LABELS, e.to_status, lang))
            for e in cases.history(case) if e.to_status in STEPS]


def _render(case: FeedbackCase, token: str, *, followup: FollowupForm | None = None,
            contact_form: ContactForm | None = None, status: int = 200, notice: str | None = None):
    lang = citizen_lang()
    return render_template(
        "feedback/case.html", case=case, token=token, lang=lang, lang_arg=_lang_arg(lang),
        link=private_link(token), new=request.args.get("moi") == "1", done=request.args.get("da"),
        notice=notice,
        status_label=label(CASE_STATUS_LABELS, case.status, lang),
        history=_history(case, lang), items=item_texts(case.survey_id, case.low_items, lang),
        due=case.due_date.strftime("%d/%m/%Y") if case.due_date else None,
        answered_on=in_vietnam(case.answered_at).strftime("%d/%m/%Y") if case.answered_at else None,
        can_rate=cases.can_rate(case), closed=cases.is_closed(case),
        has_contact=case.contact_encrypted is not None,
        followup=followup or FollowupForm(formdata=None),
        contact_form=contact_form or ContactForm(formdata=None),
    ), status


@case_bp.get("/<token>")
@page_limit
@miss_limit
def show(token: str):
    return _render(_case_or_404(token), token)


@case_bp.post("/<token>/danh-gia")
@page_limit
@miss_limit
def rate(token: str):
    case = _case_or_404(token)
    form = FollowupForm()
    if case.followup_rating is not None:
        return _render(case, token, status=409, notice=_("Ông/Bà đã đánh giá việc xử lý phản ánh này. "
                                                         "Mỗi phản ánh chỉ được đánh giá một lần."))
    if not cases.can_rate(case):
        return _render(case, token, status=409,
                       notice=_("Phản ánh chưa có trả lời nên chưa thể đánh giá."))
    if not form.validate():
        return _render(case, token, followup=form, status=400)
    if not cases.rate(case, int(form.rating.data)):
        db.session.rollback()  # another tap stored its rating first; rollback expired `case`, so it reloads
        return _render(case, token, status=409,
                       notice=_("Ông/Bà đã đánh giá việc xử lý phản ánh này. Mỗi phản ánh chỉ được đánh giá một lần."))
    db.session.commit()
    return redirect(url_for("case.show", token=token, lang=_lang_arg(citizen_lang()), da="danh-gia"), code=303)


@case_bp.post("/<token>/lien-he")
@page_limit
@miss_limit
def leave_contact(token: str):
    case = _case_or_404(token)
    if cases.is_closed(case):
        return _render(case, token, status=409,
                       notice=_("Phản ánh đã đóng nên không nhận thêm thông tin liên hệ."))
    form = ContactForm()
    if not form.validate():
        return _render(case, token, contact_form=form, status=400)
    value = contact.normalise(form.contact.data)
    assert value is not None  # ContactForm.validate_contact refused what normalise() rejects
    cases.leave_contact(case, value)
    db.session.commit()
    return redirect(url_for("case.show", token=token, lang=_lang_arg(citizen_lang()), da="lien-he"), code=303)
