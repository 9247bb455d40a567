"""Thematic surveys (khảo sát chuyên đề) run by Sở Nội vụ: analysts and administrators only."""
from flask import Blueprint, redirect, url_for
from flask_login import current_user

from survey.services.access import roles_required

CAMPAIGN_ROLES = ("admin", "analyst")

bp = Blueprint("campaigns", __name__, url_prefix="/quan-ly/chuyen-de", cli_group=None)


@bp.before_request
@roles_required(*CAMPAIGN_ROLES)  # also sends a signed-out visitor to the login page
def require_role():
    # Checked once for the whole blueprint, so a route added later cannot forget it.
    if current_user.must_change_password:
        return redirect(url_for("auth.change_password"))
    return None


from survey.campaigns import views  # noqa: E402,F401
