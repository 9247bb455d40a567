"""Reporting periods: half-years in Vietnam time, as the 6-monthly reports to Sở Nội vụ use."""
from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")


def as_utc(moment: datetime) -> datetime:
    """An aware datetime; SQLite hands back naive ones even for timezone=True columns, and we
    store UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def in_vietnam(moment: datetime) -> datetime:
    """The same instant on the clock in Vietnam."""
    return as_utc(moment).astimezone(VIETNAM)


def period_of(moment: datetime) -> str:
    """'2026-H1' for January–June, '2026-H2' for July–December, by the clock in Vietnam."""
    local = in_vietnam(moment)
    return f"{local.year}-H{1 if local.month <= 6 else 2}"


def previous(period: str) -> str:
    """The half-year before: '2026-H1' → '2025-H2'."""
    year, half = period.split("-H")
    return f"{int(year) - 1}-H2" if half == "1" else f"{year}-H1"


def last_periods(period: str, count: int) -> list[str]:
    """`count` half-years ending with `period`, oldest first."""
    periods = [period]
    while len(periods) < count:
        periods.append(previous(periods[-1]))
    return periods[::-1]


def is_period(text: str) -> bool:
    import re

    return bool(re.fullmatch(r"20\d\d-H[12]", text or ""))
