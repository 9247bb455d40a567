"""Bar and trend charts written straight as SVG text (the PDF path of charts.py).

matplotlib took ~40 ms a chart to build a Figure and ~900 SVG nodes a
report that WeasyPrint then walked; these are the same bars, whiskers,
labels and axes in a few hundred plain nodes, built in well under a
millisecond. Every text is placed at its start (widths measured in the
embedded font, textmeasure.py), so WeasyPrint never needs text-anchor
groups. The PNG path (for DOCX) still draws with matplotlib from the same
chartstyle geometry.
"""
from __future__ import annotations

import math
from typing import Sequence

from markupsafe import escape

from ..estimate import Estimate
from .chartstyle import (
    BAR,
    BASE_SIZE,
    CM,
    DOC_FONT_FAMILY,
    GRID,
    INK,
    MUTED,
    NO_DATA,
    VALUE_SIZE,
    WHISKER,
    Bar,
    bar_colour,
    bar_layout,
    has_interval,
    pct_ticks,
    present,
    trend_limits,
    value_label,
)
from .format_vi import format_percent, period_label_short
from .language import gettext, localised
from .textmeasure import advance

# In the language being drawn (analysis/report/language.py): "85,1%" or "85.1%", "6T đầu/2026" or "H1/2026".
pct = localised(format_percent)

TICK = 3.5        # tick length and label padding, points (matplotlib's defaults)
SPINE = 0.8
# Baseline below the centre of a line of text ("va=center"): half the cap height and a bit.
CENTRE_DROP = 0.36
LINE_PITCH = 1.1 * 1.17  # matplotlib's linespacing 1.1 times the font's line height


def _n(v: float) -> str:
    return f"{v:.2f}".rstrip("0").rstrip(".")


class _Svg:
    def __init__(self, width_cm: float, height_cm: float) -> None:
        self.w, self.h = width_cm * CM * 72, height_cm * CM * 72
        self.parts: list[str] = []

    def text(self, x: float, y: float, s: str, size: float, *, anchor: str = "start",
             fill: str = INK) -> None:
        """One line; x is where the anchor falls, y the baseline."""
        if anchor != "start":
            width = advance(s, size)
            x -= width / 2 if anchor == "middle" else width
        colour = "" if fill == INK else f' fill="{fill}"'
        self.parts.append(f'<text x="{_n(x)}" y="{_n(y)}" font-size="{_n(size)}"{colour}>{escape(s)}</text>')

    def centred_lines(self, x: float, y: float, label: str, size: float, anchor: str,
                      fill: str = INK) -> None:
        lines = label.split("\n")
        pitch = size * LINE_PITCH
        first = y - pitch * (len(lines) - 1) / 2 + size * CENTRE_DROP
        for i, line in enumerate(lines):
            self.text(x, first + i * pitch, line, size, anchor=anchor, fill=fill)

    def segments(self, segs: Sequence[tuple[float, float, float, float]], colour: str, width: float) -> None:
        if segs:
            d = "".join(f"M{_n(a)} {_n(b)}L{_n(c)} {_n(e)}" for a, b, c, e in segs)
            self.parts.append(f'<path d="{d}" fill="none" stroke="{colour}" stroke-width="{_n(width)}"/>')

    def done(self) -> str:
        # The style carries the embedded @font-face family, never a system copy of Noto.
        return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{_n(self.w)}pt" height="{_n(self.h)}pt" '
                f'viewBox="0 0 {_n(self.w)} {_n(self.h)}" version="1.1">'
                f'<g style="font-family: \'{DOC_FONT_FAMILY}\'" fill="{INK}">'
                + "".join(self.parts) + "</g></svg>")


def bar_svg(bars: Sequence[Bar], *, width_cm: float, max_label_share: float, label_size: float,
            row_cm: float, show_axis: bool, align_labels: bool) -> str:
    lay = bar_layout(bars, width_cm, max_label_share, label_size, row_cm, show_axis, align_labels)
    svg = _Svg(lay.width_cm, lay.height_cm)
    left, bottom, width, height = lay.axes
    x0, x1 = left * svg.w, (left + width) * svg.w
    yb = svg.h * (1 - bottom)
    yt = yb - height * svg.h
    n = len(bars)
    span = max(n, 1)  # ylim is (-0.6, n - 0.4)

    def X(v: float) -> float:
        return x0 + v * (x1 - x0)

    def Y(y: float) -> float:
        return yb - (y + 0.6) / span * (yb - yt)

    svg.segments([(X(g), yt, X(g), yb) for g in (0.2, 0.4, 0.6, 0.8, 1.0)], GRID, 0.6)
    ys = list(range(n))[::-1]  # first bar at the top
    drawn: list[tuple[int, Estimate, int | None]] = []
    for y, b in zip(ys, bars):
        if present(b.value):
            drawn.append((y, b.value, b.group))
        else:
            svg.text(X(0.01), Y(y) + VALUE_SIZE * CENTRE_DROP, gettext(NO_DATA), VALUE_SIZE, fill=MUTED)
    half = 0.31 * (yb - yt) / span
    for y, v, g in drawn:
        svg.parts.append(f'<rect x="{_n(X(0))}" y="{_n(Y(y) - half)}" width="{_n(X(v.estimate) - X(0))}" '
                         f'height="{_n(2 * half)}" fill="{bar_colour(v, g)}"/>')
    whiskers: list[tuple[float, float, float, float]] = []
    for y, v, _ in drawn:
        if has_interval(v):
            cy = Y(y)
            whiskers += [(X(v.ci_low), cy, X(v.ci_high), cy),
                         (X(v.ci_low), cy - 2.5, X(v.ci_low), cy + 2.5),
                         (X(v.ci_high), cy - 2.5, X(v.ci_high), cy + 2.5)]
    svg.segments(whiskers, WHISKER, 0.9)
    for y, v, _ in drawn:
        right = v.ci_high if math.isfinite(v.ci_high) else v.estimate
        label = value_label(v, pct(v.estimate))
        base = Y(y) + VALUE_SIZE * CENTRE_DROP
        if right > 0.86:  # no room to the right: write inside the bar, left of the whisker
            inside = min(v.ci_low if math.isfinite(v.ci_low) else v.estimate, v.estimate) - 0.01
            svg.text(X(inside), base, label, VALUE_SIZE, anchor="end",
                     fill=INK if v.unreliable else "white")
        else:
            svg.text(X(right + 0.012), base, label, VALUE_SIZE)
    for y, label in zip(ys, lay.labels):
        svg.centred_lines(X(-0.012), Y(y), label, label_size, "end")
    if show_axis:
        svg.segments([(x0, yb, x1, yb)], GRID, SPINE)
        ticks = pct_ticks(0.0, 1.0)
        svg.segments([(X(t), yb, X(t), yb + TICK) for t in ticks], INK, SPINE)
        for t in ticks:
            svg.text(X(t), yb + 2 * TICK + BASE_SIZE * 0.76, pct(t, 0), BASE_SIZE, anchor="middle")
    return svg.done()


def trend_svg(points: Sequence[tuple[str, Estimate | None]], *, width_cm: float, height_cm: float) -> str:
    svg = _Svg(width_cm, height_cm)
    x0, x1 = 0.09 * svg.w, 0.97 * svg.w
    yb = svg.h * (1 - 0.17)
    yt = yb - 0.78 * svg.h
    known = [(x, v) for x, (_p, v) in enumerate(points) if present(v)]
    lo, hi = trend_limits([v for _, v in known])
    xmax = max(0, len(points) - 1) + 0.5

    def X(x: float) -> float:
        return x0 + (x + 0.5) / (xmax + 0.5) * (x1 - x0)

    def Y(v: float) -> float:
        return yb - (v - lo) / (hi - lo) * (yb - yt)

    ticks = [t for t in pct_ticks(lo, min(1.0, round(hi, 1))) if lo - 1e-9 <= t <= hi + 1e-9]
    svg.segments([(x0, Y(t), x1, Y(t)) for t in ticks], GRID, 0.6)
    if known:
        with_ci = [(x, v) for x, v in known if has_interval(v)]
        if with_ci:
            upper = [f"{_n(X(x))},{_n(Y(v.ci_high))}" for x, v in with_ci]
            lower = [f"{_n(X(x))},{_n(Y(v.ci_low))}" for x, v in reversed(with_ci)]
            svg.parts.append(f'<polygon points="{" ".join(upper + lower)}" fill="{BAR}" fill-opacity="0.15"/>')
        line = " ".join(f"{_n(X(x))},{_n(Y(v.estimate))}" for x, v in known)
        svg.parts.append(f'<polyline points="{line}" fill="none" stroke="{BAR}" stroke-width="1.6"/>')
        for x, v in known:
            svg.parts.append(f'<circle cx="{_n(X(x))}" cy="{_n(Y(v.estimate))}" r="2" fill="{BAR}"/>')
        for x, v in known:
            svg.text(X(x), Y(v.estimate) - 7, pct(v.estimate), VALUE_SIZE, anchor="middle")
    else:
        svg.text((x0 + x1) / 2, (yt + yb) / 2, gettext(NO_DATA), BASE_SIZE, anchor="middle")
    svg.segments([(x0, yt, x0, yb), (x0, yb, x1, yb)], GRID, SPINE)
    svg.segments([(x0 - TICK, Y(t), x0, Y(t)) for t in ticks]
                 + [(X(x), yb, X(x), yb + TICK) for x in range(len(points))], INK, SPINE)
    for t in ticks:
        svg.text(x0 - 2 * TICK, Y(t) + BASE_SIZE * CENTRE_DROP, pct(t, 0), BASE_SIZE, anchor="end")
    for x, (p, _v) in enumerate(points):
        svg.text(X(x), yb + 2 * TICK + BASE_SIZE * 0.76, localised(period_label_short)(p), BASE_SIZE, anchor="middle")
    return svg.done()

