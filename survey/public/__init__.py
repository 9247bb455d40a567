"""Citizens: scan a counter's QR code, answer, get thanked."""
from flask import Blueprint

bp = Blueprint("public", __name__)

from survey.public import (
    dossier_link,  # noqa: E402,F401  (/h/<token>)
    views,  # noqa: E402,F401
)
