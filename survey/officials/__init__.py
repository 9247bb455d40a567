"""Officials' workspace: every route needs a signed-in official, and reads through access.scope."""
from flask import Blueprint, redirect, request, url_for
from flask_login import current_user, login_required

bp = Blueprint("officials", __name__, url_prefix="/quan-ly")


@bp.before_request
@login_required
def require_login():
    # A reset password must be replaced before anything else is shown.  login_required lets
    # OPTIONS through signed out (CORS preflight), so check who is there.
    if (current_user.is_authenticated and current_user.must_change_password
            and request.endpoint != "auth.change_password"):
        return redirect(url_for("auth.change_password"))
    return None


from survey.officials import views  # noqa: E402,F401
