"""Submission-time stuffing signals: each rule fires on a synthetic burst, never on a busy counter.

The rules keep their state in Flask-Limiter's storage, so every test runs on the memory storage
(development, tests) and on Redis (production, the Lua script); they need no database.
"""
from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from survey import create_app
from survey.catalog.periods import VIETNAM
from survey.extensions import limiter
from survey.review.signals import (
    BURST,
    IDENTICAL_RUN,
    OUT_OF_HOURS,
    SAME_CLIENT,
    SubmissionContext,
    out_of_hours,
    parse_opening_hours,
    submission_flags,
)

# A Tuesday, 09:00 Vietnam time.
MORNING = datetime(2026, 9, 8, 9, 0, tzinfo=VIETNAM).astimezone(timezone.utc)


@pytest.fixture(params=["memory", "redis"])
def signals_app(request, tmp_path, monkeypatch):
    app = create_app({"TESTING": True, "SECRET_KEY": "test-secret",
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'unused.sqlite3'}"})
    with app.app_context():
        limiter.reset()
        if request.param == "redis":
            from limits.storage import RedisStorage

            storage = RedisStorage("redis://127.0.0.1:6379/13",
                                   key_prefix=f"test-{uuid.uuid4().hex}")
            monkeypatch.setattr(limiter, "_storage", storage)
            yield app
            storage.reset()
        else:
            yield app


def ctx(at: datetime, counter: int = 1, client: str | None = None, fp: str | None = None,
        unit: int = 10) -> SubmissionContext:
    return SubmissionContext(counter_id=counter, unit_id=unit, survey_id=1,
                             client_hash=client or uuid.uuid4().hex,
                             answers_fingerprint=fp or uuid.uuid4().hex, now=at)


def likert_fingerprint(rng: random.Random) -> str:
    """A realistic citizen: 40 % rate everything 5 ('rất hài lòng'), the rest vary."""
    if rng.random() < 0.4:
        return "5" * 16
    return "".join(str(rng.choice((3, 4, 4, 5, 5))) for _ in range(16))


def test_a_busy_counter_of_real_citizens_is_never_flagged(signals_app):
    """Two counters, 40 citizens an hour each at random moments, Mon-Sat opening hours, a week;
    citizens are mostly new phones, some answer twice in a day (two dossiers)."""
    rng = random.Random(20260908)
    flagged, seen = [], 0
    for day in range(6):
        start = MORNING + timedelta(days=day - 1, hours=-1, minutes=-30)  # Mon-Sat 07:30
        for counter in (1, 2):
            moments = sorted(start + timedelta(seconds=rng.uniform(0, 9 * 3600))
                             for _ in range(9 * 40))
            phones = [uuid.uuid4().hex for _ in range(300)]
            for at in moments:
                flags = submission_flags(ctx(at, counter, rng.choice(phones),
                                             likert_fingerprint(rng)))
                seen += 1
                if flags:
                    flagged.append((at, counter, flags))
    assert seen == 6 * 2 * 360
    assert flagged == [], (len(flagged), flagged[:5])


def test_burst_at_one_counter(signals_app):
    limit = signals_app.config["SIGNAL_BURST_COUNT"]
    flags = [submission_flags(ctx(MORNING + timedelta(seconds=10 * i))) for i in range(limit + 5)]
    assert all(f == [] for f in flags[:limit])
    assert all(f == [BURST] for f in flags[limit:])
    # Another counter at the same moments is its own window.
    assert submission_flags(ctx(MORNING + timedelta(seconds=30), counter=2)) == []
    # Once the window has passed, the counter is ordinary again.
    later = MORNING + timedelta(minutes=signals_app.config["SIGNAL_BURST_MINUTES"] + 5)
    assert submission_flags(ctx(later)) == []


def test_burst_threshold_comes_from_the_config(signals_app):
    signals_app.config["SIGNAL_BURST_COUNT"] = 3
    flags = [submission_flags(ctx(MORNING + timedelta(seconds=i))) for i in range(5)]
    assert flags == [[], [], [], [BURST], [BURST]]


def test_out_of_hours(signals_app):
    sunday = datetime(2026, 9, 13, 10, 0, tzinfo=VIETNAM)
    late = datetime(2026, 9, 8, 19, 30, tzinfo=VIETNAM)
    early = datetime(2026, 9, 8, 6, 29, tzinfo=VIETNAM)
    opening = datetime(2026, 9, 8, 6, 30, tzinfo=VIETNAM)
    saturday = datetime(2026, 9, 12, 11, 0, tzinfo=VIETNAM)
    for moment, expected in ((sunday, [OUT_OF_HOURS]), (late, [OUT_OF_HOURS]),
                             (early, [OUT_OF_HOURS]), (opening, []), (saturday, [])):
        assert submission_flags(ctx(moment.astimezone(timezone.utc))) == expected, moment
    # 23:30 UTC on Monday is 06:30 on Tuesday in Vietnam: the rule reads Vietnam time.
    assert not out_of_hours(datetime(2026, 9, 7, 23, 30, tzinfo=timezone.utc),
                            "Mon-Sat 06:30-19:00")


def test_opening_hours_setting():
    days = parse_opening_hours("Mon-Fri 07:00-17:30; Sat 07:00-11:30")
    assert sorted(days) == [0, 1, 2, 3, 4, 5]
    assert days[5][1].hour == 11 and days[0][1].minute == 30
    with pytest.raises(ValueError):
        parse_opening_hours("Mon-Fri 7h-17h")


def test_same_client_at_one_counter_and_across_the_day(signals_app):
    per_counter = signals_app.config["SIGNAL_SAME_CLIENT_PER_COUNTER"]
    phone = "one-phone"
    # Spread out (every 20 minutes): no burst, only the client rule.
    flags = [submission_flags(ctx(MORNING + timedelta(minutes=20 * i), client=phone))
             for i in range(per_counter + 2)]
    assert all(f == [] for f in flags[:per_counter])
    assert all(f == [SAME_CLIENT] for f in flags[per_counter:])
    # The next day the count starts again.
    assert submission_flags(ctx(MORNING + timedelta(days=1), client=phone)) == []
    # Across many counters of one survey in a day.
    per_day = signals_app.config["SIGNAL_SAME_CLIENT_PER_DAY"]
    day3 = MORNING + timedelta(days=2)
    flags = [submission_flags(ctx(day3 + timedelta(minutes=5 * i), counter=100 + i,
                                  client="roaming")) for i in range(per_day + 1)]
    assert all(f == [] for f in flags[:per_day]) and flags[per_day] == [SAME_CLIENT]


def test_no_client_hash_skips_the_client_rule(signals_app):
    # The kiosk tablet is one device for many citizens: intake passes no client hash for it.
    flags = [submission_flags(SubmissionContext(1, 10, 1, None, uuid.uuid4().hex,
                                                MORNING + timedelta(minutes=5 * i)))
             for i in range(signals_app.config["SIGNAL_SAME_CLIENT_PER_DAY"] + 2)]
    assert all(f == [] for f in flags)


def test_identical_run_at_one_counter(signals_app):
    k = signals_app.config["SIGNAL_IDENTICAL_RUN"]
    same = "4" * 16
    flags = [submission_flags(ctx(MORNING + timedelta(minutes=2 * i), fp=same))
             for i in range(k + 2)]
    assert all(f == [] for f in flags[:k - 1])
    assert all(f == [IDENTICAL_RUN] for f in flags[k - 1:])
    # A different answer breaks the run; the same pattern then starts counting from one.
    t = MORNING + timedelta(minutes=2 * (k + 3))
    assert submission_flags(ctx(t, fp="different")) == []
    assert submission_flags(ctx(t + timedelta(minutes=1), fp=same)) == []
    # The run is per counter: another counter's identical answers are not this run.
    assert submission_flags(ctx(t + timedelta(minutes=2), counter=3, fp=same)) == []


def test_storage_down_fails_open(signals_app, monkeypatch, caplog):
    class Broken:
        def incr(self, *args, **kwargs):
            raise ConnectionError("storage down")

        get = clear = incr

    monkeypatch.setattr(limiter, "_storage", Broken())
    assert submission_flags(ctx(MORNING)) == []
    assert "submission signals unavailable" in caplog.text
    # The clock rule needs no storage and still applies.
    sunday = datetime(2026, 9, 13, 10, 0, tzinfo=VIETNAM).astimezone(timezone.utc)
    assert submission_flags(ctx(sunday)) == [OUT_OF_HOURS]


def test_a_mistyped_opening_hours_setting_skips_the_rule(signals_app, caplog):
    signals_app.config["SIGNAL_OPENING_HOURS"] = "Mon-Sat 7h-19h"
    sunday = datetime(2026, 9, 13, 10, 0, tzinfo=VIETNAM).astimezone(timezone.utc)
    assert submission_flags(ctx(sunday)) == []
    assert "SIGNAL_OPENING_HOURS not understood" in caplog.text
