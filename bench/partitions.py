"""Figures for responses and answers partitioned by period (migration i15b_parts, docs/scale.md §5).

Builds a demo database at the head revision (--periods half-years, --per-unit responses per unit
and period; the rollup is emptied so every index read sums answer rows), then with the real
migration:

- a copy is downgraded to i15c_fold (the unpartitioned layout; timed) and given answer.period
  as an ordinary column, so both databases run the same application code and queries;
- a copy of that is upgraded again (the conversion of a database with data, one transaction;
  timed) and is the partitioned database measured.

On both: size of the current period's tables, the index table of the current period read live
(median of --runs; the estimates must be equal), how many answer partitions the application's
join scans for one period, the idempotency guard across periods (the real store statement), and
archiving the oldest period (`survey.partitions.archive`: DETACH, pg_dump, DROP).

    .venv/bin/python bench/partitions.py --per-unit 1500 --periods 2025-H1,2025-H2,2026-H1,2026-H2
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import psycopg
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from flask_migrate import downgrade, upgrade  # noqa: E402

from survey import create_app, partitions  # noqa: E402
from survey.backup import _libpq  # noqa: E402
from survey.catalog.periods import following  # noqa: E402
from survey.demo import seed_demo  # noqa: E402
from survey.extensions import db  # noqa: E402
from survey.indices import rollups  # noqa: E402
from survey.indices.aggregates import index_rows  # noqa: E402
from survey.indices.stratum_sums import instrument_of, overall_scores  # noqa: E402
from survey.intake import responses  # noqa: E402
from survey.intake.place import VersionRef  # noqa: E402
from survey.models import Response, SurveyVersion  # noqa: E402
from survey.services.demo_responses import seed_demo_responses  # noqa: E402

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/bench_partitions"


def conninfo(url: str, database: str | None = None) -> str:
    u = make_url(url)
    return f"host={u.host} port={u.port or 5432} user={u.username} dbname={database or u.database}"


def named(url: str, suffix: str) -> str:
    u = make_url(url)
    return u.set(database=f"{u.database}{suffix}").render_as_string(hide_password=False)


def app_for(url: str):
    return create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True, "SECRET_KEY": "x" * 40})


def copy_database(url: str, source: str, target: str) -> None:
    with psycopg.connect(conninfo(url, "postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{target}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{target}" TEMPLATE "{source}"')


def build(url: str, per_unit: int, periods: list[str]) -> tuple[str, str, float, float]:
    """(flat url, partitioned url, seconds of the downgrade, seconds of the upgrade)."""
    name = make_url(url).database or "bench_partitions"
    with psycopg.connect(conninfo(url, "postgres"), autocommit=True) as conn:
        for db_name in (name, f"{name}_flat", f"{name}_part"):
            conn.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    app = app_for(url)
    with app.app_context():
        upgrade()
        seed_demo()
        seed_demo_responses(n_per_unit=per_unit, periods=periods)
        rollups.reset()   # every read sums the answer rows: the cost partitioning should cut
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    flat, part = named(url, "_flat"), named(url, "_part")
    copy_database(url, name, f"{name}_flat")
    app = app_for(flat)
    with app.app_context():
        start = time.perf_counter()
        downgrade(revision="i15c_fold")
        down = time.perf_counter() - start
        db.engine.dispose()
    copy_database(url, f"{name}_flat", f"{name}_part")
    app = app_for(part)
    with app.app_context():
        start = time.perf_counter()
        upgrade()
        up = time.perf_counter() - start
        db.engine.dispose()
    with psycopg.connect(conninfo(flat), autocommit=True) as conn:
        # The unpartitioned layout with answer.period, as on SQLite: the same code runs on both.
        # Copied into a new table, not UPDATEd: no dead rows to inflate its size.
        conn.execute("ALTER TABLE answer RENAME TO answer_old")
        conn.execute("CREATE TABLE answer (LIKE answer_old INCLUDING ALL)")
        conn.execute("ALTER TABLE answer ADD COLUMN period varchar(8)")
        conn.execute("INSERT INTO answer SELECT a.*, r.period FROM answer_old a "
                     "JOIN response r ON r.id = a.response_id")
        conn.execute("ALTER TABLE answer ALTER COLUMN period SET NOT NULL")
        conn.execute("DROP TABLE answer_old")
        conn.execute("ALTER TABLE answer ADD FOREIGN KEY (response_id) REFERENCES response (id) ON DELETE CASCADE")
        conn.execute("ANALYZE answer")
    with psycopg.connect(conninfo(url, "postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    return flat, part, down, up


def timed_index(url: str, period: str, runs: int) -> tuple[float, list]:
    app = app_for(url)
    times, rows = [], []
    with app.app_context():
        for _ in range(runs):
            start = time.perf_counter()
            rows = index_rows(period, None)
            times.append(time.perf_counter() - start)
            db.session.remove()
        db.engine.dispose()
    return statistics.median(times), [(r.unit_code, r.stat, r.measure, r.est.estimate, r.est.se) for r in rows]


def scanned_partitions(url: str, period: str) -> int:
    """Answer partitions in the plan of the application's per-response score join for `period`."""
    app = app_for(url)
    with app.app_context():
        inst = instrument_of()
        assert inst is not None
        query = select(func.count()).select_from(overall_scores(inst, [Response.period == period]))
        sql = str(query.compile(db.engine, compile_kwargs={"literal_binds": True}))
        plan = [r[0] for r in db.session.execute(text("EXPLAIN " + sql))]
        db.engine.dispose()
    return len(partitions.scanned(plan, "answer"))


def guard(url: str, current: str) -> str:
    """Store one stored response's key again in the period after `current` (the real statement)."""
    app = app_for(url)
    with app.app_context():
        old = db.session.scalars(select(Response).limit(1)).one()
        version = db.session.get(SurveyVersion, old.survey_version_id)
        assert version is not None
        ref = VersionRef(version.id, version.survey_id, version.frozen, version.created_at)
        year, half = following(current).split("-H")
        when = datetime(int(year), 1 if half == "1" else 7, 2, 3, tzinfo=timezone.utc)
        sub = responses.Submission(version=ref, unit_id=old.unit_id, counter_id=None, channel="qr",
                                   idempotency_key=old.idempotency_key, answers=())
        stored = responses.store(sub, now=when)
        same = db.session.scalar(select(func.count()).select_from(Response)
                                 .where(Response.idempotency_key == old.idempotency_key))
        db.engine.dispose()
    verdict = "refused" if not stored.created and same == 1 else "STORED TWICE"
    return f"a retry of a {old.period} key arriving in {following(current)}: {verdict} (response_key)"


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--url", default=DEFAULT_URL)
    parser.add_argument("--per-unit", type=int, default=200)
    parser.add_argument("--periods", default="2025-H1,2025-H2,2026-H1,2026-H2")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    periods = args.periods.split(",")
    current, oldest = periods[-1], periods[0]

    t0 = time.perf_counter()
    flat, part, down, up = build(args.url, args.per_unit, periods)
    print(f"built ({len(periods)} periods, {args.per_unit} responses per unit and period) in "
          f"{time.perf_counter() - t0:.1f} s; migration i15b_parts with the data: downgrade {down:.1f} s, "
          f"upgrade {up:.1f} s (one transaction each)")
    with psycopg.connect(conninfo(flat)) as f, psycopg.connect(conninfo(part)) as p:
        n_resp, n_ans = f.execute("SELECT (SELECT count(*) FROM response), (SELECT count(*) FROM answer)").fetchone()  # type: ignore[misc]
        same = p.execute("SELECT (SELECT count(*) FROM response), (SELECT count(*) FROM answer)").fetchone()
        print(f"responses {n_resp}, answers {n_ans} (partitioned: {same})")
        size = "pg_size_pretty(pg_total_relation_size('{}'))"
        cur = partitions.suffix(current)
        flat_size = f.execute("SELECT " + ", ".join(size.format(t) for t in partitions.TABLES)).fetchone()
        part_size = p.execute("SELECT " + ", ".join(size.format(f"{t}_{cur}") for t in partitions.TABLES)).fetchone()
        print("  tables (with indexes) the current period's writes and reads touch: unpartitioned "
              + ", ".join(f"{t} {v}" for t, v in zip(partitions.TABLES, flat_size or ()))
              + f"; partition {current}: " + ", ".join(f"{t} {v}" for t, v in zip(partitions.TABLES, part_size or ())))
    print(f"  answer partitions in the plan of the app's {current} join: {scanned_partitions(part, current)} "
          f"of {len(periods) + 2}")

    t_flat, rows_flat = timed_index(flat, current, args.runs)
    t_part, rows_part = timed_index(part, current, args.runs)
    keys_same = [r[:3] for r in rows_flat] == [r[:3] for r in rows_part]
    diff = max((abs(a[i] - b[i]) for a, b in zip(rows_flat, rows_part) for i in (3, 4)
                if a[i] == a[i] and b[i] == b[i]), default=0.0)
    print(f"index table of {current}, read live (rollup emptied), median of {args.runs}: unpartitioned "
          f"{t_flat * 1000:.0f} ms, partitioned {t_part * 1000:.0f} ms; same rows: {keys_same}, "
          f"max |difference| of estimate and SE {diff:.1e}")
    print(f"  {guard(part, current)}")

    app = app_for(part)
    with app.app_context(), tempfile.TemporaryDirectory() as tmp:
        dump = Path(tmp) / f"{oldest}.dump"
        start = time.perf_counter()
        count = partitions.archive(db.engine, oldest, dump, _libpq(part))
        took = time.perf_counter() - start
        print(f"archived {oldest}: {count} responses, DETACH + pg_dump ({dump.stat().st_size / 2**20:.1f} MiB) "
              f"+ DROP in {took:.1f} s")
        db.engine.dispose()


if __name__ == "__main__":
    main()
