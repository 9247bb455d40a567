"""Labels and number formats for estimates: dashboards and `flask indices` share them.

Numbers are formatted by analysis/report/format_vi.py (the PDF reports use the same functions),
so a figure reads the same on screen, in the terminal and on paper; in a request the official's
language picks the decimal mark and the period words (85,1% / 85.1%), outside one Vietnamese.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Any, Callable

from flask import url_for
from flask_babel import gettext, lazy_gettext

from analysis import Estimate
from analysis.report import format_vi
from analysis.report.format_vi import MISSING
from survey.i18n import current_lang
from survey.indices.aggregates import UNWEIGHTED_NOTE, IndexRow, component_name
from survey.indices.windows import HALF, QUARTER, RANGE, YEAR, Window

UNRELIABLE = lazy_gettext("không đủ độ tin cậy")
STAT_LABELS = {
    "overall": lazy_gettext("Chỉ số hài lòng chung"),
    "component": lazy_gettext("Chỉ số thành phần"),
    "rate": lazy_gettext("Tỷ lệ hài lòng theo câu hỏi"),
    "score": lazy_gettext("Điểm trung bình theo câu hỏi (1–5)"),
}
KIND_LABELS = {"province": lazy_gettext("Tỉnh"), "agency": lazy_gettext("Sở, ngành"),
               "commune": lazy_gettext("Xã"), "ward": lazy_gettext("Phường"),
               "centre": lazy_gettext("Trung tâm phục vụ hành chính công")}


def locale() -> str:
    """"en" when the official reading chose English; Vietnamese otherwise (and outside requests)."""
    return current_lang()


def format_number(x: float | int | None, digits: int = 1, *, sign: bool = False) -> str:
    return format_vi.format_number(x, digits, sign=sign, locale=locale())


def format_int(n: int | float | None) -> str:
    return format_vi.format_int(n, locale=locale())


def format_percent(p: float | None, digits: int = 1, *, sign: bool = False) -> str:
    return format_vi.format_percent(p, digits, sign=sign, locale=locale())


def format_points(delta: float | None, digits: int = 1) -> str:
    return format_vi.format_points(delta, digits, locale=locale())


def format_interval(low: float | None, high: float | None, digits: int = 1,
                    *, percent: bool = True) -> str:
    return format_vi.format_interval(low, high, digits, percent=percent, locale=locale())


def format_date(d: date | datetime | None) -> str:
    return format_vi.format_date(d)


def period_label(period: str) -> str:
    return format_vi.period_label(period, locale())


def period_label_short(period: str) -> str:
    return format_vi.period_label_short(period, locale())


def measure_label(stat: str, measure: str) -> str:
    if stat == "overall":
        return str(STAT_LABELS["overall"])
    if stat == "component":
        return f"{measure} {component_name(measure)}"
    if measure == "OVERALL":
        measure = gettext("Hài lòng chung (câu hỏi)")
    return (gettext("Điểm %(code)s", code=measure) if stat == "score"
            else gettext("Tỷ lệ %(code)s", code=measure))


def value_text(stat: str, value: float | None) -> str:
    """Rates and indices as percent ("85,1%"), 1-5 scores with two decimals ("4,21")."""
    return format_number(value, 2) if stat == "score" else format_percent(value)


def interval_text(stat: str, low: float | None, high: float | None) -> str:
    return format_interval(low, high, 2 if stat == "score" else 1, percent=stat != "score")


def rank_text(est: Estimate) -> str:
    """"3" when the intervals separate the unit from every other; "3 (2–5)" marks a tie."""
    if est.rank < 1:
        return MISSING
    return f"{est.rank} ({est.rank_best}–{est.rank_worst})" if est.tied else str(est.rank)


def window_label(window: Window) -> str:
    """"6 tháng đầu năm 2026", "Quý I năm 2026", "Năm 2026", "Từ 05/01/2026 đến 20/02/2026"."""
    if window.kind == RANGE:
        return gettext("Từ %(first)s đến %(last)s", first=format_date(window.first),
                       last=format_date(window.last))
    return period_label(window.key)


def window_args(window: Window) -> dict[str, str]:
    """The query arguments naming the window (survey/args.parse_window reads them back)."""
    if window.kind == RANGE:
        return {"from": format_date(window.first), "to": format_date(window.last)}
    return {{HALF: "period", QUARTER: "quarter", YEAR: "year"}[window.kind]: window.key}


def unit_links(**args: Any) -> Callable[[int], str]:
    """Each unit's dashboard link in a ranking, with ``args`` (the window): url_for once, not
    once per row (a country's 3,321 rows spent ~0,3 s in it).  The unit stays the first
    argument, as url_for writes it."""
    head, tail = url_for("dashboards.index", unit=0, **args).split("unit=0", 1)
    return lambda unit_id: f"{head}unit={int(unit_id)}{tail}"


def gap_text(est: Estimate | None) -> str:
    """"+3,2 điểm %": a difference of two percentages, in points (format_vi.format_points)."""
    return MISSING if est is None else format_points(est.estimate)


def gap_interval_text(est: Estimate | None) -> str:
    if est is None:
        return MISSING
    # "+1,0 đến +3,0 điểm %": the unit once, after the upper end.
    low = format_points(est.ci_low).removesuffix(format_vi.POINTS_UNIT.get(locale(), ""))
    return gettext("%(low)s đến %(high)s", low=low, high=format_points(est.ci_high))


def notes_text(row: IndexRow) -> str:
    notes = []
    if row.est.unreliable:
        notes.append(str(UNRELIABLE))
    if not row.weighted:
        notes.append(gettext(UNWEIGHTED_NOTE))
    return "; ".join(notes)


__all__ = ["MISSING", "UNRELIABLE", "UNWEIGHTED_NOTE", "STAT_LABELS", "KIND_LABELS",
           "measure_label", "component_name", "locale", "format_points", "value_text",
           "interval_text", "rank_text", "notes_text",
           "window_label", "window_args", "gap_text", "gap_interval_text",
           "format_date", "format_int", "format_percent", "format_number", "period_label",
           "period_label_short"]

