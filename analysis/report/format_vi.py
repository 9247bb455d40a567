"""Vietnamese (and English) number, date and period formatting: the one formatter.

Shared by the PDF reports and the web app, so that a figure reads the same
on screen and on paper: decimal comma, "." as thousands separator,
dd/mm/yyyy dates. Rates come in as proportions in [0, 1]. With locale="en"
the same functions write 85.1%, 12,345.7 and "First half of 2026" (dates stay
dd/mm/yyyy, which English readers in Vietnam expect).

Rounding is half-up on the decimal value the reader would write down
(0.8505 -> "85,1%"), not binary float rounding, so printed figures agree
with a hand calculation.
"""
from __future__ import annotations

import math
import re
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

__all__ = [
    "MISSING",
    "format_number",
    "format_int",
    "format_percent",
    "format_points",
    "format_interval",
    "format_p_value",
    "format_date",
    "format_datetime",
    "period_label",
    "period_label_short",
]

# Shown wherever a value does not exist (no responses), so a table never
# prints "nan" or "None".
MISSING = "—"

_ROMAN_QUARTER = {1: "I", 2: "II", 3: "III", 4: "IV"}


def _is_missing(x: float | int | Decimal) -> bool:
    return isinstance(x, float) and not math.isfinite(x)


# (decimal mark, thousands separator) per locale; anything but "en" reads as Vietnamese.
_MARKS = {"vi": (",", "."), "en": (".", ",")}


def _marks(locale: str) -> tuple[str, str]:
    return _MARKS.get(locale, _MARKS["vi"])


def _group_thousands(digits: str, sep: str = ".") -> str:
    out = []
    for i, ch in enumerate(reversed(digits)):
        if i and i % 3 == 0:
            out.append(sep)
        out.append(ch)
    return "".join(reversed(out))


def format_number(x: float | int | Decimal | None, digits: int = 1, *, sign: bool = False,
                  locale: str = "vi") -> str:
    """12345.67 -> "12.345,7" ("12,345.7" in English); digits=0 gives an integer; sign=True
    adds "+" to positives."""
    if x is None or _is_missing(x):
        return MISSING
    # repr() gives the shortest decimal that round-trips, i.e. what a person would type.
    q = Decimal(repr(float(x)) if isinstance(x, float) else str(x))
    q = q.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)
    if q == 0:
        q = abs(q)  # never print "-0,0"
    neg = q < 0
    int_part, _, frac = f"{abs(q):f}".partition(".")
    point, sep = _marks(locale)
    text = _group_thousands(int_part, sep) + (point + frac if digits > 0 else "")
    if neg:
        return "-" + text
    return ("+" + text) if sign and q > 0 else text


def format_int(n: int | float | None, locale: str = "vi") -> str:
    """12345 -> "12.345" ("12,345" in English)."""
    return format_number(n, 0, locale=locale)


def format_percent(p: float | None, digits: int = 1, *, sign: bool = False,
                   locale: str = "vi") -> str:
    """Proportion to percent: 0.851 -> "85,1%" ("85.1%" in English)."""
    if p is None or _is_missing(p):
        return MISSING
    return format_number(Decimal(repr(float(p))) * 100, digits, sign=sign, locale=locale) + "%"


POINTS_UNIT = {"vi": " điểm %", "en": " pp"}


def format_points(delta: float | None, digits: int = 1, locale: str = "vi") -> str:
    """Change of a proportion, in percentage points, always signed: 0.023 -> "+2,3 điểm %"
    ("+2.3 pp" in English)."""
    if delta is None or _is_missing(delta):
        return MISSING
    unit = POINTS_UNIT.get(locale, POINTS_UNIT["vi"])
    return format_number(Decimal(repr(float(delta))) * 100, digits, sign=True, locale=locale) + unit


def format_interval(low: float | None, high: float | None, digits: int = 1,
                    *, percent: bool = True, locale: str = "vi") -> str:
    """Confidence interval: (0.82, 0.881) -> "82,0–88,1%"; means: "3,9–4,2"."""
    if low is None or high is None or _is_missing(low) or _is_missing(high):
        return MISSING
    if percent:
        lo = format_percent(low, digits, locale=locale)[:-1]
        return f"{lo}–{format_percent(high, digits, locale=locale)}"
    return f"{format_number(low, digits, locale=locale)}–{format_number(high, digits, locale=locale)}"


def format_p_value(p: float | None) -> str:
    """A test's p-value: 0.0105 -> "0,011"; below 0.001 -> "< 0,001" (never "0,000")."""
    if p is None or _is_missing(p):
        return MISSING
    return "< 0,001" if p < 0.001 else format_number(p, 3)


def format_date(d: date | datetime | None) -> str:
    """dd/mm/yyyy."""
    if d is None:
        return MISSING
    return d.strftime("%d/%m/%Y")


def format_datetime(d: datetime | None) -> str:
    """dd/mm/yyyy HH:MM (24-hour clock)."""
    if d is None:
        return MISSING
    return d.strftime("%d/%m/%Y %H:%M")


_PERIOD_RE = re.compile(r"^(\d{4})(?:-(H[12]|Q[1-4]|\d{2}))?$")


def _parse_period(period: str) -> tuple[int, str | None]:
    m = _PERIOD_RE.match(period.strip())
    if not m:
        raise ValueError(f"không nhận dạng được kỳ báo cáo: {period!r}")
    year, part = int(m.group(1)), m.group(2)
    if part and part.isdigit() and not 1 <= int(part) <= 12:
        raise ValueError(f"tháng không hợp lệ: {period!r}")
    return year, part


_MONTHS_EN = ("January", "February", "March", "April", "May", "June", "July", "August",
              "September", "October", "November", "December")


def _period_label_en(year: int, part: str | None) -> str:
    if part is None:
        return f"Year {year}"
    if part in ("H1", "H2"):
        return f"{'First' if part == 'H1' else 'Second'} half of {year}"
    if part.startswith("Q"):
        return f"Q{part[1]} {year}"
    return f"{_MONTHS_EN[int(part) - 1]} {year}"


def period_label(period: str, locale: str = "vi") -> str:
    """Reporting period code to words.

    "2026-H1" -> "6 tháng đầu năm 2026", "2026-H2" -> "6 tháng cuối năm 2026",
    "2026" -> "Năm 2026", "2026-Q3" -> "Quý III năm 2026", "2026-03" -> "Tháng 3 năm 2026".
    English: "First half of 2026", "Second half of 2026", "Year 2026", "Q3 2026", "March 2026".
    """
    year, part = _parse_period(period)
    if locale == "en":
        return _period_label_en(year, part)
    if part is None:
        return f"Năm {year}"
    if part == "H1":
        return f"6 tháng đầu năm {year}"
    if part == "H2":
        return f"6 tháng cuối năm {year}"
    if part.startswith("Q"):
        return f"Quý {_ROMAN_QUARTER[int(part[1])]} năm {year}"
    return f"Tháng {int(part)} năm {year}"


def period_label_short(period: str, locale: str = "vi") -> str:
    """Compact form for chart axes: "6T đầu/2026", "6T cuối/2026", "2026", "Q3/2026", "3/2026"
    (English: "H1/2026", "H2/2026")."""
    year, part = _parse_period(period)
    if part is None:
        return str(year)
    if locale == "en" and part in ("H1", "H2"):
        return f"{part}/{year}"
    if part == "H1":
        return f"6T đầu/{year}"
    if part == "H2":
        return f"6T cuối/{year}"
    if part.startswith("Q"):
        return f"Q{part[1]}/{year}"
    return f"{int(part)}/{year}"
