"""Plain, frozen input records for the PDF reports.

Whoever assembles a report (the web app, a CLI, a test) fills these from
the estimators' results; rendering never queries anything. Estimate fields
hold :class:`analysis.Estimate` (or None where there is no estimate) and
nothing else: construction refuses any other shape, so the templates see one.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Iterable, Protocol, TypeVar

from ..crosstab import GroupTest
from ..estimate import MAX_HALF_WIDTH, MIN_N, Estimate
from ..ties import by_name_within_ties, same
from .language import N_
from .letterhead import Letterhead
from .methods import JACKKNIFE, METHOD_LABELS, _checked, ci_method_text, method_label  # noqa: F401

__all__ = [
    "MIN_RELIABLE_N", "MAX_RELIABLE_HALF_WIDTH", "SIPAS_COMPONENTS",
    "ComponentRow", "ItemRow", "TrendPoint", "Comment", "MethodsInfo",
    "UnitReportData", "RankedUnit", "HeatRow", "ChangeRow", "ProvinceReportData",
    "TargetProgress", "ThematicReportData", "ChoiceShare", "GroupRow", "Breakdown",
    "QuestionResult", "GroupTest", "PosterData", "weakest_items",
    "METHOD_LABELS", "method_label", "ci_method_text",
]

# DESIGN.md §5: n < 30 or a half-width over 10 points is "không đủ độ tin cậy" (the rule is
# analysis.estimate.is_reliable; every Estimate carries its verdict).
MIN_RELIABLE_N = MIN_N
MAX_RELIABLE_HALF_WIDTH = MAX_HALF_WIDTH

# Default component names (DESIGN.md §4); callers may pass their own names. Marked N_ for the
# catalogue: the report renders them with gettext().
SIPAS_COMPONENTS: dict[str, str] = {
    "A1": N_("Tiếp cận dịch vụ"),
    "A2": N_("Thủ tục hành chính"),
    "A3": N_("Công chức"),
    "A4": N_("Kết quả"),
    "A5": N_("Tiếp nhận, xử lý phản ánh, kiến nghị"),
    "A6": N_("Dịch vụ công trực tuyến"),
}


def _set(obj: Any, name: str, value: Any) -> None:
    object.__setattr__(obj, name, value)  # frozen dataclasses normalise in __post_init__


def _estimates(obj: Any, *names: str) -> None:
    for name in names:
        value = getattr(obj, name)
        if value is not None:
            _checked(value, name)


@dataclass(frozen=True)
class ComponentRow:
    code: str                      # "A1"
    name: str                      # "Tiếp cận dịch vụ"
    estimate: Estimate | None

    def __post_init__(self) -> None:
        _estimates(self, "estimate")


@dataclass(frozen=True)
class ItemRow:
    code: str                      # "A3.2"
    text: str                      # question wording as the citizen read it
    rate: Estimate | None      # share answering 4-5
    mean: Estimate | None = None   # mean score on 1-5
    component: str = ""            # "A3"; derived from the code when empty

    def __post_init__(self) -> None:
        _estimates(self, "rate", "mean")
        if not self.component:
            _set(self, "component", self.code.split(".")[0])

    @property
    def n(self) -> int:
        return self.rate.n if self.rate else 0

    @property
    def unreliable(self) -> bool:
        return self.rate is None or self.rate.unreliable


@dataclass(frozen=True)
class TrendPoint:
    period: str                    # "2025-H2"
    estimate: Estimate | None

    def __post_init__(self) -> None:
        _estimates(self, "estimate")


@dataclass(frozen=True)
class Comment:
    date: date
    text: str                      # already anonymised by the caller


@dataclass(frozen=True)
class MethodsInfo:
    weights_description: str       # one plain sentence on how weights were made
    responses: int
    dossiers: int                  # service volume the weights reproduce
    strata: int | None = None
    ci_method: str = ""            # e.g. "Korn–Graubard", shown only if given


def _estimate_tuple(obj: Any, name: str) -> None:
    """A tuple of estimates (or None for a missing one), each checked to be an Estimate."""
    values = tuple(getattr(obj, name))
    _set(obj, name, values)
    for v in values:
        if v is not None:
            _checked(v, name)


def _tuple(obj: Any, *names: str) -> None:
    for name in names:
        value = getattr(obj, name)
        _set(obj, name, tuple(value) if value is not None else ())


@dataclass(frozen=True)
class UnitReportData:
    unit_name: str
    unit_kind: str                 # "Ủy ban nhân dân xã", "Sở", ...
    province_name: str
    period: str                    # "2026-H1"
    survey_title: str
    response_count: int
    overall: Estimate | None
    overall_previous: Estimate | None = None
    previous_period: str | None = None
    # Difference current - previous with its interval, from the estimators;
    # without it the report states the change but makes no claim of significance.
    overall_change: Estimate | None = None
    components: tuple[ComponentRow, ...] = ()
    items: tuple[ItemRow, ...] = ()
    trend: tuple[TrendPoint, ...] = ()      # oldest first
    comments: tuple[Comment, ...] = ()
    methods: MethodsInfo | None = None
    unit_code: str = ""
    generated_at: datetime | None = None
    # Responses through one-time dossier links (verified channel), and the overall index on
    # them alone: a robustness check beside the open channel (DESIGN.md §7).
    verified_count: int = 0
    verified_overall: Estimate | None = None
    # The national heading block and signature (Nghị định 30/2020/NĐ-CP); None: a plain cover.
    letterhead: Letterhead | None = None
    # Against the province (every unit): its pooled index, the unit's overall index ranked
    # among the units (rank, rank_best..rank_worst), how many were ranked, and the gap
    # unit − province with its interval (analysis.gap_from_sums: not an independent difference).
    province_overall: Estimate | None = None
    province_rank: Estimate | None = None
    units_ranked: int = 0
    province_gap: Estimate | None = None

    def __post_init__(self) -> None:
        _estimates(self, "overall", "overall_previous", "overall_change", "verified_overall",
                   "province_overall", "province_rank", "province_gap")
        _tuple(self, "components", "items", "trend", "comments")


@dataclass(frozen=True)
class RankedUnit:
    unit_name: str
    estimate: Estimate | None
    responses: int = 0
    rank: int | None = None        # None: not ranked (unreliable or no data)
    tie_group: int | None = None   # units sharing a group have overlapping intervals
    unit_kind: str = ""

    def __post_init__(self) -> None:
        _estimates(self, "estimate")


@dataclass(frozen=True)
class HeatRow:
    unit_name: str
    values: tuple[Estimate | None, ...]   # aligned with ProvinceReportData.components

    def __post_init__(self) -> None:
        _estimate_tuple(self, "values")


@dataclass(frozen=True)
class ChangeRow:
    """A unit's change since the previous period; pass every unit, the report
    lists those whose decline is significant (interval of the change below 0)."""
    unit_name: str
    current: Estimate | None
    previous: Estimate | None
    change: Estimate | None    # difference current - previous with its interval

    def __post_init__(self) -> None:
        _estimates(self, "current", "previous", "change")


@dataclass(frozen=True)
class ProvinceReportData:
    province_name: str
    period: str
    survey_title: str
    units: tuple[RankedUnit, ...]              # ranked by ranking.rank_units if no rank is set
    components: tuple[tuple[str, str], ...] = tuple(SIPAS_COMPONENTS.items())
    heat: tuple[HeatRow, ...] = ()
    changes: tuple[ChangeRow, ...] = ()
    appendix: tuple[UnitReportData, ...] = ()
    overall: Estimate | None = None        # whole province
    response_count: int = 0
    previous_period: str | None = None
    methods: MethodsInfo | None = None
    generated_at: datetime | None = None
    letterhead: Letterhead | None = None   # Sở Nội vụ's, as for a unit report

    def __post_init__(self) -> None:
        _estimates(self, "overall")
        _tuple(self, "units", "components", "heat", "changes", "appendix")


@dataclass(frozen=True)
class TargetProgress:
    unit_name: str
    responses: int
    quota: int

    @property
    def share(self) -> float:
        return self.responses / self.quota if self.quota > 0 else 0.0


@dataclass(frozen=True)
class ChoiceShare:
    """One answer of a question: its label (never a bare code) and weighted share."""
    code: str                      # the stored value: "2", "18-29"
    label: str                     # what the citizen read: "Từ 18 đến 29 tuổi"
    share: Estimate | None         # logit interval, as for rates

    def __post_init__(self) -> None:
        _estimates(self, "share")


@dataclass(frozen=True)
class GroupRow:
    """One group of a breakdown (e.g. "Nữ"), its values aligned with Breakdown.columns."""
    label: str
    values: tuple[Estimate | None, ...]

    def __post_init__(self) -> None:
        _estimate_tuple(self, "values")


@dataclass(frozen=True)
class Breakdown:
    """A figure by demographic group, with the design-based test of no difference.

    ``test`` is Rao-Scott (a table: group x answer) or Wald (a mean: the index); None
    where no test applies (a multiple-choice question, whose options overlap).
    """
    code: str                      # "AGE", "SEX", "AREA"
    title: str                     # "Nhóm tuổi"
    columns: tuple[str, ...]       # "Tỷ lệ hài lòng" or the answers' labels
    rows: tuple[GroupRow, ...]
    test: GroupTest | None = None

    def __post_init__(self) -> None:
        _tuple(self, "columns", "rows")


@dataclass(frozen=True)
class QuestionResult:
    """A campaign's own question and its results, by type (question_bank.CUSTOM_TYPES).

    likert5: ``rate`` (share 4-5) and ``mean`` (1-5); yesno: ``rate`` (share "có");
    choice / multi: ``shares`` (multi: each option among those who answered, so they may
    add up to more than 100%); text: ``texts``, anonymised by the one comment reader.
    """
    code: str                      # "C1"
    type: str
    text: str
    answered: int = 0
    rate: Estimate | None = None
    mean: Estimate | None = None
    shares: tuple[ChoiceShare, ...] = ()
    texts: tuple[Comment, ...] = ()
    breakdowns: tuple[Breakdown, ...] = ()

    def __post_init__(self) -> None:
        _estimates(self, "rate", "mean")
        _tuple(self, "shares", "texts", "breakdowns")


@dataclass(frozen=True)
class ThematicReportData:
    campaign_title: str
    purpose: str
    opens_on: date
    closes_on: date
    organizer: str                 # "Sở Nội vụ tỉnh ..."
    response_count: int
    overall: Estimate | None = None
    components: tuple[ComponentRow, ...] = ()
    items: tuple[ItemRow, ...] = ()
    targets: tuple[TargetProgress, ...] = ()
    comments: tuple[Comment, ...] = ()
    methods: MethodsInfo | None = None
    generated_at: datetime | None = None
    questions: tuple[QuestionResult, ...] = ()    # the campaign's own questions, in order
    index_breakdowns: tuple[Breakdown, ...] = ()  # the overall index by demographic group

    def __post_init__(self) -> None:
        _estimates(self, "overall")
        _tuple(self, "components", "items", "targets", "comments", "questions", "index_breakdowns")


@dataclass(frozen=True)
class PosterData:
    unit_name: str
    counter_name: str
    url: str                       # full signed URL encoded in the QR code
    short_url: str                 # what a person can type
    privacy_line: str | None = None  # None: the template's standard wording
    letterhead: Letterhead | None = None  # the unit's heading over the poster


class HasRate(Protocol):
    """An item with a satisfaction rate: ItemRow here, aggregates.ItemResult in the app."""

    @property
    def code(self) -> str: ...

    @property
    def rate(self) -> Estimate | None: ...


R = TypeVar("R", bound=HasRate)


def weakest_items(items: Iterable[R], k: int = 3) -> list[R]:
    """The k reliable items with the lowest satisfaction rate, and any item tied with the k-th.

    The one rule for the dashboard (indices.aggregates.UnitSummary.weakest) and the PDFs.
    An unreliable rate (n < 30 or half-width > 10 points) is never named "weakest": its low
    value may be chance. When the k-th and the next are the same estimate (analysis.ties),
    both are shown rather than one picked by code.
    """
    usable = [(i, i.rate) for i in items if i.rate is not None
              and math.isfinite(i.rate.estimate) and i.rate.reliable]
    usable = by_name_within_ties(sorted(usable, key=lambda p: (p[1].estimate, p[0].code)),
                                 lambda p: p[1].estimate, lambda p: p[0].code)
    if len(usable) <= k:
        return [i for i, _ in usable]
    cut = usable[k - 1][1].estimate
    return [i for i, _ in usable[:k]] + [i for i, r in usable[k:] if same(r.estimate, cut)]
