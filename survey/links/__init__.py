"""Per-dossier one-time links (issue 11, item 3): the verified channel.

- tokens: signed link tokens (QR signing key, own salt, canonical spelling only);
- service: issuing a link for a dossier (keyed hash only), its state, the verified count;
- public: /h/<token>, the standing form with the service field fixed (routes of the public blueprint);
- officer: the officers' page /quan-ly/phieu-hen (issue by hand, print the slip);
- slip: the A6 / 80 mm receipt slip with the QR code, as HTML and PDF.
The API endpoint POST /api/v1/dossier-links lives with the other endpoints (survey/api/views.py).
"""
from flask import Blueprint

# Signed in, password changed, ISSUE_DOSSIER_LINKS: the app-wide gate (survey/gate.py); no-store:
# survey/auth/sessions.py, as on every signed-in page (slips carry live one-time links).
bp = Blueprint("links", __name__, url_prefix="/quan-ly/phieu-hen")


from survey.links import officer  # noqa: E402,F401
