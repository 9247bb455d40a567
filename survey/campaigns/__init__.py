"""Thematic surveys (khảo sát chuyên đề) run by Sở Nội vụ."""
from flask import Blueprint
from flask_login import login_required

bp = Blueprint("campaigns", __name__, url_prefix="/quan-ly/chuyen-de", cli_group=None)


@bp.before_request
@login_required
def require_login():
    return None


from survey.campaigns import views  # noqa: E402,F401
