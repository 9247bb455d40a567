"""PDF reports and QR posters: downloads for officials, `flask report` and `flask qr-posters`."""
from flask import Blueprint
from flask_login import login_required

bp = Blueprint("reports", __name__, url_prefix="/quan-ly/bao-cao", cli_group=None)


@bp.before_request
@login_required
def require_login():
    return None


from survey.reports import cli, views  # noqa: E402,F401
