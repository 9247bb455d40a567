"""Officials sign in and out."""
from flask import Blueprint

bp = Blueprint("auth", __name__)

from survey.auth import sessions, views  # noqa: E402,F401
