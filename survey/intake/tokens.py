"""Signed tokens carried in QR URLs: a counter's, or a thematic campaign's unit link.

A counter token names a counter, the survey it opens and the counter's token version
([counter_id, survey_id, token_version]). A unit token names a unit targeted by a thematic
campaign (["u", unit_id, survey_id, 1]; the last element is its format version). Both are signed,
not encrypted: nothing secret is in them, but nobody can forge one for another counter, unit or
survey. Bumping Counter.token_version invalidates every printed poster of that counter.

Only the canonical spelling of a token is accepted: itsdangerous decodes the signature's base64
leniently (padding, stray characters), so "<token>=", "<token>é" would otherwise open the same
counter under a different URL, hence a different cache or limit key. A token is re-encoded with
the key that verified it and must come out the same, character for character.

Keys: QR_SIGNING_KEY (default: SECRET_KEY), plus QR_SIGNING_KEY_FALLBACKS, older keys still
accepted, so that rotating the session key, or the QR key itself, never invalidates a printed
poster: new tokens are signed with the current key, old ones verify with the key they were made
with.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

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


def qr_keys() -> tuple[str, ...]:
    """The QR keys, current first, then the fallbacks as configured (comma-separated)."""
    config = current_app.config
    current = config.get("QR_SIGNING_KEY") or config["SECRET_KEY"]
    fallbacks = config.get("QR_SIGNING_KEY_FALLBACKS") or ""
    if isinstance(fallbacks, str):
        fallbacks = fallbacks.split(",")
    return (current, *(k.strip() for k in fallbacks if k and k.strip() and k.strip() != current))


@lru_cache(maxsize=16)
def _serializers_for(keys: tuple[str, ...], salt: str) -> tuple[URLSafeSerializer, ...]:
    return tuple(URLSafeSerializer(key, salt=salt) for key in keys)


def _serializers(salt: str = SALT) -> tuple[URLSafeSerializer, ...]:
    return _serializers_for(qr_keys(), salt)


def sign(payload: list, salt: str = SALT) -> str:
    """A token for `payload` under the current QR key (each kind of token has its own salt, so
    one kind can never be read as another)."""
    return _serializers(salt)[0].dumps(payload)


def make_token(counter_id: int, survey_id: int, token_version: int) -> str:
    return sign([counter_id, survey_id, token_version])


def make_unit_token(unit_id: int, survey_id: int) -> str:
    return sign([UNIT_TAG, unit_id, survey_id, UNIT_TOKEN_VERSION])


def _ints(values: list) -> bool:
    return all(isinstance(x, int) and not isinstance(x, bool) for x in values)


def canonical_payload(token: str, salt: str = SALT) -> list | None:
    """The list a token carries when it is exactly what one of the QR keys signs, else None."""
    found = _canonical(token, salt, qr_keys())
    return list(found) if found is not None else None


@lru_cache(maxsize=4096)
def _canonical(token: str, salt: str, keys: tuple[str, ...]) -> tuple | None:
    # Memoised per worker: a province's few thousand counter tokens are read on every citizen
    # GET and POST, and the answer is a pure function of the token text and the keys (a key
    # rotation changes `keys`, so it can never be answered from an older key's entry). A
    # retired counter or a rotated poster is refused by the database lookup that follows,
    # never here. Bounded, so forged tokens cannot grow it.
    # One serializer per key rather than itsdangerous' key list: the canonical check needs the
    # key that verified, to re-sign with it.
    for serializer in _serializers_for(keys, salt):
        try:
            payload = serializer.loads(token)
        except BadSignature:
            continue
        if not isinstance(payload, list) or serializer.dumps(payload) != token:
            return None  # a re-spelling of a real token: not this URL
        return tuple(payload)
    return None


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
    return _as_counter(canonical_payload(token))


def read_unit_token(token: str) -> UnitToken | None:
    """A unit token's content, or None when forged, altered, malformed or not a unit's."""
    return _as_unit(canonical_payload(token))


def read_any_token(token: str) -> CounterToken | UnitToken | None:
    """Whichever kind of token this is (one signature check), or None."""
    payload = canonical_payload(token)
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
