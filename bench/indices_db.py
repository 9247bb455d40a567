"""Benchmark (not a test): SIPAS index table of a whole province period from PostgreSQL.

Loads N synthetic responses (about 20 answers each) over --units communes into the real app
schema with COPY (psycopg 3), runs ANALYZE as autovacuum would, then:

- ``live``: times index_rows(period, None) (the province ranking query) with nothing folded,
  every sum computed from the answer rows (only with --live: minutes at 1M);
- ``fold``: times ``rollups.refresh()`` folding all N responses (µs per response);
- ``rollup``: times index_rows(period, None) again, now reading the rollup (median of --runs),
  with the peak Python memory (tracemalloc: NumPy included) of one run;
- ``+tail``: adds --tail fresh unfolded responses and times it again (rollup + live tail);
- ``province``: the index table of --province units (a province's communes), from the rollup;
- ``unit``: one unit's dashboard page (GET, analyst signed in), server time (test client);
- peak memory: Python's (tracemalloc, NumPy included) of one national table, and the process's
  peak RSS at the end of each size.

``score`` (part of the load, timed apart): the set-based statement that writes the score rows
of the loaded responses (the migration's backfill; submissions write their own).  Set
BENCH_REPO=/work/main to run the same steps on another checkout's code (one without score rows
skips that step), for old-vs-new ratios in one run.

    .venv/bin/python bench/indices_db.py --sizes 1e6,1e7 --units 3321
    .venv/bin/python bench/indices_db.py --sizes 1e5 --units 200 --runs 5 --live \
        --url postgresql+psycopg://postgres@127.0.0.1:5432/bench_indices

The database named in --url is dropped and re-created for every size.
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import resource
import secrets
import statistics
import sys
import time
import tracemalloc
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import psycopg
from sqlalchemy import insert, select, text
from sqlalchemy.engine import make_url

REPO = os.environ.get("BENCH_REPO") or str(Path(__file__).resolve().parents[1])
sys.path.insert(0, REPO)

from flask_migrate import upgrade  # noqa: E402

from survey import create_app  # noqa: E402
from survey.catalog.instrument import SERVICE_FIELDS, STANDING_CODE  # noqa: E402
from survey.demo import seed_demo  # noqa: E402
from survey.extensions import db  # noqa: E402
from survey.indices import rollups  # noqa: E402
from survey.indices.aggregates import index_rows  # noqa: E402
from survey.models import Counter, Question, ServiceVolume, Survey, Unit, User  # noqa: E402

SCORED = importlib.util.find_spec("survey.indices.scores") is not None

PERIOD = "2026-H2"
DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/bench_indices"
CHUNK = 50_000
BULK_FROM = int(float(os.environ.get("BENCH_BULK_FROM", "1e6")))


def conninfo(url: str, database: str | None = None) -> str:
    u = make_url(url)
    return f"host={u.host} port={u.port or 5432} user={u.username} dbname={database or u.database}"


def recreate(url: str) -> None:
    name = make_url(url).database
    with psycopg.connect(conninfo(url, "postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def add_units(n_units: int) -> list[tuple[int, list[int]]]:
    """n_units synthetic communes with three counters each, below the demo province."""
    province = db.session.scalar(select(Unit).where(Unit.kind == "province"))
    for i in range(n_units):
        unit = Unit(kind="commune", code=f"B{i:05d}", name=f"Xã Thử Nghiệm {i}", parent=province)
        unit.counters = [Counter(code=f"B{i:05d}-Q{k}", name=f"Quầy {k}", active=True,
                                 token_version=1) for k in (1, 2, 3)]
        db.session.add(unit)
    db.session.commit()
    units = db.session.scalars(select(Unit).where(Unit.kind != "province")).all()
    return [(u.id, [c.id for c in u.counters]) for u in units if u.counters]


COPY_HEADER = b"PGCOPY\n\xff\r\n\0" + b"\0\0\0\0" + b"\0\0\0\0"
VALUE_ROW = np.dtype([("nf", ">i2"), ("l1", ">i4"), ("rid", ">i8"), ("l2", ">i4"), ("qid", ">i4"),
                      ("l3", ">i4"), ("v", ">i2"), ("l4", ">i4"), ("na", "u1"), ("l5", ">i4"), ("per", "S7")])
NA_ROW = np.dtype([("nf", ">i2"), ("l1", ">i4"), ("rid", ">i8"), ("l2", ">i4"), ("qid", ">i4"),
                   ("l3", ">i4"), ("l4", ">i4"), ("na", "u1"), ("l5", ">i4"), ("per", "S7")])


def binary_answers(rid: np.ndarray, qid: int, value: np.ndarray | None) -> bytes:
    """Rows of COPY answer (response_id, question_id, value_int, na) in binary format;
    value None: value_int NULL (length -1) and na true."""
    rows = np.zeros(len(rid), dtype=VALUE_ROW if value is not None else NA_ROW)
    rows["nf"], rows["l1"], rows["rid"], rows["l2"], rows["qid"] = 4, 8, rid, 4, qid
    rows["l4"] = 1
    rows["nf"], rows["l5"], rows["per"] = 5, len(PERIOD), PERIOD.encode()  # answer.period (i15b_parts)
    if value is not None:
        rows["l3"], rows["v"], rows["na"] = 2, value, 0
    else:
        rows["l3"], rows["na"] = -1, 1
    return rows.tobytes()


def drop_constraints(conn: psycopg.Connection, table: str) -> tuple[list, list]:
    constraints = conn.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = %s::regclass ORDER BY contype DESC", (table,)).fetchall()
    indexes = conn.execute(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s AND indexname <> ALL(%s)",
        (table, [c for c, _ in constraints])).fetchall()
    for name, _ in indexes:
        conn.execute(f'DROP INDEX "{name}"')
    for name, _ in constraints:
        conn.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    return constraints, indexes


def restore_constraints(conn: psycopg.Connection, table: str, saved: tuple[list, list]) -> None:
    constraints, indexes = saved
    conn.execute("SET maintenance_work_mem = '1GB'")
    for name, definition in constraints:
        conn.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
    for _name, definition in indexes:
        conn.execute(definition)


def load(url: str, n: int, n_units: int, seed: int, first: int = 0) -> float:
    """Fill the schema (ids first+1..first+n); returns seconds spent."""
    started = time.perf_counter()
    rng = np.random.default_rng(seed)
    units = add_units(n_units) if not first else [
        (u.id, [c.id for c in u.counters]) for u in db.session.scalars(
            select(Unit).where(Unit.kind != "province")) if u.counters]
    survey = db.session.scalar(select(Survey).where(Survey.code == STANDING_CODE))
    version = survey.current_version
    items = db.session.execute(select(Question.id, Question.code, Question.required,
                                      Question.allows_na)
                               .where(Question.version_id == version.id,
                                      Question.type == "likert5")
                               .order_by(Question.position)).all()
    fields = np.array([f[0] for f in SERVICE_FIELDS] + [""])          # "" -> NULL
    volumes = [{"unit_id": u, "period": PERIOD, "field": f, "dossiers": int(rng.integers(50, 5000))}
               for u, _ in units for f in fields[:-1] if rng.random() < 0.85]
    if not first:
        db.session.execute(insert(ServiceVolume), volumes)
        db.session.commit()

    unit_level = rng.normal(1.2, 0.6, size=len(units))
    which = rng.integers(0, len(units), size=n)
    counter = np.array([cs[rng.integers(0, len(cs))] for cs in (units[i][1] for i in which)])
    unit_ids = np.array([u for u, _ in units])[which]
    field = fields[rng.choice(len(fields), size=n, p=[0.13] * 7 + [0.09])]
    start = datetime(2026, 7, 1, 1, tzinfo=timezone.utc)
    seconds = rng.integers(0, 150 * 86400, size=n)
    with psycopg.connect(conninfo(url)) as conn:
        with conn.cursor() as cur, cur.copy(
                "COPY response (id, survey_id, survey_version_id, counter_id, unit_id, "
                "submitted_at, period, channel, idempotency_key, service_field) FROM STDIN") as cp:
            for i in range(n):
                cp.write(f"{first + i + 1}\t{survey.id}\t{version.id}\t{counter[i]}\t{unit_ids[i]}\t"
                         f"{(start + timedelta(seconds=int(seconds[i]))).isoformat()}\t{PERIOD}\t"
                         f"qr\tb{first + i}\t{field[i] or chr(92) + 'N'}\n")
        conn.execute("INSERT INTO response_key SELECT idempotency_key, period, id FROM response "
                     "WHERE id > %s", (first,))  # the global idempotency keys (migration i15b_parts)
        # Bulk load as pg_restore does: answer's keys and indexes are built after the rows.
        saved = drop_constraints(conn, "answer") if n >= BULK_FROM else None
        with conn.cursor() as cur, cur.copy(
                "COPY answer (response_id, question_id, value_int, na, period) FROM STDIN "
                "(FORMAT BINARY)") as cp:
            cp.write(COPY_HEADER)
            for lo in range(0, n, CHUNK):
                hi = min(n, lo + CHUNK)
                p = 1 / (1 + np.exp(-(unit_level[which[lo:hi]] + rng.normal(0, 0.8, hi - lo))))
                rid = np.arange(first + lo + 1, first + hi + 1, dtype=np.int64)
                for qid, _code, required, allows_na in items:
                    u = rng.random(hi - lo)
                    keep = np.ones(hi - lo, bool) if required else u > 0.35
                    na = (rng.random(hi - lo) < 0.1) & allows_na
                    sat = rng.random(hi - lo) < p
                    value = np.where(sat, rng.integers(4, 6, hi - lo), rng.integers(1, 4, hi - lo))
                    cp.write(binary_answers(rid[keep & ~na], qid, value[keep & ~na]))
                    cp.write(binary_answers(rid[keep & na], qid, None))
            cp.write(b"\xff\xff")
        if saved:
            restore_constraints(conn, "answer", saved)
        conn.execute("SELECT setval(pg_get_serial_sequence('response', 'id'), %s)", (first + n,))
        conn.commit()
    with psycopg.connect(conninfo(url), autocommit=True) as conn:
        conn.execute("ANALYZE")
    loaded = time.perf_counter() - started
    return loaded, score(url, n, first)


def score(url: str, n: int, first: int) -> float:
    """Write the score rows of responses first+1..first+n as the migration's backfill does."""
    if not SCORED:
        return 0.0
    from survey.indices.scores import ANSWERS_OF, score_statement
    started = time.perf_counter()
    with psycopg.connect(conninfo(url)) as conn:
        conn.execute("SET work_mem = '256MB'")
        saved = drop_constraints(conn, "response_score") if n >= BULK_FROM else None
        conn.execute(score_statement(ANSWERS_OF.format(where=f" WHERE a.response_id > {int(first)}")))
        if saved:
            restore_constraints(conn, "response_score", saved)
        conn.commit()
    with psycopg.connect(conninfo(url), autocommit=True) as conn:
        conn.execute("ANALYZE response_score")
    return time.perf_counter() - started


def measure(runs: int, units: set[int] | None = None) -> tuple[list[float], float, int]:
    times = []
    for _ in range(runs):
        db.session.expire_all()
        t0 = time.perf_counter()
        rows = index_rows(PERIOD, units)
        times.append(time.perf_counter() - t0)
        db.session.rollback()
    tracemalloc.start()
    index_rows(PERIOD, units)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    db.session.rollback()
    return times, peak / 2**20, len(rows)


def dashboard(app, runs: int) -> tuple[list[float], int]:
    """Server time of one unit's dashboard page (analyst signed in, warm), and its status."""
    unit_id = db.session.scalar(select(Unit.id).where(Unit.code == "B00000"))
    analyst = db.session.scalar(select(User).where(User.role == "analyst"))
    db.session.rollback()
    client = app.test_client()
    with client.session_transaction() as sess:
        sess["_user_id"] = analyst.get_id()
        sess["_fresh"] = True
    url = f"/quan-ly/bang-dieu-khien/?period={PERIOD}&unit={unit_id}"
    status = client.get(url).status_code
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        client.get(url)
        times.append(time.perf_counter() - t0)
    return times, status


def peak_rss() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def report(size: int, step: str, seconds: list[float], extra: str = "") -> None:
    runs = ", ".join(f"{t:.2f}" for t in seconds)
    print(f"{size:>11,} {step:>8} {statistics.median(seconds):>9.2f} {runs:>24}  {extra}",
          flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1e5,1e6", help="responses per run, e.g. 1e5,1e6")
    parser.add_argument("--units", type=int, default=120, help="synthetic communes")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--province", type=int, default=100, help="units of the province table")
    parser.add_argument("--tail", type=int, default=10_000,
                        help="unfolded responses added for the last timing")
    parser.add_argument("--live", action="store_true", help="also time the unfolded query")
    parser.add_argument("--url", default=DEFAULT_URL)
    parser.add_argument("--fold-chunk", type=int, default=1_000_000,
                        help="responses per refresh transaction")
    parser.add_argument("--measure-only", action="store_true",
                        help="keep the database of an earlier run and time the rollup read only")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    print(f"{'responses':>11} {'step':>8} {'median s':>9} {'runs s':>24}  notes")
    for size in (int(float(s)) for s in args.sizes.split(",")):
        if args.measure_only:
            app = create_app({"SQLALCHEMY_DATABASE_URI": args.url, "SECRET_KEY": secrets.token_hex(32)})
            with app.app_context():
                times, peak, rows = measure(args.runs)
                report(size, "rollup", times, f"{rows:,} rows, peak {peak:.0f} MiB, "
                       f"{rollups.pending():,} unfolded")
            continue
        recreate(args.url)
        app = create_app({"SQLALCHEMY_DATABASE_URI": args.url, "SECRET_KEY": secrets.token_hex(32)})
        with app.app_context():
            upgrade()
            seed_demo()
            loaded, scored = load(args.url, size, args.units, args.seed)
            answers = db.session.scalar(text("SELECT count(*) FROM answer"))
            report(size, "load", [loaded], f"{answers:,} answer rows, {args.units} units")
            if SCORED:
                rows = db.session.scalar(text("SELECT count(*) FROM response_score"))
                report(size, "score", [scored], f"{rows:,} score rows, {scored / size * 1e6:.1f} µs each")
            if args.live:
                times, peak, rows = measure(args.runs)
                report(size, "live", times, f"{rows:,} rows, peak {peak:.0f} MiB")
            t0 = time.perf_counter()
            folded = rollups.refresh(chunk=args.fold_chunk)
            fold = time.perf_counter() - t0
            report(size, "fold", [fold], f"{folded:,} responses, {fold / folded * 1e6:.1f} µs each")
            with psycopg.connect(conninfo(args.url), autocommit=True) as conn:
                conn.execute("VACUUM ANALYZE")
            times, peak, rows = measure(args.runs)
            report(size, "rollup", times, f"{rows:,} rows, peak {peak:.0f} MiB")
            province = set(db.session.scalars(select(Unit.id).where(Unit.code.like("B%"))
                                              .order_by(Unit.code).limit(args.province)))
            times, peak, rows = measure(args.runs, province)
            report(size, "province", times, f"{len(province)} units, {rows:,} rows, peak {peak:.0f} MiB")
            times, status = dashboard(app, args.runs)
            report(size, "unit", times, f"dashboard page, HTTP {status}")
            if args.tail:
                load(args.url, args.tail, args.units, args.seed + 1, first=size)
                times, peak, rows = measure(args.runs)
                report(size, "+tail", times, f"{args.tail:,} unfolded, {rows:,} rows")
            print(f"{size:>11,} peak RSS {peak_rss():.0f} MiB (process, so far)", flush=True)
            db.session.remove()
            db.engine.dispose()


if __name__ == "__main__":
    main()
