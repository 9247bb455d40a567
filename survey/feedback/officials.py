"""Officials' side of feedback cases: /quan-ly/phan-anh/ (HANDLE_FEEDBACK, own units only).

The list filters by status, lateness, unit and period and shows each unit's on-time share and
follow-up satisfaction (survey/feedback/metrics.py). A case page shows what the citizen sent
through the one redaction (survey/indices/comments.py) and takes each workflow step as its own
small form (survey/feedback/cases.py writes the CaseEvent and the audit row). A case of another
unit is 404, like every unit-scoped page. The citizen's contact is shown only on request, and
that reading is audited.
"""
from __future__ import annotations

from datetime import datetime, timezone

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select

from analysis.report.format_vi import format_interval, format_number, format_percent
from forms.feedback import (
    CATEGORY_CHOICES,
    STATUS_FILTER_CHOICES,
    AnswerForm,
    AssignForm,
    ClassifyForm,
    CloseForm,
    DueForm,
    PublishForm,
)
from survey.access import restrict, visible_unit_ids
from survey.args import BadArgument, period_arg, unit_arg
from survey.catalog.loop_labels import CASE_CATEGORY_LABELS, CASE_STATUS_LABELS, LATE_LABEL, in_lang, label
from survey.catalog.periods import in_vietnam, period_of
from survey.extensions import db
from survey.feedback import bp, cases, contact
from survey.feedback.metrics import metrics_by_unit
from survey.feedback.queries import cases_for, item_texts, unit_names, visible_case
from survey.indices.comments import redact
from survey.models import CaseEvent, FeedbackCase, Unit, User
from survey.models.loop import CASE_STATUSES
from survey.services import audit

STEP_FORMS: dict[str, type[FlaskForm]] = {
    "classify": ClassifyForm, "assign": AssignForm, "due": DueForm, "answer": AnswerForm,
    "publish": PublishForm, "close": CloseForm}


def _today():
    return in_vietnam(datetime.now(timezone.utc)).date()


def _scope():
    return visible_unit_ids(current_user)


@bp.get("/")
def index():
    scope = _scope()
    status = request.args.get("status", "").strip() or None
    if status is not None and status not in CASE_STATUSES:
        raise BadArgument(_("Trạng thái không hợp lệ."))
    late_only = request.args.get("qua_han") == "1"
    unit = unit_arg(scope)
    period = period_arg(default_current=False)
    metrics_period = period or period_of(datetime.now(timezone.utc))
    today = _today()
    rows = cases_for(scope, today=today, unit_id=unit.id if unit else None, status=status,
                     late_only=late_only, period=period)
    by_unit = metrics_by_unit(scope, metrics_period, today)
    if unit is not None:
        by_unit = {k: v for k, v in by_unit.items() if k == unit.id}
    names = unit_names(set(by_unit) | {c.unit_id for c in rows})
    return render_template(
        "feedback/index.html", cases=rows, names=names, by_unit=by_unit,
        period=period, metrics_period=metrics_period, unit=unit, status=status, late_only=late_only,
        status_choices=STATUS_FILTER_CHOICES, today=today, status_label=_status_label,
        late_label=in_lang(LATE_LABEL), units=_filter_units(scope), pct=format_percent, num=format_number,
        interval=format_interval)


def _filter_units(scope) -> list[Unit]:
    return list(db.session.scalars(restrict(select(Unit).order_by(Unit.code), scope, Unit.id)))


def _status_label(code: str | None) -> str:
    return label(CASE_STATUS_LABELS, code)


def _case(case_id: int) -> FeedbackCase:
    case = visible_case(_scope(), case_id)
    if case is None:
        abort(404)
    return case


def _assign_choices(form: AssignForm, case: FeedbackCase) -> None:
    form.assignee.choices = [(str(u.id), u.name) for u in cases.officials_of(case)]


def _page(case: FeedbackCase, *, forms: dict | None = None, status: int = 200, notice: str | None = None,
          shown_contact: str | None = None):
    built: dict[str, FlaskForm] = {name: cls(formdata=None) for name, cls in STEP_FORMS.items()}
    built.update(forms or {})
    _assign_choices(built["assign"], case)
    if case.category and not built["classify"].category.data:
        built["classify"].category.data = case.category
    if case.due_date and not built["due"].due_date.data:
        built["due"].due_date.data = case.due_date
    if case.answer and not built["publish"].public_answer.data:
        built["publish"].public_answer.data = redact(case.answer)
    events = cases.history(case)
    people = {e.actor_id for e in events if e.actor_id} | {i for i in (case.assigned_to, case.answered_by) if i}
    actors = dict(db.session.execute(select(User.id, User.name).where(User.id.in_(people))).all()) if people else {}
    return render_template(
        "feedback/official_case.html",
        case=case, forms=built, notice=notice, events=events, actors=actors,
        message=redact(case.message) if case.message else None,
        items=item_texts(case.survey_id, case.low_items),
        unit_name=unit_names([case.unit_id]).get(case.unit_id, ""),
        status_label=_status_label, category_label=label(CASE_CATEGORY_LABELS, case.category),
        late=case.status != "closed" and case.late_on(_today()), late_label=in_lang(LATE_LABEL),
        open=case.status in cases.OPEN, shown_contact=shown_contact,
        categories=CATEGORY_CHOICES, in_vietnam=in_vietnam,
    ), status


@bp.get("/<int:case_id>")
def show(case_id: int):
    return _page(_case(case_id))


def _take_step(case_id: int, name: str, apply, done: str):
    case = _case(case_id)
    form = STEP_FORMS[name]()
    if name == "assign":
        _assign_choices(form, case)
    if not form.validate():
        return _page(case, forms={name: form}, status=400,
                     notice=_("Vui lòng kiểm tra thông tin vừa nhập."))
    try:
        apply(case, form)
    except cases.StepRefused as refused:
        db.session.rollback()
        return _page(case, status=409, notice=str(refused))  # rollback expired `case`: it reloads
    db.session.commit()
    flash(done, "ok")
    return redirect(url_for("feedback.show", case_id=case_id), code=303)


@bp.post("/<int:case_id>/phan-loai")
def classify(case_id: int):
    return _take_step(case_id, "classify", lambda case, form: cases.classify(case, form.category.data, current_user),
                      _("Đã phân loại phản ánh."))


@bp.post("/<int:case_id>/giao")
def assign(case_id: int):
    def apply(case, form):
        assignee = db.session.get(User, int(form.assignee.data))
        if assignee is None:
            raise cases.StepRefused(_("Không có tài khoản này."))
        cases.assign(case, assignee, current_user)
    return _take_step(case_id, "assign", apply, _("Đã giao xử lý."))


@bp.post("/<int:case_id>/han")
def set_due(case_id: int):
    return _take_step(case_id, "due",
                      lambda case, form: cases.set_due(case, form.due_date.data, current_user, _today()),
                      _("Đã đặt hạn xử lý."))


@bp.post("/<int:case_id>/tra-loi")
def answer(case_id: int):
    return _take_step(case_id, "answer", lambda case, form: cases.answer(case, form.answer.data, current_user),
                      _("Đã gửi trả lời. Người dân xem được tại liên kết riêng của phản ánh."))


@bp.post("/<int:case_id>/cong-khai")
def publish(case_id: int):
    return _take_step(case_id, "publish",
                      lambda case, form: cases.publish(case, form.public_answer.data, current_user),
                      _("Đã công khai nội dung trả lời (đã ẩn thông tin cá nhân)."))


@bp.post("/<int:case_id>/dong")
def close(case_id: int):
    return _take_step(case_id, "close", lambda case, form: cases.close(case, current_user, form.note.data),
                      _("Đã đóng phản ánh; thông tin liên hệ (nếu có) đã được xóa."))


@bp.post("/<int:case_id>/lien-he")
def reveal_contact(case_id: int):
    """The citizen's contact, shown once per request and audited; nothing when there is none."""
    case = _case(case_id)
    value = contact.decrypt(case.contact_encrypted)
    if value is None:
        return _page(case, status=404, notice=_("Phản ánh này không có thông tin liên hệ."))
    audit.record("case_contact_read", target=f"case:{case.code}")
    db.session.add(CaseEvent(case_id=case.id, at=datetime.now(timezone.utc), actor_id=current_user.id,
                             note="Xem thông tin liên hệ"))
    db.session.commit()
    return _page(case, shown_contact=value)
