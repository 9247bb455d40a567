"""Every report as an editable Word document (python-docx): a blocks.Document in, .docx bytes out.

Officials paste it into their own report, so it is plain Word: sections are "Heading 1"
paragraphs, sub-parts "Heading 2", figures in ordinary tables ("Table Grid"), charts as PNG
pictures, Times New Roman 13 pt, the font and A4 margins of administrative documents (Nghị định
30/2020/NĐ-CP). With a Letterhead the document opens with the national heading block and ends
with "Nơi nhận" and the signature block, laid out in borderless two-column tables as the decree
draws them. The strings are the ones the PDF prints: the builders (survey/progress/document.py,
analysis/report/word.py) word them once.
"""
from __future__ import annotations

import io
from datetime import date
from typing import Any

from docx import Document as new_docx
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt

from .blocks import Bullets, Document, Image, Paragraph, Section, Subheading, Table
from .format_vi import format_date
from .letterhead import Letterhead

__all__ = ["render_docx", "MIMETYPE", "FONT"]

FONT = "Times New Roman"
MIMETYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _style(doc: Any) -> None:
    normal = doc.styles["Normal"]
    normal.font.name = FONT
    normal.font.size = Pt(13)
    for name in ("Heading 1", "Heading 2", "Title"):
        doc.styles[name].font.name = FONT
    for section in doc.sections:  # A4, the margins of Nghị định 30/2020/NĐ-CP
        section.page_width, section.page_height = Cm(21), Cm(29.7)
        section.top_margin = section.bottom_margin = Cm(2)
        section.left_margin, section.right_margin = Cm(3), Cm(1.5)


def _line(cell_or_doc: Any, text: str, *, size: float = 13, bold: bool = False, italic: bool = False,
          center: bool = True, first: bool = False) -> Any:
    paragraph = cell_or_doc.paragraphs[0] if first else cell_or_doc.add_paragraph()
    run = paragraph.add_run(text)
    run.bold, run.italic, run.font.size = bold, italic, Pt(size)
    paragraph.paragraph_format.space_after = Pt(0)
    if center:
        paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    return paragraph


def _rule(cell: Any, width_cm: float) -> None:
    """The short rule under the issuer and the Tiêu ngữ: an empty paragraph's bottom border,
    indented to about a third of the column and centred (what Word users draw by hand)."""
    paragraph = _line(cell, "", size=2)
    indent = Cm(width_cm / 3)
    paragraph.paragraph_format.left_indent = paragraph.paragraph_format.right_indent = indent
    borders = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    for key, value in (("w:val", "single"), ("w:sz", "6"), ("w:space", "1"), ("w:color", "000000")):
        bottom.set(qn(key), value)
    borders.append(bottom)
    paragraph._p.get_or_add_pPr().insert(0, borders)  # pBdr precedes spacing, ind, jc in the schema
    _line(cell, "", size=4)


def _no_borders(table: Any) -> None:
    borders = OxmlElement("w:tblBorders")
    for side in ("top", "left", "bottom", "right", "insideH", "insideV"):
        element = OxmlElement(f"w:{side}")
        element.set(qn("w:val"), "nil")
        borders.append(element)
    # The schema orders tblPr's children: tblBorders comes before tblLayout, tblCellMar, tblLook.
    tbl_pr = table._tbl.tblPr
    later = next((child for child in tbl_pr if child.tag in {qn("w:shd"), qn("w:tblLayout"), qn("w:tblCellMar"),
                                                              qn("w:tblLook")}), None)
    if later is None:
        tbl_pr.append(borders)
    else:
        later.addprevious(borders)


def _two_columns(doc: Any, widths: tuple[float, float]) -> tuple[Any, Any]:
    table = doc.add_table(rows=1, cols=2)
    _no_borders(table)
    left, right = table.rows[0].cells
    left.width, right.width = Cm(widths[0]), Cm(widths[1])
    for col, width in zip(table._tbl.tblGrid.gridCol_lst, widths):
        col.w = Cm(width)
    return left, right


def _heading_block(doc: Any, lh: Letterhead) -> None:
    widths = (6.5, 9.5)
    left, right = _two_columns(doc, widths)
    if lh.parent_line:
        _line(left, lh.parent_line, size=12, first=True)
        _line(left, lh.issuer_line, size=12, bold=True)
    else:
        _line(left, lh.issuer_line, size=12, bold=True, first=True)
    _rule(left, widths[0])
    _line(left, lh.number_line)
    _line(right, lh.nation, size=12, bold=True, first=True)
    _line(right, lh.motto, size=13, bold=True)
    _rule(right, widths[1])
    _line(right, lh.date_line, italic=True)
    doc.add_paragraph()


def _closing(doc: Any, lh: Letterhead) -> None:
    doc.add_paragraph()
    left, right = _two_columns(doc, (8, 8))
    _line(left, lh.recipients_title, size=12, bold=True, italic=True, center=False, first=True)
    for recipient in lh.recipients:
        _line(left, recipient, size=11, center=False)
    for i, line in enumerate(lh.signer_lines):
        _line(right, line, bold=True, first=i == 0)
    for _ in range(4):  # room for the signature and the seal
        _line(right, "")
    _line(right, lh.signature_note, size=11, italic=True)


def _table(doc: Any, block: Table) -> None:
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


def _image(doc: Any, block: Image) -> None:
    doc.add_picture(io.BytesIO(block.png), width=Cm(block.width_cm))
    if block.caption:
        _line(doc, block.caption, size=10, italic=True, center=False)


def _paragraph(doc: Any, block: Paragraph) -> None:
    paragraph = doc.add_paragraph(block.text)
    if block.note:
        for run in paragraph.runs:
            run.italic = True
            run.font.size = Pt(10)


def _block(doc: Any, block: Any) -> None:
    if isinstance(block, Paragraph):
        _paragraph(doc, block)
    elif isinstance(block, Subheading):
        doc.add_heading(block.text, level=2)
    elif isinstance(block, Bullets):
        style = "List Number" if block.numbered else "List Bullet"
        for item in block.items:
            doc.add_paragraph(item, style=style)
    elif isinstance(block, Image):
        _image(doc, block)
    elif isinstance(block, Table):
        _table(doc, block)
    else:  # blocks.model_blocks turns model objects into the blocks above; anything else is a bug
        raise TypeError(f"no Word layout for {type(block).__name__}")


def _section(doc: Any, section: Section) -> None:
    doc.add_heading(section.title, level=1)
    for block in section.blocks:
        _block(doc, block)


def render_docx(document: Document, generated_on: date | None = None) -> bytes:
    """The report as .docx bytes."""
    doc = new_docx()
    _style(doc)
    if document.letterhead is not None:
        _heading_block(doc, document.letterhead)
    else:
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
    for block in document.lead:
        _block(doc, block)
    for section in document.sections:
        _section(doc, section)
    if document.letterhead is not None:
        _closing(doc, document.letterhead)
    for section in document.appendix:
        doc.add_page_break()  # type: ignore[no-untyped-call]
        _section(doc, section)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()
