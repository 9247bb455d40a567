"""ProgressData to a file: PDF (Jinja -> HTML -> WeasyPrint, the reports' machinery) or DOCX."""
from __future__ import annotations

from gettext import NullTranslations

from analysis.report.language import language
from survey.progress import document
from survey.progress.docx_writer import render_docx
from survey.progress.model import ProgressData

FORMATS = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}


def render(data: ProgressData, fmt: str, translations: NullTranslations | None = None
           ) -> tuple[bytes, str, str]:
    """(content, mimetype, filename) of the report in `fmt` ("pdf" or "docx"), in the language of
    `translations` (survey.i18n.translations; None: Vietnamese)."""
    if fmt not in FORMATS:
        raise ValueError(f"định dạng không hỗ trợ: {fmt}")
    with language(translations):
        doc = document.build(data)
    if fmt == "pdf":
        from analysis.report.render import render_pdf  # WeasyPrint: only when a PDF is drawn

        content = render_pdf("reports/progress.html", data.generated_at, doc=doc,
                             translations=translations)
    else:
        with language(translations):
            content = render_docx(doc, data.generated_at)
    return content, FORMATS[fmt], f"{doc.filename_stem}.{fmt}"
