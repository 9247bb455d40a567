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
    from analysis.report import render_unit_report
    from survey import create_app, i18n
    from survey.extensions import db
    from survey.indices.report_data import unit_report_data
    from survey.models import Unit

    # It renders one PDF and signs nothing: a throwaway key, so a worker needs no copy of the web
    # tier's SECRET_KEY (create_app refuses to run without a real one).
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": secrets.token_hex(32)})
    with app.app_context():
        unit = cast(Unit, db.session.scalar(select(Unit).where(Unit.code == unit_code)))  # queued from the table
        Path(output).write_bytes(render_unit_report(unit_report_data(unit, period, lang=lang),
                                                    translations=i18n.translations(lang)))
        db.session.remove()
        db.engine.dispose()
    return output
