"""Benchmark (not a test): SIPAS index table of a whole province period from PostgreSQL.

Loads N synthetic responses (about 20 answers each) into the real app schema with COPY
(psycopg 3), runs ANALYZE as autovacuum would, then times index_rows(period, None) — the
province ranking query — and prints the median of several runs and the peak Python memory
(tracemalloc: NumPy included) of one run.

    .venv/bin/python bench/indices_db.py --sizes 1e5,1e6
    .venv/bin/python bench/indices_db.py --sizes 1e5 --units 200 --runs 5 \
        --url postgresql+psycopg://postgres@127.0.0.1:5432/bench_indices

The database named in --url is dropped and re-created for every size.
"""
from __future__ import annotations

import argparse
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

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from flask_migrate import upgrade  # noqa: E402

from survey import create_app  # noqa: E402
from survey.demo import seed_demo  # noqa: E402
from survey.extensions import db  # noqa: E402
from survey.models import Counter, Question, ServiceVolume, Survey, Unit  # noqa: E402
from survey.services.aggregates import index_rows  # noqa: E402
from survey.services.instrument import SERVICE_FIELDS, STANDING_CODE  # noqa: E402

PERIOD = "2026-H2"
DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/bench_indices"
CHUNK = 50_000


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


def load(url: str, n: int, n_units: int, seed: int) -> float:
    """Fill the schema; returns seconds spent."""
    started = time.perf_counter()
    rng = np.random.default_rng(seed)
    units = add_units(n_units)
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
                cp.write(f"{i + 1}\t{survey.id}\t{version.id}\t{counter[i]}\t{unit_ids[i]}\t"
                         f"{(start + timedelta(seconds=int(seconds[i]))).isoformat()}\t{PERIOD}\t"
                         f"qr\tb{i}\t{field[i] or chr(92) + 'N'}\n")
        with conn.cursor() as cur, cur.copy(
                "COPY answer (response_id, question_id, value_int, na) FROM STDIN") as cp:
            for lo in range(0, n, CHUNK):
                hi = min(n, lo + CHUNK)
                p = 1 / (1 + np.exp(-(unit_level[which[lo:hi]] + rng.normal(0, 0.8, hi - lo))))
                lines = []
                for qid, code, required, allows_na in items:
                    u = rng.random(hi - lo)
                    keep = np.ones(hi - lo, bool) if required else u > 0.35
                    na = (rng.random(hi - lo) < 0.1) & allows_na
                    sat = rng.random(hi - lo) < p
                    value = np.where(sat, rng.integers(4, 6, hi - lo), rng.integers(1, 4, hi - lo))
                    for r in np.flatnonzero(keep):
                        rid = lo + r + 1
                        lines.append(f"{rid}\t{qid}\t\\N\tt\n" if na[r] else f"{rid}\t{qid}\t{value[r]}\tf\n")
                cp.write("".join(lines))
        conn.execute("SELECT setval(pg_get_serial_sequence('response', 'id'), %s)", (n,))
        conn.commit()
    with psycopg.connect(conninfo(url), autocommit=True) as conn:
        conn.execute("ANALYZE")
    return time.perf_counter() - started


def measure(runs: int) -> tuple[list[float], float, int]:
    times = []
    for _ in range(runs):
        db.session.expire_all()
        t0 = time.perf_counter()
        rows = index_rows(PERIOD, None)
        times.append(time.perf_counter() - t0)
    tracemalloc.start()
    index_rows(PERIOD, None)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return times, peak / 2**20, len(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1e5,1e6", help="responses per run, e.g. 1e5,1e6")
    parser.add_argument("--units", type=int, default=120, help="synthetic communes")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--url", default=DEFAULT_URL)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    print(f"{'responses':>10} {'answers':>11} {'load s':>8} {'median s':>9} {'runs s':>22} "
          f"{'peak MiB':>9} {'rows':>6}")
    for size in (int(float(s)) for s in args.sizes.split(",")):
        recreate(args.url)
        app = create_app({"SQLALCHEMY_DATABASE_URI": args.url, "SECRET_KEY": "bench"})
        with app.app_context():
            upgrade()
            seed_demo()
            loaded = load(args.url, size, args.units, args.seed)
            answers = db.session.scalar(text("SELECT count(*) FROM answer"))
            times, peak, rows = measure(args.runs)
            db.session.remove()
            db.engine.dispose()
        runs = ", ".join(f"{t:.2f}" for t in times)
        print(f"{size:>10,} {answers:>11,} {loaded:>8.1f} {statistics.median(times):>9.2f} "
              f"{runs:>22} {peak:>9.1f} {rows:>6}", flush=True)


if __name__ == "__main__":
    main()
