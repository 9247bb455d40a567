"""Security headers and the limits that stop one phone from stuffing a counter's results."""
from __future__ import annotations

import functools
import hashlib
import time
from functools import lru_cache
from typing import Any, Callable

from flask import Flask, Request, Response, current_app, request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface, SessionMixin
from limits import RateLimitItem, parse_many
from limits.storage import RedisStorage
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from survey.extensions import limiter
from survey.intake.answers import first_value
from survey.review import signals as review_signals

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


_SECURITY_HEADERS = (
    ("Content-Security-Policy", CSP),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "same-origin"),
    ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
)
_HSTS = ("Strict-Transport-Security", "max-age=31536000; includeSubDomains")


def add_security_headers(response: Response) -> Response:
    # Each header unless the view set its own. One pass over the few headers already there:
    # Headers.setdefault raised and caught a KeyError per missing header (5 a request).
    headers = response.headers
    present = {name.lower() for name, _value in headers.items()}
    wanted = _SECURITY_HEADERS + ((_HSTS,) if request.is_secure or current_app.config.get("FORCE_HSTS") else ())
    headers.extend([(name, value) for name, value in wanted if name.lower() not in present])
    return response


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, without building a signing serializer for a request that
    carries no session cookie (every citizen: their form's CSRF needs no session,
    survey/intake/citizen_csrf.py), nor computing cookie settings for an empty session left as it
    was. Same cookies, same answers."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if app.secret_key and not first_value(request.cookies, self.get_cookie_name(app)):
            return self.session_class()
        return super().open_session(app, request)

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        if not session and not session.modified:
            if session.accessed:
                response.vary.add("Cookie")
            return
        super().save_session(app, session, response)


def init_security(app: Flask) -> None:
    app.session_interface = SessionInterface()
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

# KEYS: the flood windows, then the allowance windows (n in all), then the stuffing signals' keys
# if any. ARGV[1]: numbers separated by spaces (one argument: redis-py's packing of each argument
# was a third of the round trip's client CPU): how many flood windows, n, the windows' limits,
# their lengths in seconds, then the signals' numbers (survey/review/signals.py); ARGV[2]: the
# signals' fingerprint. Returns {seconds until a full flood window ends, or 0; the signals' four
# counts, or 0s when none are recorded; then the indexes of the full allowance windows}. A
# flooded submission is refused before anything is counted or recorded.
_TAKE = review_signals.RECORD_LUA + """
local a = {}
for v in string.gmatch(ARGV[1], '%S+') do a[#a + 1] = tonumber(v) end
local flood, n = a[1], a[2]
for i = 1, flood do
  if tonumber(redis.call('GET', KEYS[i]) or '0') >= a[2 + i] then
    return {math.max(1, redis.call('TTL', KEYS[i])), 0, 0, 0, 0}
  end
end
local full = {}
for i = flood + 1, n do
  if tonumber(redis.call('GET', KEYS[i]) or '0') >= a[2 + i] then
    full[#full + 1] = i
  end
end
local upto = n
if #full > 0 then upto = flood end
for i = 1, upto do
  redis.call('SET', KEYS[i], 0, 'EX', a[2 + n + i], 'NX')
  redis.call('INCR', KEYS[i])
end
local result = {0, 0, 0, 0, 0}
if #KEYS > n then
  local sk = {}
  for i = n + 1, #KEYS do sk[#sk + 1] = KEYS[i] end
  local sa = {a[2 * n + 3], a[2 * n + 4], a[2 * n + 5], ARGV[2]}
  local counts = record_signals(sk, sa)
  for i = 1, 4 do result[1 + i] = counts[i] end
end
for _, i in ipairs(full) do result[#result + 1] = i end
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


_SCRIPTS: dict[str, tuple[Any, Any]] = {}  # script text -> (redis client, its Script): per process


def _run_script(storage: RedisStorage, script: str, keys: list[str], args: list | None = None):
    # EVALSHA, and the script itself only when the server does not know it yet; the Script object
    # (and the SHA1 of the script's text) made once per client. Sent on a connection of the
    # client's own pool, not through Redis.execute_command: its retry, health-check and
    # keyword-handling layers cost as much client CPU as the round trip (~30 µs a submission,
    # bench/load.py). A connection that breaks is dropped and the command sent once more on a
    # fresh one, as the client's default retry does.
    client: Any = storage.get_connection()  # a redis.Redis
    found = _SCRIPTS.get(script)
    if found is None or found[0] is not client:
        found = _SCRIPTS[script] = (client, client.register_script(script))
    runner = found[1]
    pool = client.connection_pool
    command = ("EVALSHA", runner.sha, len(keys), *keys, *(args or ()))
    for attempt in (1, 2, 3):
        conn = pool.get_connection()
        try:
            conn.send_command(*command)
            reply = conn.read_response()
        except NoScriptError:
            pool.release(conn)
            if attempt == 3:
                raise
            runner.sha = client.script_load(script)  # a restarted or flushed server: load once
            command = ("EVALSHA", runner.sha, *command[2:])
            continue
        except (RedisConnectionError, RedisTimeoutError):
            conn.disconnect()
            pool.release(conn)
            if attempt > 1:
                raise
            continue
        except BaseException:
            pool.release(conn)
            raise
        pool.release(conn)
        if isinstance(reply, ResponseError):
            raise reply
        return reply
    raise AssertionError("unreachable")


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


def take_submission_slot(place_key: str, record: review_signals.Recording | None = None) -> SubmissionSlot:
    """Count this submission in its windows, or raise Flooded when its address's window is full.

    `place_key` names the counter (or the campaign unit) the token opens. The slot's flags say
    which allowance was already used up (the submission is then stored quarantined). Call just
    before storing; give the places back when nothing new was stored. `record` (the stuffing
    signals' record of this submission, survey/review/signals.py) is recorded in the same round
    trip unless the submission is flooded; its counts stay None when the storage is off or fails.
    """
    if not limiter.enabled:
        return SubmissionSlot()
    storage = limiter.storage
    windows = _windows(place_key)
    flood = sum(1 for scope, _k, _i in windows if scope == FLOOD)
    try:
        if isinstance(storage, RedisStorage):
            keys = [storage.prefixed_key(k) for _s, k, _i in windows]
            numbers = [flood, len(windows), *(i.amount for _s, _k, i in windows),
                       *(i.get_expiry() for _s, _k, i in windows)]
            fingerprint = ""
            if record is not None:
                keys += [storage.prefixed_key(k) for k in record.names()]
                *signal_numbers, fingerprint = record.args()
                numbers += signal_numbers
            args = [" ".join(map(str, numbers)), fingerprint]
            answer = [int(x) for x in _run_script(storage, _TAKE, keys, args)]
            retry, full = answer[0], [i - 1 for i in answer[5:]]  # Lua counts from 1
            if record is not None and not retry:
                record.counts = (answer[1], answer[2], answer[3], answer[4])
        else:
            retry, full = _take_in_memory(storage, windows)
            if record is not None and not retry:
                record.record_memory(storage)
    except Exception:  # the limit store is down: take the answers rather than lose them
        current_app.logger.exception("submission limits unavailable")
        if record is not None:
            record.counts = None
            current_app.logger.error("submission signals unavailable; storage rules skipped")
        return SubmissionSlot()
    if retry:
        raise Flooded(retry)
    flags = tuple(dict.fromkeys(FLAG_OF[windows[i][0]] for i in full))
    taken = tuple(k for scope, k, _i in windows if not flags or scope == FLOOD)
    return SubmissionSlot(storage, taken, flags, flood=flood)


# Flask-Limiter keeps the sign-in limit; citizen pages skip its per-request work entirely.
# The citizen blueprint (survey/public) has its own limits (take_submission_slot); its name is
# spelled here rather than imported, so this module does not import the views it serves.
CITIZEN_BLUEPRINT = "public"
limiter.request_filter(lambda: request.blueprint == CITIZEN_BLUEPRINT)


def idle_on_citizen_pages(hook: Callable) -> bool:
    """Whether an app-wide hook does nothing on a citizen's page, so citizen_hook_path may leave it
    out there. Each rule stays in its hook; tests/test_security.py runs every hook named here on
    citizen pages and checks that it changes nothing, so a rule that starts to apply to them fails
    that test instead of being skipped silently."""
    from flask_login import LoginManager

    from survey.auth.sessions import no_store
    from survey.extensions import login_manager
    from survey.gate import gate
    from survey.replica import _route, _stick

    owner = hook.args[0] if isinstance(hook, functools.partial) and hook.args else getattr(hook, "__self__", None)
    if owner is limiter:  # request_filter above: it returns at once for citizens
        return True
    if owner is login_manager:  # the remember-me cookie: set or cleared only on sign-in and sign-out
        return getattr(hook, "__func__", None) is LoginManager._update_remember_cookie
    # The gate and the replica's stickiness pass public endpoints (survey.permissions.is_public);
    # the replica serves only READ_BLUEPRINTS; no_store spares CACHEABLE_BLUEPRINTS.
    return hook in (gate, _route, _stick, no_store)


def citizen_hook_path(app: Flask) -> None:
    """Run the app-wide before/after/teardown hooks through one hook each, which on citizens' pages
    runs only those that apply to them (idle_on_citizen_pages), in the same order as Flask would.

    Citizens' GET and POST are nearly all the traffic. Flask calls every app-wide hook on every
    request, each through ensure_sync (an inspect of the function); on a citizen's page most of them
    only find out that they have nothing to do, which cost about as much as the framework floor
    (bench/load.py). Other pages run every hook as before. Call last in create_app, once every hook
    is registered; a hook registered later runs after these, as Flask would run it anyway."""
    registries = ((app.before_request_funcs, _before), (app.after_request_funcs, _after),
                  (app.teardown_request_funcs, _teardown))
    for registry, make in registries:
        hooks = tuple(app.ensure_sync(h) for h in registry.get(None, []))
        if hooks:
            registry[None] = [make(hooks, tuple(h for h in hooks if not idle_on_citizen_pages(h)))]


def _before(everyone: tuple[Callable, ...], citizens: tuple[Callable, ...]) -> Callable:
    def before_request() -> Any:
        for hook in citizens if request.blueprint == CITIZEN_BLUEPRINT else everyone:
            answer = hook()
            if answer is not None:  # as Flask: the first answer ends the request
                return answer
        return None
    before_request.hooks = (everyone, citizens)  # type: ignore[attr-defined]  # for the tests
    return before_request


def _after(everyone: tuple[Callable, ...], citizens: tuple[Callable, ...]) -> Callable:
    def after_request(response: Response) -> Response:
        for hook in reversed(citizens if request.blueprint == CITIZEN_BLUEPRINT else everyone):
            response = hook(response)  # as Flask: the last registered first
        return response
    after_request.hooks = (everyone, citizens)  # type: ignore[attr-defined]
    return after_request


def _teardown(everyone: tuple[Callable, ...], citizens: tuple[Callable, ...]) -> Callable:
    def teardown_request(error: BaseException | None) -> None:
        for hook in reversed(citizens if request.blueprint == CITIZEN_BLUEPRINT else everyone):
            hook(error)
    teardown_request.hooks = (everyone, citizens)  # type: ignore[attr-defined]
    return teardown_request
