"""Signed tokens carried in QR URLs: a counter's, or a thematic campaign's unit link.

A counter token names a counter, the survey it opens and the counter's token version
([counter_id, survey_id, token_version]). A unit token names a unit targeted by a thematic
campaign (["u", unit_id, survey_id, 1]; the last element is its format version). Both are signed,
not encrypted: nothing secret is in them, but nobody can forge one for another counter, unit or
survey. Bumping Counter.token_version invalidates every printed poster of that counter.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, url_for
from itsdangerous import BadSignature, URLSafeSerializer

SALT = "counter-qr-v1"
UNIT_TAG = "u"
UNIT_TOKEN_VERSION = 1


@dataclass(frozen=True)
class CounterToken:
    counter_id: int
    survey_id: int
    token_version: int


@dataclass(frozen=True)
class UnitToken:
    unit_id: int
    survey_id: int


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def make_token(counter_id: int, survey_id: int, token_version: int) -> str:
    return _serializer().dumps([counter_id, survey_id, token_version])


def make_unit_token(unit_id: int, survey_id: int) -> str:
    return _serializer().dumps([UNIT_TAG, unit_id, survey_id, UNIT_TOKEN_VERSION])


def _ints(values: list) -> bool:
    return all(isinstance(x, int) and not isinstance(x, bool) for x in values)


def _payload(token: str) -> list | None:
    try:
        payload = _serializer().loads(token)
    except BadSignature:
        return None
    return payload if isinstance(payload, list) else None


def _as_counter(payload: list | None) -> CounterToken | None:
    if payload is None or len(payload) != 3 or not _ints(payload):
        return None
    return CounterToken(*payload)


def _as_unit(payload: list | None) -> UnitToken | None:
    if (payload is None or len(payload) != 4 or payload[0] != UNIT_TAG or not _ints(payload[1:])
            or payload[3] != UNIT_TOKEN_VERSION):
        return None
    return UnitToken(payload[1], payload[2])


def read_token(token: str) -> CounterToken | None:
    """A counter token's content, or None when forged, altered, malformed or not a counter's."""
    return _as_counter(_payload(token))


def read_unit_token(token: str) -> UnitToken | None:
    """A unit token's content, or None when forged, altered, malformed or not a unit's."""
    return _as_unit(_payload(token))


def read_any_token(token: str) -> CounterToken | UnitToken | None:
    """Whichever kind of token this is (one signature check), or None."""
    payload = _payload(token)
    return _as_counter(payload) or _as_unit(payload)


def survey_url(counter_id: int, survey_id: int, token_version: int) -> str:
    """Absolute URL for a counter's QR code, on the configured public host."""
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    path = url_for("public.survey_form", token=make_token(counter_id, survey_id, token_version))
    return base + path


def unit_survey_url(unit_id: int, survey_id: int) -> str:
    """Absolute URL of a campaign's public link for one target unit, on the configured host."""
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    return base + url_for("public.survey_form", token=make_unit_token(unit_id, survey_id))
