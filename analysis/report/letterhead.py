"""The national heading block and the closing of an administrative document.

Nghị định 30/2020/NĐ-CP, Phụ lục I: on the left the issuing body's parent (cơ quan chủ quản,
upper case) over the issuing body (bold, upper case, a short rule under it) and the number
"Số: .../BC-<ký hiệu>"; on the right the Quốc hiệu (bold caps) over the Tiêu ngữ (bold, a short
rule under it) and "<địa danh>, ngày ... tháng ... năm ...". At the end, "Nơi nhận:" on the left
and the signature block on the right. Number, date and signature stay dotted: the official
fills them in when the document is registered and signed.

The lines are worded here once; the PDF (templates/reports/_macros.html), the Word writer
(analysis/report/docx_writer.py) and the QR poster print them as they are. Who the issuer is
comes from the unit's settings: survey.letterhead.letterhead_for.
"""
from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Letterhead", "NATION", "MOTTO", "RECIPIENTS_TITLE", "SIGNATURE_NOTE"]

NATION = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
MOTTO = "Độc lập - Tự do - Hạnh phúc"
RECIPIENTS_TITLE = "Nơi nhận:"
SIGNATURE_NOTE = "(Ký, ghi rõ họ tên)"
BLANK = "..."


@dataclass(frozen=True)
class Letterhead:
    issuer: str                           # cơ quan ban hành, e.g. "Ủy ban nhân dân xã Yên Thủy"
    parent_body: str = ""                 # cơ quan chủ quản; "" when the issuer has none
    symbol: str = ""                      # ký hiệu of the issuer, e.g. "UBND"
    place: str = ""                       # địa danh, e.g. "Yên Thủy"
    signer_title: tuple[str, ...] = ()    # e.g. ("TM. ỦY BAN NHÂN DÂN", "CHỦ TỊCH")
    recipients: tuple[str, ...] = ()      # "- Sở Nội vụ;", "- Lưu: VT."
    doc_type: str = "BC"                  # báo cáo

    @property
    def parent_line(self) -> str:
        return self.parent_body.upper()

    @property
    def issuer_line(self) -> str:
        return self.issuer.upper()

    @property
    def number_line(self) -> str:
        code = f"{self.doc_type}-{self.symbol}" if self.symbol else self.doc_type
        return f"Số: {BLANK}/{code}"

    @property
    def date_line(self) -> str:
        return f"{self.place or BLANK}, ngày {BLANK} tháng {BLANK} năm {BLANK}"

    @property
    def nation(self) -> str:
        return NATION

    @property
    def motto(self) -> str:
        return MOTTO

    @property
    def recipients_title(self) -> str:
        return RECIPIENTS_TITLE

    @property
    def signer_lines(self) -> tuple[str, ...]:
        return tuple(line.upper() for line in self.signer_title)

    @property
    def signature_note(self) -> str:
        return SIGNATURE_NOTE

    def heading_text(self) -> tuple[str, ...]:
        """Every line of the heading block, left column then right (for checks and plain text)."""
        left = ((self.parent_line,) if self.parent_line else ()) + (self.issuer_line, self.number_line)
        return left + (self.nation, self.motto, self.date_line)
