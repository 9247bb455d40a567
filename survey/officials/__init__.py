"""Officials' workspace: the home page and the menu. Reads go through access.scope.

Sign-in, the one-time password and each route's permission are checked by the app-wide gate
(survey/gate.py) before any view here runs.
"""
from flask import Blueprint

bp = Blueprint("officials", __name__, url_prefix="/quan-ly")


from survey.officials import views  # noqa: E402,F401
