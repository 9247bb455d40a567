"""JSON API /api/v1: bearer-token auth, the same scoped reads as the pages, the volume import."""
from flask import Blueprint

from survey.extensions import csrf

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)  # token-authenticated, no cookies: CSRF does not apply

from survey.api import views  # noqa: E402,F401
