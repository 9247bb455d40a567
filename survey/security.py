"""Security headers and the limits that stop one phone from stuffing a counter's results."""
from __future__ import annotations

import hashlib
import time
from functools import lru_cache

from flask import Flask, Response, abort, current_app, make_response, render_template, request
from limits import RateLimitItem, parse_many
from limits.storage import RedisStorage

from survey.extensions import limiter
from survey.public import bp as public_bp

# No inline script anywhere (pages work without JavaScript); inline style attributes are allowed
# because server-drawn bars and heat tables size themselves with them.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)


def client_key() -> str:
    # Citizens at one centre often share its Wi-Fi address (and mobile carriers NAT thousands of
    # phones behind one); address plus browser signature separates phones well enough to slow a
    # stuffer without locking out a whole waiting room.
    agent = request.headers.get("User-Agent", "")
    digest = hashlib.sha256(agent.encode("utf-8", "replace")).hexdigest()[:16]
    return f"{request.remote_addr}|{digest}"


def counter_key() -> str:
    return (request.view_args or {}).get("token", "")


def add_security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CSP)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    if request.is_secure or current_app.config.get("FORCE_HSTS"):
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    return response


def init_security(app: Flask) -> None:
    app.after_request(add_security_headers)


# Submissions per phone and per counter (SUBMIT_LIMIT_PER_CLIENT, SUBMIT_LIMIT_PER_COUNTER).
#
# Counted here rather than with Flask-Limiter decorators, on the same storage (Flask-Limiter's:
# Redis in production, memory otherwise; limiter.reset() and limiter.enabled apply). A decorated
# limit costs one storage round trip per window to test, one per window to count and two more for
# the X-RateLimit headers: ten Redis round trips per submission with the default limits. Here a
# submission costs one round trip to test every window (MGET) and one to count them (a pipeline).
# Same fixed-window rule: a window starts with its first stored submission and lasts its period.
# Only stored submissions count: a citizen fixing a validation error, or a double tap that
# stores nothing new, is not stuffing.


@lru_cache(maxsize=32)
def _parsed(limits: str) -> tuple[RateLimitItem, ...]:
    return tuple(parse_many(limits))


def _windows() -> list[tuple[str, RateLimitItem]]:
    config = current_app.config
    windows = []
    for scope, setting, identity in (("submit-client", "SUBMIT_LIMIT_PER_CLIENT", client_key),
                                     ("submit-counter", "SUBMIT_LIMIT_PER_COUNTER", counter_key)):
        who = identity()
        for item in _parsed(config[setting]):
            windows.append((f"{scope}/{who}/{item.amount}/{item.get_expiry()}", item))
    return windows


def _redis(storage):
    return storage.get_connection() if isinstance(storage, RedisStorage) else None


def check_submission_limits() -> None:
    """Refuse (429, the Vietnamese page) when this phone or counter has used up a window."""
    if not limiter.enabled:
        return
    windows = _windows()
    storage = limiter.storage
    try:
        client = _redis(storage)
        if client is not None:
            counts = [int(v or 0) for v in client.mget([storage.prefixed_key(k) for k, _ in windows])]
        else:
            counts = [storage.get(k) for k, _ in windows]
    except Exception:  # the limit store is down: take the answers rather than lose them
        current_app.logger.exception("submission limits unavailable")
        return
    for (key, item), count in zip(windows, counts):
        if count >= item.amount:
            try:
                retry = max(1, int(storage.get_expiry(key) - time.time()))
            except Exception:
                retry = item.get_expiry()
            page = render_template("errors.html", code=429, kind=None)
            abort(make_response(page, 429, {"Retry-After": str(retry)}))


def count_submission() -> None:
    """Count one stored submission in every window of this phone and counter."""
    if not limiter.enabled:
        return
    storage = limiter.storage
    try:
        client = _redis(storage)
        if client is not None:
            pipe = client.pipeline(transaction=False)
            for key, item in _windows():
                key = storage.prefixed_key(key)
                pipe.set(key, 0, ex=item.get_expiry(), nx=True)  # a new window starts now
                pipe.incr(key)
            pipe.execute()
        else:
            for key, item in _windows():
                storage.incr(key, item.get_expiry())
    except Exception:
        current_app.logger.exception("counting a submission failed")


# Flask-Limiter keeps the sign-in limit; citizen pages skip its per-request work entirely.
limiter.request_filter(lambda: request.blueprint == public_bp.name)
