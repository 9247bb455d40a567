"""Security headers and the limits that stop one phone from stuffing a counter's results."""
from __future__ import annotations

import hashlib
import time
from functools import lru_cache

from flask import Flask, Response, current_app, request
from limits import RateLimitItem, parse_many
from limits.storage import RedisStorage

from survey.extensions import limiter

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


# Submissions per phone and per counter (SUBMIT_LIMIT_PER_CLIENT, SUBMIT_LIMIT_PER_COUNTER), and
# per address (SUBMIT_FLOOD_LIMIT).
#
# Store, then quarantine; never refuse a citizen. A submission over a phone's or a counter's
# allowance is still stored, with all its answers, but quarantined with the reason
# (`limit-client`, `limit-counter`): it counts in no figure until an analyst releases it. Only a
# flood from one address, far beyond any real counter's traffic, is refused (429, the form
# re-shown with the answers), because that protects the database, not the figures.
#
# Counted here rather than with Flask-Limiter decorators, on the same storage (Flask-Limiter's:
# Redis in production, memory otherwise; limiter.reset() and limiter.enabled apply), in one round
# trip (a Lua script, so two phones cannot both take the last place). A submission within every
# allowance takes a place in every window; a quarantined one takes a place only in its address's
# flood windows (it does not use up the counter's allowance, so a stuffer's surplus does not
# push later citizens over it). Places are given back when nothing new was stored: only stored
# submissions count, so a citizen fixing a validation error, or a double tap, is not stuffing.
# Fixed windows, as Flask-Limiter's: a window starts with its first stored submission.
#
# The counter window is keyed by what the token names (counter id, or unit and survey for a
# campaign link), never by the URL text, which a stuffer can re-spell.

# KEYS: the flood windows (ARGV[1] of them), then the allowance windows; ARGV[2..n+1] their limits,
# ARGV[n+2..2n+1] their lengths in seconds. Returns {seconds until a full flood window ends, or 0;
# then the indexes of the full allowance windows}.
_TAKE = """
local n = #KEYS
local flood = tonumber(ARGV[1])
for i = 1, flood do
  if tonumber(redis.call('GET', KEYS[i]) or '0') >= tonumber(ARGV[1 + i]) then
    return {math.max(1, redis.call('TTL', KEYS[i]))}
  end
end
local result = {0}
for i = flood + 1, n do
  if tonumber(redis.call('GET', KEYS[i]) or '0') >= tonumber(ARGV[1 + i]) then
    result[#result + 1] = i
  end
end
local upto = n
if #result > 1 then upto = flood end
for i = 1, upto do
  redis.call('SET', KEYS[i], 0, 'EX', ARGV[1 + n + i], 'NX')
  redis.call('INCR', KEYS[i])
end
return result
"""
_GIVE_BACK = """
for i = 1, #KEYS do
  if redis.call('GET', KEYS[i]) then redis.call('DECR', KEYS[i]) end
end
return 0
"""
FLOOD, CLIENT, COUNTER = "submit-address", "submit-client", "submit-counter"
FLAG_OF = {CLIENT: "limit-client", COUNTER: "limit-counter"}


@lru_cache(maxsize=32)
def _parsed(limits: str) -> tuple[RateLimitItem, ...]:
    return tuple(parse_many(limits))


def _windows(place_key: str) -> list[tuple[str, str, RateLimitItem]]:
    """(scope, storage key, limit) of every window, the flood windows first."""
    config = current_app.config
    windows = []
    for scope, setting, who in ((FLOOD, "SUBMIT_FLOOD_LIMIT", request.remote_addr or ""),
                                (CLIENT, "SUBMIT_LIMIT_PER_CLIENT", client_key()),
                                (COUNTER, "SUBMIT_LIMIT_PER_COUNTER", place_key)):
        for item in _parsed(config[setting]):
            windows.append((scope, f"{scope}/{who}/{item.amount}/{item.get_expiry()}", item))
    return windows


def _run_script(storage: RedisStorage, script: str, keys: list[str], args: list | None = None):
    # EVALSHA, and the script itself only when the server does not know it yet.
    return storage.get_connection().register_script(script)(  # type: ignore[arg-type]  # redis-py takes str
        keys=keys, args=args or [])


class Flooded(Exception):
    """Far more submissions from this address than any counter serves: refuse, keep the answers."""

    def __init__(self, retry: int):
        super().__init__(retry)
        self.retry = retry


class SubmissionSlot:
    """The places taken for one submission, and the limit flags it is stored with."""

    def __init__(self, storage=None, keys: tuple[str, ...] = (), flags: tuple[str, ...] = (), flood: int = 0):
        # keys[:flood] are the address's flood windows, the rest the phone's and counter's.
        self.storage, self.keys, self.flags, self.flood = storage, keys, flags, flood

    def _give_back(self, keys) -> None:
        if self.storage is None or not keys:
            return
        try:
            if isinstance(self.storage, RedisStorage):
                _run_script(self.storage, _GIVE_BACK, [self.storage.prefixed_key(k) for k in keys])
            else:
                for key in keys:
                    if self.storage.get(key):
                        self.storage.decr(key)
        except Exception:
            current_app.logger.exception("giving back a submission place failed")

    def give_back(self) -> None:
        """Nothing new was stored: free the places taken."""
        self._give_back(self.keys)
        self.keys = ()

    def quarantined(self) -> None:
        """A stuffing rule quarantines it: keep only the flood places, so what does not count does
        not use up the phone's or the counter's allowance either."""
        self._give_back(self.keys[self.flood:])
        self.keys = self.keys[:self.flood]


def _take_in_memory(storage, windows) -> tuple[int, list[int]]:
    # One worker's own counts (development, tests); same answer as _TAKE.
    for _scope, key, item in windows:
        if _scope == FLOOD and storage.get(key) >= item.amount:
            return max(1, int(storage.get_expiry(key) - time.time())), []
    full = [i for i, (scope, key, item) in enumerate(windows) if scope != FLOOD and storage.get(key) >= item.amount]
    for scope, key, item in windows:
        if not full or scope == FLOOD:
            storage.incr(key, item.get_expiry())
    return 0, full


def take_submission_slot(place_key: str) -> SubmissionSlot:
    """Count this submission in its windows, or raise Flooded when its address's window is full.

    `place_key` names the counter (or the campaign unit) the token opens. The slot's flags say
    which allowance was already used up (the submission is then stored quarantined). Call just
    before storing; give the places back when nothing new was stored.
    """
    if not limiter.enabled:
        return SubmissionSlot()
    storage = limiter.storage
    windows = _windows(place_key)
    try:
        if isinstance(storage, RedisStorage):
            flood = sum(1 for scope, _k, _i in windows if scope == FLOOD)
            keys = [storage.prefixed_key(k) for _s, k, _i in windows]
            args = [flood] + [i.amount for _s, _k, i in windows] + [i.get_expiry() for _s, _k, i in windows]
            answer = [int(x) for x in _run_script(storage, _TAKE, keys, args)]
            retry, full = answer[0], [i - 1 for i in answer[1:]]  # Lua counts from 1
        else:
            retry, full = _take_in_memory(storage, windows)
    except Exception:  # the limit store is down: take the answers rather than lose them
        current_app.logger.exception("submission limits unavailable")
        return SubmissionSlot()
    if retry:
        raise Flooded(retry)
    flags = tuple(dict.fromkeys(FLAG_OF[windows[i][0]] for i in full))
    taken = tuple(k for scope, k, _i in windows if not flags or scope == FLOOD)
    return SubmissionSlot(storage, taken, flags, flood=sum(1 for scope, _k, _i in windows if scope == FLOOD))


# Flask-Limiter keeps the sign-in limit; citizen pages skip its per-request work entirely.
# The citizen blueprint (survey/public) has its own limits (take_submission_slot); its name is
# spelled here rather than imported, so this module does not import the views it serves.
limiter.request_filter(lambda: request.blueprint == "public")
