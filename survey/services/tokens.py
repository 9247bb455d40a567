"""Signed counter tokens carried in QR URLs.

A token names a counter, the survey it opens and the counter's token version. It is signed, not
encrypted: nothing secret is in it, but nobody can forge one for another counter or survey.
Bumping Counter.token_version invalidates every printed poster of that counter.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, url_for
from itsdangerous import BadSignature, URLSafeSerializer

SALT = "counter-qr-v1"


@dataclass(frozen=True)
class CounterToken:
    counter_id: int
    survey_id: int
    token_version: int


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def make_token(counter_id: int, survey_id: int, token_version: int) -> str:
    return _serializer().dumps([counter_id, survey_id, token_version])


def read_token(token: str) -> CounterToken | None:
    """The token's content, or None when it is forged, altered or malformed."""
    try:
        payload = _serializer().loads(token)
    except BadSignature:
        return None
    if (
        not isinstance(payload, list)
        or len(payload) != 3
        or not all(isinstance(x, int) and not isinstance(x, bool) for x in payload)
    ):
        return None
    return CounterToken(*payload)


def survey_url(counter_id: int, survey_id: int, token_version: int) -> str:
    """Absolute URL for a counter's QR code, on the configured public host."""
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    path = url_for("public.survey_form", token=make_token(counter_id, survey_id, token_version))
    return base + path
