"""Officials' sessions: which cookie still counts, a fresh session at sign-in, nothing kept in caches.

Sessions are Flask's signed cookies, so a copied cookie cannot be deleted on the server. Instead
the session carries the account's `session_epoch` with its id (User.get_id: "<id>:<epoch>"), and
every request that reads current_user loads the account and compares (no extra query: the
account is loaded anyway). Sign-out, a password change, an administrator's reset and
deactivation bump the epoch (survey/services/accounts.py), which ends every session of the
account at once: copies of the cookie, other browsers, and a Flask-Login remember cookie, which
goes through the same loader.
"""
from __future__ import annotations

from flask import Flask, Response, request, session

from survey.extensions import db, login_manager
from survey.models import User

# Citizens' pages: no account and nothing personal on them, and a QR scan should stay cheap to
# serve again. Everything else is an official's page, a PDF, an export or the API.
CACHEABLE_BLUEPRINTS = ("public", "short", "results")


@login_manager.user_loader
def load_user(session_id: str) -> User | None:
    user_id = session_id.partition(":")[0]
    user = db.session.get(User, int(user_id)) if user_id.isascii() and user_id.isdigit() else None
    # An ended session carries an older epoch (or a bare id, from before epochs): refused, as is
    # a deactivated account (Flask-Login only checks that at sign-in).
    if user is None or not user.active or user.get_id() != session_id:
        # Ended, not paused: the cookie is emptied, so reactivating the account (or an old epoch
        # coming back in a restored database) never revives this session.
        session.clear()
        return None
    return user


def start_fresh_session() -> None:
    """Sign-in begins from an empty session: nothing a visitor, or whoever planted the cookie, put
    in it before survives (the CSRF secret included). Only the language choice is kept."""
    lang = session.get("lang")
    session.clear()
    if lang is not None:
        session["lang"] = lang


def no_store(response: Response) -> Response:
    """Signed-in pages, PDFs, exports and API answers stay out of every cache (the browser's
    back button and disk cache, a shared proxy): only citizens' pages and static files may be kept."""
    if request.blueprint not in CACHEABLE_BLUEPRINTS and request.endpoint != "static":
        response.headers["Cache-Control"] = "no-store"
    return response


def init_sessions(app: Flask) -> None:
    app.after_request(no_store)
