"""Charts for the reports: SVG for the PDFs, PNG (e.g. for DOCX) from the same calls.

`bar_chart`, `comparison_chart` and `trend_chart` return SVG markup by
default, written directly as SVG text (svgdraw.py): matplotlib's per-figure
cost (~40 ms a chart) and its ~900-node SVGs were most of a unit report's
rendering time. `fmt="png"` draws the same chart (same bars, labels,
intervals; geometry from chartstyle.py) with matplotlib's Agg canvas and
returns PNG bytes, for documents that cannot hold SVG.

Text stays text in the SVG, set in the document's own embedded family (the
Noto Sans files shipped in fonts/), measured with those files: chart labels
stay searchable in the PDF.
"""
from __future__ import annotations

import base64
import io
import math
from typing import TYPE_CHECKING, Any, Literal, Sequence, overload

import matplotlib
from matplotlib import font_manager
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, FuncFormatter

from ..estimate import Estimate
from . import svgdraw
from .chartstyle import (
    BAR,
    FONT_FAMILY,
    GRID,
    INK,
    MUTED,
    NO_DATA,
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
from .language import N_, current_locale, gettext
from .textmeasure import FONT_DIR, lock, text_width, wrap

if TYPE_CHECKING:
    from matplotlib.typing import RcKeyType

__all__ = ["Bar", "bar_chart", "svg_data_uri", "trend_chart", "comparison_chart", "heat_colour", "FONT_DIR"]

# Older names, kept for callers and tests that measure labels.
_text_width = text_width
_wrap = wrap
_present = present
_has_interval = has_interval
_CM = 1 / 2.54
_fonts_ready = False
ChartFormat = Literal["svg", "png"]
Format = ChartFormat
PNG_DPI = 200


def _register_fonts() -> None:
    """Make matplotlib use our bundled Noto Sans, not a system copy."""
    global _fonts_ready
    if _fonts_ready:
        return
    for path in sorted(FONT_DIR.glob("*.ttf")):
        font_manager.fontManager.addfont(str(path))
    # findfont keeps the first of equally good matches; put ours first.
    ours = str(FONT_DIR)
    font_manager.fontManager.ttflist.sort(key=lambda e: not str(e.fname).startswith(ours))
    _fonts_ready = True


_RC: dict[RcKeyType, Any] = {
    "font.family": FONT_FAMILY,
    "font.size": 8.5,
    "axes.edgecolor": GRID,
    "axes.labelcolor": INK,
    "xtick.color": INK,
    "ytick.color": INK,
    "text.color": INK,
    "axes.unicode_minus": False,
}


def _pct_axis(ax: Axes, axis: str = "x", lo: float = 0.0, hi: float = 1.0) -> None:
    fmt = FuncFormatter(lambda v, _pos: format_percent(float(v), 0, locale=current_locale()))
    target = ax.xaxis if axis == "x" else ax.yaxis
    target.set_major_locator(FixedLocator(pct_ticks(lo, hi)))
    target.set_major_formatter(fmt)


def _to_png(fig: Figure) -> bytes:
    # Agg, not pyplot: no global figure state, no process-wide matplotlib.use().
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    buf = io.BytesIO()
    FigureCanvasAgg(fig)  # attaches itself to the figure
    fig.savefig(buf, format="png", dpi=PNG_DPI)
    return buf.getvalue()


def svg_data_uri(svg: str) -> str:
    """The chart as a data: URI for <img>, still embedded in the HTML.

    As an image, the SVG skips WeasyPrint's HTML parser and CSS cascade,
    which cost ~0,3 s per report when the charts were inline <svg> elements.
    """
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


def _figure(width_cm: float, height_cm: float) -> Figure:
    _register_fonts()
    return Figure(figsize=(width_cm * _CM, height_cm * _CM))


def _draw_bars(ax: Axes, bars: Sequence[Bar], labels: list[str], label_size: float,
               show_axis: bool) -> None:
    ys = list(range(len(bars)))[::-1]  # first bar at the top
    drawn: list[tuple[int, Estimate, int | None]] = []
    for y, b in zip(ys, bars):
        if present(b.value):
            drawn.append((y, b.value, b.group))
        else:
            ax.text(0.01, y, gettext(NO_DATA), va="center", fontsize=7.5, color=MUTED)
    # One barh and one errorbar call per chart: matplotlib's per-call cost dominates otherwise.
    if drawn:
        ax.barh([y for y, _, _ in drawn], [v.estimate for _, v, _ in drawn], height=0.62,
                color=[bar_colour(v, g) for _, v, g in drawn], zorder=2)
        ci = [(y, v) for y, v, _ in drawn if has_interval(v)]
        if ci:
            ax.errorbar([v.estimate for _, v in ci], [y for y, _ in ci],
                        xerr=[[v.estimate - v.ci_low for _, v in ci], [v.ci_high - v.estimate for _, v in ci]],
                        fmt="none", ecolor=WHISKER, elinewidth=0.9, capsize=2.5, zorder=3)
    for y, v, _ in drawn:
        right = v.ci_high if math.isfinite(v.ci_high) else v.estimate
        label = value_label(v, format_percent(v.estimate, locale=current_locale()))
        if right > 0.86:  # no room to the right: write inside the bar, left of the whisker
            ax.text(min(v.ci_low if math.isfinite(v.ci_low) else v.estimate, v.estimate) - 0.01, y,
                    label, va="center", ha="right", fontsize=7.5, zorder=4,
                    color=INK if v.unreliable else "white")
        else:
            ax.text(right + 0.012, y, label, va="center", fontsize=7.5, zorder=4)
    # Labels and grid as plain artists, not ticks: matplotlib's Tick objects
    # were half the cost of a chart.
    ax.set_yticks([])
    for y, label in zip(ys, labels):
        ax.text(-0.012, y, label, ha="right", va="center", fontsize=label_size,
                linespacing=1.1, clip_on=False)
    ax.vlines([0.2, 0.4, 0.6, 0.8, 1.0], -0.6, len(bars) - 0.4, colors=GRID, linewidth=0.6, zorder=0)
    ax.set_xlim(0, 1)
    ax.set_ylim(-0.6, len(bars) - 0.4)
    if show_axis:
        _pct_axis(ax, "x")
    else:  # values are written on the bars; the grid is enough
        ax.set_xticks([])
    for side in ("top", "right", "left") + (() if show_axis else ("bottom",)):
        ax.spines[side].set_visible(False)


@overload
def bar_chart(bars: Sequence[Bar], *, width_cm: float = ..., max_label_share: float = ...,
              label_size: float = ..., row_cm: float = ..., show_axis: bool = ...,
              align_labels: bool = ..., fmt: Literal["svg"] = ...) -> str: ...
@overload
def bar_chart(bars: Sequence[Bar], *, width_cm: float = ..., max_label_share: float = ...,
              label_size: float = ..., row_cm: float = ..., show_axis: bool = ...,
              align_labels: bool = ..., fmt: Literal["png"]) -> bytes: ...
@overload
def bar_chart(bars: Sequence[Bar], *, width_cm: float = ..., max_label_share: float = ...,
              label_size: float = ..., row_cm: float = ..., show_axis: bool = ...,
              align_labels: bool = ..., fmt: ChartFormat) -> str | bytes: ...
def bar_chart(bars: Sequence[Bar], *, width_cm: float = 17.0, max_label_share: float = 0.42,
              label_size: float = 8.0, row_cm: float = 0.6, show_axis: bool = True,
              align_labels: bool = False, fmt: Format = "svg") -> str | bytes:
    """Horizontal bars (satisfaction rate) with 95% interval whiskers: SVG markup, or PNG bytes.

    Labels are wrapped to at most two lines measured in the real font, and
    the plot starts right after the widest label, so nothing is clipped.
    align_labels=True starts the plot at max_label_share instead, so that a
    series of charts on one page share their left edge.
    """
    bars = list(bars)
    if fmt == "svg":
        return svgdraw.bar_svg(bars, width_cm=width_cm, max_label_share=max_label_share,
                               label_size=label_size, row_cm=row_cm, show_axis=show_axis,
                               align_labels=align_labels)
    lay = bar_layout(bars, width_cm, max_label_share, label_size, row_cm, show_axis, align_labels)
    with lock, matplotlib.rc_context(_RC):
        fig = _figure(lay.width_cm, lay.height_cm)
        _draw_bars(fig.add_axes(lay.axes), bars, lay.labels, label_size, show_axis)
        return _to_png(fig)


@overload
def comparison_chart(bars: Sequence[Bar], *, width_cm: float = ..., fmt: Literal["svg"] = ...) -> str: ...
@overload
def comparison_chart(bars: Sequence[Bar], *, width_cm: float = ..., fmt: Literal["png"]) -> bytes: ...
@overload
def comparison_chart(bars: Sequence[Bar], *, width_cm: float = ..., fmt: ChartFormat) -> str | bytes: ...
def comparison_chart(bars: Sequence[Bar], *, width_cm: float = 17.0, fmt: Format = "svg") -> str | bytes:
    """Ranked units (best first) with intervals; tie groups alternate colour."""
    return bar_chart(bars, width_cm=width_cm, max_label_share=0.36, row_cm=0.5, fmt=fmt)


@overload
def trend_chart(points: Sequence[tuple[str, Estimate | None]], *, width_cm: float = ...,
                height_cm: float = ..., fmt: Literal["svg"] = ...) -> str: ...
@overload
def trend_chart(points: Sequence[tuple[str, Estimate | None]], *, width_cm: float = ...,
                height_cm: float = ..., fmt: Literal["png"]) -> bytes: ...
@overload
def trend_chart(points: Sequence[tuple[str, Estimate | None]], *, width_cm: float = ...,
                height_cm: float = ..., fmt: ChartFormat) -> str | bytes: ...
def trend_chart(points: Sequence[tuple[str, Estimate | None]], *,
                width_cm: float = 17.0, height_cm: float = 5.5, fmt: Format = "svg") -> str | bytes:
    """Overall index over periods (oldest first) with its 95% interval as a band."""
    if fmt == "svg":
        return svgdraw.trend_svg(points, width_cm=width_cm, height_cm=height_cm)
    with lock, matplotlib.rc_context(_RC):
        fig = _figure(width_cm, height_cm)
        ax = fig.add_axes((0.09, 0.17, 0.88, 0.78))
        xs = list(range(len(points)))
        known = [(x, v) for x, (_p, v) in zip(xs, points) if present(v)]
        lo, hi = trend_limits([v for _, v in known])
        if known:
            with_ci = [(x, v) for x, v in known if has_interval(v)]
            if with_ci:
                ax.fill_between([x for x, _ in with_ci], [v.ci_low for _, v in with_ci],
                                [v.ci_high for _, v in with_ci], color=BAR, alpha=0.15,
                                linewidth=0, label=gettext(N_("khoảng tin cậy 95%")))
            ax.plot([x for x, _ in known], [v.estimate for _, v in known], color=BAR, marker="o",
                    markersize=4, linewidth=1.6)
            for x, v in known:
                ax.annotate(format_percent(v.estimate, locale=current_locale()), (x, v.estimate),
                            textcoords="offset points", xytext=(0, 7), ha="center", fontsize=7.5)
        else:
            ax.text(0.5, 0.5, gettext(NO_DATA), transform=ax.transAxes, ha="center")
        ax.set_ylim(lo, hi)
        _pct_axis(ax, "y", lo, min(1.0, round(hi, 1)))
        ax.set_xticks(xs, [period_label_short(p, current_locale()) for p, _ in points])
        ax.set_xlim(-0.5, max(0, len(points) - 1) + 0.5)
        ax.grid(axis="y", color=GRID, linewidth=0.6)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        return _to_png(fig)


def heat_colour(value: Estimate | None) -> str:
    """Background for a heat-table cell: red (≤60%) through yellow to green (≥95%).

    Unreliable or missing cells are grey so they never read as a result.
    """
    if not present(value):
        return "#eef0f3"
    if value.unreliable:
        return "#e2e5ea"
    t = min(1.0, max(0.0, (value.estimate - 0.60) / 0.35))
    stops = ((0.0, (0xf4, 0xa5, 0x9a)), (0.5, (0xfb, 0xe3, 0x8e)), (1.0, (0x9b, 0xd7, 0xa0)))
    for (t0, c0), (t1, c1) in zip(stops, stops[1:]):
        if t <= t1:
            f = (t - t0) / (t1 - t0)
            rgb = [round(a + (b - a) * f) for a, b in zip(c0, c1)]
            return "#%02x%02x%02x" % tuple(rgb)
    return "#9bd7a0"
