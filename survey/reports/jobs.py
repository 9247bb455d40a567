"""Rendering jobs: run inline, or on RQ workers (`rq worker reports`) when REDIS_URL is set.

A job receives only plain values (database URL, period, unit codes, output folder, format,
language) and builds its own app, so a worker on another machine renders exactly what the CLI
would. The app is built once per process and database URL, not once per unit: with a
SimpleWorker (what `flask report province --workers N` starts) or inline, a whole batch shares
one app, one connection pool and one warm WeasyPrint. A province batch is queued as chunks of
units (render_units), each resumable through batch.py's manifest.
"""
from __future__ import annotations

import secrets
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, cast

from sqlalchemy import select

from survey.reports import batch

if TYPE_CHECKING:
    from flask import Flask

_apps: dict[str, Flask] = {}


def _app(database_url: str) -> Flask:
    app = _apps.get(database_url)
    if app is None:
        from survey import create_app

        # It renders reports and signs nothing: a throwaway key, so a worker needs no copy of the
        # web tier's SECRET_KEY (create_app refuses to run without a real one).
        app = _apps[database_url] = create_app(
            {"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": secrets.token_hex(32)})
    return app


def draw_unit(unit_code: str, period: str, fmt: str = "pdf", lang: str = "vi") -> bytes:
    """One unit's report as PDF, or as Word with fmt='docx' (inside an app context)."""
    from analysis.report import render_unit_docx, render_unit_report
    from survey import i18n
    from survey.extensions import db
    from survey.indices.report_data import unit_report_data
    from survey.models import Unit

    unit = cast(Unit, db.session.scalar(select(Unit).where(Unit.code == unit_code)))  # queued from the table
    data = unit_report_data(unit, period, lang=lang)
    return (render_unit_docx(data) if fmt == "docx"
            else render_unit_report(data, translations=i18n.translations(lang)))


def render_unit_to_file(database_url: str, unit_code: str, period: str, output: str,
                        lang: str = "vi") -> str:
    """One unit's report to `output` (written atomically): Word when it ends in .docx, else PDF."""
    from survey.extensions import db
    from survey.replica import replica_reads

    fmt = "docx" if output.endswith(".docx") else "pdf"
    with _app(database_url).app_context(), replica_reads():  # a worker only reads: the replica when there is one
        try:
            batch.write_atomic(Path(output), draw_unit(unit_code, period, fmt, lang))
        finally:
            db.session.remove()
    return output


def render_units(database_url: str, period: str, folder: str, codes: Iterable[str], fmt: str = "pdf",
                 lang: str = "vi") -> int:
    """A chunk of a province batch: every unit of `codes` not already done; returns how many were drawn."""
    from survey.extensions import db
    from survey.indices import drill
    from survey.replica import replica_reads

    # The province every unit is ranked against is read once for the chunk (drill.shared_ranking).
    with _app(database_url).app_context(), replica_reads(), drill.shared_ranking():
        try:
            return batch.render_missing(Path(folder), period, codes,
                                        lambda code: draw_unit(code, period, fmt, lang), fmt, lang)
        finally:
            db.session.remove()
