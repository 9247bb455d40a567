"""Officials' workspace: the home page and the menu. Reads take the user's scope (access.visible_unit_ids).

Sign-in, the one-time password and each route's permission are checked by the app-wide gate
(survey/gate.py) before any view here runs.
"""
from flask import Blueprint

from survey.gate import gate

bp = Blueprint("officials", __name__, url_prefix="/quan-ly")


def require_login():
    """Kept for blueprints that still register it as a before_request hook: the app-wide gate
    has already run by then; running it again changes nothing. Prefer removing the hook."""
    return gate()


from survey.officials import views  # noqa: E402,F401
