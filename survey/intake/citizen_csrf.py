"""CSRF protection of the citizen form without the session: a cookie of its own and an HMAC.

Flask-WTF keeps a secret in the signed session cookie and signs a token with it: a citizen's GET
then serialised, compressed and signed the session, and the POST verified two signatures, about
a tenth of the worker's CPU per submission (bench/load.py). Here the same guarantee costs one
HMAC per request:

- the cookie `CITIZEN_CSRF_COOKIE` holds a random nonce (HttpOnly, SameSite=Lax, Secure as the
  session cookie), set once per browser, only when the browser has none;
- the form's `csrf_token` is the time it was issued and an HMAC-SHA256, under a key derived from
  the CSRF secret (WTF_CSRF_SECRET_KEY or SECRET_KEY; during a key rotation the old keys are
  accepted too, as for Flask-WTF), of the nonce and that time;
- a POST is accepted when the token's HMAC matches the cookie's nonce and the token is younger than
  WTF_CSRF_TIME_LIMIT (12 hours).

A page on another site can neither read the cookie nor make a token for it (it does not know the
key), so it cannot make a citizen's browser send a form, as with the session's secret. Without the
cookie (lost, or another browser) or with an old or altered token the submission is refused like
a stale Flask-WTF token: the form comes back with the answers kept and "send again".
The officials' pages keep Flask-WTF and the session.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
import time

from flask import current_app, g, request
from werkzeug.wrappers import Response
from wtforms import ValidationError
from wtforms.csrf.core import CSRF

from survey.intake.answers import first_value

CITIZEN_CSRF_COOKIE = "csrf_citizen"
_NONCE_LENGTH = 22  # secrets.token_urlsafe(16)
_NEW = "citizen_csrf_new"  # g: a nonce made in this request, for the response's cookie


def _keys() -> tuple[bytes, ...]:
    """The derived keys, newest last: the CSRF secret may be a list while SECRET_KEY is rotated
    (survey/config.py puts the fallbacks before the new key, as itsdangerous takes them)."""
    app = current_app
    secret = app.config.get("WTF_CSRF_SECRET_KEY") or app.secret_key
    cached = app.extensions.get("citizen_csrf_keys")
    if cached is None or cached[0] != secret:
        secrets_ = secret if isinstance(secret, (list, tuple)) else [secret]
        # Keys of their own: a token is never a valid signature of anything else made with SECRET_KEY.
        derived = tuple(hmac.new(k if isinstance(k, bytes) else str(k).encode(), b"citizen-csrf",
                                 hashlib.sha256).digest() for k in secrets_)
        cached = app.extensions["citizen_csrf_keys"] = (list(secrets_) if isinstance(secret, list) else secret,
                                                         derived)
    return cached[1]


def _mac(nonce: str, issued: str, key: bytes | None = None) -> str:
    message = f"{nonce}|{issued}".encode()
    return hmac.new(key or _keys()[-1], message, hashlib.sha256).hexdigest()[:32]


def _nonce() -> str:
    nonce = first_value(request.cookies, CITIZEN_CSRF_COOKIE)
    if nonce is not None and len(nonce) == _NONCE_LENGTH:
        return nonce
    nonce = g.get(_NEW)
    if nonce is None:
        nonce = secrets.token_urlsafe(16)
        setattr(g, _NEW, nonce)
    return nonce


def token() -> str:
    """A token for this browser's form (sets the cookie on the response if it has none)."""
    issued = str(int(time.time()))
    return f"{issued}.{_mac(_nonce(), issued)}"


def valid(value: str | None) -> bool:
    """The posted token is this browser's and young enough."""
    nonce = first_value(request.cookies, CITIZEN_CSRF_COOKIE)
    if not value or nonce is None or len(nonce) != _NONCE_LENGTH:
        return False
    issued, _dot, mac = value.partition(".")
    if not issued.isascii() or not issued.isdigit() or len(issued) > 12:
        return False
    age = time.time() - int(issued)
    limit = current_app.config.get("WTF_CSRF_TIME_LIMIT", 3600)  # None: no limit, as Flask-WTF
    if age < -60 or (limit is not None and age > limit):  # a minute's leeway between clocks
        return False
    return any(hmac.compare_digest(mac.encode(), _mac(nonce, issued, key).encode()) for key in _keys())


def set_cookie(response: Response) -> Response:
    """After a citizen's request: the cookie, when this request made the nonce, and Vary: Cookie.

    A citizen's form carries a token made from this cookie (and its own idempotency key): a shared
    cache must never hand one browser's page to another. (Flask-Login's after-request hook used to
    add the header by reading the session; it no longer runs on citizens' pages,
    survey/security.py citizen_hook_path.)"""
    if "Vary" in response.headers:
        response.vary.add("Cookie")
    else:
        response.headers["Vary"] = "Cookie"
    nonce = g.get(_NEW)
    if nonce is not None:
        config = current_app.config
        response.set_cookie(CITIZEN_CSRF_COOKIE, nonce, httponly=True, samesite="Lax",
                            secure=bool(config.get("SESSION_COOKIE_SECURE")))
    return response


class CitizenCSRF(CSRF):
    """The WTForms CSRF of the citizen form (forms/citizen.py: meta csrf_class), so the form
    renders this token and reports a bad one as a `csrf_token` error, as Flask-WTF would."""

    def generate_csrf_token(self, csrf_token_field) -> str:
        return token()

    def validate_csrf_token(self, form, field) -> None:
        if not valid(field.data):
            # Never shown (the page says "send again" instead), as Flask-WTF's own message.
            raise ValidationError("The CSRF token is invalid.")
