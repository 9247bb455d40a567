"""One parser for what officials, operators and API clients name: a period, a unit, an integer.

Pages, the API and the CLI read their arguments through here, so the same text means the same
thing everywhere:

- a time window (dashboards) is a half-year, a quarter (`2026-Q1`), a year or a range of days
  written dd/mm/yyyy (`parse_window`, `parse_date`: the one date parser);
- a period follows services.periods (one rule: `2026-H1`, case and spaces forgiven, from
  FIRST_PERIOD to the half-year after the current one); anything else is a 400;
- an integer is ASCII digits only ('²'.isdigit() is True and int('²') fails; '-1', '1.0' are not
  ids) within its bounds (ids within the database's INTEGER); anything else is a 400;
- a unit is named by id (pages, API) or code (CLI) and must be in the caller's scope (the set
  of visible unit ids): an unknown unit and one outside the scope are the same 404, so ids and
  codes cannot be probed.

Errors are BadArgument, a 400 carrying a Vietnamese message: pages show their 400 page, the API
returns the message as JSON (survey/api/views.py), the CLI prints it (`cli_value`).
"""
from __future__ import annotations

import re
from datetime import date, datetime, timezone
from typing import Callable, Literal, Mapping, TypeVar, overload

import click
from flask import abort, request
from flask_babel import gettext as _
from werkzeug.exceptions import BadRequest

from survey.access import Scope, scoped_unit
from survey.catalog.periods import FIRST_PERIOD, following, period_of, period_problem
from survey.indices import windows
from survey.indices.windows import Window
from survey.models import Unit

MAX_ID = 2**31 - 1  # ids are INTEGER columns on both backends
_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_QUARTER = re.compile(r"(\d{4})-Q([1-4])")
T = TypeVar("T")


class BadArgument(BadRequest):
    """An argument the caller got wrong; `description` says what, in Vietnamese (the 400
    page shows it: `public_message`)."""

    public_message = True

    def __init__(self, message: str):
        super().__init__(description=message)


# ---------------------------------------------------------------- plain values

def parse_period(text: str | None) -> str:
    """The canonical period ('2026-H1') named by `text`, or BadArgument."""
    period = (text or "").strip().upper()
    problem = period_problem(period)
    if problem is not None:
        raise BadArgument(problem)
    return period


def parse_int(text: str | None, name: str, low: int = 0, high: int = MAX_ID) -> int:
    """ASCII digits within [low, high], or BadArgument naming `name`."""
    value = (text or "").strip()
    # Length first: int() of a million digits is slow, and nothing here needs more than 19.
    if not (value.isascii() and value.isdigit()) or len(value) > 19 or not low <= int(value) <= high:
        raise BadArgument(_("Tham số %(name)s phải là số nguyên từ %(low)s đến %(high)s.",
                            name=name, low=low, high=high))
    return int(value)


def parse_date(text: str | None, name: str) -> date:
    """A day written dd/mm/yyyy (as every page shows dates; d/m and yyyy-mm-dd forgiven),
    between the first period and the end of the half-year after the current one."""
    value = (text or "").strip()
    match = _DATE.fullmatch(value) or _ISO_DATE.fullmatch(value)
    try:
        if match is None:
            raise ValueError
        parts = [int(p) for p in match.groups()]
        day = date(*parts) if match.re is _ISO_DATE else date(parts[2], parts[1], parts[0])
    except ValueError:
        raise BadArgument(f"Ngày {name} \"{value[:20]}\" không hợp lệ; viết dạng ngày/tháng/năm, "
                          "ví dụ 05/01/2026.") from None
    first = windows.period_dates(FIRST_PERIOD)[0]
    last = windows.period_dates(following(period_of(datetime.now(timezone.utc))))[1]
    if not first <= day <= last:
        raise BadArgument(f"Ngày {name} {day:%d/%m/%Y} nằm ngoài khoảng từ {first:%d/%m/%Y} "
                          f"đến {last:%d/%m/%Y}.")
    return day


def parse_window(args: Mapping[str, str]) -> Window:
    """The time window a request names: ?from=&to= (dd/mm/yyyy), ?quarter=2026-Q1, ?year=2026
    or ?period=2026-H1 (the current half-year when none is given)."""
    start, end = (args.get(k, "").strip() for k in ("from", "to"))
    if start or end:
        if not (start and end):
            raise BadArgument("Khoảng thời gian cần cả ngày bắt đầu và ngày kết thúc.")
        first, last = parse_date(start, "bắt đầu"), parse_date(end, "kết thúc")
        if first > last:
            raise BadArgument("Ngày bắt đầu phải trước hoặc trùng ngày kết thúc.")
        return windows.custom(first, last)
    quarter = args.get("quarter", "").strip().upper()
    if quarter:
        match = _QUARTER.fullmatch(quarter)
        if match is None:
            raise BadArgument(f"Quý \"{quarter[:20]}\" không hợp lệ; viết dạng 2026-Q1 (quý I đến quý IV).")
        parse_period(f"{match[1]}-H{1 if int(match[2]) <= 2 else 2}")   # the same range of years
        return windows.quarter(int(match[1]), int(match[2]))
    year = args.get("year", "").strip()
    if year:
        if not (year.isascii() and year.isdigit() and len(year) == 4):
            raise BadArgument(f"Năm \"{year[:20]}\" không hợp lệ; viết bốn chữ số, ví dụ 2026.")
        parse_period(f"{year}-H1")
        return windows.year(int(year))
    raw = args.get("period", "")
    return windows.half(parse_period(raw) if raw.strip() else period_of(datetime.now(timezone.utc)))


def find_unit(visible: Scope, *, unit_id: int | None = None, code: str | None = None) -> Unit | None:
    """The unit with this id or code when the scope `visible` includes it, else None."""
    return scoped_unit(visible, unit_id=unit_id, code=(code or "").strip() or None)


# ---------------------------------------------------------------- request arguments

@overload
def period_arg(name: str = ..., *, default_current: Literal[True] = ...) -> str: ...
@overload
def period_arg(name: str = ..., *, default_current: bool) -> str | None: ...


def period_arg(name: str = "period", *, default_current: bool = True) -> str | None:
    """`?period=`: the current half-year when absent (or None with default_current=False)."""
    raw = request.args.get(name, "")
    if not raw.strip():
        return period_of(datetime.now(timezone.utc)) if default_current else None
    return parse_period(raw)


def window_arg() -> Window:
    """The request's time window (parse_window)."""
    return parse_window(request.args)


def int_arg(name: str, default: int, low: int = 0, high: int = MAX_ID) -> int:
    raw = request.args.get(name, "")
    return default if not raw.strip() else parse_int(raw, name, low, high)


def unit_arg(visible: Scope, name: str = "unit") -> Unit | None:
    """`?unit=<id>`: None when absent; 400 when not an id; 404 when unknown or outside the scope."""
    raw = request.args.get(name, "")
    if not raw.strip():
        return None
    unit = find_unit(visible, unit_id=parse_int(raw, name, 1, MAX_ID))
    if unit is None:
        abort(404)
    return unit


# ---------------------------------------------------------------- the CLI

class PeriodParam(click.ParamType):
    """`--period 2026-H1` checked by the same rule as the pages and the API."""

    name = "period"

    def convert(self, value, param, ctx):
        try:
            return parse_period(value)
        except BadArgument as error:
            self.fail(error.description, param, ctx)


PERIOD = PeriodParam()


def cli_value(read: Callable[..., T], *args, **kwargs) -> T:
    """`read(...)`, with a BadArgument turned into the CLI's error message."""
    try:
        return read(*args, **kwargs)
    except BadArgument as error:
        raise click.ClickException(error.description) from None


def unit_by_code(code: str, visible: Scope = None) -> Unit:
    """The unit an operator names with --unit CODE (operators see the whole province)."""
    unit = find_unit(visible, code=code)
    if unit is None:
        raise BadArgument(_("Không có đơn vị mã %(code)s.", code=code))
    return unit
