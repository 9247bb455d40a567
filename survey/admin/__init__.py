"""Administrators: the unit tree, counters, service-volume imports, data exports."""
from flask import Blueprint
from flask_login import login_required

# cli_group=None: commands are top-level (`flask import-volumes`), as operators expect.
bp = Blueprint("admin", __name__, url_prefix="/quan-tri", cli_group=None)


@bp.before_request
@login_required
def require_login():
    return None


from survey.admin import views  # noqa: E402,F401
