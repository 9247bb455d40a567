"""Citizens: scan a counter's QR code, answer, get thanked."""
from flask import Blueprint

bp = Blueprint("public", __name__)

from survey.intake.citizen_csrf import set_cookie  # noqa: E402

bp.after_request(set_cookie)  # the citizen form's CSRF cookie, when a request made one

from survey.public import (
    dossier_link,  # noqa: E402,F401  (/h/<token>)
    views,  # noqa: E402,F401
)
