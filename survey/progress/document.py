"""The progress report worded once: ProgressData in, a Document of sections, paragraphs and
tables of finished strings out, in the language set by analysis.report.language.language()
(Vietnamese unless the caller passes the English catalogue: survey/progress/output.py, views).

The PDF (templates/reports/progress.html) and the DOCX (analysis/report/docx_writer.py, the
writer of every report) both print these strings as they are, so a figure cannot differ between
the two files. Number and date formatting is analysis/report/format_vi.py (decimal comma, dd/mm/yyyy).
"""
from __future__ import annotations

import math

from analysis import Estimate

# The blocks are shared with the other reports' Word documents (analysis/report/word.py).
from analysis.report import format_vi
from analysis.report.blocks import Block, Bullets, Document, Paragraph, Section, Subheading, Table
from analysis.report.format_vi import MISSING, POINTS_UNIT, format_date
from analysis.report.language import N_, current_locale, localised
from analysis.report.language import gettext as _
from survey.catalog.loop_labels import OVERDUE_LABEL, TASK_STATUS_LABELS, in_lang, label
from survey.progress.model import Figure, ProgressData, TaskRow

# The four sections the directive's report has, titled exactly so (officials paste them).
# Vietnamese, marked for the catalogue and translated when a document is built.
SURVEY_RESULTS = N_("Kết quả khảo sát")
TASK_RESULTS = N_("Kết quả thực hiện nhiệm vụ khắc phục")
FEEDBACK = N_("Phản ánh, kiến nghị")
PROPOSALS = N_("Đề xuất")
SECTION_TITLES = (SURVEY_RESULTS, TASK_RESULTS, FEEDBACK, PROPOSALS)
NOT_IMPROVED = N_("Nội dung chưa chuyển biến")
UNRELIABLE = N_("không đủ độ tin cậy")
NOT_TYPED = N_("(Đơn vị chưa nhập nội dung này.)")

# The one formatter (format_vi), in the language of the document being built.
format_int = localised(format_vi.format_int)
format_interval = localised(format_vi.format_interval)
format_number = localised(format_vi.format_number)
format_percent = localised(format_vi.format_percent)
format_points = localised(format_vi.format_points)
period_label = localised(format_vi.period_label)


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
    unit = POINTS_UNIT.get(current_locale(), "")
    low, high = (format_points(x).replace(unit, "") for x in (v.ci_low, v.ci_high))
    return _("từ %(low)s đến %(high)s điểm %%") % {"low": low, "high": high}


def verdict(f: Figure) -> str:
    if f.change is None or not math.isfinite(f.change.ci_low):
        return _("Chưa đủ số liệu để so sánh")
    if f.improved:
        return _("Tăng có ý nghĩa thống kê")
    if f.declined:
        return _("Giảm có ý nghĩa thống kê")
    return _("Chưa thay đổi rõ rệt")


def _flagged(text: str, v: Estimate | None) -> str:
    return f"{text} ({_(UNRELIABLE)})" if v is not None and math.isfinite(v.estimate) and v.unreliable else text


def figure_name(f: Figure) -> str:
    return _("Chỉ số hài lòng chung") if f.code == "overall" else f"{f.code}. {f.name}"


def _figures_table(d: ProgressData) -> Table:
    rows = tuple((figure_name(f), _flagged(rate(f.current), f.current), rate_ci(f.current),
                  rate(f.previous), points(f.change), points_ci(f.change), verdict(f))
                 for f in d.figures)
    return Table((_("Chỉ tiêu"), _("Kỳ này"), _("Khoảng tin cậy 95%"), _("Kỳ trước"), _("Thay đổi"),
                  _("Khoảng tin cậy 95% của thay đổi"), _("Đánh giá")), rows, numeric=(1, 2, 3, 4),
                 nowrap=(2, 3, 4))


def _survey_section(d: ProgressData) -> Section:
    blocks: list[Block] = []
    overall = next((f for f in d.figures if f.code == "overall"), None)
    if d.responses == 0 or overall is None or overall.current is None:
        blocks.append(Paragraph(_("Trong %(period)s chưa có phiếu khảo sát nào được tính nên chưa có "
                                  "chỉ số hài lòng.") % {"period": period_label(d.period).lower()}))
    else:
        blocks.append(Paragraph(_(
            "Trong %(period)s có %(n)s phiếu khảo sát được tính. Chỉ số hài lòng chung đạt %(rate)s "
            "(khoảng tin cậy 95%%: %(ci)s); so với %(previous)s: %(change)s (%(verdict)s).") % {
                "period": period_label(d.period).lower(), "n": format_int(d.responses),
                "rate": rate(overall.current), "ci": rate_ci(overall.current),
                "previous": period_label(d.previous_period).lower(), "change": points(overall.change),
                "verdict": verdict(overall).lower()}))
    blocks.append(_figures_table(d))
    if d.units:
        blocks.append(Subheading(_("Kết quả từng đơn vị")))
        blocks.append(Table((_("Đơn vị"), _("Chỉ số chung"), _("Khoảng tin cậy 95%"), _("Thay đổi"),
                             _("Khoảng tin cậy 95% của thay đổi")),
                            tuple((u.unit_name, _flagged(rate(u.overall), u.overall), rate_ci(u.overall),
                                   points(u.change), points_ci(u.change)) for u in d.units),
                            numeric=(1, 2, 3), nowrap=(2, 3)))
    weights = (_("Mỗi phiếu được gia quyền theo số hồ sơ đã giải quyết của từng lĩnh vực.")
               if d.weighted else _("Chưa có số liệu hồ sơ: ước lượng chưa gia quyền."))
    blocks.append(Paragraph(
        _("Tỷ lệ hài lòng: phần trăm người trả lời hài lòng hoặc rất hài lòng. Thay đổi tính bằng điểm "
          "phần trăm; chỉ kết luận tăng hoặc giảm khi khoảng tin cậy 95% của thay đổi không chứa 0.")
        + " " + weights, note=True))
    blocks.extend(Paragraph(n, note=True) for n in d.notes)
    return Section(_(SURVEY_RESULTS), tuple(blocks))


# ---------------------------------------------------------------- tasks

def status_text(t: TaskRow) -> str:
    lang = current_locale()
    text = label(TASK_STATUS_LABELS, t.status, lang)
    if t.overdue:
        text = f"{text}, {in_lang(OVERDUE_LABEL, lang).lower()}"
    if t.status == "done" and t.completed_on is not None:
        text = _("%(status)s ngày %(date)s") % {"status": text, "date": format_date(t.completed_on)}
    return text


def effect_text(t: TaskRow) -> str:
    e = t.effect
    if e is None or e.change is None or not math.isfinite(e.change.estimate):
        return _("Chưa đủ số liệu để đánh giá")
    change = _("%(change)s (%(ci)s) so với %(period)s") % {
        "change": points(e.change), "ci": points_ci(e.change),
        "period": period_label(e.before_period).lower()}
    if t.improved:
        return _("Đã cải thiện có ý nghĩa thống kê: %(change)s") % {"change": change}
    return _("Chưa cải thiện rõ rệt: %(change)s") % {"change": change}


def _task_table(tasks: list[TaskRow], with_unit: bool) -> Table:
    headers = ((_("Đơn vị"),) if with_unit else ()) + (
        _("Tiêu chí"), _("Nhiệm vụ khắc phục"), _("Chủ trì"), _("Thời hạn"), _("Trạng thái"),
        _("Hồ sơ kiểm chứng"), _("Hiệu quả"))
    rows = tuple(((t.unit_name,) if with_unit else ()) + (
        t.criterion, t.action, t.lead_unit + (f" ({t.owner})" if t.owner else ""),
        format_date(t.deadline), status_text(t), "; ".join(t.evidence) or _("Chưa có"),
        effect_text(t)) for t in tasks)
    return Table(headers, rows, nowrap=(len(headers) - 4,))


def _task_section(d: ProgressData) -> Section:
    done = [t for t in d.tasks if t.status == "done"]
    late = [t for t in d.tasks if t.overdue]
    running = [t for t in d.tasks if t.status != "done" and not t.overdue]
    blocks: list[Block] = [Paragraph(_(
        "Tổng số %(total)s nhiệm vụ khắc phục: %(done)s đã hoàn thành, %(running)s đang thực hiện "
        "hoặc chưa bắt đầu, %(late)s quá hạn (tính đến ngày %(date)s).") % {
            "total": format_int(len(d.tasks)), "done": format_int(len(done)),
            "running": format_int(len(running)), "late": format_int(len(late)),
            "date": format_date(d.as_of)})]
    if d.units:
        blocks.append(Table((_("Đơn vị"), _("Đã hoàn thành"), _("Đang thực hiện"), _("Quá hạn")),
                            tuple((u.unit_name, format_int(u.tasks_done), format_int(u.tasks_open),
                                   format_int(u.tasks_overdue)) for u in d.units), numeric=(1, 2, 3)))
    for title, group in ((_("Nhiệm vụ đã hoàn thành"), done), (_("Nhiệm vụ đang thực hiện"), running),
                         (_("Nhiệm vụ quá hạn"), late)):
        blocks.append(Subheading(title))
        blocks.append(_task_table(group, d.is_province) if group else Paragraph(_("Không có.")))
    blocks.append(Subheading(_(NOT_IMPROVED)))
    items = [_("%(name)s: %(rate)s (kỳ trước %(previous)s; thay đổi %(change)s, %(ci)s), chưa tăng có "
               "ý nghĩa thống kê.") % {
                 "name": figure_name(f), "rate": rate(f.current), "previous": rate(f.previous),
                 "change": points(f.change), "ci": points_ci(f.change)}
             for f in d.figures if f.current is not None and f.previous is not None and not f.improved]
    items += [_("Nhiệm vụ “%(action)s” (%(criterion)s): %(effect)s.") % {
                  "action": t.action,
                  "criterion": t.criterion + (", " + t.unit_name if d.is_province else ""),
                  "effect": effect_text(t)[0].lower() + effect_text(t)[1:]}
              for t in d.tasks if t.effect is not None and t.effect.change is not None and not t.improved]
    blocks.append(Bullets(tuple(items)) if items else Paragraph(
        _("Không có nội dung nào được xác định là chưa chuyển biến (hoặc chưa đủ số liệu để so sánh).")))
    return Section(_(TASK_RESULTS), tuple(blocks))


# ---------------------------------------------------------------- cases and proposals

def _case_section(d: ProgressData) -> Section:
    c = d.cases
    if c is None:
        return Section(_(FEEDBACK), (Paragraph(_("Chưa có số liệu phản ánh, kiến nghị.")),))
    blocks: list[Block] = [Paragraph(_(
        "Trong kỳ tiếp nhận %(cases)s phản ánh, kiến nghị; đã trả lời %(answered)s; %(late)s phản ánh "
        "quá hạn chưa trả lời.") % {"cases": format_int(c.cases), "answered": format_int(c.answered),
                                     "late": format_int(c.late_open)})]

    def n(v: Estimate | None) -> str:
        return format_int(v.n) if v is not None else "0"

    mean = MISSING if c.followup is None else format_number(c.followup.estimate, 2)
    blocks.append(Table((_("Chỉ tiêu"), _("Kết quả"), _("Khoảng tin cậy 95%"), _("Số trường hợp")), (
        (_("Tỷ lệ trả lời đúng hạn"), _flagged(rate(c.on_time), c.on_time), rate_ci(c.on_time),
         n(c.on_time)),
        (_("Điểm hài lòng với việc xử lý (1–5)"), mean, rate_ci(c.followup, percent=False), n(c.followup)),
        (_("Tỷ lệ hài lòng với việc xử lý (mức 4–5)"),
         _flagged(rate(c.followup_satisfied), c.followup_satisfied),
         rate_ci(c.followup_satisfied), n(c.followup_satisfied)),
    ), numeric=(1, 2, 3)))
    if d.units:
        blocks.append(Table((_("Đơn vị"), _("Số phản ánh")),
                            tuple((u.unit_name, format_int(u.cases)) for u in d.units), numeric=(1,)))
    return Section(_(FEEDBACK), tuple(blocks))


def _typed(text: str | None) -> list[Block]:
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return [Paragraph(line) for line in lines] or [Paragraph(_(NOT_TYPED))]


def _proposal_section(d: ProgressData) -> Section:
    return Section(_(PROPOSALS), (Subheading(_("Khó khăn, vướng mắc, nguyên nhân")), *_typed(d.difficulties),
                                  Subheading(_("Đề xuất giải pháp tiếp theo")), *_typed(d.proposals)))


PERIOD_FACT = N_("Kỳ báo cáo")  # the fact the PDF marks as the running header's period


def build(d: ProgressData) -> Document:
    period_text = period_label(d.period)
    kind_line = (_("Báo cáo kết quả thực hiện năm về nâng cao sự hài lòng của người dân, tổ chức")
                 if d.period.endswith("H2") else
                 _("Báo cáo kết quả thực hiện 6 tháng về nâng cao sự hài lòng của người dân, tổ chức"))
    facts = (((_("Mã đơn vị"), d.unit_code),) if d.unit_code else ()) + (
        (_(PERIOD_FACT), period_text),
        (_("Số phiếu khảo sát"), format_int(d.responses)),
        (_("Số liệu tính đến ngày"), format_date(d.as_of)),
    )
    stem = f"bao-cao-6-thang-{d.unit_code or 'tinh'}-{d.period}"
    return Document(
        issuer=d.province_name,
        kind_line=kind_line,
        name=d.title_name, period_text=period_text, facts=facts,
        sections=(_survey_section(d), _task_section(d), _case_section(d), _proposal_section(d)),
        filename_stem=stem)
