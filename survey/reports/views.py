"""Downloads: an official's own units only (services.access), every download audited."""
from __future__ import annotations

from flask import Response, abort
from flask_login import current_user

from analysis.report import render_posters, render_province_report, render_thematic_report, render_unit_report
from survey.access import unit_or_404
from survey.args import period_arg
from survey.extensions import db
from survey.indices import report_data
from survey.permissions import Permission, requires
from survey.reports import bp
from survey.services import audit


def _pdf(content: bytes, filename: str) -> Response:
    return Response(content, mimetype="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@bp.get("/don-vi/<int:unit_id>.pdf")
@requires(Permission.VIEW_UNIT)
def unit_pdf(unit_id: int):
    unit = unit_or_404(current_user, unit_id)
    period = period_arg()
    content = render_unit_report(report_data.unit_report_data(unit, period))
    audit.record("report_download", target=unit.code, kind="unit", period=period)
    db.session.commit()
    return _pdf(content, f"bao-cao-{unit.code}-{period}.pdf")


@bp.get("/tinh.pdf")
@requires(Permission.COMPARE_UNITS)
def province_pdf():
    period = period_arg()
    content = render_province_report(report_data.province_report_data(period))
    audit.record("report_download", target="province", kind="province", period=period)
    db.session.commit()
    return _pdf(content, f"bao-cao-tinh-{period}.pdf")


@bp.get("/ap-phich/<int:unit_id>.pdf")
@requires(Permission.VIEW_UNIT)
def posters_pdf(unit_id: int):
    unit = unit_or_404(current_user, unit_id)
    content = render_posters(report_data.posters_for(unit), unit_name=unit.name)
    audit.record("posters_download", target=unit.code)
    db.session.commit()
    return _pdf(content, f"ap-phich-qr-{unit.code}.pdf")


@bp.get("/chuyen-de/<int:survey_id>.pdf")
@requires(Permission.RUN_CAMPAIGNS)
def thematic_pdf(survey_id: int):
    from survey.services import campaigns

    survey = campaigns.get_campaign(survey_id)
    if survey is None:
        abort(404)
    content = render_thematic_report(report_data.thematic_report_data(survey))
    audit.record("report_download", target=survey.code, kind="thematic")
    db.session.commit()
    return _pdf(content, f"bao-cao-chuyen-de-{survey.code}.pdf")


@bp.get("/chuyen-de/<int:survey_id>/ap-phich.pdf")
@requires(Permission.RUN_CAMPAIGNS)
def campaign_posters_pdf(survey_id: int):
    """One QR poster per target unit of a published campaign (the counters' poster layout)."""
    from survey.services import campaigns

    survey = campaigns.get_campaign(survey_id)
    if survey is None or survey.status == "draft":
        abort(404)  # a draft's links do not answer yet
    content = render_posters(report_data.campaign_posters(survey), unit_name=survey.title_vi)
    audit.record("posters_download", target=survey.code, kind="thematic")
    db.session.commit()
    return _pdf(content, f"ap-phich-qr-{survey.code}.pdf")
