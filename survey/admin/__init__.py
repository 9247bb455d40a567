"""Administrators and data: the unit tree, counters, accounts, imports, exports, API tokens.

Each route declares its permission (survey.permissions.requires), checked by the app-wide gate
(survey/gate.py); reads take the user's scope (access.visible_unit_ids, access.restrict).
"""
from flask import Blueprint

from analysis.report.format_vi import format_int

# cli_group=None: commands are top-level (`flask import-volumes`), as operators expect.
bp = Blueprint("admin", __name__, url_prefix="/quan-tri", cli_group=None)


@bp.context_processor
def formatting():
    # Dates and times: the app-wide filters vn_date / vn_datetime (survey/template_format.py).
    return {"fmt_int": format_int}


from survey.admin import cli, comments, data, units, users  # noqa: E402,F401
