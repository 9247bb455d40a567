"""Geometry for the dashboards' inline SVG charts: plain numbers the templates draw.

Hand-made SVG rather than matplotlib: a dashboard chart is a few rectangles and lines, the
page stays small, needs no JavaScript, and the browser's own font renders the diacritics.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Sequence

from analysis import Estimate


@dataclass(frozen=True)
class Scale:
    """Maps a proportion in [lo, hi] to pixels in [left, left + width]."""

    lo: float
    hi: float
    left: float
    width: float

    def x(self, value: float) -> float:
        return round(self.left + (value - self.lo) / (self.hi - self.lo) * self.width, 1)

    def ticks(self, step: float = 0.1) -> list[tuple[float, float]]:
        n = int(round((self.hi - self.lo) / step))
        return [(self.lo + i * step, self.x(self.lo + i * step)) for i in range(n + 1)]


def scale_for(values: Sequence[float | None], left: float, width: float) -> Scale:
    """0-100% unless every value is high: then from the nearest 10% below the lowest."""
    present = [v for v in values if v is not None and math.isfinite(v)]
    lo = min(present, default=0.0)
    lo = max(0.0, math.floor(lo * 10 - 0.5) / 10) if lo > 0.5 else 0.0
    return Scale(lo, 1.0, left, width)


@dataclass(frozen=True)
class IntervalRow:
    label: str
    y: float
    x: float | None        # estimate
    x_low: float | None
    x_high: float | None
    unreliable: bool
    est: Estimate | None


def interval_rows(items: Sequence[tuple[str, Estimate | None]], scale: Scale,
                  row_height: float = 26, top: float = 8) -> list[IntervalRow]:
    """A bar to the estimate with its 95% interval as a whisker, one row per item."""
    out = []
    for i, (label, est) in enumerate(items):
        y = top + i * row_height
        if est is None:
            out.append(IntervalRow(label, y, None, None, None, True, None))
            continue
        clip = lambda v: scale.x(min(max(v, scale.lo), scale.hi)) if math.isfinite(v) else None  # noqa: E731
        out.append(IntervalRow(label, y, clip(est.estimate), clip(est.ci_low), clip(est.ci_high),
                               est.unreliable, est))
    return out


@dataclass(frozen=True)
class TrendPoint:
    period: str
    x: float
    y: float | None
    y_low: float | None
    y_high: float | None
    est: Estimate | None


@dataclass(frozen=True)
class TrendFrame:
    """The trend chart's drawing area: margins leave room for the axes' ticks and titles."""

    width: float = 640
    height: float = 220
    left: float = 60      # y tick labels and the rotated y-axis title
    right: float = 24
    top: float = 20       # the value written above the highest point
    bottom: float = 48    # period labels and the x-axis title

    @property
    def plot_bottom(self) -> float:
        return self.height - self.bottom

    def y(self, value: float) -> float:
        """A proportion (0-1) up the y axis."""
        return round(self.plot_bottom - value * (self.plot_bottom - self.top), 1)

    def grid(self) -> list[tuple[float, float]]:
        return [(v, self.y(v)) for v in (0.0, 0.25, 0.5, 0.75, 1.0)]


TREND = TrendFrame()


def trend_points(points: Sequence[tuple[str, Estimate | None]], frame: TrendFrame = TREND
                 ) -> tuple[list[TrendPoint], str]:
    """Points (proportion up the y axis, 0-100%) and the polyline through them.

    Periods without an estimate are left out, not drawn as gaps at zero: the axis lists only
    periods that have figures, spread evenly across the width.
    """
    present = [(period, est) for period, est in points if est is not None]
    inner = frame.width - frame.left - frame.right
    step = inner / max(len(present) - 1, 1)
    out = []
    for i, (period, est) in enumerate(present):
        x = round(frame.left + (i * step if len(present) > 1 else inner / 2), 1)
        out.append(TrendPoint(period, x, frame.y(est.estimate),
                              frame.y(est.ci_low) if math.isfinite(est.ci_low) else None,
                              frame.y(est.ci_high) if math.isfinite(est.ci_high) else None, est))
    line = " ".join(f"{p.x},{p.y}" for p in out)
    return out, line


@dataclass(frozen=True)
class Column:
    day: date
    count: int
    x: float
    height: float


def day_columns(days: Sequence[tuple[date, int]], width: float = 640, height: float = 90
                ) -> tuple[list[Column], float]:
    """One column per calendar day from the first to the last response; empty days show 0."""
    if not days:
        return [], 0
    first, last = days[0][0], days[-1][0]
    counts = dict(days)
    span = (last - first).days + 1
    step = width / span
    top = max(counts.values())

    cols = []
    for i in range(span):
        d = first + timedelta(days=i)
        n = counts.get(d, 0)
        cols.append(Column(d, n, round(i * step, 1), round(n / top * height, 1)))
    return cols, round(max(step - 1, 1), 1)
