"""The unit, province and thematic reports as Word documents: the report model in, blocks out.

The same model (model.py) and the same derived context (render.unit_context, thematic_context,
province.province_context: charts, change, weakest items, newest comments) the PDF templates
print, worded as the templates word them, with the charts drawn by the same functions as PNG.
analysis/report/docx_writer.py lays the blocks out. Province: word_province.py.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Sequence

from ..estimate import Estimate
from .blocks import Block, Bullets, Document, Image, Paragraph, Section, Subheading, Table, model_blocks
from .docx_writer import render_docx
from .format_vi import MISSING, format_date, format_int, format_interval, format_number, format_percent, period_label
from .model import Comment, ItemRow, MethodsInfo, ThematicReportData, UnitReportData
from .render import _groupby_component, now_vn, thematic_context, unit_context

__all__ = ["unit_document", "thematic_document", "render_unit_docx", "render_thematic_docx"]

UNRELIABLE = "không đủ độ tin cậy"
COMPONENT_CAPTION = ("Thanh: tỷ lệ hài lòng; vạch ngang: khoảng tin cậy 95%. Thanh nhạt có dấu * là kết quả "
                     "không đủ độ tin cậy.")
TREND_CAPTION = "Đường: chỉ số hài lòng chung; vùng tô nhạt: khoảng tin cậy 95%."
KIND_LINE = "Báo cáo kết quả đo lường sự hài lòng của người dân, tổ chức"


def lower_first(text: str) -> str:
    return text[:1].lower() + text[1:] if text else text


def pct(v: Estimate | None) -> str:
    return MISSING if v is None else format_percent(v.estimate)


def ci(v: Estimate | None, percent: bool = True) -> str:
    return MISSING if v is None else format_interval(v.ci_low, v.ci_high, percent=percent)


def flagged(text: str, v: Estimate | None) -> str:
    return f"{text} ({UNRELIABLE})" if v is None or v.unreliable else text


def chart(png: bytes | None, caption: str | None, empty: str) -> Block:
    return Image(png, caption) if png else Paragraph(empty, note=True)


def headline(v: Estimate, what: str) -> list[Block]:
    ci_text = f"Khoảng tin cậy 95%: {ci(v)}" + (f" ({UNRELIABLE})" if v.unreliable else "")
    return [Paragraph(f"{pct(v)} {what}"), Paragraph(ci_text)]


def item_table(items: Sequence[ItemRow], names: dict[str, str]) -> list[Block]:
    rows: list[tuple[str, ...]] = []
    for code, group in _groupby_component(items, names):
        rows.append((code, names.get(code, ""), "", "", "", "", ""))
        rows.extend((it.code, it.text, pct(it.rate), ci(it.rate),
                     format_number(it.mean.estimate, 2) if it.mean else MISSING, format_int(it.n),
                     UNRELIABLE if it.unreliable else "") for it in group)
    return [Table(("Mã", "Nội dung câu hỏi", "Tỷ lệ hài lòng", "Khoảng tin cậy 95%", "Điểm TB (1–5)",
                   "Số trả lời", "Ghi chú"), tuple(rows), numeric=(2, 3, 4, 5)),
            Paragraph("Tỷ lệ hài lòng: phần trăm câu trả lời “hài lòng” hoặc “rất hài lòng” (mức 4–5) trong "
                      "các câu trả lời hợp lệ. Điểm TB: điểm trung bình trên thang 1–5.", note=True)]


def weakest_blocks(weakest: Sequence[ItemRow]) -> list[Block]:
    if not weakest:
        return [Paragraph("Chưa có câu hỏi nào đủ số câu trả lời để xác định nội dung bị đánh giá thấp nhất "
                          "một cách tin cậy.", note=True)]
    return [Bullets(tuple(f"{it.text} ({it.code}): {pct(it.rate)} người trả lời hài lòng (khoảng tin cậy "
                          f"95%: {ci(it.rate)}; {format_int(it.n)} câu trả lời)." for it in weakest),
                    numbered=True)]


def comment_blocks(comments: Sequence[Comment], total: int) -> list[Block]:
    if not comments:
        return [Paragraph("Trong kỳ này chưa có ý kiến góp ý nào.", note=True)]
    lead = (f"Trích {len(comments)} trong số {format_int(total)} ý kiến, mới nhất trước." if total > len(comments)
            else f"{format_int(total)} ý kiến, mới nhất trước.")
    return [Paragraph(f"{lead} Ý kiến đã được lược bỏ thông tin có thể nhận diện người viết.", note=True),
            Bullets(tuple(f"{format_date(c.date)}: {c.text}" for c in comments))]


def methods_section(methods: MethodsInfo | None, responses: int, sample_design: bool = False) -> Section:
    extra = f" {methods.weights_description}" if methods and methods.weights_description else ""
    if sample_design:
        strata = f" trong {format_int(methods.strata)} tầng mẫu" if methods and methods.strata else ""
        items = [("Số liệu được tính theo thiết kế mẫu của cuộc khảo sát: mỗi phiếu được gia quyền theo xác "
                  "suất người trả lời được chọn vào mẫu, để kết quả đại diện cho toàn bộ đối tượng khảo sát."
                  + extra), f"Có {format_int(responses)} phiếu trả lời{strata}."]
    else:
        volume = ""
        if methods and methods.dossiers:
            volume = f", ứng với {format_int(methods.dossiers)} hồ sơ đã giải quyết"
            if methods.strata:
                volume += f" trong {format_int(methods.strata)} nhóm (đơn vị × lĩnh vực)"
        items = [("Số liệu mô tả những người đã trả lời khảo sát, được gia quyền theo khối lượng dịch vụ: mỗi "
                  "nhóm được tính theo số hồ sơ đơn vị đã giải quyết trong kỳ, không theo số phiếu thu được. "
                  "Người dân tự nguyện quét mã để trả lời, nên đây không phải là mẫu chọn ngẫu nhiên." + extra),
                 f"Kỳ này có {format_int(responses)} phiếu trả lời{volume}."]
    method = f" Phương pháp tính khoảng: {methods.ci_method}." if methods and methods.ci_method else ""
    items += [("Khoảng tin cậy 95% cho biết mức chắc chắn của một con số: nếu khảo sát được lặp lại nhiều lần "
               "theo cùng cách, khoảng tính theo cách này chứa giá trị thật khoảng 95 lần trên 100. Khoảng càng "
               "hẹp, kết quả càng chắc chắn. Hai kết quả có khoảng chồng lên nhau thì chưa thể kết luận bên nào "
               "cao hơn." + method),
              ("Kết quả có dưới 30 câu trả lời hoặc khoảng tin cậy rộng hơn ±10 điểm phần trăm được ghi “không "
               "đủ độ tin cậy”, chỉ để tham khảo và không dùng để xếp hạng.")]
    return Section("Cách đọc số liệu trong báo cáo", (Bullets(tuple(items)),))


def per_component(charts: dict[str, Any]) -> list[Block]:
    out: list[Block] = []
    for comp, png in charts["per_component"]:
        out.append(Subheading(f"{comp.code}. {comp.name}" + (f": {pct(comp.estimate)}" if comp.estimate else "")))
        out.append(Image(png))
    return out


# ---------------------------------------------------------------- unit

def _change_blocks(d: UnitReportData, change: dict[str, Any] | None) -> list[Block]:
    if not change or d.overall_previous is None or d.previous_period is None:
        return []
    out: list[Block] = [Paragraph(f"So với {lower_first(period_label(d.previous_period))} "
                                  f"({pct(d.overall_previous)}): {change['points']}.")]
    if change["significant"] is None:
        text = ("Chưa có khoảng tin cậy của mức thay đổi nên chưa kết luận được đây là thay đổi thật hay do "
                "sai số.")
    elif change["significant"]:
        text = (f"Mức {'tăng' if change['direction'] == 'up' else 'giảm'} có ý nghĩa thống kê (khoảng tin cậy "
                f"95% của mức thay đổi: {change['low']} đến {change['high']}).")
    else:
        text = (f"Thay đổi nằm trong phạm vi sai số (khoảng tin cậy 95% của mức thay đổi: {change['low']} đến "
                f"{change['high']}), chưa thể kết luận là có thay đổi thật.")
    return out + [Paragraph(text, note=True)]


def unit_document(d: UnitReportData) -> Document:
    ctx = unit_context(d, fmt="png")
    charts = ctx["charts"]
    period = period_label(d.period)
    first: list[Block] = []
    if d.overall:
        first += headline(d.overall, "người trả lời hài lòng với dịch vụ hành chính công của đơn vị trong "
                                     f"{lower_first(period)}.")
        verified = (f"Trong {format_int(d.response_count)} phiếu có {format_int(d.verified_count)} phiếu qua phiếu "
                    "hẹn (đã xác thực)")
        if d.verified_overall:
            verified += (f"; chỉ số tính riêng trên các phiếu này: {pct(d.verified_overall)} (khoảng tin cậy "
                         f"95%: {ci(d.verified_overall)})" + (f" ({UNRELIABLE})" if d.verified_overall.unreliable
                                                             else ""))
        first += [Paragraph(verified + "."), *_change_blocks(d, ctx["change"])]
    else:
        first.append(Paragraph("Trong kỳ này đơn vị chưa nhận được phiếu trả lời nào nên chưa tính được chỉ số "
                               "hài lòng. Hãy kiểm tra mã QR tại các quầy và nhắc người dân đánh giá sau khi nhận "
                               "kết quả.", note=True))
    first += [Subheading("Theo sáu lĩnh vực"),
              chart(charts["components"], COMPONENT_CAPTION, "Chưa có số liệu theo lĩnh vực."),
              Subheading("Diễn biến qua các kỳ"),
              chart(charts["trend"], TREND_CAPTION, "Chưa có số liệu của các kỳ trước để so sánh.")]
    sections = [Section("1. Chỉ số hài lòng chung", tuple(first))]
    if charts["per_component"]:
        sections.append(Section("2. Kết quả từng lĩnh vực", tuple(per_component(charts))))
    sections += [
        Section("3. Chi tiết từng câu hỏi", tuple(item_table(d.items, ctx["component_names"]) if d.items else [
            Paragraph("Chưa có câu trả lời nào trong kỳ.", note=True)])),
        Section("4. Nội dung người dân đánh giá thấp nhất", tuple(weakest_blocks(ctx["weakest"]))),
        Section("5. Ý kiến của người dân", tuple(comment_blocks(ctx["comments"], len(d.comments)))),
        methods_section(d.methods, d.response_count)]
    facts = ((("Loại đơn vị", d.unit_kind + (f" (mã {d.unit_code})" if d.unit_code else "")),) if d.unit_kind
             else ()) + (
        ("Kỳ báo cáo", period), ("Khảo sát", d.survey_title),
        ("Số phiếu trả lời", f"{format_int(d.response_count)}, trong đó {format_int(d.verified_count)} qua phiếu "
                             "hẹn (đã xác thực)"))
    return Document(
        issuer=d.province_name, kind_line=KIND_LINE, name=d.unit_name, period_text=period, facts=facts,
        sections=tuple(sections), filename_stem=f"bao-cao-{d.unit_code or 'don-vi'}-{d.period}",
        letterhead=d.letterhead, lead=(Paragraph(
            "Báo cáo được lập tự động từ hệ thống khảo sát sự hài lòng (SIPAS) theo phương pháp của Bộ Nội vụ. "
            "Các con số là ước lượng kèm khoảng tin cậy 95%; xem phần “Cách đọc số liệu” ở cuối báo cáo.",
            note=True),))


def render_unit_docx(d: UnitReportData) -> bytes:
    return render_docx(unit_document(d), now_vn(d.generated_at).date())


# ---------------------------------------------------------------- thematic

# The fields this module words; a field added to the model later (the thematic questions'
# own blocks, say) is printed through blocks.model_blocks rather than left out.
THEMATIC_WORDED = frozenset({"campaign_title", "purpose", "opens_on", "closes_on", "organizer",
                             "response_count", "overall", "components", "items", "targets", "comments",
                             "methods", "generated_at"})


def _further_blocks(d: ThematicReportData) -> list[Block]:
    out: list[Block] = []
    for field in dataclasses.fields(d):
        value = getattr(d, field.name)
        if field.name in THEMATIC_WORDED or not value:
            continue
        for obj in value if isinstance(value, (tuple, list)) else (value,):
            out.extend(model_blocks(obj))
    return out


def thematic_document(d: ThematicReportData) -> Document:
    ctx = thematic_context(d, fmt="png")
    charts = ctx["charts"]
    first: list[Block] = [Paragraph(d.purpose)] if d.purpose else []
    if d.targets:
        first.append(Table(("Đơn vị", "Số phiếu", "Chỉ tiêu", "Đạt"), tuple(
            (t.unit_name, format_int(t.responses), format_int(t.quota),
             format_percent(t.share, 0) if t.quota > 0 else MISSING) for t in d.targets), numeric=(1, 2, 3)))
        short = [t for t in d.targets if t.share < 1]
        first.append(Paragraph(f"{len(short)} đơn vị chưa đạt chỉ tiêu số phiếu; kết quả của các đơn vị này cần đọc "
                               "thận trọng." if short else "Tất cả đơn vị đã đạt chỉ tiêu số phiếu.", note=True))
    else:
        first.append(Paragraph("Chưa có đơn vị nào được giao chỉ tiêu.", note=True))
    second: list[Block] = []
    if d.overall:
        second += headline(d.overall, "người trả lời hài lòng về nội dung được khảo sát.")
        second.append(Paragraph(f"{format_int(d.response_count)} phiếu trả lời."))
    else:
        second.append(Paragraph("Chưa có phiếu trả lời nào nên chưa tính được chỉ số.", note=True))
    if charts["components"]:
        second.append(Image(charts["components"], COMPONENT_CAPTION))
    sections = [Section("1. Mục đích và tiến độ thu phiếu", tuple(first)), Section("2. Kết quả chung", tuple(second))]
    if d.items:
        sections.append(Section("3. Chi tiết từng câu hỏi", tuple(per_component(charts)
                                                                 + item_table(d.items, ctx["component_names"]))))
    further = _further_blocks(d)
    if further:
        sections.append(Section("Kết quả các câu hỏi riêng của đợt khảo sát", tuple(further)))
    sections += [Section("4. Nội dung người dân đánh giá thấp nhất", tuple(weakest_blocks(ctx["weakest"]))),
                 Section("5. Ý kiến của người dân", tuple(comment_blocks(ctx["comments"], len(d.comments)))),
                 methods_section(d.methods, d.response_count, sample_design=True)]
    facts = (("Thời gian khảo sát", f"{format_date(d.opens_on)} – {format_date(d.closes_on)}"),
             ("Số đơn vị khảo sát", format_int(len(d.targets))), ("Số phiếu trả lời", format_int(d.response_count)))
    return Document(
        issuer=d.organizer, kind_line="Báo cáo kết quả khảo sát chuyên đề", name=d.campaign_title,
        period_text=facts[0][1], facts=facts, sections=tuple(sections), filename_stem="bao-cao-chuyen-de",
        lead=(Paragraph("Các con số là ước lượng kèm khoảng tin cậy 95%; xem phần “Cách đọc số liệu” ở cuối báo "
                        "cáo.", note=True),))


def render_thematic_docx(d: ThematicReportData) -> bytes:
    return render_docx(thematic_document(d), now_vn(d.generated_at).date())

