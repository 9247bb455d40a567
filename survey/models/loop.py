"""Closing the loop (issue 13): remediation tasks, the criteria tracker, evidence files, feedback
cases and the 6-month progress report's typed sections.

Statuses are stored as short ASCII codes; their Vietnamese and English labels live in
survey/loop/labels.py. "Quá hạn" (overdue) is never stored: it is a task or case past its
deadline and not done, computed when read, so it cannot go stale.

A feedback case never points at a response: the citizen's ratings stay anonymous (DESIGN.md §7).
The case keeps its own copy of what the citizen chose to send (the low-rated item codes and the
comment) and, only with consent, an encrypted contact purged when the case closes.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from survey.catalog.periods import in_vietnam
from survey.extensions import Model

# Remediation task statuses (kế hoạch khắc phục); "overdue" is derived, see module docstring.
TASK_STATUSES = ("not_started", "in_progress", "done")
# What the task is about: a SIPAS item or component or the overall index of the task's unit,
# or a row of the imported criteria tracker (PAR INDEX / SIPAS published results).
CRITERION_KINDS = ("item", "component", "overall", "tracker")
CAUSE_KINDS = ("subjective", "objective")  # nguyên nhân chủ quan / khách quan

# Feedback case workflow (phản ánh, kiến nghị): received -> classified -> assigned -> answered
# -> published or closed.  "published" means the anonymised answer is public (issue 14).
CASE_STATUSES = ("received", "classified", "assigned", "answered", "published", "closed")
INDEX_KINDS = ("PAR", "SIPAS")


class RemediationTask(Model):
    """One remediation task: a weak criterion, its cause, the action, who leads and by when."""

    __tablename__ = "remediation_task"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The unit whose criterion is weak (whose dashboard it came from); scope follows this unit.
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    survey_id: Mapped[int | None] = mapped_column(ForeignKey("survey.id"))
    criterion_kind: Mapped[str] = mapped_column(String(16))
    criterion_code: Mapped[str] = mapped_column(String(64))     # item code, component, "overall"
    tracker_criterion_id: Mapped[int | None] = mapped_column(
        ForeignKey("tracker_criterion.id"), index=True)
    # The period the weakness was seen in, and the value then (with its interval), frozen at
    # creation so the plan shows what it started from even after late responses arrive.
    baseline_period: Mapped[str | None] = mapped_column(String(16))
    baseline_estimate: Mapped[float | None] = mapped_column(Float)
    baseline_ci_low: Mapped[float | None] = mapped_column(Float)
    baseline_ci_high: Mapped[float | None] = mapped_column(Float)
    target: Mapped[float | None] = mapped_column(Float)          # proportion 0..1 (or a score)
    cause_kind: Mapped[str | None] = mapped_column(String(16))
    cause: Mapped[str | None] = mapped_column(Text)
    action: Mapped[str] = mapped_column(Text)
    lead_unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)  # cơ quan chủ trì
    cooperating: Mapped[str | None] = mapped_column(Text)     # cơ quan phối hợp, as officials write
    owner: Mapped[str | None] = mapped_column(String(255))    # the person responsible
    deadline: Mapped[date] = mapped_column(Date, index=True)
    status: Mapped[str] = mapped_column(String(16), default="not_started", index=True)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    def overdue_on(self, today: date) -> bool:
        """Quá hạn: past its deadline and not done (the one rule; never stored)."""
        return self.status != "done" and self.deadline < today


class TaskNote(Model):
    """A progress note on a task (who wrote what, when); notes are never edited."""

    __tablename__ = "task_note"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("remediation_task.id"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    text: Mapped[str] = mapped_column(Text)


class EvidenceFile(Model):
    """Hồ sơ kiểm chứng: a checked upload stored under EVIDENCE_DIR by a random name."""

    __tablename__ = "evidence_file"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_id: Mapped[int | None] = mapped_column(ForeignKey("remediation_task.id"), index=True)
    stored_name: Mapped[str] = mapped_column(String(64), unique=True)  # random; never the upload's
    original_name: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(128))           # from the bytes, not the name
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    uploaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class TrackerImport(Model):
    """One import of the province's published PAR INDEX or SIPAS results (one year)."""

    __tablename__ = "tracker_import"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    index_kind: Mapped[str] = mapped_column(String(8))      # INDEX_KINDS
    year: Mapped[int] = mapped_column(Integer)
    filename: Mapped[str | None] = mapped_column(String(255))
    imported_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    imported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class TrackerCriterion(Model):
    """A criterion or sub-criterion of an import; below its maximum it is tracked with tasks."""

    __tablename__ = "tracker_criterion"
    __table_args__ = (UniqueConstraint("import_id", "code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    import_id: Mapped[int] = mapped_column(ForeignKey("tracker_import.id"), index=True)
    code: Mapped[str] = mapped_column(String(32))
    content: Mapped[str] = mapped_column(Text)
    max_score: Mapped[float] = mapped_column(Float)
    achieved_score: Mapped[float] = mapped_column(Float)
    cause: Mapped[str | None] = mapped_column(Text)         # nguyên nhân mất điểm


class FeedbackCase(Model):
    """A citizen's request for a reply, followed through a private link (no account)."""

    __tablename__ = "feedback_case"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(24), unique=True)        # shown to the citizen
    # SHA-256 of the private link's random token; the token itself is never stored.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    counter_id: Mapped[int | None] = mapped_column(ForeignKey("counter.id"))
    survey_id: Mapped[int | None] = mapped_column(ForeignKey("survey.id"))
    period: Mapped[str] = mapped_column(String(16), index=True)
    low_items: Mapped[list | None] = mapped_column(JSON)      # item codes rated 1-2, a copy
    message: Mapped[str | None] = mapped_column(Text)         # the comment, a copy
    category: Mapped[str | None] = mapped_column(String(64))  # set when classified
    status: Mapped[str] = mapped_column(String(16), default="received", index=True)
    assigned_to: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    due_date: Mapped[date | None] = mapped_column(Date, index=True)
    answer: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    answered_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    public_answer: Mapped[str | None] = mapped_column(Text)   # anonymised, for /ket-qua
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Satisfaction with how the feedback was handled (1-5), given once through the link.
    followup_rating: Mapped[int | None] = mapped_column(Integer)
    followup_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Only if the citizen chose to leave one, with consent; encrypted; purged at closing.
    contact_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    contact_consent: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)

    def answered_on_time(self) -> bool | None:
        """Answered by its due date (Vietnam dates); None while unanswered or without a due date."""
        if self.answered_at is None or self.due_date is None:
            return None
        return in_vietnam(self.answered_at).date() <= self.due_date

    def late_on(self, today: date) -> bool:
        """Past its due date and still not answered."""
        return self.answered_at is None and self.due_date is not None and self.due_date < today


class CaseEvent(Model):
    """Every step of a case (status changes, notes): the case's history for officials."""

    __tablename__ = "case_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("feedback_case.id"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str | None] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)


class ProgressReport(Model):
    """What a unit types for its 6-month report: difficulties, causes, proposals (Đề xuất)."""

    __tablename__ = "progress_report"
    __table_args__ = (UniqueConstraint("unit_id", "period"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    period: Mapped[str] = mapped_column(String(16))
    difficulties: Mapped[str | None] = mapped_column(Text)  # khó khăn, vướng mắc, nguyên nhân
    proposals: Mapped[str | None] = mapped_column(Text)     # đề xuất giải pháp tiếp theo
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class DigestSent(Model):
    """One digest per official per day: a re-run of `flask digest` the same day sends nothing."""

    __tablename__ = "digest_sent"

    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), primary_key=True)
    day: Mapped[str] = mapped_column(String(10), primary_key=True)   # YYYY-MM-DD, Vietnam time
    sent_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
