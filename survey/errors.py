"""Every error a person can meet gets a page in their language, never a stack trace."""
from __future__ import annotations

from flask import Flask, render_template
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        # Officials' forms; the citizen form checks CSRF itself and keeps the answers instead.
        return render_template("errors.html", code=400, kind="csrf"), 400

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        kind = error.description if error.description in {"token", "counter", "survey"} else None
        return render_template("errors.html", code=error.code, kind=kind), error.code

    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        app.logger.exception("unhandled error")
        return render_template("errors.html", code=500, kind=None), 500
