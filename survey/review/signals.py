"""Stuffing signals checked at submission (docs/integrity.md lists every rule and its threshold).

The intake path records each submission just before storing it (:func:`recording`, recorded by
survey.security.take_submission_slot in the same Redis round trip as the submission limits) and
reads its codes with :func:`flags_of` (:func:`submission_flags` does both on its own); any code
stores the response quarantined (counted in no figure until an analyst of Sở Nội vụ releases it), and
the citizen sees the normal thank-you page either way.  The rules:

``burst``          more than SIGNAL_BURST_COUNT responses at one counter within
                   SIGNAL_BURST_MINUTES minutes (this one included);
``out-of-hours``   submitted outside SIGNAL_OPENING_HOURS, Vietnam time;
``same-client``    one client hash sending more than SIGNAL_SAME_CLIENT_PER_COUNTER responses at
                   one counter, or more than SIGNAL_SAME_CLIENT_PER_DAY in the survey, in one
                   Vietnam day;
``identical-run``  the same answers fingerprint SIGNAL_IDENTICAL_RUN times in a row at one
                   counter: the k-th response of the run and every later one while it lasts
                   (the first k-1 were ordinary when they came; the review page shows the run).

What the rules remember lives in Flask-Limiter's storage (Redis in production, shared by every
worker; memory in development and tests), as the submission limits do (survey/security.py):
on Redis one Lua script records and reads every rule's state in one round trip.  Time comes
from ``ctx.now``, never the clock, so buckets are reproducible.  When the storage fails the
submission is taken unflagged by the storage rules (logged): refusing or quarantining every
citizen because Redis is down would be worse than missing a burst for a few minutes, and the
period-level signals on the review page still see the result afterwards.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, time
from functools import lru_cache
from typing import Any, cast

from flask import current_app
from limits.storage import RedisStorage

from survey.catalog.periods import in_vietnam
from survey.extensions import limiter

BURST, OUT_OF_HOURS = "burst", "out-of-hours"
SAME_CLIENT, IDENTICAL_RUN = "same-client", "identical-run"
BURST_SLICES = 5          # a burst window is counted in 5 slices: see _burst_keys
DAY_SECONDS = 86_400
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class SubmissionContext:
    """One submission about to be stored.  ``now`` is its exact time (aware), not the hour
    the response is stored with; ``client_hash`` is None where a device is shared (kiosk)."""

    counter_id: int | None
    unit_id: int
    survey_id: int
    client_hash: str | None
    answers_fingerprint: str
    now: datetime


def setting(name: str) -> Any:
    """A threshold from the app config (defaults and their environment variables:
    survey/config.py)."""
    return current_app.config[name]


# --- opening hours ------------------------------------------------------------------------

_HOURS = re.compile(r"^\s*(\w{3})(?:\s*-\s*(\w{3}))?\s+(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


@lru_cache(maxsize=8)
def parse_opening_hours(spec: str) -> dict[int, tuple[time, time]]:
    """'Mon-Fri 07:00-17:30; Sat 07:00-11:30' -> {weekday: (opens, closes)}; a day not named is
    closed.  Raises ValueError on anything else (submission_flags logs it and skips the rule)."""
    days: dict[int, tuple[time, time]] = {}
    for part in filter(None, (p.strip() for p in spec.split(";"))):
        m = _HOURS.match(part)
        if not m or m.group(1).lower() not in WEEKDAYS or \
                (m.group(2) and m.group(2).lower() not in WEEKDAYS):
            raise ValueError(f"opening hours not understood: {part!r}")
        first = WEEKDAYS.index(m.group(1).lower())
        last = WEEKDAYS.index(m.group(2).lower()) if m.group(2) else first
        span = (time(int(m.group(3)), int(m.group(4))), time(int(m.group(5)), int(m.group(6))))
        for day in range(first, last + 1):
            days[day] = span
    return days


def out_of_hours(now: datetime, spec: str) -> bool:
    if not spec.strip():  # no opening hours set: the rule is off (tests; a 24-hour kiosk)
        return False
    local = in_vietnam(now)
    span = parse_opening_hours(spec).get(local.weekday())
    return span is None or not span[0] <= local.time().replace(tzinfo=None) < span[1]


# --- what the storage rules remember ----------------------------------------------------------

def _place(ctx: SubmissionContext) -> str:
    # A response through a dossier link may have no counter: its unit is the place then.
    return f"c{ctx.counter_id}" if ctx.counter_id is not None else f"u{ctx.unit_id}"


def _burst_keys(ctx: SubmissionContext, minutes: int) -> tuple[list[str], int]:
    """The current slice first, then the slices before it that fall inside the window.

    A window of M minutes is cut into 5 slices of M/5; the count over the current slice and
    the 4 before it covers between 4/5·M and M minutes, so a flag always means "more than N
    within M minutes", never a wider span.
    """
    width = max(1, minutes * 60 // BURST_SLICES)
    now_slice = int(ctx.now.timestamp()) // width
    keys = [f"sig/burst/{_place(ctx)}/{width}/{now_slice - i}" for i in range(BURST_SLICES)]
    return keys, width * (BURST_SLICES + 1)


def _fingerprint_number(fp: str) -> int:
    # The memory storage keeps integers only; 52 bits of the fingerprint's hash stand for it.
    return int.from_bytes(hashlib.sha256(fp.encode()).digest()[:8], "big") >> 12 or 1


@dataclass(frozen=True)
class _Keys:
    burst: list[str]
    burst_ttl: int
    client_counter: str | None
    client_day: str | None
    run: str


def _keys(ctx: SubmissionContext) -> _Keys:
    burst, ttl = _burst_keys(ctx, int(setting("SIGNAL_BURST_MINUTES")))
    day = in_vietnam(ctx.now).date().isoformat()
    client = ctx.client_hash
    return _Keys(burst, ttl,
                 f"sig/client/{ctx.survey_id}/{day}/{client}/{_place(ctx)}" if client else None,
                 f"sig/client/{ctx.survey_id}/{day}/{client}" if client else None,
                 f"sig/run/{ctx.survey_id}/{_place(ctx)}")


# The record, as a Lua function of its own keys and arguments, so the submission limits' script
# (survey/security.py) runs it in the same round trip as the limits; _RECORD runs it alone.
# K: burst slices (current first) ..., then the run hash, then the client keys if any.
# A: slices, burst ttl, day ttl, fingerprint.  Returns {in window, run length, per counter,
# per day}: every rule's state.
RECORD_LUA = """
local function record_signals(K, A)
  local slices = tonumber(A[1])
  redis.call('INCR', K[1])
  redis.call('EXPIRE', K[1], A[2])
  local total = 0
  for i = 1, slices do total = total + tonumber(redis.call('GET', K[i]) or '0') end
  local run = K[slices + 1]
  local run_length
  if redis.call('HGET', run, 'fp') == A[4] then
    run_length = redis.call('HINCRBY', run, 'n', 1)
  else
    redis.call('HSET', run, 'fp', A[4], 'n', 1)
    run_length = 1
  end
  redis.call('EXPIRE', run, A[3])
  local per_counter, per_day = 0, 0
  if #K > slices + 1 then
    per_counter = redis.call('INCR', K[slices + 2])
    redis.call('EXPIRE', K[slices + 2], A[3])
    per_day = redis.call('INCR', K[slices + 3])
    redis.call('EXPIRE', K[slices + 3], A[3])
  end
  return {total, run_length, per_counter, per_day}
end
"""
_RECORD = RECORD_LUA + "return record_signals(KEYS, ARGV)\n"

Counts = tuple[int, int, int, int]  # in window, run length, per counter, per day


@dataclass
class Recording:
    """One submission to record in the storage rules: the keys and arguments of the record.

    survey.security.take_submission_slot records it in the same round trip as the submission
    limits and fills in ``counts``; they stay None when the storage is off or failed (then only
    ``out-of-hours`` applies, as in :func:`submission_flags`).
    """

    context: SubmissionContext
    keys: _Keys
    counts: Counts | None = None

    def names(self) -> list[str]:
        # Both client keys are set together (_keys), or neither.
        k = self.keys
        return k.burst + [k.run] + (cast(list[str], [k.client_counter, k.client_day]) if k.client_day else [])

    def args(self) -> list:
        return [len(self.keys.burst), self.keys.burst_ttl, 2 * DAY_SECONDS, self.context.answers_fingerprint]

    def record_memory(self, storage: Any) -> None:
        self.counts = _record_memory(storage, self.keys, self.context.answers_fingerprint)


def recording(ctx: SubmissionContext) -> Recording:
    """What to record for this submission (raises if a setting is unusable: the caller logs it)."""
    return Recording(ctx, _keys(ctx))


def _record_redis(storage: RedisStorage, record: Recording) -> Counts:
    script = storage.get_connection().register_script(_RECORD)  # type: ignore[arg-type]  # redis-py takes str
    result = script(keys=[storage.prefixed_key(k) for k in record.names()], args=record.args())
    return tuple(int(x) for x in result)  # type: ignore[return-value]


def _record_memory(storage: Any, keys: _Keys, fp: str) -> Counts:
    """The same as the script, on one worker's memory storage (development, tests)."""
    storage.incr(keys.burst[0], keys.burst_ttl)
    total = sum(storage.get(k) for k in keys.burst)
    number = _fingerprint_number(fp)
    fp_key, n_key = keys.run + "/fp", keys.run + "/n"
    if storage.get(fp_key) == number:
        run = storage.incr(n_key, 2 * DAY_SECONDS)
    else:
        for key in (fp_key, n_key):
            storage.clear(key)
        storage.incr(fp_key, 2 * DAY_SECONDS, amount=number)
        run = storage.incr(n_key, 2 * DAY_SECONDS)
    per_counter = per_day = 0
    if keys.client_day:
        per_counter = storage.incr(keys.client_counter, 2 * DAY_SECONDS)
        per_day = storage.incr(keys.client_day, 2 * DAY_SECONDS)
    return total, run, per_counter, per_day


def _hours_flags(ctx: SubmissionContext) -> list[str]:
    try:
        if out_of_hours(ctx.now, setting("SIGNAL_OPENING_HOURS")):
            return [OUT_OF_HOURS]
    except ValueError:  # a mistyped setting must not cost citizens their answers
        current_app.logger.exception("SIGNAL_OPENING_HOURS not understood; rule skipped")
    return []


def flags_of(record: Recording) -> list[str]:
    """Reason codes that quarantine the recorded submission ([] for an ordinary one): opening
    hours, and the storage rules when the storage answered (``record.counts``)."""
    flags = _hours_flags(record.context)
    if record.counts is None:
        return flags
    in_window, run, per_counter, per_day = record.counts
    if in_window > int(setting("SIGNAL_BURST_COUNT")):
        flags.append(BURST)
    if per_counter > int(setting("SIGNAL_SAME_CLIENT_PER_COUNTER")) or \
            per_day > int(setting("SIGNAL_SAME_CLIENT_PER_DAY")):
        flags.append(SAME_CLIENT)
    if run >= int(setting("SIGNAL_IDENTICAL_RUN")):
        flags.append(IDENTICAL_RUN)
    return flags


def submission_flags(ctx: SubmissionContext) -> list[str]:
    """Reason codes that quarantine this submission ([] for an ordinary one), recorded on its own
    round trip (the intake path records with its limits instead: take_submission_slot).

    Records the submission in the rules' windows, so call it once per submission about to be
    stored (not for a double tap that finds its response already stored).
    """
    storage = limiter.storage if limiter.enabled else None
    if storage is None:
        return _hours_flags(ctx)
    try:
        record = recording(ctx)
        if isinstance(storage, RedisStorage):
            record.counts = _record_redis(storage, record)
        else:
            record.record_memory(storage)
    except Exception:  # the storage is down: keep taking answers (fail open)
        current_app.logger.exception("submission signals unavailable; storage rules skipped")
        return _hours_flags(ctx)
    return flags_of(record)
