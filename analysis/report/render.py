"""Report data -> HTML (Jinja) -> PDF bytes (WeasyPrint).

Every render function takes `translations` (a gettext catalogue the caller loads, e.g.
survey.i18n.translations("en"); None draws Vietnamese): templates use `_()` / `{% trans %}`
(jinja2.ext.i18n) with the web app's catalogue, and the number filters follow its language.

The Jinja environment and WeasyPrint's font configuration are built once
per process (per thread for the font configuration): creating the latter
scans the system's fonts and takes longer than drawing a small report, and
a province batch renders hundreds of them.
"""
from __future__ import annotations

import math
import re
import threading
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from gettext import NullTranslations
from itertools import groupby
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from ..estimate import Estimate
from ..gcpause import gc_paused
from . import charts
from .format_vi import (
    POINTS_UNIT,
    format_date,
    format_datetime,
    format_int,
    format_interval,
    format_number,
    format_p_value,
    format_percent,
    format_points,
    period_label,
)
from .language import current_locale, gettext, language, localised, ngettext
from .model import (
    SIPAS_COMPONENTS,
    Comment,
    ComponentRow,
    ItemRow,
    PosterData,
    ProvinceReportData,
    ThematicReportData,
    TrendPoint,
    UnitReportData,
    weakest_items,
)

__all__ = ["render_unit_report", "render_province_report", "render_thematic_report",
           "render_posters", "render_html", "render_pdf", "warm_up", "TEMPLATES_DIR"]

TEMPLATES_DIR = Path(__file__).resolve().parents[2] / "templates"
FONT_DIR = charts.FONT_DIR
# Vietnam has no daylight saving time, so a fixed offset is exact.
VN_TZ = timezone(timedelta(hours=7), "ICT")
MAX_COMMENTS = 10

_FONT_FACES = (
    ("NotoSans-Regular.ttf", "normal", "normal"),
    ("NotoSans-Bold.ttf", "bold", "normal"),
    ("NotoSans-Italic.ttf", "normal", "italic"),
)


_CSS_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\A ", "\r": "", "<": "\\3C "}


def _css_string(value: Any) -> Markup:
    """Escape for a double-quoted CSS string inside <style> (@page margin boxes).

    "<" is escaped too, so that no value can close the <style> element.
    """
    return Markup(re.sub(r'[\\"\n\r<]', lambda m: _CSS_ESCAPES[m.group(0)], str(value)))


def typeable_url(url: str) -> str:
    """A short link as a person types it: no "https://" (browsers add it), no trailing slash."""
    return url.removeprefix("https://").rstrip("/")


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:] if text else text


def _pp(delta: float | None) -> str:
    """Signed percentage points without the unit, for "-11,8 đến -3,4 điểm %"."""
    return _points(delta).replace(POINTS_UNIT.get(current_locale(), ""), "")


def _ci(v: Estimate | None, percent: bool = True) -> str:
    if v is None:
        return format_interval(None, None)
    return format_interval(v.ci_low, v.ci_high, percent=percent, locale=current_locale())


_points = localised(format_points)


def _groupby_component(items: Iterable[ItemRow], names: Mapping[str, str]
                       ) -> list[tuple[str, list[ItemRow]]]:
    """Items grouped by component, components in the survey's order."""
    order = {code: i for i, code in enumerate(names)}
    ranked = sorted(enumerate(items), key=lambda p: (order.get(p[1].component, len(order)), p[0]))
    return [(code, [it for _, it in grp])
            for code, grp in groupby(ranked, key=lambda p: p[1].component)]


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(loader=FileSystemLoader(str(TEMPLATES_DIR)), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                      extensions=["jinja2.ext.i18n"])
    # newstyle, as Flask-Babel installs it: _("... %(n)s", n=3); the catalogue is the one set by
    # language() for this render.
    env.install_gettext_callables(gettext, ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.filters.update(
        pct=localised(format_percent), num=localised(format_number),
        int_vi=localised(format_int), points=_points,
        pp=_pp, date_vi=format_date, datetime_vi=format_datetime,
        period=localised(period_label), tr=gettext,
        ci=_ci, css_string=_css_string, lower_first=_lower_first,
        groupby_component=_groupby_component, svg_uri=charts.svg_data_uri, p_value=format_p_value,
        short_url_display=typeable_url,
    )
    return env


_local = threading.local()


def _font_config() -> Any:
    # FontConfiguration wraps fontconfig/pango objects: one per thread, reused.
    fc = getattr(_local, "font_config", None)
    if fc is None:
        # WeasyPrint ships no type hints (pyproject's ignore_missing_imports lets it be Any).
        from weasyprint.text.fonts import FontConfiguration
        fc = _local.font_config = FontConfiguration()
    return fc


def warm_up() -> None:
    """Pay the one-off costs (imports, font scanning, templates) up front.

    A worker that renders reports on demand can call this at start so the
    first user does not wait ~1 s longer than the next one.
    """
    for name in ("unit", "province", "thematic", "posters"):
        environment().get_template(f"reports/{name}.html")
    charts.bar_chart([])
    render_posters([])  # loads WeasyPrint, scans fonts, registers the @font-face files


def now_vn(generated_at: datetime | None) -> datetime:
    """When the report was made, in Vietnam time (the date a PDF or DOCX prints)."""
    if generated_at is None:
        return datetime.now(VN_TZ)
    if generated_at.tzinfo is not None:
        return generated_at.astimezone(VN_TZ)
    return generated_at


def _font_faces() -> list[dict[str, str]]:
    return [{"url": (FONT_DIR / f).as_uri(), "weight": w, "style": s} for f, w, s in _FONT_FACES]


def render_html(template: str, generated_at: datetime | None = None, *, sheet_apart: bool = False,
                **context: Any) -> str:
    """Render a report template to an HTML string (also handy for debugging layouts).

    ``sheet_apart``: reports/base.html leaves out the fonts and report.css, which the PDF
    then gets as :func:`_report_sheet`."""
    when = now_vn(generated_at)
    return environment().get_template(template).render(
        font_faces=_font_faces(), generated_date=format_date(when), sheet_apart=sheet_apart,
        generated_text=format_datetime(when), lang=current_locale(), **context)


def _report_sheet() -> Any:
    """reports/base.html's fonts and report.css (a template: its footer is in the report's
    language), parsed once per thread and language with the thread's font configuration:
    tokenising the sheet and compiling its selectors was ~7% of a unit report.

    WeasyPrint applies it as a user stylesheet, below every author rule: the document's own
    <style> (page footer, a template's extra_style) still overrides it, as it did when it
    followed the sheet in one <style>."""
    env = environment()
    text = (env.get_template("reports/_fonts.css").render(font_faces=_font_faces())
            + env.get_template("reports/report.css").render())
    sheets = getattr(_local, "report_sheets", None)
    if sheets is None:
        sheets = _local.report_sheets = {}
    if text not in sheets:
        from weasyprint import CSS
        sheets[text] = CSS(string=text, base_url=str(TEMPLATES_DIR), font_config=_font_config())
    return sheets[text]


def _pdf(html: str, sheet_apart: bool = False) -> bytes:
    # Heavy import, only when a PDF is really drawn; WeasyPrint is untyped (see _font_config).
    from weasyprint import HTML

    from .wp_svgtext import install
    install()
    # One young collection after the document instead of the dozens its allocations set off
    # (analysis/gcpause.py): ~5-10% of a unit report.
    with gc_paused(collect_after=True):
        pdf: bytes = HTML(string=html, base_url=str(TEMPLATES_DIR)).write_pdf(
            font_config=_font_config(), stylesheets=[_report_sheet()] if sheet_apart else None)
    return pdf


def _report_pdf(template: str, generated_at: datetime | None, **context: Any) -> bytes:
    """A template extending reports/base.html to PDF, with the shared sheet."""
    return _pdf(render_html(template, generated_at, sheet_apart=True, **context), sheet_apart=True)


def render_pdf(template: str, generated_at: datetime | None = None, *,
               translations: NullTranslations | None = None, **context: Any) -> bytes:
    """Any report template to PDF with the embedded fonts (e.g. survey/links' receipt slips)."""
    with language(translations):
        if template.startswith("reports/"):  # every one of them extends reports/base.html
            return _report_pdf(template, generated_at, **context)
        return _pdf(render_html(template, generated_at, **context))


def _change(d: UnitReportData) -> dict[str, Any] | None:
    cur, prev = d.overall, d.overall_previous
    if (not d.previous_period or cur is None or prev is None
            or not math.isfinite(cur.estimate) or not math.isfinite(prev.estimate)):
        return None
    delta = cur.estimate - prev.estimate
    ch = d.overall_change
    significant = None
    low = high = None
    if ch is not None and math.isfinite(ch.ci_low) and math.isfinite(ch.ci_high):
        significant = ch.ci_low > 0 or ch.ci_high < 0
        low, high = _points(ch.ci_low), _points(ch.ci_high)
    return {
        "delta": delta, "points": _points(delta),
        "direction": "up" if delta > 0 else "down" if delta < 0 else "flat",
        "css": ("up" if delta > 0 else "down") if significant else "",
        "significant": significant,
        "low": low,
        "high": high,
    }


def _component_names(components: Sequence[ComponentRow]) -> dict[str, str]:
    names = {code: gettext(name) for code, name in SIPAS_COMPONENTS.items()}
    names.update({c.code: c.name for c in components})
    return names


def _unit_charts(d: UnitReportData | ThematicReportData, trend: Sequence[TrendPoint] = (),
                 fmt: charts.ChartFormat = "svg") -> dict[str, Any]:
    out: dict[str, Any] = {"components": None, "trend": None, "per_component": []}
    if d.components:
        out["components"] = charts.bar_chart(
            [charts.Bar(f"{c.code}. {c.name}", c.estimate) for c in d.components], fmt=fmt)
    if sum(1 for t in trend if t.estimate is not None and math.isfinite(t.estimate.estimate)) >= 2:
        out["trend"] = charts.trend_chart([(t.period, t.estimate) for t in trend], fmt=fmt)
    names = _component_names(d.components)
    comp_by_code = {c.code: c for c in d.components}
    for code, items in _groupby_component(d.items, names):
        comp = comp_by_code.get(code)
        if comp is None:
            comp = ComponentRow(code, names.get(code, code), None)
        bars = [charts.Bar(f"{it.code} {it.text}", it.rate) for it in items]
        out["per_component"].append(
            (comp, charts.bar_chart(bars, max_label_share=0.55, show_axis=False, align_labels=True,
                                    fmt=fmt)))
    return out


def _newest(comments: Sequence[Comment], limit: int = MAX_COMMENTS) -> list[Comment]:
    return sorted(comments, key=lambda c: c.date, reverse=True)[:limit]


def unit_context(d: UnitReportData, fmt: charts.ChartFormat = "svg") -> dict[str, Any]:
    """What the unit report prints beyond the model: charts (SVG for the PDF, PNG for Word), change."""
    return {
        "d": d, "change": _change(d), "charts": _unit_charts(d, d.trend, fmt),
        "weakest": weakest_items(d.items), "comments": _newest(d.comments),
        "component_names": _component_names(d.components),
    }


def render_unit_report(data: UnitReportData, *, translations: NullTranslations | None = None
                       ) -> bytes:
    """A4 portrait period report for one unit (4–6 pages with full data)."""
    with language(translations):
        return _report_pdf("reports/unit.html", data.generated_at, **unit_context(data))


def render_province_report(data: ProvinceReportData, *,
                           translations: NullTranslations | None = None) -> bytes:
    """Report for Sở Nội vụ: ranking with intervals, heat table, declines, appendix."""
    from .province import province_context
    with language(translations):
        return _report_pdf("reports/province.html", data.generated_at, **province_context(data))


def thematic_context(d: ThematicReportData, fmt: charts.ChartFormat = "svg") -> dict[str, Any]:
    return {"d": d, "charts": _unit_charts(d, fmt=fmt), "weakest": weakest_items(d.items),
            "comments": _newest(d.comments), "component_names": _component_names(d.components)}


def render_thematic_report(data: ThematicReportData, *,
                           translations: NullTranslations | None = None) -> bytes:
    """Report on a thematic survey campaign: progress against quotas and results."""
    with language(translations):
        return _report_pdf("reports/thematic.html", data.generated_at, **thematic_context(data))


def render_posters(posters: Sequence[PosterData], *, unit_name: str | None = None,
                   generated_at: datetime | None = None,
                   translations: NullTranslations | None = None) -> bytes:
    """One A4 QR poster per counter; with no counters, one page that says so."""
    from .qr import qr_svg
    pages = [{"p": p, "qr": Markup(qr_svg(p.url))} for p in posters]
    with language(translations):
        return _report_pdf("reports/posters.html", generated_at, pages=pages,
                           unit_name=unit_name or (posters[0].unit_name if posters else None))
