"""One parser for what officials, operators and API clients name: a period, a unit, an integer.

Pages, the API and the CLI read their arguments through here, so the same text means the same
thing everywhere:

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

from datetime import datetime, timezone
from typing import Callable, Literal, TypeVar, overload

import click
from flask import abort, request
from flask_babel import gettext as _
from werkzeug.exceptions import BadRequest

from survey.access import Scope, scoped_unit
from survey.catalog.periods import period_of, period_problem
from survey.models import Unit

MAX_ID = 2**31 - 1  # ids are INTEGER columns on both backends
T = TypeVar("T")


class BadArgument(BadRequest):
    """An argument the caller got wrong; `description` says what, in Vietnamese."""

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
