"""PDF reports and QR posters: downloads for officials, `flask report` and `flask qr-posters`.

Access: the app-wide gate (survey/gate.py) and each route's permission (survey/permissions.py).
"""
from flask import Blueprint

bp = Blueprint("reports", __name__, url_prefix="/quan-ly/bao-cao", cli_group=None)


from survey.reports import cli, views  # noqa: E402,F401
