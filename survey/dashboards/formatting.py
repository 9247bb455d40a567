"""Vietnamese labels and number formats for estimates: dashboards and `flask indices` share them.

Numbers are formatted by analysis/report/format_vi.py (the PDF reports use the same functions),
so a figure reads the same on screen, in the terminal and on paper.
"""
from __future__ import annotations

from analysis import Estimate
from analysis.report.format_vi import (
    MISSING,
    format_date,
    format_int,
    format_interval,
    format_number,
    format_percent,
    format_points,
    period_label,
    period_label_short,
)
from survey.catalog.instrument import COMPONENTS
from survey.indices.aggregates import UNWEIGHTED_NOTE, IndexRow
from survey.indices.windows import HALF, QUARTER, RANGE, YEAR, Window

UNRELIABLE = "không đủ độ tin cậy"
STAT_LABELS = {
    "overall": "Chỉ số hài lòng chung",
    "component": "Chỉ số thành phần",
    "rate": "Tỷ lệ hài lòng theo câu hỏi",
    "score": "Điểm trung bình theo câu hỏi (1–5)",
}
KIND_LABELS = {"province": "Tỉnh", "agency": "Sở, ngành", "commune": "Xã", "ward": "Phường",
               "centre": "Trung tâm phục vụ hành chính công"}


def measure_label(stat: str, measure: str) -> str:
    if stat == "overall":
        return STAT_LABELS["overall"]
    if stat == "component":
        return f"{measure} {COMPONENTS.get(measure, (measure,))[0]}"
    if measure == "OVERALL":
        measure = "Hài lòng chung (câu hỏi)"
    return f"{'Điểm' if stat == 'score' else 'Tỷ lệ'} {measure}"


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
        return f"Từ {format_date(window.first)} đến {format_date(window.last)}"
    return period_label(window.key)


def window_args(window: Window) -> dict[str, str]:
    """The query arguments naming the window (survey/args.parse_window reads them back)."""
    if window.kind == RANGE:
        return {"from": format_date(window.first), "to": format_date(window.last)}
    return {{HALF: "period", QUARTER: "quarter", YEAR: "year"}[window.kind]: window.key}


def gap_text(est: Estimate | None) -> str:
    """"+3,2 điểm %": a difference of two percentages, in points (format_vi.format_points)."""
    return MISSING if est is None else format_points(est.estimate)


def gap_interval_text(est: Estimate | None) -> str:
    if est is None:
        return MISSING
    return f"{format_points(est.ci_low)[:-7]} đến {format_points(est.ci_high)}"


def notes_text(row: IndexRow) -> str:
    notes = []
    if row.est.unreliable:
        notes.append(UNRELIABLE)
    if not row.weighted:
        notes.append(UNWEIGHTED_NOTE)
    return "; ".join(notes)


__all__ = ["MISSING", "UNRELIABLE", "UNWEIGHTED_NOTE", "STAT_LABELS", "KIND_LABELS",
           "measure_label", "value_text", "interval_text", "rank_text", "notes_text",
           "window_label", "window_args", "gap_text", "gap_interval_text",
           "format_date", "format_int", "format_percent", "format_number", "period_label",
           "period_label_short"]
