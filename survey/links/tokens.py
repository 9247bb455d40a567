"""Signed tokens of per-dossier one-time links: ["h", link_id, format version].

Signed with the QR signing key under their own salt, so a counter's or a campaign's token can never
be read as a dossier link (nor the reverse). The token only names the link row; whether the link is
still usable (unused, not expired) is the database's to say.

A token is accepted only in its canonical spelling: itsdangerous ignores trailing characters and
tolerates some re-encodings of its base64, so `<token>=` or `<token>é` would otherwise open the same
link under another URL: the counter tokens' rule (survey/intake/tokens.canonical_payload) applies.
"""
from __future__ import annotations

from flask import current_app, url_for

from survey.intake.tokens import canonical_payload, sign

SALT = "dossier-link-v1"
TAG = "h"
FORMAT_VERSION = 1


def make_link_token(link_id: int) -> str:
    return sign([TAG, link_id, FORMAT_VERSION], salt=SALT)


def read_link_token(token: str) -> int | None:
    """The link id a token names, or None when forged, altered, re-spelled or not a link's."""
    payload = canonical_payload(token, salt=SALT)
    if (not isinstance(payload, list) or len(payload) != 3 or payload[0] != TAG
            or payload[2] != FORMAT_VERSION or not isinstance(payload[1], int)
            or isinstance(payload[1], bool) or not 0 < payload[1] < 2**31):
        return None
    return payload[1]


def link_url(link_id: int) -> str:
    """Absolute URL of a dossier link, on the configured public host (what the QR code holds)."""
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    return base + url_for("public.dossier_link_form", token=make_link_token(link_id))
