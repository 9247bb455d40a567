"""What a chart shows, shared by its two drawings (direct SVG for PDFs, matplotlib for PNG).

Colours, the Bar record and the page geometry of a bar chart live here once,
so the SVG and the PNG of the same call show the same bars, labels and
intervals in the same places.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

from ..estimate import Estimate
from .language import N_
from .textmeasure import text_width, wrap

if TYPE_CHECKING:
    from typing_extensions import TypeIs

FONT_FAMILY = "Noto Sans"            # the family name inside the font files
DOC_FONT_FAMILY = "SIPAS Noto Sans"  # the @font-face name in templates/reports/base.html
INK = "#1f2933"
BAR = "#2b6cb0"
BAR_WEAK = "#b8c4d0"       # unreliable estimates: pale, so they do not read as results
WHISKER = "#1a202c"
GRID = "#d9dee5"
MUTED = "#6b7785"
TIE_COLOURS = ("#2b6cb0", "#4a90c8")
NO_DATA = N_("chưa có dữ liệu")  # drawn through gettext() in the report's language
CM = 1 / 2.54
BASE_SIZE = 8.5            # tick labels and other default text, in points
VALUE_SIZE = 7.5           # the figure written next to each bar or point


def present(v: Estimate | None) -> TypeIs[Estimate]:
    """An estimate to draw: NaN (R's NA) is drawn as "no data", like None."""
    return v is not None and math.isfinite(v.estimate)


def has_interval(v: Estimate) -> bool:
    return math.isfinite(v.ci_low) and math.isfinite(v.ci_high)


@dataclass(frozen=True)
class Bar:
    label: str
    value: Estimate | None
    group: int | None = None   # tie group, for colouring ranked bars


def bar_colour(v: Estimate, group: int | None) -> str:
    return BAR_WEAK if v.unreliable else TIE_COLOURS[group % 2] if group is not None else BAR


@dataclass(frozen=True)
class BarLayout:
    """Sizes of a bar chart: figure in cm, axes as fractions of the figure (matplotlib's)."""
    width_cm: float
    height_cm: float
    labels: list[str]
    axes: tuple[float, float, float, float]   # left, bottom, width, height


def bar_layout(bars: Sequence[Bar], width_cm: float, max_label_share: float, label_size: float,
               row_cm: float, show_axis: bool, align_labels: bool) -> BarLayout:
    """Labels wrapped to at most two measured lines; the plot starts after the widest one."""
    fig_pt = width_cm * CM * 72
    labels = [wrap(b.label, max_label_share * fig_pt, label_size) for b in bars]
    widest = max((text_width(line, label_size) for lab in labels for line in lab.split("\n")),
                 default=0.0)
    lines = max((lab.count("\n") + 1 for lab in labels), default=1)
    row_cm = max(row_cm, lines * label_size * 1.25 / 72 * 2.54 + 0.12)
    bottom = 0.9 if show_axis else 0.15
    height = bottom + 0.2 + row_cm * max(1, len(bars))
    left = max_label_share + 0.01 if align_labels else (widest + 8) / fig_pt
    return BarLayout(width_cm, height, labels,
                     (left, bottom / height, 0.96 - left, 1 - (bottom + 0.15) / height))


def value_label(v: Estimate, fmt: str) -> str:
    return fmt + (" *" if v.unreliable else "")


def trend_limits(known: Sequence[Estimate]) -> tuple[float, float]:
    """The y range of a trend chart: whole tenths around every interval, within 0–100%."""
    if not known:
        return 0.0, 1.0
    lows = [v.ci_low if math.isfinite(v.ci_low) else v.estimate for v in known]
    highs = [v.ci_high if math.isfinite(v.ci_high) else v.estimate for v in known]
    lo = max(0.0, (int(min(lows) * 10) / 10) - 0.1)
    hi = min(1.0, (int(max(highs) * 10) + 1) / 10 + 0.05)
    return lo, hi


def pct_ticks(lo: float, hi: float) -> list[float]:
    step = 0.2 if hi - lo > 0.5 else 0.1
    return [round(lo + i * step, 6) for i in range(int(round((hi - lo) / step)) + 1)]
