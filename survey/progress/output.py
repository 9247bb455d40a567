"""ProgressData to a file: PDF (Jinja -> HTML -> WeasyPrint, the reports' machinery) or DOCX."""
from __future__ import annotations

from dataclasses import replace
from gettext import NullTranslations

from sqlalchemy import select

from analysis.report.docx_writer import render_docx
from analysis.report.language import language
from analysis.report.letterhead import Letterhead
from survey.extensions import db
from survey.letterhead import letterhead_for
from survey.models import Unit
from survey.progress import document
from survey.progress.model import ProgressData

FORMATS = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}


def letterhead(data: ProgressData) -> Letterhead | None:
    """The issuing unit's letterhead: the unit, or for the province version the province (Sở Nội vụ)."""
    query = (select(Unit).where(Unit.parent_id.is_(None)).order_by(Unit.id) if data.unit_code is None
             else select(Unit).where(Unit.code == data.unit_code))
    unit = db.session.scalar(query)
    return letterhead_for(unit) if unit is not None else None


def render(data: ProgressData, fmt: str, translations: NullTranslations | None = None
           ) -> tuple[bytes, str, str]:
    """(content, mimetype, filename) of the report in `fmt` ("pdf" or "docx"), in the language of
    `translations` (survey.i18n.translations; None: Vietnamese).

    An administrative report: the national heading block and the closing (Nghị định 30/2020)."""
    if fmt not in FORMATS:
        raise ValueError(f"định dạng không hỗ trợ: {fmt}")
    with language(translations):
        doc = replace(document.build(data), letterhead=letterhead(data))
    if fmt == "pdf":
        from analysis.report.render import render_pdf  # WeasyPrint: only when a PDF is drawn

        content = render_pdf("reports/progress.html", data.generated_at, doc=doc,
                             translations=translations)
    else:
        with language(translations):
            content = render_docx(doc, data.generated_at)
    return content, FORMATS[fmt], f"{doc.filename_stem}.{fmt}"
