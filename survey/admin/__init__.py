"""Administrators and data: the unit tree, counters, accounts, imports, exports, API tokens.

Each route states its roles with access.roles_required; reads go through access.scope.
"""
from flask import Blueprint, redirect, url_for
from flask_login import current_user, login_required

from analysis.report.format_vi import format_date, format_datetime, format_int

# cli_group=None: commands are top-level (`flask import-volumes`), as operators expect.
bp = Blueprint("admin", __name__, url_prefix="/quan-tri", cli_group=None)


@bp.before_request
@login_required
def require_login():
    # Same rule as the officials' workspace: a reset password is replaced before anything else.
    # login_required lets OPTIONS through signed out (CORS preflight), so check who is there.
    if current_user.is_authenticated and current_user.must_change_password:
        return redirect(url_for("auth.change_password"))
    return None


@bp.after_request
def no_store(response):
    # Pages here show one-time passwords, API tokens and personal data exports.
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.context_processor
def formatting():
    from survey.services.exports import local_time

    def fmt_datetime(moment):
        return format_datetime(local_time(moment) if moment else None)

    return {"fmt_int": format_int, "fmt_date": format_date, "fmt_datetime": fmt_datetime}


from survey.admin import cli, comments, data, units, users  # noqa: E402,F401
