"""The progress report worded once: ProgressData in, a Document of sections, paragraphs and
tables of finished Vietnamese strings out.

The PDF (templates/reports/progress.html) and the DOCX (analysis/report/docx_writer.py, the
writer of every report) both print these strings as they are, so a figure cannot differ between
the two files. Number and date formatting is analysis/report/format_vi.py (decimal comma, dd/mm/yyyy).
"""
from __future__ import annotations

import math

from analysis import Estimate

# The blocks are shared with the other reports' Word documents (analysis/report/word.py).
from analysis.report.blocks import Block, Bullets, Document, Paragraph, Section, Subheading, Table
from analysis.report.format_vi import (
    MISSING,
    format_date,
    format_int,
    format_interval,
    format_number,
    format_percent,
    format_points,
    period_label,
)
from survey.catalog.loop_labels import OVERDUE_LABEL, TASK_STATUS_LABELS, label
from survey.progress.model import Figure, ProgressData, TaskRow

# The four sections the directive's report has, titled exactly so (officials paste them).
SURVEY_RESULTS = "Kết quả khảo sát"
TASK_RESULTS = "Kết quả thực hiện nhiệm vụ khắc phục"
FEEDBACK = "Phản ánh, kiến nghị"
PROPOSALS = "Đề xuất"
SECTION_TITLES = (SURVEY_RESULTS, TASK_RESULTS, FEEDBACK, PROPOSALS)
NOT_IMPROVED = "Nội dung chưa chuyển biến"
UNRELIABLE = "không đủ độ tin cậy"
NOT_TYPED = "(Đơn vị chưa nhập nội dung này.)"


# ---------------------------------------------------------------- figures as words

# The formatters print NaN (R's NA: no estimate, no interval) as MISSING, like None.

def rate(v: Estimate | None) -> str:
    return MISSING if v is None else format_percent(v.estimate)


def rate_ci(v: Estimate | None, percent: bool = True) -> str:
    return MISSING if v is None else format_interval(v.ci_low, v.ci_high, percent=percent)


def points(v: Estimate | None) -> str:
    return MISSING if v is None else format_points(v.estimate)


def points_ci(v: Estimate | None) -> str:
    """'từ -3,4 đến +2,1 điểm %' for a change's interval."""
    if v is None or not (math.isfinite(v.ci_low) and math.isfinite(v.ci_high)):
        return MISSING
    low, high = (format_points(x).replace(" điểm %", "") for x in (v.ci_low, v.ci_high))
    return f"từ {low} đến {high} điểm %"


def verdict(f: Figure) -> str:
    if f.change is None or not math.isfinite(f.change.ci_low):
        return "Chưa đủ số liệu để so sánh"
    if f.improved:
        return "Tăng có ý nghĩa thống kê"
    if f.declined:
        return "Giảm có ý nghĩa thống kê"
    return "Chưa thay đổi rõ rệt"


def _flagged(text: str, v: Estimate | None) -> str:
    return f"{text} ({UNRELIABLE})" if v is not None and math.isfinite(v.estimate) and v.unreliable else text


def figure_name(f: Figure) -> str:
    return "Chỉ số hài lòng chung" if f.code == "overall" else f"{f.code}. {f.name}"


def _figures_table(d: ProgressData) -> Table:
    rows = tuple((figure_name(f), _flagged(rate(f.current), f.current), rate_ci(f.current),
                  rate(f.previous), points(f.change), points_ci(f.change), verdict(f))
                 for f in d.figures)
    return Table(("Chỉ tiêu", "Kỳ này", "Khoảng tin cậy 95%", "Kỳ trước", "Thay đổi",
                  "Khoảng tin cậy 95% của thay đổi", "Đánh giá"), rows, numeric=(1, 2, 3, 4),
                 nowrap=(2, 3, 4))


def _survey_section(d: ProgressData) -> Section:
    blocks: list[Block] = []
    overall = next((f for f in d.figures if f.code == "overall"), None)
    if d.responses == 0 or overall is None or overall.current is None:
        blocks.append(Paragraph(f"Trong {period_label(d.period).lower()} chưa có phiếu khảo sát "
                                "nào được tính nên chưa có chỉ số hài lòng."))
    else:
        blocks.append(Paragraph(
            f"Trong {period_label(d.period).lower()} có {format_int(d.responses)} phiếu khảo sát được "
            f"tính. Chỉ số hài lòng chung đạt {rate(overall.current)} (khoảng tin cậy 95%: "
            f"{rate_ci(overall.current)}); so với {period_label(d.previous_period).lower()}: "
            f"{points(overall.change)} ({verdict(overall).lower()})."))
    blocks.append(_figures_table(d))
    if d.units:
        blocks.append(Subheading("Kết quả từng đơn vị"))
        blocks.append(Table(("Đơn vị", "Chỉ số chung", "Khoảng tin cậy 95%", "Thay đổi",
                             "Khoảng tin cậy 95% của thay đổi"),
                            tuple((u.unit_name, _flagged(rate(u.overall), u.overall), rate_ci(u.overall),
                                   points(u.change), points_ci(u.change)) for u in d.units),
                            numeric=(1, 2, 3), nowrap=(2, 3)))
    weights = ("Mỗi phiếu được gia quyền theo số hồ sơ đã giải quyết của từng lĩnh vực."
               if d.weighted else "Chưa có số liệu hồ sơ: ước lượng chưa gia quyền.")
    blocks.append(Paragraph(
        "Tỷ lệ hài lòng: phần trăm người trả lời hài lòng hoặc rất hài lòng. Thay đổi tính bằng điểm "
        "phần trăm; chỉ kết luận tăng hoặc giảm khi khoảng tin cậy 95% của thay đổi không chứa 0. "
        + weights, note=True))
    blocks.extend(Paragraph(n, note=True) for n in d.notes)
    return Section(SURVEY_RESULTS, tuple(blocks))


# ---------------------------------------------------------------- tasks

def status_text(t: TaskRow) -> str:
    text = label(TASK_STATUS_LABELS, t.status)
    if t.overdue:
        text = f"{text}, {OVERDUE_LABEL[0].lower()}"
    if t.status == "done" and t.completed_on is not None:
        text = f"{text} ngày {format_date(t.completed_on)}"
    return text


def effect_text(t: TaskRow) -> str:
    e = t.effect
    if e is None or e.change is None or not math.isfinite(e.change.estimate):
        return "Chưa đủ số liệu để đánh giá"
    change = f"{points(e.change)} ({points_ci(e.change)}) so với {period_label(e.before_period).lower()}"
    if t.improved:
        return f"Đã cải thiện có ý nghĩa thống kê: {change}"
    return f"Chưa cải thiện rõ rệt: {change}"


def _task_table(tasks: list[TaskRow], with_unit: bool) -> Table:
    headers = (("Đơn vị",) if with_unit else ()) + (
        "Tiêu chí", "Nhiệm vụ khắc phục", "Chủ trì", "Thời hạn", "Trạng thái", "Hồ sơ kiểm chứng",
        "Hiệu quả")
    rows = tuple(((t.unit_name,) if with_unit else ()) + (
        t.criterion, t.action, t.lead_unit + (f" ({t.owner})" if t.owner else ""),
        format_date(t.deadline), status_text(t), "; ".join(t.evidence) or "Chưa có",
        effect_text(t)) for t in tasks)
    return Table(headers, rows, nowrap=(len(headers) - 4,))


def _task_section(d: ProgressData) -> Section:
    done = [t for t in d.tasks if t.status == "done"]
    late = [t for t in d.tasks if t.overdue]
    running = [t for t in d.tasks if t.status != "done" and not t.overdue]
    blocks: list[Block] = [Paragraph(
        f"Tổng số {format_int(len(d.tasks))} nhiệm vụ khắc phục: {format_int(len(done))} đã hoàn thành, "
        f"{format_int(len(running))} đang thực hiện hoặc chưa bắt đầu, {format_int(len(late))} quá hạn "
        f"(tính đến ngày {format_date(d.as_of)}).")]
    if d.units:
        blocks.append(Table(("Đơn vị", "Đã hoàn thành", "Đang thực hiện", "Quá hạn"),
                            tuple((u.unit_name, format_int(u.tasks_done), format_int(u.tasks_open),
                                   format_int(u.tasks_overdue)) for u in d.units), numeric=(1, 2, 3)))
    for title, group in (("Nhiệm vụ đã hoàn thành", done), ("Nhiệm vụ đang thực hiện", running),
                         ("Nhiệm vụ quá hạn", late)):
        blocks.append(Subheading(title))
        blocks.append(_task_table(group, d.is_province) if group else Paragraph("Không có."))
    blocks.append(Subheading(NOT_IMPROVED))
    items = [f"{figure_name(f)}: {rate(f.current)} (kỳ trước {rate(f.previous)}; thay đổi "
             f"{points(f.change)}, {points_ci(f.change)}), chưa tăng có ý nghĩa thống kê."
             for f in d.figures if f.current is not None and f.previous is not None and not f.improved]
    items += [f"Nhiệm vụ “{t.action}” ({t.criterion}{', ' + t.unit_name if d.is_province else ''}): "
              f"{effect_text(t)[0].lower()}{effect_text(t)[1:]}."
              for t in d.tasks if t.effect is not None and t.effect.change is not None and not t.improved]
    blocks.append(Bullets(tuple(items)) if items else Paragraph(
        "Không có nội dung nào được xác định là chưa chuyển biến (hoặc chưa đủ số liệu để so sánh)."))
    return Section(TASK_RESULTS, tuple(blocks))


# ---------------------------------------------------------------- cases and proposals

def _case_section(d: ProgressData) -> Section:
    c = d.cases
    if c is None:
        return Section(FEEDBACK, (Paragraph("Chưa có số liệu phản ánh, kiến nghị."),))
    blocks: list[Block] = [Paragraph(
        f"Trong kỳ tiếp nhận {format_int(c.cases)} phản ánh, kiến nghị; đã trả lời {format_int(c.answered)}; "
        f"{format_int(c.late_open)} phản ánh quá hạn chưa trả lời.")]

    def n(v: Estimate | None) -> str:
        return format_int(v.n) if v is not None else "0"

    mean = MISSING if c.followup is None else format_number(c.followup.estimate, 2)
    blocks.append(Table(("Chỉ tiêu", "Kết quả", "Khoảng tin cậy 95%", "Số trường hợp"), (
        ("Tỷ lệ trả lời đúng hạn", _flagged(rate(c.on_time), c.on_time), rate_ci(c.on_time), n(c.on_time)),
        ("Điểm hài lòng với việc xử lý (1–5)", mean, rate_ci(c.followup, percent=False), n(c.followup)),
        ("Tỷ lệ hài lòng với việc xử lý (mức 4–5)", _flagged(rate(c.followup_satisfied), c.followup_satisfied),
         rate_ci(c.followup_satisfied), n(c.followup_satisfied)),
    ), numeric=(1, 2, 3)))
    if d.units:
        blocks.append(Table(("Đơn vị", "Số phản ánh"),
                            tuple((u.unit_name, format_int(u.cases)) for u in d.units), numeric=(1,)))
    return Section(FEEDBACK, tuple(blocks))


def _typed(text: str | None) -> list[Block]:
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return [Paragraph(line) for line in lines] or [Paragraph(NOT_TYPED)]


def _proposal_section(d: ProgressData) -> Section:
    return Section(PROPOSALS, (Subheading("Khó khăn, vướng mắc, nguyên nhân"), *_typed(d.difficulties),
                               Subheading("Đề xuất giải pháp tiếp theo"), *_typed(d.proposals)))


def build(d: ProgressData) -> Document:
    period_text = period_label(d.period)
    kind = "năm" if d.period.endswith("H2") else "6 tháng"
    facts = ((("Mã đơn vị", d.unit_code),) if d.unit_code else ()) + (
        ("Kỳ báo cáo", period_text),
        ("Số phiếu khảo sát", format_int(d.responses)),
        ("Số liệu tính đến ngày", format_date(d.as_of)),
    )
    stem = f"bao-cao-6-thang-{d.unit_code or 'tinh'}-{d.period}"
    return Document(
        issuer=d.province_name,
        kind_line=f"Báo cáo kết quả thực hiện {kind} về nâng cao sự hài lòng của người dân, tổ chức",
        name=d.title_name, period_text=period_text, facts=facts,
        sections=(_survey_section(d), _task_section(d), _case_section(d), _proposal_section(d)),
        filename_stem=stem)
