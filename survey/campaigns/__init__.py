"""Thematic surveys (khảo sát chuyên đề) run by Sở Nội vụ: Permission.RUN_CAMPAIGNS.

Access: the app-wide gate (survey/gate.py); every route declares RUN_CAMPAIGNS, and a route added
later without a declaration is refused by the gate, not left open.
"""
from flask import Blueprint

bp = Blueprint("campaigns", __name__, url_prefix="/quan-ly/chuyen-de", cli_group=None)


from survey.campaigns import views  # noqa: E402,F401
