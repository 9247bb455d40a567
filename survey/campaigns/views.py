"""Campaign pages: list, create, edit, progress, publish, close, QR downloads.

Every route needs Permission.RUN_CAMPAIGNS (checked by the app-wide gate); the logic lives in
services.campaigns, the form in forms/campaigns.py.
"""
from __future__ import annotations

from datetime import datetime, timezone
from types import SimpleNamespace
from typing import cast

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from analysis.report.format_vi import format_p_value
from forms.campaigns import ActionForm, campaign_form, format_day
from survey.campaigns import bp
from survey.catalog.instrument import COMPONENTS
from survey.catalog.question_bank import AREA_NAMES, B_COMPONENTS, GROUP_A, b_preview
from survey.dashboards import formatting
from survey.i18n import current_lang
from survey.indices import report_data
from survey.intake.tokens import unit_survey_url
from survey.models import CampaignTarget, Survey, SurveyVersion
from survey.permissions import Permission, requires
from survey.public.form_page import preview_form
from survey.services import campaigns as service


def _reason(error: service.CampaignError) -> str:
    messages = {
        "closed": _("Đợt khảo sát đã kết thúc, không sửa được nữa."),
        "not-draft": _("Chỉ phát hành được đợt khảo sát đang soạn thảo."),
        "not-open": _("Chỉ kết thúc được đợt khảo sát đang mở."),
        "no-targets": _("Chưa chọn đơn vị được khảo sát."),
        "past": _("Ngày kết thúc đã qua: hãy sửa ngày trước khi phát hành."),
        "dates": _("Ngày kết thúc phải từ ngày bắt đầu trở đi."),
        "area": _("Chọn lĩnh vực chính sách để hỏi các câu nhóm B."),
        "no-undo": _("Không hoàn tác được: đã quá 10 phút hoặc đã có thay đổi khác."),
    }
    return messages.get(error.reason, _("Không thực hiện được thao tác này."))


def _campaign_or_404(survey_id: int) -> Survey:
    survey = service.get_campaign(survey_id)
    if survey is None:
        abort(404)
    return survey


@bp.context_processor
def helpers() -> dict:
    return {"day": format_day, "local_day": service.local_day, "area_names": AREA_NAMES,
            "fmt": formatting, "p_value": format_p_value}


@bp.get("/")
@requires(Permission.RUN_CAMPAIGNS)
def index():
    now = datetime.now(timezone.utc)
    rows = [
        (s, service.lifecycle(s, now), sum(p.responses for p in service.progress(s)))
        for s in service.list_campaigns()
    ]
    return render_template("campaigns/index.html", rows=rows)


def _render_form(form, survey: Survey | None, status: int = 200):
    en = current_lang() == "en"
    a_groups = [(comp, en_name if en else name,
                 [(s.code, s.text_en if en else s.text_vi) for s in GROUP_A if s.component == comp])
                for comp, (name, en_name) in COMPONENTS.items()]
    return render_template("campaigns/form.html", form=form, survey=survey, units=service.unit_tree(),
                           a_groups=a_groups, b_items=b_preview(current_lang()), b_components=B_COMPONENTS), status


@bp.route("/moi", methods=["GET", "POST"])
@requires(Permission.RUN_CAMPAIGNS)
def new():
    form = campaign_form(service.unit_tree())
    if not form.validate_on_submit():
        return _render_form(form, None, 422 if form.is_submitted() else 200)
    try:
        survey = service.create(form.to_input(), current_user.id)
    except service.CampaignError as error:
        flash(_reason(error), "error")
        return _render_form(form, None, 422)
    flash(_("Đã tạo đợt khảo sát (bản nháp). Kiểm tra lại rồi bấm Phát hành."), "ok")
    return redirect(url_for("campaigns.show", survey_id=survey.id), code=303)


@bp.route("/<int:survey_id>/sua", methods=["GET", "POST"])
@requires(Permission.RUN_CAMPAIGNS)
def edit(survey_id: int):
    survey = _campaign_or_404(survey_id)
    if service.lifecycle(survey, datetime.now(timezone.utc)) == "closed":
        flash(_("Đợt khảo sát đã kết thúc, không sửa được nữa."), "error")
        return redirect(url_for("campaigns.show", survey_id=survey.id), code=303)
    units = service.unit_tree()
    # Editing starts from the campaign as it stands; a POST is read from what was sent.
    form = campaign_form(units) if request.method == "POST" else campaign_form(units, initial=service.input_of(survey))
    if not form.validate_on_submit():
        return _render_form(form, survey, 422 if form.is_submitted() else 200)
    before = cast(SurveyVersion, survey.current_version).number  # a campaign always has one
    try:
        version = service.update(survey, form.to_input(), current_user.id)
    except service.CampaignError as error:
        flash(_reason(error), "error")
        return _render_form(form, survey, 422)
    if version.number != before:
        flash(_("Đã lưu. Bộ câu hỏi cũ đã có người trả lời nên được giữ nguyên; "
                "các câu trả lời mới dùng phiên bản %(n)s.", n=version.number), "ok")
    else:
        flash(_("Đã lưu thay đổi."), "ok")
    return redirect(url_for("campaigns.show", survey_id=survey.id), code=303)


@bp.get("/<int:survey_id>")
@requires(Permission.RUN_CAMPAIGNS)
def show(survey_id: int):
    survey = _campaign_or_404(survey_id)
    state = service.lifecycle(survey, datetime.now(timezone.utc))
    rows = service.progress(survey)
    links = {} if survey.status == "draft" else {p.unit.id: unit_survey_url(p.unit.id, survey.id) for p in rows}
    total = sum(p.responses for p in rows)
    # The same figures as the PDF report (one assembly: report_data.thematic_report_data).
    results = report_data.thematic_report_data(survey) if total else None
    return render_template(
        "campaigns/progress.html", survey=survey, state=state, rows=rows, links=links,
        total=total, total_quota=sum(p.quota or 0 for p in rows),
        action=ActionForm(), inp=service.input_of(survey), results=results,
    )


def _action(survey_id: int, run, done: str):
    survey = _campaign_or_404(survey_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        run(survey)
    except service.CampaignError as error:
        flash(_reason(error), "error")
    else:
        flash(done, "ok")
    return redirect(url_for("campaigns.show", survey_id=survey_id), code=303)


@bp.post("/<int:survey_id>/phat-hanh")
@requires(Permission.RUN_CAMPAIGNS)
def publish(survey_id: int):
    return _action(survey_id, lambda s: service.publish(s, current_user.id),
                   _("Đã phát hành. Liên kết và mã QR của từng đơn vị có ở bảng dưới đây."))


@bp.route("/<int:survey_id>/ket-thuc", methods=["GET", "POST"])
@requires(Permission.RUN_CAMPAIGNS)
def close(survey_id: int):
    survey = _campaign_or_404(survey_id)
    if request.method == "POST" and not ActionForm().validate_on_submit():
        abort(400)
    # Confirmed first (a page that works without JavaScript): closing refuses citizens' answers.
    if request.form.get("xac_nhan") != "1":
        return render_template(
            "officials/confirm.html", title=_("Kết thúc đợt khảo sát %(code)s?", code=survey.code),
            message=_("Các liên kết và mã QR của đợt khảo sát sẽ không nhận thêm ý kiến."),
            undo_note=_("Có thể hoàn tác trong vòng 10 phút sau khi làm."),
            button=_("Kết thúc đợt khảo sát"), action=request.path,
            back=url_for("campaigns.show", survey_id=survey.id))
    try:
        service.close(survey, current_user.id)
    except service.CampaignError as error:
        flash(_reason(error), "error")
    else:
        flash(_("Đã kết thúc đợt khảo sát. Các liên kết không nhận thêm ý kiến."), "ok")
        flash(url_for("campaigns.reopen", survey_id=survey.id), "undo")
    return redirect(url_for("campaigns.show", survey_id=survey.id), code=303)


@bp.post("/<int:survey_id>/hoan-tac-ket-thuc")
@requires(Permission.RUN_CAMPAIGNS)
def reopen(survey_id: int):
    """Undo of a close, within the undo window (survey/services/undo.py); audited."""
    return _action(survey_id, lambda s: service.reopen(s, current_user.id),
                   _("Đã hoàn tác: đợt khảo sát nhận ý kiến trở lại."))


@bp.get("/<int:survey_id>/qr/<int:unit_id>.<fmt>")
@requires(Permission.RUN_CAMPAIGNS)
def qr(survey_id: int, unit_id: int, fmt: str):
    survey = _campaign_or_404(survey_id)
    if fmt not in ("png", "svg") or survey.status == "draft" or service.target_of(survey.id, unit_id) is None:
        abort(404)
    url = unit_survey_url(unit_id, survey.id)
    body = service.qr_png(url) if fmt == "png" else service.qr_svg(url)
    service.record_download(survey, unit_id, fmt, current_user.id)
    target = cast(CampaignTarget, service.target_of(survey.id, unit_id))  # checked above
    filename = f"{survey.code}-{target.unit.code}.{fmt}"
    return Response(body, mimetype="image/png" if fmt == "png" else "image/svg+xml",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@bp.get("/<int:survey_id>/xem-truoc")
@requires(Permission.RUN_CAMPAIGNS)
def preview(survey_id: int):
    """The citizen form of the campaign as it stands, for checking a draft; stores nothing."""
    survey = _campaign_or_404(survey_id)
    if survey.current_version is None:
        abort(404)
    targets = service.targets_of(survey)
    unit = targets[0].unit if targets else SimpleNamespace(id=0, name=_("(đơn vị được khảo sát)"))
    lang = "en" if request.args.get("lang") == "en" else "vi"
    return preview_form(survey, unit, lang)
