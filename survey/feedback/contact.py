"""A citizen's optional contact (phone or e-mail) on a feedback case, encrypted at rest.

Fernet (AES-128-CBC + HMAC-SHA256) under CONTACT_KEY; when it is unset the key is derived from
SECRET_KEY with HKDF (its own `info` label, so it is not the session key itself). Rotation: the
newest key encrypts, every listed key decrypts: CONTACT_KEY_FALLBACKS (comma-separated Fernet
keys) or, while CONTACT_KEY is unset, keys derived from SECRET_KEY_FALLBACKS. A contact nobody
can decrypt any more (its key dropped) reads as None: the case goes on without it.

The contact is kept only while the case is open: closing it sets the column to NULL, and
`flask purge` clears any closed case that still holds one (survey/services/retention.py).
"""
from __future__ import annotations

import base64
import re

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

HKDF_INFO = b"survey feedback-case contact v1"
MAX_CONTACT = 254  # the longest e-mail address
_EMAIL = re.compile(r"[^@\s]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+")
_PHONE = re.compile(r"\+?[0-9][0-9 .\-]{7,18}[0-9]")


def derive_key(secret: str | bytes) -> bytes:
    """A Fernet key (urlsafe base64 of 32 bytes) derived from an app secret."""
    raw = secret.encode() if isinstance(secret, str) else secret
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=HKDF_INFO)
    return base64.urlsafe_b64encode(hkdf.derive(raw))


def _keys() -> list[bytes]:
    config = current_app.config
    configured = config.get("CONTACT_KEY")
    if configured:
        fallbacks = config.get("CONTACT_KEY_FALLBACKS") or []
        if isinstance(fallbacks, str):
            fallbacks = [k.strip() for k in fallbacks.split(",") if k.strip()]
        return [k.encode() if isinstance(k, str) else k for k in (configured, *fallbacks)]
    secrets = [config["SECRET_KEY"], *(config.get("SECRET_KEY_FALLBACKS") or [])]
    return [derive_key(s) for s in secrets]


def _fernet() -> MultiFernet:
    return MultiFernet([Fernet(k) for k in _keys()])


def normalise(text: str | None) -> str | None:
    """The contact as typed, if it is a phone number or an e-mail address; else None."""
    value = (text or "").strip()
    if not value or len(value) > MAX_CONTACT:
        return None
    if _EMAIL.fullmatch(value):
        return value
    if _PHONE.fullmatch(value) and 9 <= sum(ch.isdigit() for ch in value) <= 12:
        return value
    return None


def encrypt(contact: str) -> bytes:
    return _fernet().encrypt(contact.encode("utf-8"))


def decrypt(blob: bytes | None) -> str | None:
    if not blob:
        return None
    try:
        return _fernet().decrypt(bytes(blob)).decode("utf-8")
    except InvalidToken:
        current_app.logger.warning("a case contact could not be decrypted with any listed key")
        return None
