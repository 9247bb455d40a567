"""Time windows the dashboards filter by: a half-year, a quarter, a year or a custom range.

Rollups, weights and service volumes are per half-year (survey/catalog/periods.py); a window
is read as the half-years it touches, restricted to its dates when it does not cover them
whole.  The rule for strata and weights is in docs/periods.md: strata stay unit x service
field x half-year; n_h counts the responses inside the window; each half-year's dossiers are
prorated to the share of its days the window covers, so w_h = D_h * share / n_h.  Plain data,
no Flask: survey/args.py parses the request into a Window.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from survey.catalog.periods import VIETNAM

HALF = "half"
QUARTER = "quarter"
YEAR = "year"
RANGE = "range"
KINDS = (HALF, QUARTER, YEAR, RANGE)


def period_dates(period: str) -> tuple[date, date]:
    """First and last local day of a half-year ('2026-H1' → 1/1/2026, 30/6/2026)."""
    year, half = int(period[:4]), period[-1]
    return (date(year, 1, 1), date(year, 6, 30)) if half == "1" else (date(year, 7, 1), date(year, 12, 31))


def period_of_day(day: date) -> str:
    return f"{day.year}-H{1 if day.month <= 6 else 2}"


def periods_between(first: date, last: date) -> tuple[str, ...]:
    """The half-years the days first..last touch, oldest first."""
    out: list[str] = []
    day = first
    while day <= last:
        period = period_of_day(day)
        out.append(period)
        day = period_dates(period)[1] + timedelta(days=1)
    return tuple(out)


@dataclass(frozen=True)
class Window:
    """A time window: its kind, its key ('2026-H1', '2026-Q1', '2026' or
    '2026-01-05..2026-02-20'), first and last local day (inclusive), and its half-years."""

    kind: str
    key: str
    first: date
    last: date

    @property
    def periods(self) -> tuple[str, ...]:
        return periods_between(self.first, self.last)

    @property
    def whole_periods(self) -> bool:
        """Covers each of its half-years entirely: the rollup can be read as it is."""
        return all(self.first <= period_dates(p)[0] and period_dates(p)[1] <= self.last
                   for p in self.periods)

    @property
    def period(self) -> str | None:
        """The one half-year the window is exactly, else None."""
        return self.key if self.kind == HALF else None

    def between(self) -> tuple[datetime, datetime] | None:
        """UTC bounds (end exclusive) of its days in Vietnam, or None for whole half-years."""
        if self.whole_periods:
            return None
        start = datetime.combine(self.first, time(), VIETNAM)
        end = datetime.combine(self.last + timedelta(days=1), time(), VIETNAM)
        return start.astimezone(timezone.utc), end.astimezone(timezone.utc)

    def shares(self) -> dict[str, float]:
        """Per half-year, the share of its days inside the window (1.0 when whole)."""
        out = {}
        for p in self.periods:
            p_first, p_last = period_dates(p)
            inside = (min(p_last, self.last) - max(p_first, self.first)).days + 1
            out[p] = inside / ((p_last - p_first).days + 1)
        return out


def half(period: str) -> Window:
    first, last = period_dates(period)
    return Window(HALF, period, first, last)


def quarter(year: int, q: int) -> Window:
    first = date(year, 3 * q - 2, 1)
    last = (date(year + 1, 1, 1) if q == 4 else date(year, 3 * q + 1, 1)) - timedelta(days=1)
    return Window(QUARTER, f"{year}-Q{q}", first, last)


def year(y: int) -> Window:
    return Window(YEAR, str(y), date(y, 1, 1), date(y, 12, 31))


def custom(first: date, last: date) -> Window:
    return Window(RANGE, f"{first.isoformat()}..{last.isoformat()}", first, last)
