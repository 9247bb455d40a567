"""Integrity review: the rules that flag suspicious submissions, and Sở Nội vụ's quarantine review.

The review pages are for Sở Nội vụ's analysts and administrators only (REVIEW_QUARANTINE).
"""
from flask import Blueprint, redirect, url_for
from flask_login import current_user

from survey.services.access import roles_required

REVIEW_ROLES = ("admin", "analyst")

bp = Blueprint("review", __name__, url_prefix="/quan-ly/kiem-duyet", cli_group=None)


@bp.before_request
@roles_required(*REVIEW_ROLES)  # also sends a signed-out visitor to the login page
def require_role():
    # Checked once for the whole blueprint, so a route added later cannot forget it.
    if current_user.must_change_password:
        return redirect(url_for("auth.change_password"))
    return None


from survey.review import views  # noqa: E402,F401
