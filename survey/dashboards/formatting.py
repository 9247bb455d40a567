"""Vietnamese labels and number formats for index rows: dashboards and `flask indices` share them.

Numbers are formatted by analysis/report/format_vi.py (the PDF reports use the same functions),
so a figure reads the same on screen, in the terminal and on paper.
"""
from __future__ import annotations

from typing import Any

from analysis.report.format_vi import (MISSING, format_date, format_int, format_interval,
                                       format_number, format_percent, period_label,
                                       period_label_short)
from survey.indices.aggregates import UNWEIGHTED_NOTE
from survey.catalog.instrument import COMPONENTS

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


def rank_text(row: Any) -> str:
    """"3" when the intervals separate the unit from every other; "3 (2–5)" marks a tie."""
    rank, best, worst = (_get(row, k) for k in ("rank", "rank_best", "rank_worst"))
    if rank is None or rank < 1:
        return MISSING
    return str(rank) if best == worst else f"{rank} ({best}–{worst})"


def notes_text(row: Any) -> str:
    notes = []
    if not _get(row, "reliable"):
        notes.append(UNRELIABLE)
    if _get(row, "weighted") is False:
        notes.append(UNWEIGHTED_NOTE)
    return "; ".join(notes)


def _get(row: Any, key: str) -> Any:
    return row.get(key) if isinstance(row, dict) else getattr(row, key, None)


__all__ = ["MISSING", "UNRELIABLE", "UNWEIGHTED_NOTE", "STAT_LABELS", "KIND_LABELS",
           "measure_label", "value_text", "interval_text", "rank_text", "notes_text",
           "format_date", "format_int", "format_percent", "format_number", "period_label",
           "period_label_short"]
