"""Prototype and figures (not a migration): responses and answers partitioned by period.

Builds a demo database (--periods half-years, --per-unit responses per unit and period; the
rollup is emptied so every index read sums answer rows), copies it (CREATE DATABASE ... TEMPLATE)
and converts the copy to the layout docs/scale.md proposes:

- ``response`` PARTITION BY LIST (period), primary key (id, period), unique (idempotency_key,
  period); one partition per half-year, a DEFAULT partition so a submission never fails for a
  missing partition, and the next period created ahead (what `flask partitions ensure` would do);
- ``answer`` gains ``period`` (the partition key, copied from its response), PARTITION BY LIST
  (period), primary key (response_id, question_id, period), FK (response_id, period) ->
  response (id, period) ON DELETE CASCADE;
- ``response_key`` (idempotency_key PRIMARY KEY, period, response_id), NOT partitioned: the
  global uniqueness the optimistic store relies on (a retry that crosses midnight of 30 June
  falls in the other period, where a per-partition unique key would let it in twice).

Then measures on both databases: size of the current period's tables, the index table of the
current period read live (median of --runs; the estimates must be equal), how many answer
partitions a period's join scans with and without ``answer.period = response.period``,
archiving the oldest period (DETACH PARTITION, pg_dump, DROP) and the idempotency guard.

    .venv/bin/python bench/partitions.py --per-unit 400 --periods 2025-H1,2025-H2,2026-H1,2026-H2
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from flask_migrate import upgrade  # noqa: E402

from survey import create_app  # noqa: E402
from survey.catalog.periods import following  # noqa: E402
from survey.demo import seed_demo  # noqa: E402
from survey.extensions import db  # noqa: E402
from survey.indices import rollups  # noqa: E402
from survey.indices.aggregates import index_rows  # noqa: E402
from survey.services.demo_responses import seed_demo_responses  # noqa: E402

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/bench_partitions"


def conninfo(url: str, database: str | None = None) -> str:
    u = make_url(url)
    return f"host={u.host} port={u.port or 5432} user={u.username} dbname={database or u.database}"


def suffix(period: str) -> str:
    return period.lower().replace("-", "_")


def ensure_sql(period: str) -> list[str]:
    """The partitions of one period (idempotent): what `flask partitions ensure` runs ahead."""
    return [f"CREATE TABLE IF NOT EXISTS {t}_{suffix(period)} PARTITION OF {t} FOR VALUES IN ('{period}')"
            for t in ("response", "answer")]


def convert_sql(periods: list[str]) -> list[str]:
    sql = [
        "ALTER TABLE answer RENAME TO answer_flat",
        "ALTER TABLE response RENAME TO response_flat",
        "ALTER SEQUENCE response_id_seq OWNED BY NONE",
        "CREATE TABLE response (LIKE response_flat INCLUDING DEFAULTS) PARTITION BY LIST (period)",
        "CREATE TABLE answer (response_id bigint NOT NULL, period varchar(8) NOT NULL, "
        "question_id integer NOT NULL, value_int smallint, value_text text, na boolean NOT NULL) "
        "PARTITION BY LIST (period)",
    ]
    for p in periods + [following(periods[-1])]:
        sql += ensure_sql(p)
    sql += ["CREATE TABLE response_default PARTITION OF response DEFAULT",
            "CREATE TABLE answer_default PARTITION OF answer DEFAULT",
            "INSERT INTO response SELECT * FROM response_flat",
            "INSERT INTO answer SELECT a.response_id, r.period, a.question_id, a.value_int, a.value_text, a.na "
            "FROM answer_flat a JOIN response_flat r ON r.id = a.response_id",
            "CREATE TABLE response_key (idempotency_key varchar(64) PRIMARY KEY, "
            "period varchar(8) NOT NULL, response_id bigint NOT NULL)",
            "INSERT INTO response_key SELECT idempotency_key, period, id FROM response_flat",
            "DROP TABLE answer_flat",
            "DROP TABLE response_flat CASCADE",
            "ALTER SEQUENCE response_id_seq OWNED BY response.id",
            "ALTER TABLE response ADD CONSTRAINT pk_response PRIMARY KEY (id, period)",
            "ALTER TABLE response ADD CONSTRAINT uq_response_idempotency_key_period "
            "UNIQUE (idempotency_key, period)",
            "ALTER TABLE response ADD CONSTRAINT fk_response_survey_id_survey FOREIGN KEY (survey_id) "
            "REFERENCES survey (id)",
            "ALTER TABLE response ADD CONSTRAINT fk_response_survey_version_id_survey_version "
            "FOREIGN KEY (survey_version_id) REFERENCES survey_version (id)",
            "ALTER TABLE response ADD CONSTRAINT fk_response_counter_id_counter FOREIGN KEY (counter_id) "
            "REFERENCES counter (id)",
            "ALTER TABLE response ADD CONSTRAINT fk_response_unit_id_unit FOREIGN KEY (unit_id) "
            "REFERENCES unit (id)",
            "ALTER TABLE answer ADD CONSTRAINT pk_answer PRIMARY KEY (response_id, question_id, period)",
            "ALTER TABLE answer ADD CONSTRAINT fk_answer_response FOREIGN KEY (response_id, period) "
            "REFERENCES response (id, period) ON DELETE CASCADE",
            "ALTER TABLE answer ADD CONSTRAINT fk_answer_question_id_question FOREIGN KEY (question_id) "
            "REFERENCES question (id)",
            "CREATE INDEX ix_response_unit_period ON response (unit_id, period)",
            "CREATE INDEX ix_response_rollup_batch_id ON response (rollup_batch, id)",
            "CREATE INDEX ix_response_status ON response (status)",
            "CREATE INDEX ix_response_flags ON response (flags)",
            "CREATE INDEX ix_response_counter_id ON response (counter_id)",
            "CREATE INDEX ix_response_survey_version_id ON response (survey_version_id)",
            "CREATE INDEX ix_answer_question_id ON answer (question_id)",
            "ANALYZE response", "ANALYZE answer", "ANALYZE response_key"]
    return sql


def build(url: str, per_unit: int, periods: list[str]) -> None:
    name = make_url(url).database
    with psycopg.connect(conninfo(url, "postgres"), autocommit=True) as conn:
        for db_name in (name, f"{name}_part"):
            conn.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True, "SECRET_KEY": "x" * 40})
    with app.app_context():
        upgrade()
        seed_demo()
        seed_demo_responses(n_per_unit=per_unit, periods=periods)
        rollups.reset()   # every read sums the answer rows: the cost partitioning should cut
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    with psycopg.connect(conninfo(url, "postgres"), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}_part" TEMPLATE "{name}"')


def timed_index(url: str, period: str, runs: int) -> tuple[float, list]:
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True, "SECRET_KEY": "x" * 40})
    times, rows = [], []
    with app.app_context():
        for _ in range(runs):
            start = time.perf_counter()
            rows = index_rows(period, None)
            times.append(time.perf_counter() - start)
            db.session.remove()
        db.engine.dispose()
    return statistics.median(times), [(r.unit_code, r.stat, r.measure, r.est.estimate, r.est.se) for r in rows]


def scanned_partitions(conn: psycopg.Connection, period: str, with_key: bool) -> int:
    join = "a.response_id = r.id" + (" AND a.period = r.period" if with_key else "")
    plan = "\n".join(row[0] for row in conn.execute(
        f"EXPLAIN SELECT count(*) FROM answer a JOIN response r ON {join} WHERE r.period = '{period}'"))
    return sum(1 for line in plan.splitlines() if " on answer_" in line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", default=DEFAULT_URL)
    parser.add_argument("--per-unit", type=int, default=200)
    parser.add_argument("--periods", default="2025-H1,2025-H2,2026-H1,2026-H2")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    periods = args.periods.split(",")
    current, oldest = periods[-1], periods[0]
    part_url = make_url(args.url).set(database=make_url(args.url).database + "_part").render_as_string(False)

    t0 = time.perf_counter()
    build(args.url, args.per_unit, periods)
    print(f"built {args.url} ({len(periods)} periods, {args.per_unit} responses per unit and period) "
          f"and its copy in {time.perf_counter() - t0:.1f} s")
    with psycopg.connect(conninfo(part_url)) as conn:
        start = time.perf_counter()
        for statement in convert_sql(periods):
            conn.execute(statement)  # type: ignore[arg-type]
        conn.commit()
        print(f"converted the copy to partitions in {time.perf_counter() - start:.1f} s (one transaction)")
    with psycopg.connect(conninfo(args.url)) as flat, psycopg.connect(conninfo(part_url)) as part:
        n_resp, n_ans = flat.execute("SELECT (SELECT count(*) FROM response), (SELECT count(*) FROM answer)").fetchone()  # type: ignore[misc]
        print(f"responses {n_resp}, answers {n_ans}")
        size = "pg_size_pretty(pg_total_relation_size('{}'))"
        flat_size = flat.execute(f"SELECT {size.format('response')}, {size.format('answer')}").fetchone()
        cur = suffix(current)
        part_size = part.execute(f"SELECT {size.format('response_' + cur)}, {size.format('answer_' + cur)}").fetchone()
        print(f"  tables the current period's writes and reads touch: unpartitioned response {flat_size[0]}, "  # type: ignore[index]
              f"answer {flat_size[1]}; partition {current}: response {part_size[0]}, answer {part_size[1]}")  # type: ignore[index]
        print(f"  answer partitions scanned by a {current} join: {scanned_partitions(part, current, False)} "
              f"on response_id alone, {scanned_partitions(part, current, True)} with a.period = r.period")

    t_flat, rows_flat = timed_index(args.url, current, args.runs)
    t_part, rows_part = timed_index(part_url, current, args.runs)
    keys_same = [r[:3] for r in rows_flat] == [r[:3] for r in rows_part]
    diff = max((abs(a[i] - b[i]) for a, b in zip(rows_flat, rows_part) for i in (3, 4)
                if a[i] == a[i] and b[i] == b[i]), default=0.0)
    same = f"{keys_same}, max |difference| of estimate and SE {diff:.1e} (summation order)"
    print(f"index table of {current}, live from answers, median of {args.runs}: unpartitioned "
          f"{t_flat * 1000:.0f} ms, partitioned {t_part * 1000:.0f} ms "
          f"(the app's join has no a.period yet); same rows: {same}")

    with psycopg.connect(conninfo(part_url), autocommit=True) as conn:
        key, period, uid, vid, sid = conn.execute(
            "SELECT idempotency_key, period, unit_id, survey_version_id, survey_id FROM response LIMIT 1").fetchone()  # type: ignore[misc]
        other = following(current)
        store = ("WITH k AS (INSERT INTO response_key VALUES (%(key)s, %(period)s, nextval('response_id_seq')) "
                 "RETURNING response_id) INSERT INTO response (id, survey_id, survey_version_id, unit_id, "
                 "submitted_at, period, channel, idempotency_key, status, verified) SELECT response_id, %(sid)s, "
                 "%(vid)s, %(uid)s, now(), %(period)s, 'qr', %(key)s, 'counted', false FROM k")
        try:
            conn.execute(store, {"key": key, "period": other, "sid": sid, "vid": vid, "uid": uid})  # type: ignore[arg-type]
            guard = "STORED TWICE"
        except psycopg.errors.UniqueViolation:
            guard = "refused (unique violation on response_key)"
        print(f"  a retry of a {period} key arriving in {other}: {guard}; the per-partition "
              "unique (idempotency_key, period) alone would have accepted it")
        start = time.perf_counter()
        old = suffix(oldest)
        conn.execute(f"ALTER TABLE answer DETACH PARTITION answer_{old}")
        # The detached answers keep their FK to the parent: drop it, or the response partition
        # cannot leave (the pair is archived and dropped together).
        fks = conn.execute("SELECT conname FROM pg_constraint WHERE contype = 'f' AND conrelid = "
                           f"'answer_{old}'::regclass AND confrelid = 'response'::regclass").fetchall()
        for (name,) in fks:
            conn.execute(f'ALTER TABLE answer_{old} DROP CONSTRAINT "{name}"')
        conn.execute(f"ALTER TABLE response DETACH PARTITION response_{old}")
        detach = time.perf_counter() - start
        with tempfile.TemporaryDirectory() as tmp:
            dump = Path(tmp) / f"{old}.dump"
            u = make_url(part_url)
            start = time.perf_counter()
            subprocess.run(["pg_dump", "-h", u.host or "127.0.0.1", "-p", str(u.port or 5432), "-U",
                            u.username or "postgres", "-Fc", "-t", f"response_{old}", "-t", f"answer_{old}",
                            "-f", str(dump), u.database or ""], check=True)
            dumped = time.perf_counter() - start
            size_mb = dump.stat().st_size / 2**20
        conn.execute(f"DELETE FROM response_key WHERE period = '{oldest}'")
        conn.execute(f"DROP TABLE answer_{old}, response_{old}")
        print(f"archived {oldest}: DETACH {detach * 1000:.0f} ms, pg_dump {dumped:.1f} s ({size_mb:.1f} MiB "
              "custom format), DROP; the other periods never locked")


if __name__ == "__main__":
    main()
