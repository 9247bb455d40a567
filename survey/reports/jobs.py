"""Rendering jobs: run inline, or on RQ workers (`rq worker reports`) when REDIS_URL is set.

A job receives only plain values (database URL, unit code, period, output path) and builds
its own app, so a worker on another machine renders exactly what the CLI would.
"""
from __future__ import annotations

import secrets
from pathlib import Path
from typing import cast

from sqlalchemy import select


def render_unit_to_file(database_url: str, unit_code: str, period: str, output: str,
                        lang: str = "vi") -> str:
    """The unit's report as PDF, or as Word when `output` ends in .docx."""
    from analysis.report import render_unit_docx, render_unit_report
    from survey import create_app, i18n
    from survey.extensions import db
    from survey.indices.report_data import unit_report_data
    from survey.models import Unit
    from survey.replica import replica_reads

    # It renders one PDF and signs nothing: a throwaway key, so a worker needs no copy of the web
    # tier's SECRET_KEY (create_app refuses to run without a real one).
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": secrets.token_hex(32)})
    with app.app_context(), replica_reads():  # a worker only reads: the replica when there is one
        unit = cast(Unit, db.session.scalar(select(Unit).where(Unit.code == unit_code)))  # queued from the table
        data = unit_report_data(unit, period, lang=lang)
        Path(output).write_bytes(render_unit_docx(data) if output.endswith(".docx")
                                 else render_unit_report(data, translations=i18n.translations(lang)))
        db.session.remove()
        db.engine.dispose()
    return output
