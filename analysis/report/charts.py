"""SVG charts for the PDF reports, drawn with matplotlib's SVG backend (PNG for Word).

No pyplot: each chart is a standalone Figure with its own SVG canvas, so
there is no global figure state and rendering can run in worker threads.
Text stays text (svg.fonttype "none") and is set in the document's own
embedded font family, the Noto Sans files shipped in fonts/: matplotlib
measures labels with those files, WeasyPrint draws them with the same
files. Glyph paths were tried first: identical look, but they made the
SVG six times larger and WeasyPrint's SVG path parser took ~3 s a report.
Text also keeps chart labels searchable in the PDF.

Word documents (analysis/report/docx_writer.py) cannot show SVG everywhere officials open
them, so every chart function takes fmt="png" and draws the same figure with the Agg canvas.
"""
from __future__ import annotations

import base64
import io
import math
import re
import threading
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Sequence, overload

import matplotlib
from matplotlib import font_manager
from matplotlib.axes import Axes

# The SVG canvas is used directly, never pyplot: no GUI or Agg backend, and no
# process-wide matplotlib.use() that would surprise other code in the web app.
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, FuncFormatter

from ..estimate import Estimate
from .format_vi import format_percent, period_label_short
from .language import N_, current_locale, gettext

if TYPE_CHECKING:
    from matplotlib.typing import RcKeyType
    from typing_extensions import TypeIs

__all__ = ["Bar", "bar_chart", "svg_data_uri", "trend_chart", "comparison_chart", "heat_colour", "FONT_DIR"]

FONT_DIR = Path(__file__).resolve().parent / "fonts"
FONT_FAMILY = "Noto Sans"            # the family name inside the font files
DOC_FONT_FAMILY = "SIPAS Noto Sans"  # the @font-face name in templates/reports/base.html
NO_DATA = N_("chưa có dữ liệu")

INK = "#1f2933"
BAR = "#2b6cb0"
BAR_WEAK = "#b8c4d0"       # unreliable estimates: pale, so they do not read as results
WHISKER = "#1a202c"
GRID = "#d9dee5"
TIE_COLOURS = ("#2b6cb0", "#4a90c8")

_CM = 1 / 2.54
_fonts_ready = False
# matplotlib shares font objects and rcParams between figures; one chart at a time.
_lock = threading.RLock()


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
    "svg.fonttype": "none",
    "svg.hashsalt": "sipas-report",  # deterministic clip-path ids
    "axes.edgecolor": GRID,
    "axes.labelcolor": INK,
    "xtick.color": INK,
    "ytick.color": INK,
    "text.color": INK,
    "axes.unicode_minus": False,
}


def _present(v: Estimate | None) -> TypeIs[Estimate]:
    """An estimate to draw: NaN (R's NA) is drawn as "no data", like None."""
    return v is not None and math.isfinite(v.estimate)


def _has_interval(v: Estimate) -> bool:
    return math.isfinite(v.ci_low) and math.isfinite(v.ci_high)


@dataclass(frozen=True)
class Bar:
    label: str
    value: Estimate | None
    group: int | None = None   # tie group, for colouring ranked bars


@lru_cache(maxsize=8192)
def _text_width(text: str, size: float) -> float:
    """Width in points of one line of `text` set in the bundled regular face.

    Cached: FreeType layout costs ~0,5 ms a call, and the same question
    texts recur in every report of a batch.
    """
    with _lock:
        font = font_manager.get_font(str(FONT_DIR / "NotoSans-Regular.ttf"))
        font.set_size(size, 72)
        font.set_text(text, 0.0)
        return font.get_width_height()[0] / 64


@lru_cache(maxsize=4096)
def _wrap(text: str, max_pt: float, size: float, lines: int = 2) -> str:
    """Word-wrap to a measured width; the last allowed line ends in "…" if cut."""
    text = unicodedata.normalize("NFC", " ".join(text.split()))
    if _text_width(text, size) <= max_pt:
        return text
    words = text.split(" ")
    out: list[str] = []
    line = ""
    for i, word in enumerate(words):
        trial = f"{line} {word}".strip()
        if not line or _text_width(trial, size) <= max_pt:
            line = trial
            continue
        out.append(line)
        line = word
        if len(out) == lines - 1:
            rest = " ".join(words[i:])
            if _text_width(rest, size) > max_pt:
                # Longest prefix that fits with the ellipsis (binary search: few font calls).
                lo, hi = 0, len(rest)
                while lo < hi:
                    mid = (lo + hi + 1) // 2
                    if _text_width(rest[:mid] + "…", size) <= max_pt:
                        lo = mid
                    else:
                        hi = mid - 1
                rest = rest[:lo].rstrip(" ,;") + "…"
            out.append(rest)
            return "\n".join(out)
    out.append(line)
    return "\n".join(out)


def _pct_axis(ax: Axes, axis: str = "x", lo: float = 0.0, hi: float = 1.0) -> None:
    fmt = FuncFormatter(lambda v, _pos: format_percent(float(v), 0, locale=current_locale()))
    step = 0.2 if hi - lo > 0.5 else 0.1
    ticks = [round(lo + i * step, 6) for i in range(int(round((hi - lo) / step)) + 1)]
    target = ax.xaxis if axis == "x" else ax.yaxis
    target.set_major_locator(FixedLocator(ticks))
    target.set_major_formatter(fmt)


def _to_svg(fig: Figure) -> str:
    buf = io.StringIO()
    # matplotlib's SVG canvas methods carry no annotations.
    FigureCanvasSVG(fig).print_svg(buf)  # type: ignore[no-untyped-call]
    svg = buf.getvalue()
    svg = svg[svg.index("<svg"):]  # drop XML declaration and DOCTYPE
    svg = re.sub(r"<metadata>.*?</metadata>", "", svg, flags=re.S)
    # Point text at the embedded @font-face, never at a system copy of Noto.
    return svg.replace(f"font-family: '{FONT_FAMILY}'", f"font-family: '{DOC_FONT_FAMILY}'")


PNG_DPI = 200  # sharp when printed at the chart's real width (17 cm)
ChartFormat = Literal["svg", "png"]


def _to_png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.set_dpi(PNG_DPI)
    FigureCanvasAgg(fig).print_png(buf)  # type: ignore[no-untyped-call]
    return buf.getvalue()


def _render(fig: Figure, fmt: ChartFormat) -> str | bytes:
    return _to_png(fig) if fmt == "png" else _to_svg(fig)


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
        if _present(b.value):
            drawn.append((y, b.value, b.group))
        else:
            ax.text(0.01, y, gettext(NO_DATA), va="center", fontsize=7.5, color="#6b7785")
    # One barh and one errorbar call per chart: matplotlib's per-call cost dominates otherwise.
    if drawn:
        colours = [BAR_WEAK if v.unreliable else TIE_COLOURS[g % 2] if g is not None else BAR
                   for _, v, g in drawn]
        ax.barh([y for y, _, _ in drawn], [v.estimate for _, v, _ in drawn], height=0.62,
                color=colours, zorder=2)
        ci = [(y, v) for y, v, _ in drawn if _has_interval(v)]
        if ci:
            ax.errorbar([v.estimate for _, v in ci], [y for y, _ in ci],
                        xerr=[[v.estimate - v.ci_low for _, v in ci], [v.ci_high - v.estimate for _, v in ci]],
                        fmt="none", ecolor=WHISKER, elinewidth=0.9, capsize=2.5, zorder=3)
    for y, v, _ in drawn:
        right = v.ci_high if math.isfinite(v.ci_high) else v.estimate
        label = format_percent(v.estimate, locale=current_locale()) + (" *" if v.unreliable else "")
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
              align_labels: bool = False, fmt: ChartFormat = "svg") -> str | bytes:
    """Horizontal bars (satisfaction rate) with 95% interval whiskers; SVG markup or PNG bytes.

    Labels are wrapped to at most two lines measured in the real font, and
    the plot starts right after the widest label, so nothing is clipped.
    align_labels=True starts the plot at max_label_share instead, so that a
    series of charts on one page share their left edge.
    """
    with _lock, matplotlib.rc_context(_RC):
        bars = list(bars)
        fig_pt = width_cm * _CM * 72
        labels = [_wrap(b.label, max_label_share * fig_pt, label_size) for b in bars]
        widest = max((_text_width(line, label_size) for lab in labels for line in lab.split("\n")),
                     default=0.0)
        lines = max((lab.count("\n") + 1 for lab in labels), default=1)
        row_cm = max(row_cm, lines * label_size * 1.25 / 72 * 2.54 + 0.12)
        bottom = 0.9 if show_axis else 0.15
        height = bottom + 0.2 + row_cm * max(1, len(bars))
        fig = _figure(width_cm, height)
        left = max_label_share + 0.01 if align_labels else (widest + 8) / fig_pt
        ax = fig.add_axes((left, bottom / height, 0.96 - left, 1 - (bottom + 0.15) / height))
        _draw_bars(ax, bars, labels, label_size, show_axis)
        return _render(fig, fmt)


@overload
def comparison_chart(bars: Sequence[Bar], *, width_cm: float = ..., fmt: Literal["svg"] = ...) -> str: ...
@overload
def comparison_chart(bars: Sequence[Bar], *, width_cm: float = ..., fmt: Literal["png"]) -> bytes: ...
@overload
def comparison_chart(bars: Sequence[Bar], *, width_cm: float = ..., fmt: ChartFormat) -> str | bytes: ...
def comparison_chart(bars: Sequence[Bar], *, width_cm: float = 17.0, fmt: ChartFormat = "svg") -> str | bytes:
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
                width_cm: float = 17.0, height_cm: float = 5.5, fmt: ChartFormat = "svg") -> str | bytes:
    """Overall index over periods (oldest first) with its 95% interval as a band."""
    with _lock, matplotlib.rc_context(_RC):
        fig = _figure(width_cm, height_cm)
        ax = fig.add_axes((0.09, 0.17, 0.88, 0.78))
        xs = list(range(len(points)))
        known = [(x, v) for x, (_p, v) in zip(xs, points) if v is not None and _present(v)]
        if known:
            kx = [x for x, _ in known]
            est = [v.estimate for _, v in known]
            with_ci = [(x, v) for x, v in known if _has_interval(v)]
            if with_ci:
                ax.fill_between([x for x, _ in with_ci], [v.ci_low for _, v in with_ci],
                                [v.ci_high for _, v in with_ci], color=BAR, alpha=0.15,
                                linewidth=0, label=gettext(N_("khoảng tin cậy 95%")))
            ax.plot(kx, est, color=BAR, marker="o", markersize=4, linewidth=1.6)
            for x, v in known:
                ax.annotate(format_percent(v.estimate, locale=current_locale()), (x, v.estimate),
                            textcoords="offset points",
                            xytext=(0, 7), ha="center", fontsize=7.5)
            lows = [v.ci_low if math.isfinite(v.ci_low) else v.estimate for _, v in known]
            highs = [v.ci_high if math.isfinite(v.ci_high) else v.estimate for _, v in known]
            lo = max(0.0, (int(min(lows) * 10) / 10) - 0.1)
            hi = min(1.0, (int(max(highs) * 10) + 1) / 10 + 0.05)
        else:
            lo, hi = 0.0, 1.0
            ax.text(0.5, 0.5, gettext(NO_DATA), transform=ax.transAxes, ha="center")
        ax.set_ylim(lo, hi)
        _pct_axis(ax, "y", lo, min(1.0, round(hi, 1)))
        ax.set_xticks(xs, [period_label_short(p, current_locale()) for p, _ in points])
        ax.set_xlim(-0.5, max(0, len(points) - 1) + 0.5)
        ax.grid(axis="y", color=GRID, linewidth=0.6)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        return _render(fig, fmt)


def heat_colour(value: Estimate | None) -> str:
    """Background for a heat-table cell: red (≤60%) through yellow to green (≥95%).

    Unreliable or missing cells are grey so they never read as a result.
    """
    if not _present(value):
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
