"""Changing remediation tasks: create (baseline frozen), status, progress notes, evidence.

Every change writes an audit row in the same transaction; the caller commits. Checks that need
the request (scope, permission) are done by the views before calling here; checks on the values
themselves are here, so the web form, the tracker and the demo obey the same rules.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path

from flask_babel import gettext
from sqlalchemy import select

from analysis import Estimate
from survey.catalog.instrument import COMPONENTS, STANDING_CODE
from survey.extensions import db
from survey.indices.aggregates import component_name, question_texts
from survey.models import Survey
from survey.models.loop import CAUSE_KINDS, TASK_STATUSES, EvidenceFile, RemediationTask, TaskNote
from survey.remediation import files
from survey.remediation.effect import criterion_estimate
from survey.services import audit

PAST_DEADLINE = "Thời hạn hoàn thành không được là một ngày đã qua."


class Invalid(ValueError):
    """Field -> Vietnamese message for each value that cannot be used; nothing was written."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(errors.values()))
        self.errors = errors


def item_criteria() -> dict[str, str]:
    """Item code -> wording, for the SIPAS items that count in the index (components A1-A6)."""
    return {code: text for code, (text, comp) in sorted(question_texts(STANDING_CODE).items())
            if comp in COMPONENTS}


def criterion_label(kind: str, code: str) -> str:
    """What people call a criterion: "A1.2 Khu vực chờ…", "A3 Công chức…", "Chỉ số hài lòng chung"."""
    if kind == "overall":
        return gettext("Chỉ số hài lòng chung")
    if kind == "component":
        return f"{code} {component_name(code) if code in COMPONENTS else ''}".strip()
    if kind == "item":
        return f"{code} {item_criteria().get(code, '')}".strip()
    return code


def check_criterion(kind: str, code: str) -> str | None:
    """Why (kind, code) is not a criterion of the unit's survey, or None."""
    if kind == "overall":
        return None if code == "overall" else "Mã chỉ số chung phải là overall."
    if kind == "component":
        return None if code in COMPONENTS else f"Không có nhóm tiêu chí mã {code}."
    if kind == "item":
        return None if code in item_criteria() else f"Không có tiêu chí (câu hỏi) mã {code}."
    return f"Loại tiêu chí {kind} không hợp lệ."


@dataclass
class TaskInput:
    """What the official typed (already parsed by the form)."""

    unit_id: int
    criterion_kind: str
    criterion_code: str
    action: str
    lead_unit_id: int
    deadline: date
    today: date
    baseline_period: str | None = None
    target: float | None = None           # a proportion 0..1
    cause_kind: str | None = None
    cause: str | None = None
    cooperating: str | None = None
    owner: str | None = None
    tracker_criterion_id: int | None = None


def _check(data: TaskInput) -> dict[str, str]:
    errors: dict[str, str] = {}
    if data.criterion_kind != "tracker":
        problem = check_criterion(data.criterion_kind, data.criterion_code)
        if problem:
            errors["criterion"] = problem
    elif data.tracker_criterion_id is None:
        errors["criterion"] = "Thiếu tiêu chí của bảng theo dõi."
    if data.deadline < data.today:
        errors["deadline"] = PAST_DEADLINE
    if not data.action.strip():
        errors["action"] = "Vui lòng nhập nhiệm vụ khắc phục."
    if data.target is not None and not 0 <= data.target <= 1:
        errors["target"] = "Mục tiêu là tỷ lệ hài lòng từ 0 đến 100%."
    if data.cause_kind is not None and data.cause_kind not in CAUSE_KINDS:
        errors["cause_kind"] = "Loại nguyên nhân không hợp lệ."
    return errors


def create_task(data: TaskInput, user_id: int | None) -> RemediationTask:
    """A new task, its baseline frozen from the unit's estimate in the baseline period."""
    errors = _check(data)
    if errors:
        raise Invalid(errors)
    baseline: Estimate | None = None
    if data.baseline_period and data.criterion_kind != "tracker":
        baseline = criterion_estimate(data.unit_id, data.baseline_period, data.criterion_kind,
                                      data.criterion_code)
    now = datetime.now(timezone.utc)
    task = RemediationTask(
        unit_id=data.unit_id, criterion_kind=data.criterion_kind,
        criterion_code=data.criterion_code, tracker_criterion_id=data.tracker_criterion_id,
        survey_id=db.session.scalar(select(Survey.id).where(Survey.code == STANDING_CODE))
        if data.criterion_kind != "tracker" else None,
        baseline_period=data.baseline_period,
        baseline_estimate=_stored(baseline.estimate) if baseline else None,
        baseline_ci_low=_stored(baseline.ci_low) if baseline else None,
        baseline_ci_high=_stored(baseline.ci_high) if baseline else None,
        target=data.target, cause_kind=data.cause_kind, cause=(data.cause or "").strip() or None,
        action=data.action.strip(), lead_unit_id=data.lead_unit_id,
        cooperating=(data.cooperating or "").strip() or None, owner=(data.owner or "").strip() or None,
        deadline=data.deadline, status="not_started", created_by=user_id,
        created_at=now, updated_at=now)
    db.session.add(task)
    db.session.flush()
    audit.record("remediation_task_created", target=f"task:{task.id}", user_id=user_id,
                 unit_id=data.unit_id, criterion=f"{data.criterion_kind}:{data.criterion_code}",
                 deadline=data.deadline.isoformat())
    return task


def _stored(value: float) -> float | None:
    """An estimate's NaN (no interval, R's NA) is stored as NULL, as before."""
    return value if math.isfinite(value) else None


def set_status(task: RemediationTask, status: str, user_id: int | None) -> None:
    """Move a task to `status`; "done" records when, leaving "done" clears it."""
    if status not in TASK_STATUSES:
        raise Invalid({"status": "Tình trạng không hợp lệ."})
    if status == task.status:
        return
    now = datetime.now(timezone.utc)
    audit.record("remediation_task_status", target=f"task:{task.id}", user_id=user_id,
                 from_status=task.status, to_status=status)
    task.status = status
    task.completed_at = now if status == "done" else None
    task.updated_at = now


def add_note(task: RemediationTask, text: str, user_id: int | None) -> TaskNote:
    """Append a progress note (notes are never edited or deleted)."""
    text = text.strip()
    if not text:
        raise Invalid({"text": "Vui lòng nhập nội dung tiến độ."})
    now = datetime.now(timezone.utc)
    note = TaskNote(task_id=task.id, author_id=user_id, created_at=now, text=text)
    db.session.add(note)
    task.updated_at = now
    audit.record("remediation_note_added", target=f"task:{task.id}", user_id=user_id)
    return note


def attach_evidence(task: RemediationTask, data: bytes, original_name: str | None, directory: Path,
                    user_id: int | None, max_unzipped: int = files.MAX_UNZIPPED) -> EvidenceFile:
    """Check `data`, store it and add its row; files.Refused (nothing written) when refused.

    The file is written before the row: if the transaction then fails, the caller removes it
    (remove_orphan), so a row never names a missing file.
    """
    kind = files.sniff(data, max_unzipped)
    stored = files.store(data, directory)
    evidence = EvidenceFile(
        task_id=task.id, stored_name=stored.stored_name,
        original_name=files.safe_name(original_name, kind.extension),
        content_type=kind.content_type, size=stored.size, sha256=stored.sha256,
        uploaded_by=user_id, uploaded_at=datetime.now(timezone.utc))
    db.session.add(evidence)
    task.updated_at = evidence.uploaded_at
    audit.record("remediation_evidence_added", target=f"task:{task.id}", user_id=user_id,
                 content_type=kind.content_type, size=stored.size, sha256=stored.sha256)
    return evidence


def remove_orphan(evidence: EvidenceFile, directory: Path) -> None:
    """Delete the file of an evidence row whose transaction failed."""
    files.path_of(directory, evidence.stored_name).unlink(missing_ok=True)


def notes_of(task_id: int) -> list[TaskNote]:
    return list(db.session.scalars(select(TaskNote).where(TaskNote.task_id == task_id)
                                   .order_by(TaskNote.created_at, TaskNote.id)))


def evidence_of(task_ids: list[int]) -> dict[int, list[EvidenceFile]]:
    out: dict[int, list[EvidenceFile]] = {i: [] for i in task_ids}
    if task_ids:
        for ev in db.session.scalars(select(EvidenceFile).where(EvidenceFile.task_id.in_(task_ids))
                                     .order_by(EvidenceFile.uploaded_at, EvidenceFile.id)):
            assert ev.task_id is not None  # the where clause selected it
            out[ev.task_id].append(ev)
    return out
