"""The tracker table (bảng theo dõi tiêu chí chưa đạt điểm tối đa): rows, summary and the XLSX.

One row per criterion below its maximum, with its tasks; the same rows feed the page and the
XLSX, whose columns are the directive's table.
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select

from analysis.report.format_vi import format_date, format_number
from analysis.report.language import N_
from survey.catalog.loop_labels import OVERDUE_LABEL, TASK_STATUS_LABELS, in_lang, label
from survey.extensions import db
from survey.models import Unit
from survey.models.loop import EvidenceFile, RemediationTask, TrackerCriterion, TrackerImport
from survey.remediation.queries import tasks_of_criteria

COLUMNS = ("STT", "Nội dung tiêu chí", "Điểm chuẩn", "Điểm đạt được", "Điểm chưa đạt",
           "Nguyên nhân mất điểm", "Cơ quan chủ trì", "Cơ quan phối hợp", "Nhiệm vụ khắc phục",
           "Thời hạn hoàn thành", "Hồ sơ kiểm chứng", "Tình trạng")
NO_TASK = N_("Chưa giao nhiệm vụ")
# criterion state -> words, in the order the summary lists them (Vietnamese, as the XLSX prints
# them; pages translate them with _())
STATES = {"done": N_("Đã khắc phục"), "in_progress": N_("Đang thực hiện"), "overdue": N_("Quá hạn"),
          "not_started": N_("Chưa bắt đầu"), "none": NO_TASK}


def index_title(imp: TrackerImport) -> str:
    return f"{'PAR INDEX' if imp.index_kind == 'PAR' else imp.index_kind} {imp.year}"


def _code_key(code: str) -> tuple:
    return tuple(int(p) if p.isdigit() else p for p in code.replace("-", ".").split("."))


@dataclass(frozen=True)
class TrackerRow:
    criterion: TrackerCriterion
    tasks: list[RemediationTask]
    evidence: dict[int, list[EvidenceFile]]
    state: str                      # a key of STATES

    @property
    def lost(self) -> float:
        return self.criterion.max_score - self.criterion.achieved_score


def state_of(tasks: list[RemediationTask], today: date) -> str:
    """A criterion's state from its tasks: late if any is late, done when all are done."""
    if not tasks:
        return "none"
    if any(t.overdue_on(today) for t in tasks):
        return "overdue"
    if all(t.status == "done" for t in tasks):
        return "done"
    if any(t.status != "not_started" for t in tasks):
        return "in_progress"
    return "not_started"


def rows_of(imp: TrackerImport, today: date) -> list[TrackerRow]:
    """Criteria of `imp` below their maximum, in code order, with tasks and evidence."""
    criteria = [c for c in db.session.scalars(select(TrackerCriterion).where(
        TrackerCriterion.import_id == imp.id)) if c.achieved_score < c.max_score]
    criteria.sort(key=lambda c: _code_key(c.code))
    tasks = tasks_of_criteria([c.id for c in criteria])
    task_ids = [t.id for ts in tasks.values() for t in ts]
    evidence: dict[int, list[EvidenceFile]] = {i: [] for i in task_ids}
    if task_ids:
        for ev in db.session.scalars(select(EvidenceFile).where(EvidenceFile.task_id.in_(task_ids))
                                     .order_by(EvidenceFile.id)):
            assert ev.task_id is not None  # the where clause selected it
            evidence[ev.task_id].append(ev)
    return [TrackerRow(c, tasks[c.id], evidence, state_of(tasks[c.id], today)) for c in criteria]


@dataclass(frozen=True)
class Summary:
    """For the People's Committee: criteria by state, and tasks done / in progress / late."""

    criteria: int
    lost_points: float
    by_state: dict[str, int]
    tasks_done: int
    tasks_in_progress: int
    tasks_not_started: int
    tasks_late: int


def summary_of(rows: list[TrackerRow], today: date) -> Summary:
    by_state = {key: 0 for key in STATES}
    for row in rows:
        by_state[row.state] += 1
    tasks = [t for r in rows for t in r.tasks]
    return Summary(len(rows), sum(r.lost for r in rows), by_state,
                   sum(t.status == "done" for t in tasks), sum(t.status == "in_progress" for t in tasks),
                   sum(t.status == "not_started" for t in tasks), sum(t.overdue_on(today) for t in tasks))


def task_status_text(task: RemediationTask, today: date) -> str:
    return in_lang(OVERDUE_LABEL) if task.overdue_on(today) else label(TASK_STATUS_LABELS, task.status)


def xlsx(imp: TrackerImport, rows: list[TrackerRow], today: date) -> bytes:
    """The directive's table as an XLSX workbook, with the summary below it."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    units = {u.id: u.name for u in db.session.scalars(select(Unit))}
    book = Workbook()
    sheet = book.active
    sheet.title = "Theo dõi tiêu chí"
    sheet.append([f"BẢNG THEO DÕI CÁC TIÊU CHÍ, TIÊU CHÍ THÀNH PHẦN CHƯA ĐẠT ĐIỂM TỐI ĐA – {index_title(imp)}"])
    sheet.append([f"Cập nhật ngày {format_date(today)}"])
    sheet.append(list(COLUMNS))
    header_row = sheet.max_row
    wrap = Alignment(wrap_text=True, vertical="top")
    for number, row in enumerate(rows, start=1):
        c, tasks = row.criterion, row.tasks
        files_text = "\n".join(ev.original_name for t in tasks for ev in row.evidence.get(t.id, []))
        sheet.append([
            number, f"{c.code}. {c.content}", c.max_score, c.achieved_score, round(row.lost, 4),
            c.cause or "",
            "\n".join(dict.fromkeys(units.get(t.lead_unit_id, "") for t in tasks)),
            "\n".join(dict.fromkeys(t.cooperating or "" for t in tasks if t.cooperating)),
            "\n".join(t.action for t in tasks),
            "\n".join(format_date(t.deadline) for t in tasks),
            files_text,
            STATES[row.state] if not tasks else "\n".join(task_status_text(t, today) for t in tasks),
        ])
        for cell in sheet[sheet.max_row]:
            cell.alignment = wrap
    for cell in sheet[header_row]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, horizontal="center", vertical="center")
    sheet["A1"].font = Font(bold=True, size=12)
    for letter, width in zip("ABCDEFGHIJKL", (6, 45, 10, 10, 10, 30, 25, 25, 40, 14, 25, 16)):
        sheet.column_dimensions[letter].width = width
    summary = summary_of(rows, today)
    sheet.append([])
    sheet.append(["", "TỔNG HỢP BÁO CÁO ỦY BAN NHÂN DÂN TỈNH"])
    sheet[sheet.max_row][1].font = Font(bold=True)
    lines = [("Số tiêu chí chưa đạt điểm tối đa", summary.criteria),
             ("Tổng số điểm chưa đạt", format_number(summary.lost_points, 2))]
    lines += [(f"Tiêu chí: {words.lower()}", summary.by_state[key]) for key, words in STATES.items()]
    lines += [("Nhiệm vụ đã hoàn thành", summary.tasks_done),
              ("Nhiệm vụ đang thực hiện", summary.tasks_in_progress),
              ("Nhiệm vụ chưa bắt đầu", summary.tasks_not_started),
              ("Nhiệm vụ quá hạn", summary.tasks_late)]
    for words, value in lines:
        sheet.append(["", words, value])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
