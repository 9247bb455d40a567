"""Reporting periods: half-years in Vietnam time, as the 6-monthly reports to Sở Nội vụ use."""
from __future__ import annotations

import re
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

# Outside an app (plain function calls) Flask-Babel's gettext returns the Vietnamese as written.
from flask_babel import gettext

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


def following(period: str) -> str:
    """The half-year after: '2026-H2' → '2027-H1'."""
    year, half = period.split("-H")
    return f"{year}-H2" if half == "1" else f"{int(year) + 1}-H1"


# The one rule for a period anyone names (pages, API, CLI, imported volumes): a half-year from
# FIRST_PERIOD to the one after the current half-year. The upper end lets service volumes be
# imported for the coming half-year, and no response can belong to a later one; the lower end
# is a sanity floor, not a statistical boundary (this platform holds nothing older). Outside the
# range a period is a typo ('1999-H1', '2062-H1'), answered as an error, never as an empty page.
FIRST_PERIOD = "2020-H1"
_PERIOD = re.compile(r"(\d{4})-H([12])")


def period_problem(text: str | None, now: datetime | None = None) -> str | None:
    """Why `text` is not a period we accept (for people, in their language), or None when it is."""
    if not _PERIOD.fullmatch(text or ""):
        return gettext("Kỳ \"%(text)s\" không hợp lệ; viết dạng 2026-H1 (6 tháng đầu năm) hoặc 2026-H2 "
                       "(6 tháng cuối năm).", text=text)
    assert text is not None  # it matched
    last = following(period_of(now or datetime.now(timezone.utc)))
    if not FIRST_PERIOD <= text <= last:  # same width, so text order is time order
        return gettext("Kỳ \"%(text)s\" nằm ngoài khoảng từ %(first)s đến %(last)s.", text=text,
                       first=FIRST_PERIOD, last=last)
    return None


def is_period(text: str | None, now: datetime | None = None) -> bool:
    """`text` is exactly a period in the accepted range (callers normalise case first)."""
    return period_problem(text, now) is None
