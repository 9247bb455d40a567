"""Dashboards: indices per unit and period, province ranking. Numbers come from analysis/.

Access: the app-wide gate (survey/gate.py) and each route's permission (survey/permissions.py).
"""
from flask import Blueprint

bp = Blueprint("dashboards", __name__, url_prefix="/quan-ly/bang-dieu-khien", cli_group=None)


from survey.dashboards import (
    cli,  # noqa: E402,F401
    drill_views,  # noqa: E402,F401
    views,  # noqa: E402,F401
)
