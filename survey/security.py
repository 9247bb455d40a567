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
# submission about to be stored takes a place in every window at once, in one round trip (a Lua
# script, so two phones cannot both take the last place), and gives it back when nothing new was
# stored: only stored submissions count, so a citizen fixing a validation error, or a double tap,
# is not stuffing. Fixed windows, as Flask-Limiter's: a window starts with its first stored
# submission and lasts its period.

# KEYS: the windows; ARGV: their limits, then their lengths in seconds. Returns 0 when a place was
# taken in every window, else the seconds until the first full window ends.
_TAKE = """
local n = #KEYS
for i = 1, n do
  if tonumber(redis.call('GET', KEYS[i]) or '0') >= tonumber(ARGV[i]) then
    return math.max(1, redis.call('TTL', KEYS[i]))
  end
end
for i = 1, n do
  redis.call('SET', KEYS[i], 0, 'EX', ARGV[n + i], 'NX')
  redis.call('INCR', KEYS[i])
end
return 0
"""
_GIVE_BACK = """
for i = 1, #KEYS do
  if redis.call('GET', KEYS[i]) then redis.call('DECR', KEYS[i]) end
end
return 0
"""


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


def _run_script(storage: RedisStorage, script: str, keys: list[str], args: list | None = None):
    # EVALSHA, and the script itself only when the server does not know it yet.
    return storage.get_connection().register_script(script)(keys=keys, args=args or [])


class SubmissionSlot:
    """A place taken in every window for one submission; give it back if nothing was stored."""

    def __init__(self, storage=None, windows=()):
        self.storage, self.windows = storage, windows

    def give_back(self) -> None:
        if self.storage is None:
            return
        try:
            if isinstance(self.storage, RedisStorage):
                _run_script(self.storage, _GIVE_BACK, [self.storage.prefixed_key(k) for k, _ in self.windows])
            else:
                for key, _item in self.windows:
                    if self.storage.get(key):
                        self.storage.decr(key)
        except Exception:
            current_app.logger.exception("giving back a submission place failed")


def _too_many(retry: int):
    page = render_template("errors.html", code=429, kind=None)
    abort(make_response(page, 429, {"Retry-After": str(retry)}))


def take_submission_slot() -> SubmissionSlot:
    """Count this submission in every window of its phone and counter, or refuse (429) when one
    is full. Call just before storing; give the place back when nothing new was stored."""
    if not limiter.enabled:
        return SubmissionSlot()
    storage = limiter.storage
    windows = _windows()
    try:
        if isinstance(storage, RedisStorage):
            keys = [storage.prefixed_key(k) for k, _ in windows]
            args = [item.amount for _, item in windows] + [item.get_expiry() for _, item in windows]
            retry = int(_run_script(storage, _TAKE, keys, args))
        else:  # memory: one worker's own counts (development, tests)
            retry = 0
            for key, item in windows:
                if storage.get(key) >= item.amount:
                    retry = max(1, int(storage.get_expiry(key) - time.time()))
                    break
            if not retry:
                for key, item in windows:
                    storage.incr(key, item.get_expiry())
    except Exception:  # the limit store is down: take the answers rather than lose them
        current_app.logger.exception("submission limits unavailable")
        return SubmissionSlot()
    if retry:
        _too_many(retry)
    return SubmissionSlot(storage, windows)


# Flask-Limiter keeps the sign-in limit; citizen pages skip its per-request work entirely.
limiter.request_filter(lambda: request.blueprint == public_bp.name)
