"""The one gate in front of every officials' route, registered once for the whole app.

Every request whose endpoint is not public (survey/permissions.py: citizens' pages, short links,
static files, sign-in, language) passes here before any view or blueprint hook runs:

- pages: signed in → account active → one-time password replaced (until then only the
  change-password page and sign-out answer) → the route's declared permission;
- /api/v1: a bearer token of an active account (a session cookie counts for nothing there, so the
  CSRF-exempt API cannot be driven through a signed-in browser) → the same permission table.

A blueprint added later is covered without a line of its own: any route it registers is gated,
and a route that declares no permission is refused (a 500 naming it while developing or testing,
so it is fixed before it ships; a logged 403 in production, so a slip fails closed).
"""
from __future__ import annotations

from flask import Flask, abort, current_app, g, redirect, request, url_for
from flask_login import current_user, logout_user
from werkzeug.wrappers import Response as BaseResponse

from survey.extensions import login_manager
from survey.permissions import ACCOUNT_ENDPOINTS, LABELS, Permission, Requirement, allows, is_public, requirement_of

# Blueprints authenticated by bearer token instead of the session.
TOKEN_BLUEPRINTS = frozenset({"api"})


class MissingPermission(RuntimeError):
    """A gated route that declares no permission (see survey.permissions.requires)."""


def route_requirement(app: Flask, endpoint: str) -> Requirement | None:
    """The permission (or alias role set) the route behind `endpoint` declares, or None."""
    return requirement_of(app.view_functions.get(endpoint), endpoint)


def gate() -> BaseResponse | None:
    endpoint = request.endpoint
    if endpoint is None or is_public(endpoint):
        return None  # unrouted (the 404/405 comes next) or public
    if request.method == "OPTIONS" and getattr(request.url_rule, "provide_automatic_options", False):
        return None  # Flask answers with the Allow header alone; no view runs, nothing is shown
    top_blueprint = request.blueprints[-1] if request.blueprints else None
    if top_blueprint in TOKEN_BLUEPRINTS:
        return _token_gate(endpoint)
    return _session_gate(endpoint)


def _requirement(endpoint: str) -> Requirement:
    requirement = route_requirement(current_app, endpoint)
    if requirement is None:
        message = f"route {endpoint!r} declares no permission (survey.permissions.requires)"
        if current_app.debug or current_app.testing:
            raise MissingPermission(message)
        current_app.logger.error("refused: %s", message)
        abort(403)
    return requirement


def _session_gate(endpoint: str) -> BaseResponse | None:
    if current_user.is_anonymous:
        return login_manager.unauthorized()
    if not current_user.is_active:
        # Deactivated while signed in (Flask-Login then calls the user unauthenticated, but keeps
        # the session): the session ends here, so reactivating the account does not revive it.
        logout_user()
        return login_manager.unauthorized()
    if endpoint in ACCOUNT_ENDPOINTS:
        return None
    if current_user.must_change_password:
        return redirect(url_for("auth.change_password"))
    if not allows(current_user.role, _requirement(endpoint)):
        abort(403)
    return None


def _token_gate(endpoint: str) -> BaseResponse | None:
    from survey.api.errors import error_response
    from survey.services import api_tokens

    user = api_tokens.user_for(request.headers.get("Authorization"))  # None unless active
    if user is None:
        return error_response(401)
    g.api_user = user
    if endpoint in ACCOUNT_ENDPOINTS:
        return None
    requirement = _requirement(endpoint)
    if not allows(user.role, requirement):
        if isinstance(requirement, Permission):
            return error_response(403, f"Tài khoản của khóa API này không có quyền {LABELS[requirement]}.")
        return error_response(403)
    return None


def init_gate(app: Flask) -> None:
    # First of the app's before_request hooks: who is there is settled before CSRF or rate-limit
    # work, so a signed-out request is sent to sign in rather than told its form expired.
    app.before_request_funcs.setdefault(None, []).insert(0, gate)
