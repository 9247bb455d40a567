"""Signed tokens of per-dossier one-time links: ["h", link_id, format version].

Signed with the QR signing key under their own salt, so a counter's or a campaign's token can never
be read as a dossier link (nor the reverse). The token only names the link row; whether the link is
still usable (unused, not expired) is the database's to say.

A token is accepted only in its canonical spelling: itsdangerous ignores trailing characters and
tolerates some re-encodings of its base64, so `<token>=` or `<token>é` would otherwise open the same
link under another URL. :func:`canonical_loads` decodes, re-encodes and compares; it is the same rule
as the counter tokens' (survey/services/tokens.py), written as one small function to be shared.
"""
from __future__ import annotations

from typing import Any, Sequence

from flask import current_app, url_for
from itsdangerous import BadSignature, URLSafeSerializer

SALT = "dossier-link-v1"
TAG = "h"
FORMAT_VERSION = 1


def qr_signing_keys() -> list[str]:
    """The QR signing key(s), newest first: QR_SIGNING_KEY (a string or a list, for rotation),
    else SECRET_KEY. Printed slips must outlive a rotation of the session key."""
    configured = current_app.config.get("QR_SIGNING_KEY") or current_app.config["SECRET_KEY"]
    return [configured] if isinstance(configured, str) else list(configured)


def canonical_loads(token: str, secret_keys: Sequence[str], salt: str) -> Any | None:
    """The payload of `token` when it is exactly what one of `secret_keys` signs, else None.

    Decode, re-encode, compare: a token that verifies but is spelled differently from what we
    would have issued (padding, trailing bytes, another base64 alphabet) is refused, so no two URLs
    lead to the same thing. Each key is tried on its own so that a token signed with an older key
    (still accepted during a rotation) is re-encoded with that same key.
    """
    for key in secret_keys:
        serializer = URLSafeSerializer(key, salt=salt)
        try:
            payload = serializer.loads(token)
        except BadSignature:
            continue
        return payload if serializer.dumps(payload) == token else None
    return None


def make_link_token(link_id: int) -> str:
    return URLSafeSerializer(qr_signing_keys()[0], salt=SALT).dumps([TAG, link_id, FORMAT_VERSION])


def read_link_token(token: str) -> int | None:
    """The link id a token names, or None when forged, altered, re-spelled or not a link's."""
    payload = canonical_loads(token, qr_signing_keys(), SALT)
    if (not isinstance(payload, list) or len(payload) != 3 or payload[0] != TAG
            or payload[2] != FORMAT_VERSION or not isinstance(payload[1], int)
            or isinstance(payload[1], bool) or not 0 < payload[1] < 2**31):
        return None
    return payload[1]


def link_url(link_id: int) -> str:
    """Absolute URL of a dossier link, on the configured public host (what the QR code holds)."""
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    return base + url_for("public.dossier_link_form", token=make_link_token(link_id))
