"""Dashboards: indices per unit and period, province ranking. Numbers come from analysis/."""
from flask import Blueprint
from flask_login import login_required

bp = Blueprint("dashboards", __name__, url_prefix="/quan-ly/bang-dieu-khien", cli_group=None)


@bp.before_request
@login_required
def require_login():
    return None


from survey.dashboards import views  # noqa: E402,F401
from survey.dashboards import cli  # noqa: E402,F401
