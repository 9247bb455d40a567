"""The public results page /ket-qua (issue 14 item 3): the province's and every unit's SIPAS
index for a half-year, with its .json and .csv copies. Citizens: no sign-in, no session, cached.

- data: the figures (aggregates and the pooled province estimate) and the published answers,
  plain values kept per process for a few minutes;
- views: the page and its machine-readable copies.
"""
from flask import Blueprint

# Public (survey/permissions.py PUBLIC_BLUEPRINTS); cacheable (survey/auth/sessions.py).
bp = Blueprint("results", __name__)

from survey.results import views  # noqa: E402,F401
