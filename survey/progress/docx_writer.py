"""The progress report as an editable Word document (python-docx).

Officials paste it into their own report, so it is plain Word: the four sections are
"Heading 1" paragraphs, sub-parts "Heading 2", figures in ordinary tables ("Table Grid"), and
Times New Roman 13 pt, the font of administrative documents (Nghị định 30/2020/NĐ-CP). The
strings are the ones the PDF prints (survey/progress/document.py).
"""
from __future__ import annotations

import io

from docx import Document as new_docx
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Cm, Pt

from analysis.report.format_vi import format_date
from survey.progress.document import Bullets, Document, Paragraph, Subheading, Table

FONT = "Times New Roman"


def _style(doc) -> None:
    normal = doc.styles["Normal"]
    normal.font.name = FONT
    normal.font.size = Pt(13)
    for name in ("Heading 1", "Heading 2", "Title"):
        doc.styles[name].font.name = FONT
    for section in doc.sections:  # A4, the margins of Nghị định 30/2020/NĐ-CP
        section.page_width, section.page_height = Cm(21), Cm(29.7)
        section.top_margin = section.bottom_margin = Cm(2)
        section.left_margin, section.right_margin = Cm(3), Cm(1.5)


def _table(doc, block: Table) -> None:
    table = doc.add_table(rows=1, cols=len(block.headers))
    table.style = "Table Grid"
    for cell, text in zip(table.rows[0].cells, block.headers):
        cell.text = ""
        run = cell.paragraphs[0].add_run(text)
        run.bold = True
        run.font.size = Pt(10)
    for row in block.rows:
        cells = table.add_row().cells
        for i, (cell, text) in enumerate(zip(cells, row)):
            cell.text = ""
            paragraph = cell.paragraphs[0]
            paragraph.add_run(text).font.size = Pt(10)
            if i in block.numeric:
                paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    doc.add_paragraph()


def render_docx(document: Document, generated_on=None) -> bytes:
    """The report as .docx bytes."""
    doc = new_docx()
    _style(doc)
    doc.add_paragraph(document.issuer.upper()).runs[0].bold = True
    doc.add_paragraph(document.kind_line.upper())
    doc.add_heading(document.name, level=0)
    facts = list(document.facts)
    if generated_on is not None:
        facts.append(("Ngày lập báo cáo", format_date(generated_on)))
    for term, value in facts:
        paragraph = doc.add_paragraph()
        paragraph.add_run(f"{term}: ")
        paragraph.add_run(value).bold = True
    for section in document.sections:
        doc.add_heading(section.title, level=1)
        for block in section.blocks:
            if isinstance(block, Paragraph):
                paragraph = doc.add_paragraph(block.text)
                if block.note:
                    for run in paragraph.runs:
                        run.italic = True
                        run.font.size = Pt(10)
            elif isinstance(block, Subheading):
                doc.add_heading(block.text, level=2)
            elif isinstance(block, Bullets):
                for item in block.items:
                    doc.add_paragraph(item, style="List Bullet")
            else:
                _table(doc, block)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()
