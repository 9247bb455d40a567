"""The Flask application: create_app() builds it; extensions and blueprints are bound here only."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask, has_request_context, request, session
from flask_babel import get_locale

from survey.config import ROOT, Config, check_secret_keys
from survey.extensions import babel, csrf, db, limiter, login_manager, migrate
from survey.replica import init_replica, replica_binds


def select_locale() -> str:
    # Vietnamese first. Citizens switch per URL (?lang=en) so a shared kiosk never sticks in the
    # last citizen's language; officials' choice is kept in their session. Outside a request
    # (CLI, jobs) gettext reads Vietnamese; a report's language is passed explicitly (--lang).
    if not has_request_context():
        return "vi"
    if "lang" in request.args or request.blueprint in ("public", "short", "case", "results"):
        return "en" if request.args.get("lang") == "en" else "vi"
    return "en" if session.get("lang") == "en" else "vi"


def create_app(config: dict[str, Any] | None = None) -> Flask:
    app = Flask(
        __name__,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
        instance_path=str(ROOT / "instance"),
    )
    app.config.from_object(Config)
    if config:
        app.config.update(config)
    check_secret_keys(app)
    app.config["SQLALCHEMY_BINDS"] = {**(app.config.get("SQLALCHEMY_BINDS") or {}),
                                      **replica_binds(app.config.get("DATABASE_REPLICA_URL"))}
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)

    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"))
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    app.jinja_env.globals["get_locale"] = get_locale
    login_manager.init_app(app)
    limiter.init_app(app)

    from survey import models  # noqa: F401  (register tables on the metadata)
    from survey.admin import bp as admin_bp
    from survey.api import bp as api_bp
    from survey.auth import bp as auth_bp
    from survey.auth.sessions import init_sessions
    from survey.campaigns import bp as campaigns_bp
    from survey.cli import register_cli
    from survey.dashboards import bp as dashboards_bp
    from survey.errors import register_error_handlers
    from survey.feedback import bp as feedback_bp
    from survey.feedback import case_bp
    from survey.gate import init_gate
    from survey.indices import scores  # noqa: F401  (ORM writers get their score rows: after_flush)
    from survey.links import bp as links_bp
    from survey.officials import bp as officials_bp
    from survey.officials.nav import can, nav_links
    from survey.progress import bp as progress_bp
    from survey.public import bp as public_bp
    from survey.remediation import bp as remediation_bp
    from survey.reports import bp as reports_bp
    from survey.results import bp as results_bp
    from survey.review import bp as review_bp
    from survey.security import citizen_hook_path, init_security
    from survey.short_links import bp as short_bp
    from survey.tracker import bp as tracker_bp

    for blueprint in (public_bp, short_bp, auth_bp, officials_bp, dashboards_bp, reports_bp,
                      campaigns_bp, admin_bp, api_bp, review_bp,
                      links_bp, remediation_bp, tracker_bp, case_bp, feedback_bp, progress_bp,
                      results_bp):
        app.register_blueprint(blueprint)
    from survey import template_format

    template_format.register(app)  # vn_datetime, vn_date, period_label: every page's one format
    init_gate(app)  # every officials' route, present and future: survey/gate.py
    init_replica(app)  # after the gate: the gate's reads stay on the primary (survey/replica.py)
    from survey.catalog.loop_labels import in_lang

    # by_lang(("Vietnamese", "English")): a catalogue pair in the reader's language.
    app.context_processor(lambda: {"nav_links": nav_links, "can": can, "by_lang": in_lang})
    init_security(app)
    init_sessions(app)
    register_error_handlers(app)
    register_cli(app)
    citizen_hook_path(app)  # last: every app-wide hook is registered (survey/security.py)
    return app
