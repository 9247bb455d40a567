"""JSON API /api/v1: bearer-token auth, the same scoped reads as the pages, the volume import.

The app-wide gate (survey/gate.py) authenticates the bearer token and checks each route's
permission from the same table as the pages (survey/permissions.py).
"""
from flask import Blueprint

from survey.extensions import csrf

# cli_group=None: `flask create-api-token` is top-level like the other operator commands.
bp = Blueprint("api", __name__, url_prefix="/api/v1", cli_group=None)
csrf.exempt(bp)  # token-authenticated, no cookies: CSRF does not apply

from survey.api import cli, errors, views  # noqa: E402,F401
