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
import importlib
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
# Score rows keyed by a measure id (i15c_fold): the loader writes them with COPY as it writes the
# answers, and checks a sample against the application's own scoring statement.
MEASURE_IDS = SCORED and hasattr(importlib.import_module("survey.models").ResponseScore, "measure")
# One score row per response, its measures as an array (i16a_wide): the loader writes those.
WIDE = SCORED and hasattr(importlib.import_module("survey.models").ResponseScore, "ys")

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


SCORE_ROW = np.dtype([("nf", ">i2"), ("l1", ">i4"), ("rid", ">i8"), ("l2", ">i4"), ("m", ">i2"),
                      ("l3", ">i4"), ("p", "S7"), ("l4", ">i4"), ("y", ">f8")])


def binary_scores(rid: np.ndarray, measure: np.ndarray | int, y: np.ndarray) -> bytes:
    """Rows of COPY response_score (response_id, measure, period, y) in binary format."""
    rows = np.zeros(len(rid), dtype=SCORE_ROW)
    rows["nf"], rows["l1"], rows["rid"], rows["l2"], rows["m"] = 4, 8, rid, 2, measure
    rows["l3"], rows["p"], rows["l4"], rows["y"] = len(PERIOD), PERIOD.encode(), 8, y
    return rows.tobytes()


WIDE_HEAD = np.dtype([("nf", ">i2"), ("l1", ">i4"), ("rid", ">i8"), ("l2", ">i4"), ("p", "S7"),
                      ("l3", ">i4"), ("ndim", ">i4"), ("flags", ">i4"), ("oid", ">i4"),
                      ("dim", ">i4"), ("lbound", ">i4")])
WIDE_ELEMENT = np.dtype([("len", ">i4"), ("y", ">f8")])


def binary_wide(rid: np.ndarray, ys: np.ndarray) -> bytes:
    """Rows of COPY response_score (response_id, period, ys) in binary format: ``ys[r, k-1]``
    is measure k's value (NaN: none), each array cut after its last value (as the app writes
    it).  Variable-length rows without a Python loop: every row laid out at full width, then
    the bytes of absent elements (their 8 data bytes; the whole element past the array's end)
    masked out."""
    n, width = ys.shape
    present = ~np.isnan(ys)
    length = np.where(present.any(axis=1), width - np.argmax(present[:, ::-1], axis=1), 0)
    keep = length > 0
    rid, ys, present, length = rid[keep], ys[keep], present[keep], length[keep]
    n = len(rid)
    head = np.zeros(n, dtype=WIDE_HEAD)
    head["nf"], head["l1"], head["rid"], head["l2"], head["p"] = 3, 8, rid, len(PERIOD), PERIOD.encode()
    head["l3"] = 20 + 4 * length + 8 * present.sum(axis=1)
    head["ndim"], head["flags"], head["oid"], head["dim"], head["lbound"] = 1, 1, 701, length, 1
    inside = np.arange(width)[None, :] < length[:, None]
    elements = np.zeros((n, width), dtype=WIDE_ELEMENT)
    elements["len"] = np.where(present, 8, -1)
    elements["y"] = np.where(present, ys, 0.0)
    data = np.concatenate([head.view(np.uint8).reshape(n, -1),
                           elements.view(np.uint8).reshape(n, -1)], axis=1)
    mask = np.concatenate([np.ones((n, WIDE_HEAD.itemsize), bool),
                           np.repeat(inside, 12, axis=1)
                           & np.tile(np.r_[[True] * 4, [False] * 8], width)[None, :]
                           | np.repeat(inside & present, 12, axis=1)], axis=1)
    return data[mask].tobytes()


class Scores:
    """Score rows of the generated answers, as indices/scores.py derives them: item y = the
    1-5 answer, component y = share of its valid items rated 4-5, overall = their mean."""

    def __init__(self, items: list) -> None:
        from survey.models import RollupMeasure
        ids = {(k, c): i for i, k, c in db.session.execute(
            select(RollupMeasure.id, RollupMeasure.kind, RollupMeasure.code))}
        self.item_id = [ids[(1, code)] for _q, code, *_ in items]
        comps = sorted({comp for *_x, comp in items if comp is not None and comp != "OVERALL"})
        self.comp_of = [comps.index(comp) if comp in comps else -1 for *_x, comp in items]
        self.comp_id = [ids[(2, c)] for c in comps]
        self.overall = ids[(3, "overall")]
        self.width = max([*self.item_id, *self.comp_id, self.overall])

    def start(self, rid: np.ndarray) -> None:
        self.rid = rid
        self.sat = np.zeros((len(self.comp_id), len(rid)))
        self.valid = np.zeros((len(self.comp_id), len(rid)))
        self.ys = np.full((len(rid), self.width), np.nan)

    def item(self, j: int, keep: np.ndarray, value: np.ndarray) -> bytes:
        """Rows of item j (answered 1-5 where ``keep``), counted into its component (wide:
        its array column, written by composites())."""
        c = self.comp_of[j]
        if c >= 0:
            self.valid[c] += keep
            self.sat[c] += keep & (value >= 4)
        if WIDE:
            self.ys[keep, self.item_id[j] - 1] = value[keep]
            return b""
        return binary_scores(self.rid[keep], self.item_id[j], value[keep].astype(float))

    def composites(self) -> bytes:
        out, answered = [], self.valid > 0
        with np.errstate(invalid="ignore", divide="ignore"):
            y = self.sat / self.valid
        any_c = answered.any(axis=0)
        mean = np.where(answered, y, 0).sum(axis=0)[any_c] / answered.sum(axis=0)[any_c]
        if WIDE:
            for c, mid in enumerate(self.comp_id):
                self.ys[answered[c], mid - 1] = y[c][answered[c]]
            self.ys[any_c, self.overall - 1] = mean
            return binary_wide(self.rid, self.ys)
        for c, mid in enumerate(self.comp_id):
            out.append(binary_scores(self.rid[answered[c]], mid, y[c][answered[c]]))
        out.append(binary_scores(self.rid[any_c], self.overall, mean))
        return b"".join(out)


def binary_answers(rid: np.ndarray, qid: int, value: np.ndarray | None) -> bytes:
    """Rows of COPY answer (response_id, question_id, value_int, na, period) in binary format;
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
    """Drop the table's keys and indexes for a bulk load, as pg_restore loads before it builds
    them.  A partitioned table's partitions carry foreign keys of their own (answer's point at
    their period's response partition, migration i15b_parts): with them in place COPY queues
    one RI check per row and fires them all at the end (212M at 10M responses: hours)."""
    constraints = conn.execute(
        "SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid) FROM pg_constraint c "
        "WHERE c.conrelid = %s::regclass OR (c.contype = 'f' AND c.conparentid = 0 AND c.conrelid IN "
        "(SELECT inhrelid FROM pg_inherits WHERE inhparent = %s::regclass)) "
        "ORDER BY c.contype DESC", (table, table)).fetchall()
    indexes = conn.execute(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s AND indexname <> ALL(%s)",
        (table, [c for _t, c, _d in constraints])).fetchall()
    for name, _ in indexes:
        conn.execute(f'DROP INDEX "{name}"')
    for owner, name, _ in constraints:
        conn.execute(f'ALTER TABLE {owner} DROP CONSTRAINT "{name}"')
    return constraints, indexes


def restore_constraints(conn: psycopg.Connection, table: str, saved: tuple[list, list]) -> None:
    constraints, indexes = saved
    conn.execute("SET maintenance_work_mem = '1GB'")
    # Keys first (a foreign key needs the referenced key), then the other indexes.
    for owner, name, definition in constraints:
        conn.execute(f'ALTER TABLE {owner} ADD CONSTRAINT "{name}" {definition}')
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
                                      Question.allows_na, Question.component)
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
        scores = Scores(items) if MEASURE_IDS or WIDE else None
        with psycopg.connect(conninfo(url)) as sconn:
            saved_scores = (drop_constraints(sconn, "response_score")
                            if scores and n >= BULK_FROM else None)
            with conn.cursor() as cur, cur.copy(
                    "COPY answer (response_id, question_id, value_int, na, period) FROM STDIN "
                    "(FORMAT BINARY)") as cp, sconn.cursor() as scur, scur.copy(
                    "COPY response_score (response_id, period, ys) FROM STDIN (FORMAT BINARY)" if WIDE
                    else "COPY response_score (response_id, measure, period, y) FROM STDIN "
                    "(FORMAT BINARY)") as sp:
                cp.write(COPY_HEADER)
                sp.write(COPY_HEADER)
                for lo in range(0, n, CHUNK):
                    hi = min(n, lo + CHUNK)
                    p = 1 / (1 + np.exp(-(unit_level[which[lo:hi]] + rng.normal(0, 0.8, hi - lo))))
                    rid = np.arange(first + lo + 1, first + hi + 1, dtype=np.int64)
                    if scores:
                        scores.start(rid)
                    for j, (qid, _code, required, allows_na, _comp) in enumerate(items):
                        u = rng.random(hi - lo)
                        keep = np.ones(hi - lo, bool) if required else u > 0.35
                        na = (rng.random(hi - lo) < 0.1) & allows_na
                        sat = rng.random(hi - lo) < p
                        value = np.where(sat, rng.integers(4, 6, hi - lo), rng.integers(1, 4, hi - lo))
                        cp.write(binary_answers(rid[keep & ~na], qid, value[keep & ~na]))
                        cp.write(binary_answers(rid[keep & na], qid, None))
                        if scores:
                            sp.write(scores.item(j, keep & ~na, value))
                    if scores:
                        sp.write(scores.composites())
                cp.write(b"\xff\xff")
                sp.write(b"\xff\xff")
            if saved_scores:
                restore_constraints(sconn, "response_score", saved_scores)
            sconn.commit()
        if saved:
            restore_constraints(conn, "answer", saved)
        conn.execute("SELECT setval(pg_get_serial_sequence('response', 'id'), %s)", (first + n,))
        conn.commit()
    with psycopg.connect(conninfo(url), autocommit=True) as conn:
        conn.execute("ANALYZE")
    loaded = time.perf_counter() - started
    if MEASURE_IDS or WIDE:
        check_scores(url, first, n)
        return loaded, 0.0
    return loaded, score(url, n, first)


def check_scores(url: str, first: int, n: int, sample: int = 2_000) -> None:
    """The loader's score rows of a sample of responses equal what the application's scoring
    statement writes from their answers (1e-12), or the benchmark stops."""
    from survey.indices.scores import ANSWERS_OF, score_statement
    ids = f" WHERE a.response_id > {int(first)} AND a.response_id <= {int(first + min(n, sample))}"
    within = f"WHERE response_id > {int(first)} AND response_id <= {int(first + min(n, sample))} "
    select_rows = ((f"SELECT response_id, period, ys FROM response_score {within} ORDER BY 1") if WIDE else
                   f"SELECT response_id, period, measure, y FROM response_score {within} ORDER BY 1, 3")
    with psycopg.connect(conninfo(url)) as conn:
        loaded = conn.execute(select_rows).fetchall()
        conn.execute(f"DELETE FROM response_score {within}")
        conn.execute(score_statement(ANSWERS_OF.format(where=ids)))
        derived = conn.execute(select_rows).fetchall()
        conn.commit()

    def close(a: object, b: object) -> bool:
        if isinstance(a, list) and isinstance(b, list):
            return len(a) == len(b) and all(close(x, y) for x, y in zip(a, b))
        if a is None or b is None:
            return a is b
        return abs(float(a) - float(b)) <= 1e-12  # type: ignore[arg-type]
    same = len(loaded) == len(derived) and all(
        a[:-1] == b[:-1] and close(a[-1], b[-1]) for a, b in zip(loaded, derived))
    if not same:
        raise SystemExit(f"loader's score rows differ from the application's ({len(loaded)} vs "
                         f"{len(derived)} rows)")


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


BUILT: list[float] = []   # seconds to build every row object after each timed index_rows()


def measure(runs: int, units: set[int] | None = None) -> tuple[list[float], float, int]:
    """index_rows() times; then, apart, the time to build every row object (list(rows)): the
    new code builds rows when read (indices/index_table.py), the old one inside index_rows()."""
    times = []
    BUILT.clear()
    for _ in range(runs):
        db.session.expire_all()
        t0 = time.perf_counter()
        rows = index_rows(PERIOD, units)
        times.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        list(rows)
        BUILT.append(time.perf_counter() - t0)
        db.session.rollback()
    tracemalloc.start()
    list(index_rows(PERIOD, units))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    db.session.rollback()
    return times, peak / 2**20, len(rows)


def built() -> str:
    return f"; + building every row object {statistics.median(BUILT):.2f} s" if BUILT else ""


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
    parser.add_argument("--load-only", action="store_true",
                        help="create and load the database, then stop (time the rest later with --reuse)")
    parser.add_argument("--reuse", action="store_true",
                        help="keep the loaded database of an earlier --load-only run: migrate it to "
                             "this code's head, then fold and time every step")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    print(f"{'responses':>11} {'step':>8} {'median s':>9} {'runs s':>24}  notes")
    for size in (int(float(s)) for s in args.sizes.split(",")):
        if args.measure_only:
            app = create_app({"SQLALCHEMY_DATABASE_URI": args.url, "SECRET_KEY": secrets.token_hex(32)})
            with app.app_context():
                pending = rollups.pending()
                times, peak, rows = measure(args.runs)
                report(size, "+tail" if pending else "rollup", times,
                       f"{rows:,} rows, peak {peak:.0f} MiB, {pending:,} unfolded{built()}")
                province = set(db.session.scalars(select(Unit.id).where(Unit.code.like("B%"))
                                                  .order_by(Unit.code).limit(args.province)))
                times, peak, rows = measure(args.runs, province)
                report(size, "province", times,
                       f"{len(province)} units, {rows:,} rows, peak {peak:.0f} MiB{built()}")
                times, status = dashboard(app, args.runs)
                report(size, "unit", times, f"dashboard page, HTTP {status}")
            continue
        if not args.reuse:
            recreate(args.url)
        app = create_app({"SQLALCHEMY_DATABASE_URI": args.url, "SECRET_KEY": secrets.token_hex(32)})
        with app.app_context():
            if args.reuse:
                t0 = time.perf_counter()
                upgrade()   # an earlier code's schema: this code's migrations, timed at this size
                report(size, "migrate", [time.perf_counter() - t0], "alembic upgrade to this code's head")
                rollups.reset()   # fold everything with this code's fold
            else:
                upgrade()
                seed_demo()
                loaded, scored = load(args.url, size, args.units, args.seed)
                answers = db.session.scalar(text("SELECT count(*) FROM answer"))
                report(size, "load", [loaded], f"{answers:,} answer rows, {args.units} units")
                if args.load_only:
                    print(f"{size:>11,} loaded; time the rest with --reuse", flush=True)
                    continue
            if SCORED and not args.reuse:
                rows = db.session.scalar(text("SELECT count(*) FROM response_score"))
                how = (f"{scored / size * 1e6:.1f} µs each" if scored else
                       "COPY with the answers (in load), a sample checked against the app's statement")
                report(size, "score", [scored], f"{rows:,} score rows, {how}")
            if args.live:
                times, peak, rows = measure(args.runs)
                report(size, "live", times, f"{rows:,} rows, peak {peak:.0f} MiB{built()}")
            t0 = time.perf_counter()
            folded = rollups.refresh(chunk=args.fold_chunk)
            fold = time.perf_counter() - t0
            report(size, "fold", [fold], f"{folded:,} responses, {fold / folded * 1e6:.1f} µs each")
            with psycopg.connect(conninfo(args.url), autocommit=True) as conn:
                conn.execute("VACUUM ANALYZE")
            times, peak, rows = measure(args.runs)
            report(size, "rollup", times, f"{rows:,} rows, peak {peak:.0f} MiB{built()}")
            province = set(db.session.scalars(select(Unit.id).where(Unit.code.like("B%"))
                                              .order_by(Unit.code).limit(args.province)))
            times, peak, rows = measure(args.runs, province)
            report(size, "province", times,
                   f"{len(province)} units, {rows:,} rows, peak {peak:.0f} MiB{built()}")
            times, status = dashboard(app, args.runs)
            report(size, "unit", times, f"dashboard page, HTTP {status}")
            if args.tail:
                last = db.session.scalar(text("SELECT max(id) FROM response"))
                db.session.rollback()
                load(args.url, args.tail, args.units, args.seed + 1, first=last)
                times, peak, rows = measure(args.runs)
                report(size, "+tail", times, f"{args.tail:,} unfolded, {rows:,} rows{built()}")
            print(f"{size:>11,} peak RSS {peak_rss():.0f} MiB (process, so far)", flush=True)
            db.session.remove()
            db.engine.dispose()


if __name__ == "__main__":
    main()
