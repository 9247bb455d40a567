"""Plain, frozen input records for the PDF reports.

Whoever assembles a report (the web app, a CLI, a test) fills these from
the estimators' results; rendering never queries anything. Estimate fields
accept any object with the estimator attributes (estimate, ci_low, ci_high,
n, ...); they are normalised to `EstimateView` on construction, so the
templates see one shape only.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Iterable, Protocol, TypeVar

from ..ties import by_name_within_ties, same

__all__ = [
    "MIN_RELIABLE_N", "MAX_RELIABLE_HALF_WIDTH", "SIPAS_COMPONENTS",
    "EstimateLike", "EstimateView", "as_view",
    "ComponentRow", "ItemRow", "TrendPoint", "Comment", "MethodsInfo",
    "UnitReportData", "RankedUnit", "HeatRow", "ChangeRow", "ProvinceReportData",
    "TargetProgress", "ThematicReportData", "PosterData", "weakest_items",
    "METHOD_LABELS", "ci_method_text",
]

T = TypeVar("T")

# DESIGN.md §5: n < 30 or a half-width over 10 points is "không đủ độ tin cậy".
MIN_RELIABLE_N = 30
MAX_RELIABLE_HALF_WIDTH = 0.10

# Default component names (DESIGN.md §4); callers may pass their own names.
SIPAS_COMPONENTS: dict[str, str] = {
    "A1": "Tiếp cận dịch vụ",
    "A2": "Thủ tục hành chính",
    "A3": "Công chức",
    "A4": "Kết quả",
    "A5": "Tiếp nhận, xử lý phản ánh, kiến nghị",
    "A6": "Dịch vụ công trực tuyến",
}


class EstimateLike(Protocol):
    estimate: float
    ci_low: float
    ci_high: float
    n: int


@dataclass(frozen=True)
class EstimateView:
    """What a report shows of an estimate. Rates are proportions in [0, 1]."""
    estimate: float | None
    ci_low: float | None = None
    ci_high: float | None = None
    n: int = 0
    unreliable: bool = False
    n_eff: float | None = None
    deff: float | None = None
    method: str | None = None      # the interval it got (analysis.estimators.CI_METHODS, ...)

    @property
    def missing(self) -> bool:
        return self.estimate is None

    @property
    def half_width(self) -> float | None:
        if self.ci_low is None or self.ci_high is None:
            return None
        return (self.ci_high - self.ci_low) / 2


def _num(x: Any) -> float | None:
    if x is None:
        return None
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if v == v and v not in (float("inf"), float("-inf")) else None


def as_view(obj: Any, *, proportion: bool = True) -> EstimateView | None:
    """Normalise an estimator result (or None) to an EstimateView.

    The reliability flag is taken from the object when it carries one
    (`unreliable` or `flag`); otherwise the DESIGN.md rule is applied. The
    half-width rule is in proportion units, so it is skipped for mean scores.
    """
    if obj is None:
        return None
    if isinstance(obj, EstimateView):
        return obj
    est = _num(getattr(obj, "estimate", None))
    lo, hi = _num(getattr(obj, "ci_low", None)), _num(getattr(obj, "ci_high", None))
    n = int(getattr(obj, "n", 0) or 0)
    flag = getattr(obj, "unreliable", getattr(obj, "flag", None))
    if not isinstance(flag, bool):
        flag = est is None or n < MIN_RELIABLE_N
        if proportion and lo is not None and hi is not None:
            flag = flag or (hi - lo) / 2 > MAX_RELIABLE_HALF_WIDTH
    method = getattr(obj, "method", None)
    return EstimateView(est, lo, hi, n, flag,
                        _num(getattr(obj, "n_eff", None)), _num(getattr(obj, "deff", None)),
                        method if isinstance(method, str) else None)


# How each interval method is named in a report (keys: Estimate.method / index_table "method").
METHOD_LABELS: dict[str, str] = {
    "mean": "t (Student)",
    "logit": "logit",
    "beta": "Korn–Graubard",
    "wilson": "Wilson",
    "difference": "t (Student) trên hiệu số, bậc tự do của hai kỳ cộng lại",
    "JK1": "jackknife",
    "JKn": "jackknife",
}


def ci_method_text(groups: Iterable[tuple[str, Iterable[Any]]]) -> str:
    """What a report prints as its interval methods, read from the estimates themselves.

    `groups` are (what, estimates) pairs, e.g. ("chỉ số chung và thành phần", [...]); each
    names the methods its estimates carry, so a label can never say logit for a t interval.
    """
    parts = []
    for what, estimates in groups:
        found = {v.method for v in map(as_view, estimates) if v is not None and v.method}
        if found:
            labels = [label for key, label in METHOD_LABELS.items() if key in found]
            labels += sorted(found - METHOD_LABELS.keys())
            parts.append(f"{what}: {', '.join(dict.fromkeys(labels))}")
    return "phương sai Taylor; " + "; ".join(parts) if parts else ""


def _set(obj: Any, name: str, value: Any) -> None:
    object.__setattr__(obj, name, value)  # frozen dataclasses normalise in __post_init__


def _views(obj: Any, *names: str, proportion: bool = True) -> None:
    for name in names:
        _set(obj, name, as_view(getattr(obj, name), proportion=proportion))


@dataclass(frozen=True)
class ComponentRow:
    code: str                      # "A1"
    name: str                      # "Tiếp cận dịch vụ"
    estimate: EstimateView | None

    def __post_init__(self) -> None:
        _views(self, "estimate")


@dataclass(frozen=True)
class ItemRow:
    code: str                      # "A3.2"
    text: str                      # question wording as the citizen read it
    rate: EstimateView | None      # share answering 4-5
    mean: EstimateView | None = None   # mean score on 1-5
    component: str = ""            # "A3"; derived from the code when empty

    def __post_init__(self) -> None:
        _views(self, "rate")
        _views(self, "mean", proportion=False)
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
    estimate: EstimateView | None

    def __post_init__(self) -> None:
        _views(self, "estimate")


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
    overall: EstimateView | None
    overall_previous: EstimateView | None = None
    previous_period: str | None = None
    # Difference current - previous with its interval, from the estimators;
    # without it the report states the change but makes no claim of significance.
    overall_change: EstimateView | None = None
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
    verified_overall: EstimateView | None = None

    def __post_init__(self) -> None:
        _views(self, "overall", "overall_previous", "overall_change", "verified_overall")
        _tuple(self, "components", "items", "trend", "comments")


@dataclass(frozen=True)
class RankedUnit:
    unit_name: str
    estimate: EstimateView | None
    responses: int = 0
    rank: int | None = None        # None: not ranked (unreliable or no data)
    tie_group: int | None = None   # units sharing a group have overlapping intervals
    unit_kind: str = ""

    def __post_init__(self) -> None:
        _views(self, "estimate")


@dataclass(frozen=True)
class HeatRow:
    unit_name: str
    values: tuple[EstimateView | None, ...]   # aligned with ProvinceReportData.components

    def __post_init__(self) -> None:
        _set(self, "values", tuple(as_view(v) for v in self.values))


@dataclass(frozen=True)
class ChangeRow:
    """A unit's change since the previous period; pass every unit, the report
    lists those whose decline is significant (interval of the change below 0)."""
    unit_name: str
    current: EstimateView | None
    previous: EstimateView | None
    change: EstimateView | None    # difference current - previous with its interval

    def __post_init__(self) -> None:
        _views(self, "current", "previous", "change")


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
    overall: EstimateView | None = None        # whole province
    response_count: int = 0
    previous_period: str | None = None
    methods: MethodsInfo | None = None
    generated_at: datetime | None = None

    def __post_init__(self) -> None:
        _views(self, "overall")
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
class ThematicReportData:
    campaign_title: str
    purpose: str
    opens_on: date
    closes_on: date
    organizer: str                 # "Sở Nội vụ tỉnh ..."
    response_count: int
    overall: EstimateView | None = None
    components: tuple[ComponentRow, ...] = ()
    items: tuple[ItemRow, ...] = ()
    targets: tuple[TargetProgress, ...] = ()
    comments: tuple[Comment, ...] = ()
    methods: MethodsInfo | None = None
    generated_at: datetime | None = None

    def __post_init__(self) -> None:
        _views(self, "overall")
        _tuple(self, "components", "items", "targets", "comments")


@dataclass(frozen=True)
class PosterData:
    unit_name: str
    counter_name: str
    url: str                       # full signed URL encoded in the QR code
    short_url: str                 # what a person can type
    privacy_line: str | None = None  # None: the template's standard wording


def weakest_items(items: Iterable[T], k: int = 3) -> list[T]:
    """The k reliable items with the lowest satisfaction rate, and any item tied with the k-th.

    The one rule for the dashboard (services.aggregates.UnitSummary.weakest) and the PDFs.
    Items are anything with ``code`` and ``rate`` (an estimate with ``estimate`` and
    ``unreliable``). An unreliable rate (n < 30 or half-width > 10 points) is never named
    "weakest": its low value may be chance. When the k-th and the next are the same estimate
    (analysis.ties), both are shown rather than one picked by code.
    """
    usable = [i for i in items if i.rate is not None and _num(i.rate.estimate) is not None
              and not i.rate.unreliable]
    usable = by_name_within_ties(sorted(usable, key=lambda i: (i.rate.estimate, i.code)),
                                 lambda i: i.rate.estimate, lambda i: i.code)
    if len(usable) <= k:
        return usable
    cut = usable[k - 1].rate.estimate
    return usable[:k] + [i for i in usable[k:] if same(i.rate.estimate, cut)]
