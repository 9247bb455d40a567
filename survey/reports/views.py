"""Downloads: an official's own units only (services.access), every download audited.

Each report comes as PDF and as an editable Word document (.docx) built from the same report
data (analysis/report/word.py), so officials can paste it into their own report.

The PDF's language is the reader's: ?lang=en (or the official's English session) draws it in
English with the same catalogue as the pages (survey.i18n).
"""
from __future__ import annotations

from typing import Callable, TypeVar

from flask import Response, abort
from flask_login import current_user

from analysis.report import (
    render_posters,
    render_province_docx,
    render_province_report,
    render_thematic_docx,
    render_thematic_report,
    render_unit_docx,
    render_unit_report,
)
from survey import i18n
from survey.access import unit_or_404
from survey.args import period_arg
from survey.extensions import db
from survey.indices import report_data
from survey.permissions import Permission, requires
from survey.reports import bp
from survey.services import audit

MIMETYPES = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}
D = TypeVar("D")


def _file(content: bytes, filename: str) -> Response:
    return Response(content, mimetype=MIMETYPES[filename.rsplit(".", 1)[1]],
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def _pdf(content: bytes, filename: str) -> Response:
    return _file(content, filename)


def _render(data: D, fmt: str, lang: str, pdf: Callable[..., bytes], docx: Callable[[D], bytes]) -> bytes:
    """The PDF in the reader's language; the Word document is worded in Vietnamese only (its
    figures and names follow `data`)."""
    return pdf(data, translations=i18n.translations(lang)) if fmt == "pdf" else docx(data)


def _unit(unit_id: int, fmt: str) -> Response:
    unit = unit_or_404(current_user, unit_id)
    period = period_arg()
    lang = i18n.current_lang()
    content = _render(report_data.unit_report_data(unit, period, lang=lang), fmt, lang,
                      render_unit_report, render_unit_docx)
    audit.record("report_download", target=unit.code, kind="unit", period=period, format=fmt)
    db.session.commit()
    return _file(content, f"bao-cao-{unit.code}-{period}.{fmt}")


@bp.get("/don-vi/<int:unit_id>.pdf")
@requires(Permission.VIEW_UNIT)
def unit_pdf(unit_id: int):
    return _unit(unit_id, "pdf")


@bp.get("/don-vi/<int:unit_id>.docx")
@requires(Permission.VIEW_UNIT)
def unit_docx(unit_id: int):
    return _unit(unit_id, "docx")


def _province(fmt: str) -> Response:
    period = period_arg()
    lang = i18n.current_lang()
    content = _render(report_data.province_report_data(period, lang=lang), fmt, lang,
                      render_province_report, render_province_docx)
    audit.record("report_download", target="province", kind="province", period=period, format=fmt)
    db.session.commit()
    return _file(content, f"bao-cao-tinh-{period}.{fmt}")


@bp.get("/tinh.pdf")
@requires(Permission.COMPARE_UNITS)
def province_pdf():
    return _province("pdf")


@bp.get("/tinh.docx")
@requires(Permission.COMPARE_UNITS)
def province_docx():
    return _province("docx")


@bp.get("/ap-phich/<int:unit_id>.pdf")
@requires(Permission.VIEW_UNIT)
def posters_pdf(unit_id: int):
    unit = unit_or_404(current_user, unit_id)
    lang = i18n.current_lang()
    content = render_posters(report_data.posters_for(unit), unit_name=unit.name,
                             translations=i18n.translations(lang))
    audit.record("posters_download", target=unit.code)
    db.session.commit()
    return _pdf(content, f"ap-phich-qr-{unit.code}.pdf")


def _thematic(survey_id: int, fmt: str) -> Response:
    from survey.services import campaigns

    survey = campaigns.get_campaign(survey_id)
    if survey is None:
        abort(404)
    lang = i18n.current_lang()
    content = _render(report_data.thematic_report_data(survey, lang=lang), fmt, lang,
                      render_thematic_report, render_thematic_docx)
    audit.record("report_download", target=survey.code, kind="thematic", format=fmt)
    db.session.commit()
    return _file(content, f"bao-cao-chuyen-de-{survey.code}.{fmt}")


@bp.get("/chuyen-de/<int:survey_id>.pdf")
@requires(Permission.RUN_CAMPAIGNS)
def thematic_pdf(survey_id: int):
    return _thematic(survey_id, "pdf")


@bp.get("/chuyen-de/<int:survey_id>.docx")
@requires(Permission.RUN_CAMPAIGNS)
def thematic_docx(survey_id: int):
    return _thematic(survey_id, "docx")


@bp.get("/chuyen-de/<int:survey_id>/ap-phich.pdf")
@requires(Permission.RUN_CAMPAIGNS)
def campaign_posters_pdf(survey_id: int):
    """One QR poster per target unit of a published campaign (the counters' poster layout)."""
    from survey.services import campaigns

    survey = campaigns.get_campaign(survey_id)
    if survey is None or survey.status == "draft":
        abort(404)  # a draft's links do not answer yet
    content = render_posters(report_data.campaign_posters(survey), unit_name=survey.title_vi,
                             translations=i18n.translations(i18n.current_lang()))
    audit.record("posters_download", target=survey.code, kind="thematic")
    db.session.commit()
    return _pdf(content, f"ap-phich-qr-{survey.code}.pdf")
