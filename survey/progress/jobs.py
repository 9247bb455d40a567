"""The digest as an RQ job (survey/progress/rq_cron.py schedules it): plain values in, its own app.

Like survey/reports/jobs.py, the job builds its app from the environment (DATABASE_URL,
MAIL_*), so a worker on another machine sends exactly what `flask digest` would.
"""
from __future__ import annotations

import secrets


def send_daily_digest() -> dict[str, int]:
    """`flask digest` for today (Vietnam time), run on an RQ worker."""
    from survey import create_app
    from survey.extensions import db
    from survey.progress.digest import run_digest

    # It signs nothing: a throwaway key, so the worker needs no copy of the web tier's SECRET_KEY.
    app = create_app({"SECRET_KEY": secrets.token_hex(32)})
    with app.app_context():
        try:
            return run_digest()
        finally:
            db.session.remove()
            db.engine.dispose()
