"""Reporting periods: half-years in Vietnam time, as the 6-monthly reports to Sở Nội vụ use."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")


def period_of(moment: datetime) -> str:
    """'2026-H1' for January–June, '2026-H2' for July–December, by the clock in Vietnam."""
    local = moment.astimezone(VIETNAM)
    return f"{local.year}-H{1 if local.month <= 6 else 2}"
