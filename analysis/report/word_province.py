"""The province report (Sở Nội vụ) as a Word document: the PDF's sections from the same
province_context, worded as templates/reports/province.html words them."""
from __future__ import annotations

from typing import Any

from .blocks import Block, Document, Image, Paragraph, Section, Subheading, Table
from .docx_writer import render_docx
from .format_vi import MISSING, format_int, format_points, period_label
from .model import ProvinceReportData
from .province import province_context
from .render import _pp, now_vn
from .word import UNRELIABLE, ci, flagged, headline, lower_first, methods_section, pct

__all__ = ["province_document", "render_province_docx"]

COMPARISON_CAPTION = ("Thanh: chỉ số hài lòng chung; vạch ngang: khoảng tin cậy 95%. Màu thanh đậm, nhạt xen kẽ "
                      "theo nhóm: các đơn vị trong một nhóm có khoảng tin cậy chồng lên khoảng của đơn vị đứng đầu "
                      "nhóm.")


def _ranking(ctx: dict[str, Any]) -> list[Block]:
    out: list[Block] = []
    if ctx["ranked"]:
        out.append(Paragraph(
            "Đơn vị được xếp theo chỉ số hài lòng chung, kèm khoảng tin cậy 95%. Cột “Ngang bằng với hạng” cho "
            "biết các hạng có khoảng tin cậy chồng lên khoảng của đơn vị: với các đơn vị đó, số liệu chưa đủ để "
            "khẳng định bên nào cao hơn. Ví dụ “1–4”: số liệu chưa phân biệt được đơn vị này với các đơn vị từ "
            "hạng 1 đến hạng 4."))
        out.append(Table(("Hạng", "Đơn vị", "Chỉ số hài lòng", "Khoảng tin cậy 95%", "Số phiếu",
                          "Ngang bằng với hạng"), tuple(
            (str(u.rank), u.unit_name, pct(u.estimate), ci(u.estimate), format_int(u.responses),
             f"{span[0]}–{span[1]}" if span and span[0] != span[1] else "không")
            for u, span in ctx["ranked"]), numeric=(0, 2, 3, 4, 5)))
        charts = ctx["comparison"]
        out += [Image(png, COMPARISON_CAPTION if i == len(charts) - 1 else None) for i, png in enumerate(charts)]
    else:
        out.append(Paragraph("Chưa có đơn vị nào đủ số liệu tin cậy để xếp hạng.", note=True))
    if ctx["unranked"]:
        out += [Subheading("Đơn vị chưa đủ độ tin cậy (không xếp hạng)"),
                Paragraph("Dưới 30 phiếu hoặc khoảng tin cậy rộng hơn ±10 điểm phần trăm. Số liệu chỉ để tham khảo.",
                          note=True),
                Table(("Đơn vị", "Chỉ số (tham khảo)", "Khoảng tin cậy 95%", "Số phiếu"), tuple(
                    (u.unit_name, pct(u.estimate), ci(u.estimate), format_int(u.responses))
                    for u in ctx["unranked"]), numeric=(1, 2, 3))]
    return out


def _heat(d: ProvinceReportData, ctx: dict[str, Any]) -> list[Block]:
    out: list[Block] = []
    if ctx["heat"]:
        out.append(Paragraph(f"Ô ghi “{UNRELIABLE}”: kết quả không đủ độ tin cậy hoặc chưa có số liệu.", note=True))
        out.append(Table(("Đơn vị", *(code for code, _ in d.components)), tuple(
            (name, *(flagged(pct(v), v) if v is not None else MISSING for v, _c in cells))
            for name, cells in ctx["heat"]), numeric=tuple(range(1, len(d.components) + 1))))
        out.append(Paragraph("; ".join(f"{code}: {name}" for code, name in d.components) + ".", note=True))
    else:
        out.append(Paragraph("Chưa có số liệu theo lĩnh vực.", note=True))
    return out


def _declines(d: ProvinceReportData, ctx: dict[str, Any]) -> list[Block]:
    declines: list[Block] = []
    if ctx["declines"]:
        before = lower_first(period_label(d.previous_period)) if d.previous_period else "kỳ trước"
        declines.append(Paragraph(
            f"Các đơn vị dưới đây có chỉ số hài lòng giảm so với {before} và mức giảm vượt ra ngoài phạm vi sai "
            "số (cả khoảng tin cậy 95% của mức thay đổi đều nhỏ hơn 0)."))
        declines.append(Table(("Đơn vị", "Kỳ trước", "Kỳ này", "Thay đổi", "Khoảng tin cậy 95% của thay đổi"), tuple(
            (c.unit_name, pct(c.previous), pct(c.current), format_points(c.change.estimate),
             f"{_pp(c.change.ci_low)} đến {format_points(c.change.ci_high)}") for c in ctx["declines"]),
            numeric=(1, 2, 3, 4)))
    else:
        declines.append(Paragraph("Không có đơn vị nào giảm rõ rệt (vượt phạm vi sai số) so với kỳ trước.",
                                  note=True))
    return declines


def _appendix(ctx: dict[str, Any]) -> Section | None:
    if not ctx["appendix"]:
        return None
    out: list[Block] = []
    for u, weakest in ctx["appendix"]:
        out.append(Subheading(u.unit_name))
        overall = (f"Chỉ số hài lòng chung {pct(u.overall)} (khoảng tin cậy 95%: {ci(u.overall)})"
                   + (f" ({UNRELIABLE})" if u.overall.unreliable else "") if u.overall else "Chưa có chỉ số")
        out.append(Paragraph(f"{overall}; {format_int(u.response_count)} phiếu trả lời."))
        if u.components:
            out.append(Table(("Mã", "Lĩnh vực", "Tỷ lệ hài lòng", "Khoảng tin cậy 95%", "Ghi chú"), tuple(
                (c.code, c.name, pct(c.estimate), ci(c.estimate),
                 UNRELIABLE if c.estimate is None or c.estimate.unreliable else "") for c in u.components),
                numeric=(2, 3)))
        if weakest:
            out.append(Paragraph("Thấp nhất: " + "; ".join(f"{it.text} ({pct(it.rate)})" for it in weakest) + ".",
                                 note=True))
    return Section("Phụ lục: Kết quả từng đơn vị", tuple(out))


def province_document(d: ProvinceReportData) -> Document:
    ctx = province_context(d, fmt="png")
    period = period_label(d.period)
    first: list[Block] = (
        headline(d.overall, f"người trả lời hài lòng với dịch vụ hành chính công trong {lower_first(period)}.")
        + [Paragraph(f"{format_int(d.response_count)} phiếu trả lời.")] if d.overall
        else [Paragraph("Kỳ này chưa có phiếu trả lời nào trong toàn tỉnh.", note=True)])
    sections = [Section(f"1. Kết quả chung toàn {d.province_name}", tuple(first)),
                Section("2. Xếp hạng các đơn vị", tuple(_ranking(ctx))),
                Section("3. Kết quả theo lĩnh vực của từng đơn vị", tuple(_heat(d, ctx))),
                Section("4. Đơn vị có chỉ số giảm rõ rệt", tuple(_declines(d, ctx))),
                methods_section(d.methods, d.response_count)]
    n_units = ctx["n_ranked"] + len(ctx["unranked"])
    facts = (("Kỳ báo cáo", period), ("Khảo sát", d.survey_title),
             ("Số đơn vị", f"{format_int(n_units)} ({format_int(ctx['n_ranked'])} được xếp hạng)"),
             ("Số phiếu trả lời", format_int(d.response_count)))
    appendix = _appendix(ctx)
    return Document(
        issuer=f"Sở Nội vụ {d.province_name}", kind_line="Báo cáo kết quả đo lường sự hài lòng của người dân, tổ chức",
        name=f"So sánh các cơ quan, đơn vị – {d.province_name}", period_text=period, facts=facts,
        sections=tuple(sections), filename_stem=f"bao-cao-tinh-{d.period}", letterhead=d.letterhead,
        appendix=(appendix,) if appendix else (),
        lead=(Paragraph("Báo cáo được lập tự động từ hệ thống khảo sát sự hài lòng (SIPAS). Mọi con số là ước lượng "
                        "kèm khoảng tin cậy 95%; thứ hạng chỉ có ý nghĩa khi khoảng tin cậy của hai đơn vị không "
                        "chồng lên nhau.", note=True),))


def render_province_docx(d: ProvinceReportData) -> bytes:
    return render_docx(province_document(d), now_vn(d.generated_at).date())
