"""The Jinja filters every page shares: one way to show a moment, a day and a reporting period.

Moments are stored in UTC (SQLite hands them back naive); people read Vietnam time
(Asia/Ho_Chi_Minh), so every timestamp on a page goes through `vn_datetime` / `vn_date`, and
every period code ("2026-H2") through `period_label`. The formats themselves are
analysis/report/format_vi.py's, which the PDFs use too.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Any, Iterable

from flask import Flask
from markupsafe import Markup, escape

from analysis.report.format_vi import MISSING, format_date, format_datetime, period_label
from survey.catalog.periods import in_vietnam
from survey.i18n import current_lang


def vn_datetime(moment: datetime | None) -> str:
    """dd/mm/yyyy HH:MM on the clock in Vietnam."""
    return format_datetime(in_vietnam(moment)) if moment is not None else MISSING


def vn_date(moment: date | datetime | None) -> str:
    """dd/mm/yyyy; a moment is first moved to Vietnam time (a day already is a local day)."""
    if isinstance(moment, datetime):
        return format_date(in_vietnam(moment))
    return format_date(moment)


def period_text(code: str | None) -> str:
    """"6 tháng cuối năm 2026" for "2026-H2" ("Second half of 2026" for an official reading English);
    a code that is not a period is shown as sent."""
    if not code:
        return MISSING
    try:
        return period_label(code, current_lang())
    except ValueError:
        return code


def unit_options(units: Iterable[Any], selected: Any = None, *, value: str = "id",
                 blank: str | None = None) -> Markup:
    """Every unit picker's ``<option>`` list ("code – name"), escaped as the template's
    autoescape would.  ``value``: the attribute sent (``id`` or ``code``); ``selected``: that
    attribute's value of the chosen unit; ``blank``: the label of a first, empty option ("all
    units").  A country's 3,321 units through a Jinja loop were ~27,000 template calls, an
    eighth of the unit dashboard's time."""
    head = f'<option value="">{escape(blank)}</option>' if blank is not None else ""
    units = list(units)
    sent = [getattr(u, value) for u in units]
    texts = [part for u, v in zip(units, sent) for part in (str(v), f"{u.code} – {u.name}")]
    # Escaped in ONE call over the joined text (NUL never occurs in a stored name: PostgreSQL
    # text cannot hold it): 6,642 escape() calls and their Markup objects were ~60 ms a page.
    escaped = str(escape(_SEP.join(texts))).split(_SEP)
    if len(escaped) != len(texts):
        escaped = [str(escape(t)) for t in texts]
    return Markup(head + "".join(
        f'<option value="{escaped[2 * i]}"{" selected" if selected is not None and v == selected else ""}>'
        f"{escaped[2 * i + 1]}</option>" for i, v in enumerate(sent)))


_SEP = "\x00"


def register(app: Flask) -> None:
    app.jinja_env.filters.update(vn_datetime=vn_datetime, vn_date=vn_date, period_label=period_text)
    app.jinja_env.globals["unit_options"] = unit_options
