"""Every error a person can meet gets a page in their language, never a stack trace."""
from __future__ import annotations

from flask import Flask, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DataError, DisconnectionError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException

# The database is down, restarting, full, read-only or out of connections: nothing was stored and
# trying again later will work, so say that (503), not "an error occurred" (500).
UNAVAILABLE = (OperationalError, DisconnectionError, PoolTimeout)
RETRY_AFTER = "30"
REFUSED_VALUES = (DataError, OverflowError)


def discard_session() -> None:
    """Give the failed transaction's connection back; a dead one is replaced by the pool."""
    from survey.extensions import db

    try:
        db.session.rollback()
    except Exception:  # the connection may be gone: the pool's pre-ping replaces it next time
        db.session.remove()


def _signed_in() -> bool:
    """An official's error page keeps the officials' menu; citizens get the plain page, and so
    does an official who opened a citizens' page (a QR link, /ket-qua): it is that page's error."""
    from flask_login import current_user

    from survey.permissions import PUBLIC_BLUEPRINTS

    if request.blueprint in PUBLIC_BLUEPRINTS:
        return False
    try:
        return bool(current_user.is_authenticated)
    except Exception:  # the user could not be loaded (database down): the plain page
        return False


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        # Officials' forms; the citizen form checks CSRF itself and keeps the answers instead.
        return render_template("errors.html", code=400, kind="csrf"), 400

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if request.path == "/api/v1" or request.path.startswith("/api/v1/"):
            # A path no API route matches (one with a newline escapes even the API's catch-all
            # route) still answers JSON, as the OpenAPI file promises.
            from survey.api.errors import error_response

            return error_response(error.code or 400)
        kind = error.description if error.description in {"token", "counter", "survey"} else None
        # An argument the caller got wrong (survey/args.BadArgument) says what, in Vietnamese.
        message = error.description if getattr(error, "public_message", False) else None
        return render_template("errors.html", code=error.code, kind=kind, message=message,
                               officials_layout=_signed_in()), error.code

    def database_unavailable(error: Exception):
        app.logger.warning("database unavailable: %s", error)
        discard_session()
        # A citizen's POST that failed before the form could be re-shown: their answers are still
        # in the browser (Back), and nothing was stored, so sending again is safe.
        kind = "busy-post" if request.method == "POST" and request.blueprint in ("public", "short") else None
        page = render_template("errors.html", code=503, kind=kind)
        return page, 503, {"Retry-After": RETRY_AFTER}

    for unavailable in UNAVAILABLE:
        app.register_error_handler(unavailable, database_unavailable)

    def database_refused_value(error: Exception):
        # A value the database cannot hold (an id past INTEGER in a URL, a NUL byte in text) came
        # from the request: the request is wrong, not the server. SQLite's driver raises a bare
        # OverflowError for integers past 64 bits, PostgreSQL a DataError.
        app.logger.warning("database refused a value: %r", getattr(error, "orig", error))
        discard_session()
        return render_template("errors.html", code=400, kind=None), 400

    for refused in REFUSED_VALUES:
        app.register_error_handler(refused, database_refused_value)

    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        app.logger.exception("unhandled error")
        return render_template("errors.html", code=500, kind=None), 500
