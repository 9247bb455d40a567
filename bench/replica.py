"""Demo and figures (not a test): dashboards on a streaming replica while citizens write to the primary.

Starts a private PostgreSQL 15 primary and a streaming replica on free loopback ports
(initdb, pg_basebackup -R; tests/pgcluster.py; as root the servers run as ``postgres``),
migrates and seeds the demo province into the primary, then for --seconds runs through the
real app (Flask test clients, one per thread):

- --citizens threads, each opening a counter's form and posting answers (primary only);
- --officials threads, each signed in (official, analyst alternately) and reloading the unit
  dashboard or the province comparison (routed to the replica by survey/replica.py);
- a sampler reading the replication lag every 50 ms: bytes not yet replayed
  (pg_wal_lsn_diff of the primary's current LSN and the replica's replay LSN) and
  pg_stat_replication.replay_lag.

Prints requests, statements per engine, latency and lag; at the end the replica's response
count must equal the primary's.

    .venv/bin/python bench/replica.py --seconds 20 --citizens 3 --officials 2
"""
from __future__ import annotations

import argparse
import secrets
import statistics
import sys
import threading
import time
from pathlib import Path

import psycopg
from sqlalchemy import event, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from flask_migrate import upgrade  # noqa: E402

from survey import create_app  # noqa: E402
from survey.demo import seed_demo  # noqa: E402
from survey.extensions import db  # noqa: E402
from survey.indices import rollups  # noqa: E402
from survey.replica import REPLICA_BIND  # noqa: E402
from survey.services.demo_responses import seed_demo_responses  # noqa: E402
from tests import pgcluster  # noqa: E402
from tests.conftest import full_answers, login, open_form  # noqa: E402
from tests.test_replica import _counter_url  # noqa: E402

PAGES = {"official": "/quan-ly/bang-dieu-khien/", "analyst": "/quan-ly/bang-dieu-khien/so-sanh"}


def pct(values: list[float], q: float) -> float:
    return sorted(values)[min(len(values) - 1, int(q * len(values)))] if values else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--citizens", type=int, default=3)
    parser.add_argument("--officials", type=int, default=2)
    parser.add_argument("--per-unit", type=int, default=40, help="seeded responses per unit and period")
    args = parser.parse_args()

    reason = pgcluster.unavailable()
    if reason:
        sys.exit(f"cannot start a private primary + replica: {reason}")
    t0 = time.perf_counter()
    pair = pgcluster.start_pair()
    print(f"primary 127.0.0.1:{pair.primary_port}, replica 127.0.0.1:{pair.replica_port} "
          f"(streaming, pg_basebackup -R) in {time.perf_counter() - t0:.1f} s; data in {pair.root}")
    try:
        run(pair, args)
    finally:
        pair.stop()


def run(pair: pgcluster.Pair, args: argparse.Namespace) -> None:
    app = create_app({"SECRET_KEY": secrets.token_hex(32), "SQLALCHEMY_DATABASE_URI": pair.primary_url,
                      "DATABASE_REPLICA_URL": pair.replica_url, "RATELIMIT_ENABLED": False,
                      "SIGNAL_OPENING_HOURS": "", "WTF_CSRF_ENABLED": True})
    t0 = time.perf_counter()
    with app.app_context():
        upgrade()
        seed_demo()
        seed_demo_responses(n_per_unit=args.per_unit, periods=("2026-H1", "2026-H2"))
        rollups.refresh()
        with db.engines[REPLICA_BIND].connect() as conn:
            in_recovery = conn.execute(text("SELECT pg_is_in_recovery()")).scalar()
    print(f"migrated and seeded the primary in {time.perf_counter() - t0:.1f} s; "
          f"replica caught up in {pair.wait_replayed():.3f} s; replica pg_is_in_recovery() = {in_recovery}")

    statements = {"primary": 0, "replica": 0}
    lock = threading.Lock()
    with app.app_context():
        engines = {"primary": db.engine, "replica": db.engines[REPLICA_BIND]}
    for name, engine in engines.items():
        def count(*_a, _name=name, **_k) -> None:
            with lock:
                statements[_name] += 1
        event.listen(engine, "before_cursor_execute", count)

    url = _counter_url(app)
    stop = threading.Event()
    results: dict[str, list[float]] = {"citizen": [], "official": [], "analyst": []}
    failures: list[str] = []
    lag_bytes: list[int] = []
    lag_time: list[float] = []

    def citizen() -> None:
        client = app.test_client()
        while not stop.is_set():
            start = time.perf_counter()
            form = open_form(client, url)
            status = client.post(url, data={**form, **full_answers("5")}).status_code
            with lock:
                (results["citizen"] if status == 303 else failures).append(
                    time.perf_counter() - start if status == 303 else f"citizen {status}")  # type: ignore[arg-type]

    def official(who: str) -> None:
        client = app.test_client()
        login(client, who)
        while not stop.is_set():
            start = time.perf_counter()
            status = client.get(PAGES[who]).status_code
            with lock:
                if status == 200:
                    results[who].append(time.perf_counter() - start)
                else:
                    failures.append(f"{who} {status}")

    def sampler() -> None:
        with psycopg.connect(pair.conninfo(pair.primary_port), autocommit=True) as p, \
                psycopg.connect(pair.conninfo(pair.replica_port), autocommit=True) as r:
            while not stop.is_set():
                lsn, replay = p.execute("SELECT pg_current_wal_lsn(), (SELECT extract(epoch FROM "
                                        "replay_lag) FROM pg_stat_replication LIMIT 1)").fetchone()  # type: ignore[misc]
                behind = r.execute("SELECT pg_wal_lsn_diff(%s, pg_last_wal_replay_lsn())", (lsn,)).fetchone()[0]  # type: ignore[index]
                lag_bytes.append(max(0, int(behind)))
                if replay is not None:
                    lag_time.append(float(replay))
                time.sleep(0.05)

    threads = [threading.Thread(target=citizen) for _ in range(args.citizens)]
    threads += [threading.Thread(target=official, args=("official" if i % 2 == 0 else "analyst",))
                for i in range(args.officials)]
    threads.append(threading.Thread(target=sampler))
    with lock:
        statements.update(primary=0, replica=0)
    start = time.perf_counter()
    for t in threads:
        t.start()
    time.sleep(args.seconds)
    stop.set()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    caught_up = pair.wait_replayed()

    print(f"\n{elapsed:.1f} s, {args.citizens} citizen and {args.officials} official threads "
          "(one process, 2 cores shared by everything):")
    for who, times in results.items():
        if times:
            print(f"  {who:8s} {len(times):5d} requests ({len(times) / elapsed:6.1f}/s), "
                  f"median {statistics.median(times) * 1000:6.1f} ms, p95 {pct(times, 0.95) * 1000:6.1f} ms")
    print(f"  failures: {len(failures)} {sorted(set(failures))[:5]}")
    print(f"  SQL statements: primary {statements['primary']}, replica {statements['replica']} "
          "(the citizens' raw-connection INSERTs are not counted by engine events)")
    if lag_bytes:
        print(f"  replication lag, bytes not yet replayed: median {statistics.median(lag_bytes):.0f}, "
              f"p95 {pct([float(b) for b in lag_bytes], 0.95):.0f}, max {max(lag_bytes)} "
              f"({len(lag_bytes)} samples)")
    if lag_time:
        print(f"  pg_stat_replication.replay_lag: median {statistics.median(lag_time) * 1000:.1f} ms, "
              f"max {max(lag_time) * 1000:.1f} ms")
    print(f"  replica fully replayed {caught_up * 1000:.0f} ms after the writers stopped")
    counts = []
    for port in (pair.primary_port, pair.replica_port):
        with psycopg.connect(pair.conninfo(port)) as conn:
            counts.append(conn.execute("SELECT count(*) FROM response").fetchone()[0])  # type: ignore[index]
    print(f"  responses: primary {counts[0]}, replica {counts[1]} "
          f"({'equal' if counts[0] == counts[1] else 'DIFFERENT'})")
    with app.app_context():
        db.session.remove()
        for engine in db.engines.values():
            engine.dispose()


if __name__ == "__main__":
    main()
