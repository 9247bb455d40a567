"""Stuffing: one machine tries to add 1,000 responses to one counter while 20 citizens answer.

    .venv/bin/python bench/stuffing.py [--seconds 120] [--attempts 1000] [--citizens 20]
                                       [--shared-address] [--db URL] [--seed 1]

In-process, through the Flask test client (the whole WSGI application: token check, limits,
signals, store), on a fresh SQLite database in a temporary directory by default (--db for a
PostgreSQL URL, which is dropped and recreated). Submission limits use the memory storage of
this one process, with the application's default limits (SUBMIT_LIMIT_PER_CLIENT,
SUBMIT_LIMIT_PER_COUNTER, SUBMIT_FLOOD_LIMIT as configured). Nothing leaves the machine.

Real time, bounded by --seconds: the stuffer's --attempts are spread evenly over the run (1,000
in 120 s is about 8 a second), each from the same address with a new User-Agent, every other
one with a re-spelled token ("=", "==", "é", "!!", truncated, ...); every attempt opens the form
and posts it. The citizens arrive at random times, a quarter of them at the stuffed counter and
the others spread over the other units' counters, each from their own address (mobile data; with
--shared-address the ones at the stuffed counter share the stuffer's address, a centre's Wi-Fi),
read for 20-60 s (cut short near the end of the run) and send once. One event loop in time
order, so SQLite sees no concurrent writers.

Prints: the stuffer's attempts, how many re-spelled tokens opened anything (target 0), its
stored responses that COUNT (status 'counted': at most the counter's allowance), that are
quarantined, that were refused; the citizens refused (target 0) and quarantined by mistake (a
rate). Exit status 1 when a re-spelled token opened a form or stored anything, a stuffed
response counted beyond the counter's allowance, or a citizen was refused without
--shared-address.
"""
from __future__ import annotations

import argparse
import heapq
import random
import re
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import select  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from survey import create_app  # noqa: E402
from survey.catalog.instrument import STANDING_CODE  # noqa: E402
from survey.demo import seed_demo  # noqa: E402
from survey.extensions import db, limiter  # noqa: E402
from survey.intake.tokens import make_token  # noqa: E402
from survey.models import Counter, Response, Survey  # noqa: E402

HIDDEN = re.compile(r'<input[^>]*name="(csrf_token|idem|version)"[^>]*value="([^"]*)"')
REQUIRED = "A1_1 A1_2 A1_3 A2_1 A2_2 A2_3 A2_4 A3_1 A3_2 A3_3 A3_4 A3_5 A4_1 A4_2 A4_3 OVERALL".split()
RESPELL = (lambda t: t + "=", lambda t: t + "==", lambda t: t + "é", lambda t: t + "!!",
           lambda t: t[:-1], lambda t: t + ".", lambda t: t + "A")
STUFFER = "198.51.100.7"
BROWSERS = ("Mozilla/5.0 (Linux; Android 13; SM-A536E) Chrome/119.0 Mobile Safari/537.36",
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) Version/17.1 Mobile/15E148 Safari/604.1",
            "Mozilla/5.0 (Linux; Android 12; Redmi Note 11) Chrome/118.0 Mobile Safari/537.36")


@dataclass
class Tally:
    attempts: int = 0
    respelled: int = 0
    respelled_opened: int = 0  # a re-spelled token that got anything but 404
    acknowledged: int = 0
    refused: int = 0
    errors: dict = field(default_factory=dict)
    keys: set = field(default_factory=set)  # idempotency keys acknowledged


def fresh_database(url: str | None, work: Path) -> str:
    if url is None:
        return f"sqlite:///{work / 'stuffing.sqlite3'}"
    import psycopg

    u = make_url(url)
    with psycopg.connect(f"host={u.query.get('host') or u.host} port={u.port or 5432} user={u.username} "
                         "dbname=postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{u.database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{u.database}"')
    return url


def answers(rng: random.Random, stuffer: bool) -> dict[str, str]:
    if stuffer:  # the unit's own staff: top marks
        return {f"q_{c}": "5" for c in REQUIRED}
    return {f"q_{c}": str(rng.choice("2344455")) for c in REQUIRED}


def submit(client, path: str, agent: str, address: str, data: dict[str, str]) -> tuple[int, str | None]:
    """Open the form and send it: (status of the POST, or of the GET when it opened no form; key)."""
    environ = {"REMOTE_ADDR": address}
    headers = {"User-Agent": agent}
    page = client.get(path, headers=headers, environ_base=environ)
    if page.status_code != 200:
        return page.status_code, None
    hidden = dict(HIDDEN.findall(page.get_data(as_text=True)))
    sent = client.post(path, data={**hidden, **data}, headers=headers, environ_base=environ)
    return sent.status_code, hidden.get("idem")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=120, help="length of the run (real time)")
    parser.add_argument("--attempts", type=int, default=1000, help="the stuffer's attempts")
    parser.add_argument("--citizens", type=int, default=20)
    parser.add_argument("--shared-address", action="store_true",
                        help="citizens at the stuffed counter share the stuffer's address (a centre's Wi-Fi)")
    parser.add_argument("--db", default=None, help="PostgreSQL URL (default: SQLite in a temporary directory)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--opening-hours", default="",
                        help="SIGNAL_OPENING_HOURS for the run (default: rule off, so the time of day "
                             "the bench runs at does not decide the figures)")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    work = Path(tempfile.mkdtemp(prefix="stuffing-"))
    url = fresh_database(args.db, work)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "stuffing-bench-" + "x" * 32,
                      "RATELIMIT_STORAGE_URI": "memory://", "SIGNAL_OPENING_HOURS": args.opening_hours})
    with app.app_context():
        upgrade()
        seed_demo()
        limiter.reset()
        survey_id = db.session.scalar(select(Survey.id).where(Survey.code == STANDING_CODE))
        counters = db.session.scalars(select(Counter).where(Counter.active).order_by(Counter.id)).all()
        paths = {c.id: "/s/" + make_token(c.id, survey_id, c.token_version) for c in counters}
        unit_of = {c.id: c.unit_id for c in counters}
    target = counters[0].id
    others = [c.id for c in counters if unit_of[c.id] != unit_of[target]]
    token = paths[target].removeprefix("/s/")
    client = app.test_client()

    # (time, order, who, what): the stuffer's attempts evenly spread, each citizen's visit.
    events: list[tuple[float, int, str, int]] = []
    for i in range(args.attempts):
        events.append((i * args.seconds / args.attempts, len(events), "stuffer", i))
    at_target = max(1, args.citizens // 4)
    citizen_counter, citizen_address = {}, {}
    for n in range(args.citizens):
        citizen_counter[n] = target if n < at_target else rng.choice(others)
        shared = args.shared_address and citizen_counter[n] == target
        citizen_address[n] = STUFFER if shared else f"203.0.113.{10 + n}"
        arrival = rng.uniform(0, args.seconds * 0.8)
        events.append((min(arrival + rng.uniform(20, 60), args.seconds), len(events), "citizen", n))
    heapq.heapify(events)

    stuffer, citizens = Tally(), Tally()
    late = 0.0
    start = time.monotonic()
    while events:
        when, _order, who, n = heapq.heappop(events)
        wait = start + when - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        else:
            late = max(late, -wait)
        if who == "stuffer":
            stuffer.attempts += 1
            respelled = n % 2 == 1
            path = "/s/" + quote(RESPELL[n // 2 % len(RESPELL)](token), safe="") if respelled else paths[target]
            agent = f"Mozilla/5.0 (Linux; Android {10 + n % 5}; Build/{n}) Chrome/{100 + n % 40}.0 Mobile"
            status, key = submit(client, path, agent, STUFFER, answers(rng, True))
            stuffer.respelled += respelled
            if respelled and status != 404:
                stuffer.respelled_opened += 1
            tally = stuffer
        else:
            status, key = submit(client, paths[citizen_counter[n]], rng.choice(BROWSERS) + f" #{n}",
                                 citizen_address[n], answers(rng, False))
            citizens.attempts += 1
            tally = citizens
        if status == 303:
            tally.acknowledged += 1
            tally.keys.add(key)
        elif status == 429:
            tally.refused += 1
        elif not (tally is stuffer and status == 404):
            tally.errors[status] = tally.errors.get(status, 0) + 1
    elapsed = time.monotonic() - start

    with app.app_context():
        stored = {k: (s, f) for k, s, f in db.session.execute(
            select(Response.idempotency_key, Response.status, Response.flags))}
        allowance = min(item.amount for item in limiter_items(app.config["SUBMIT_LIMIT_PER_COUNTER"]))
        db.session.remove()
        db.engine.dispose()

    def split(keys: set) -> tuple[int, int, dict]:
        counted = sum(1 for k in keys if stored.get(k, ("",))[0] == "counted")
        quarantined = [stored[k][1] for k in keys if stored.get(k, ("",))[0] == "quarantined"]
        reasons: dict = {}
        for flags in quarantined:
            reasons[flags] = reasons.get(flags, 0) + 1
        return counted, len(quarantined), reasons

    s_counted, s_quarantined, s_reasons = split(stuffer.keys)
    c_counted, c_quarantined, c_reasons = split(citizens.keys)
    lost = len((stuffer.keys | citizens.keys) - set(stored))
    backend = make_url(url).get_backend_name()
    print(f"in-process Flask test client, {backend} database, memory limit storage (one process); "
          f"limits: per phone {app.config['SUBMIT_LIMIT_PER_CLIENT']!r}, per counter "
          f"{app.config['SUBMIT_LIMIT_PER_COUNTER']!r}, per address {app.config['SUBMIT_FLOOD_LIMIT']!r}")
    print(f"run {elapsed:.0f} s (planned {args.seconds:g} s, worst lateness {late:.1f} s); citizens at the "
          f"stuffed counter {'share' if args.shared_address else 'do not share'} the stuffer's address")
    print(f"stuffer: {stuffer.attempts} attempts, {stuffer.respelled} with re-spelled tokens "
          f"(opened anything: {stuffer.respelled_opened}); acknowledged {stuffer.acknowledged}, "
          f"refused (429) {stuffer.refused}, errors {stuffer.errors or 0}")
    print(f"stuffed responses that COUNT: {s_counted} (the counter's allowance is {allowance}); "
          f"quarantined {s_quarantined} {s_reasons or ''}")
    rate = c_quarantined / max(citizens.acknowledged, 1)
    print(f"citizens: {citizens.attempts} sent, acknowledged {citizens.acknowledged}, refused {citizens.refused}, "
          f"errors {citizens.errors or 0}; counted {c_counted}, quarantined by mistake {c_quarantined} "
          f"({rate * 100:.0f}%) {c_reasons or ''}")
    print(f"acknowledged but not stored: {lost}")
    checks = {
        "no re-spelled token opened a form or stored": stuffer.respelled_opened == 0,
        "stuffed responses counted within the counter's allowance": s_counted <= allowance,
        "every acknowledged response is stored": lost == 0,
    }
    if not args.shared_address:
        checks["no citizen refused"] = citizens.refused == 0 and not citizens.errors
    for name, ok in checks.items():
        print(f"  {'ok  ' if ok else 'FAIL'} {name}")
    return 0 if all(checks.values()) else 1


def limiter_items(limits: str):
    from limits import parse_many

    return parse_many(limits)


if __name__ == "__main__":
    sys.exit(main())
