"""The 6-month progress report as plain data: what survey/progress/data.py reads from the
database and survey/progress/document.py words for the PDF and the DOCX alike.

No Flask and no database here; estimates are analysis.Estimate (rates in [0, 1]).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from analysis import Estimate


@dataclass(frozen=True)
class Figure:
    """The overall index or one component in the period, the period before, and the change."""

    code: str                       # "overall" or a component code (A1..A6)
    name: str
    current: Estimate | None
    previous: Estimate | None
    change: Estimate | None     # current - previous, interval from analysis/

    @property
    def improved(self) -> bool:
        """Rose significantly: the change's 95% interval lies above 0."""
        return self.change is not None and self.change.ci_low > 0   # a NaN bound never is

    @property
    def declined(self) -> bool:
        return self.change is not None and self.change.ci_high < 0


@dataclass(frozen=True)
class TaskEffectView:
    before_period: str
    after_period: str
    change: Estimate | None
    significant: bool


@dataclass(frozen=True)
class TaskRow:
    unit_id: int
    unit_name: str
    criterion: str                  # words: "Câu hỏi A1.2", "Lĩnh vực A6", a tracker criterion
    action: str
    lead_unit: str
    owner: str | None
    deadline: date
    status: str                     # stored code: not_started, in_progress, done
    overdue: bool
    completed_on: date | None
    evidence: tuple[str, ...]       # original file names
    effect: TaskEffectView | None   # None: nothing to compare yet

    @property
    def improved(self) -> bool:
        """Đã cải thiện có ý nghĩa thống kê: the change's interval lies above 0."""
        return (self.effect is not None and self.effect.significant and self.effect.change is not None
                and self.effect.change.estimate > 0)


@dataclass(frozen=True)
class CaseSummary:
    cases: int
    answered: int
    late_open: int
    on_time: Estimate | None            # share answered by the due date
    followup: Estimate | None           # mean rating of the handling, 1-5
    followup_satisfied: Estimate | None  # share of handling ratings 4-5


@dataclass(frozen=True)
class UnitLine:
    """One unit's line in the province version."""

    unit_code: str
    unit_name: str
    overall: Estimate | None
    change: Estimate | None
    tasks_done: int
    tasks_open: int
    tasks_overdue: int
    cases: int


@dataclass(frozen=True)
class ProgressData:
    title_name: str                 # the unit's name, or the province's
    unit_code: str | None           # None: the province version
    province_name: str
    period: str
    previous_period: str
    as_of: date                     # overdue is judged on this day
    responses: int
    weighted: bool
    figures: tuple[Figure, ...]     # overall first, then components
    tasks: tuple[TaskRow, ...]
    cases: CaseSummary | None
    difficulties: str | None
    proposals: str | None
    units: tuple[UnitLine, ...] = ()
    generated_at: datetime | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def is_province(self) -> bool:
        return self.unit_code is None
