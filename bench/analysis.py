"""Benchmark of the SIPAS index pipeline (not a test; prints figures, asserts nothing timed).

    .venv/bin/python bench/analysis.py --sizes 1e5,1e6 [--runs 3] [--samplics-rows 100000]

For each size: generate synthetic responses over 3,321 units (23 SIPAS items A1-A6,
skewed unit sizes, 4 service fields, 2 periods, service volumes), load them into
PostgreSQL (database ``bench_analysis`` on 127.0.0.1:5432, user postgres) with COPY,
aggregate per stratum with one SQL GROUP BY, and build the full index table with CIs
(analysis.indices.index_table).  Times are medians of ``--runs``.  Then, on a subsample of
whole units, compare with ``samplics`` (the overall index per unit and period, from rows):
numbers must agree, and the speed ratio is printed.
"""
from __future__ import annotations

import argparse
import io
import os
import resource
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from analysis import Design, Estimate, by  # noqa: E402
from analysis.indices import index_table, respondent_scores  # noqa: E402

N_UNITS, N_FIELDS, N_PERIODS = 3321, 4, 2
COMPONENT_SIZES = {"A1": 3, "A2": 4, "A3": 5, "A4": 3, "A5": 4, "A6": 4}
ITEMS = [f"{c}.{i + 1}" for c, k in COMPONENT_SIZES.items() for i in range(k)]
ITEM_COMPONENT = [c for c, k in COMPONENT_SIZES.items() for _ in range(k)]
COMPONENTS = list(COMPONENT_SIZES)
DSN = os.environ.get("BENCH_DSN", "host=127.0.0.1 port=5432 user=postgres")
DB = "bench_analysis"


def generate(n: int, seed: int = 7) -> dict[str, np.ndarray]:
    """Synthetic responses; answers 1-5, 0 = "không áp dụng", -1 = skipped."""
    rng = np.random.default_rng(seed)
    size = rng.lognormal(0, 1.3, N_UNITS)
    unit = rng.choice(N_UNITS, n, p=size / size.sum()).astype(np.int32)
    field = rng.choice(N_FIELDS, n, p=[0.5, 0.25, 0.15, 0.10]).astype(np.int16)
    period = rng.integers(0, N_PERIODS, n).astype(np.int16)
    stratum = (unit * N_FIELDS + field) * N_PERIODS + period
    quality = rng.beta(6, 2, N_UNITS)[unit]                  # unit's share of 4-5 answers
    answers = np.empty((n, len(ITEMS)), dtype=np.int8)
    for j, comp in enumerate(ITEM_COMPONENT):
        u = rng.random(n)
        sat = u < quality
        answers[:, j] = np.where(sat, 4 + (rng.random(n) < 0.45),
                                 1 + (rng.random(n) * 3).astype(np.int8))
        na_rate = 0.35 if comp == "A6" else 0.03
        v = rng.random(n)
        answers[v < na_rate, j] = 0
        answers[(v >= na_rate) & (v < na_rate + 0.04), j] = -1
    counts = np.bincount(stratum, minlength=N_UNITS * N_FIELDS * N_PERIODS)
    dossiers = np.ceil(counts * rng.uniform(2, 40, len(counts))).astype(np.int64)
    return {"unit": unit, "field": field, "period": period, "stratum": stratum,
            "answers": answers, "responses_h": counts, "dossiers_h": dossiers}


def connect(dbname: str = "postgres", autocommit: bool = True):
    import psycopg
    return psycopg.connect(f"{DSN} dbname={dbname}", autocommit=autocommit)


def load(data: dict[str, np.ndarray]) -> float:
    """(Re)create the tables and COPY the rows in; returns seconds."""
    import pandas as pd
    with connect() as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname=%s", [DB]).fetchone():
            conn.execute(f"CREATE DATABASE {DB}")
    cols = ", ".join(f"a{j} smallint" for j in range(len(ITEMS)))
    t0 = time.perf_counter()
    with connect(DB) as conn:
        conn.execute("DROP TABLE IF EXISTS responses; DROP TABLE IF EXISTS volumes")
        conn.execute(f"CREATE UNLOGGED TABLE responses (stratum int, unit int, "
                     f"period smallint, {cols})")
        conn.execute("CREATE TABLE volumes (stratum int PRIMARY KEY, responses int, "
                     "dossiers bigint)")
        ans = data["answers"]
        chunk = 500_000
        with conn.cursor().copy("COPY responses FROM STDIN (FORMAT csv)") as cp:
            for s in range(0, len(ans), chunk):
                frame = pd.DataFrame(ans[s:s + chunk].astype(np.float32))
                frame[frame < 0] = np.nan            # skipped -> NULL
                frame.insert(0, "period", data["period"][s:s + chunk])
                frame.insert(0, "unit", data["unit"][s:s + chunk])
                frame.insert(0, "stratum", data["stratum"][s:s + chunk])
                buf = io.StringIO()
                frame.to_csv(buf, header=False, index=False, float_format="%.0f")
                cp.write(buf.getvalue())
        live = np.flatnonzero(data["responses_h"])
        with conn.cursor().copy("COPY volumes FROM STDIN (FORMAT csv)") as cp:
            buf = io.StringIO()
            np.savetxt(buf, np.column_stack([live, data["responses_h"][live],
                                             data["dossiers_h"][live]]), fmt="%d",
                       delimiter=",")
            cp.write(buf.getvalue())
        conn.execute("ANALYZE responses")
    return time.perf_counter() - t0


def aggregate_sql() -> str:
    """One pass over responses: per stratum n, sum y, sum y^2 for every measure."""
    valid = [f"(a{j} BETWEEN 1 AND 5)" for j in range(len(ITEMS))]
    # coalesce per item: NULL answers must not null the whole sum
    comp_exprs = []
    for c in COMPONENTS:
        js = [j for j, ic in enumerate(ITEM_COMPONENT) if ic == c]
        sat = " + ".join(f"coalesce((a{j} >= 4)::int, 0)" for j in js)
        nv = " + ".join(f"coalesce({valid[j]}::int, 0)" for j in js)
        comp_exprs.append(f"({sat})::float8 / nullif({nv}, 0) AS c_{c}")
    n_ans = " + ".join(f"(c_{c} IS NOT NULL)::int" for c in COMPONENTS)
    s_ans = " + ".join(f"coalesce(c_{c}, 0)" for c in COMPONENTS)
    aggs = ["count(*) AS n_resp"]
    for j in range(len(ITEMS)):
        f = f"FILTER (WHERE a{j} BETWEEN 1 AND 5)"
        aggs += [f"count(*) {f}", f"count(*) FILTER (WHERE a{j} >= 4)",
                 f"sum(a{j}) {f}", f"sum(a{j} * a{j}) {f}"]
    for c in COMPONENTS + ["overall"]:
        aggs += [f"count(c_{c})", f"sum(c_{c})", f"sum(c_{c} * c_{c})"]
    cols = ", ".join(f"a{j}" for j in range(len(ITEMS)))
    return (f"SELECT stratum, {', '.join(aggs)} FROM ("
            f"SELECT r1.*, ({s_ans}) / nullif({n_ans}, 0) AS c_overall FROM ("
            f"SELECT stratum, {cols}, {', '.join(comp_exprs)} FROM responses) r1) r2 "
            f"GROUP BY stratum ORDER BY stratum")


def run_sql() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    with connect(DB) as conn:
        conn.execute("SET max_parallel_workers_per_gather = 2")
        rows = conn.execute(aggregate_sql()).fetchall()
        vol = np.array(conn.execute("SELECT stratum, responses, dossiers FROM volumes "
                                    "ORDER BY stratum").fetchall(), dtype=float)
    arr = np.array(rows, dtype=float)
    return arr[:, 0].astype(np.int64), arr[:, 1:], vol


def cells_from_sql(stratum: np.ndarray, agg: np.ndarray, vol: np.ndarray):
    """Reshape the wide per-stratum sums into the long cells table index_table expects.

    With w constant in a stratum, sum_w = w n, sum_wy = w sum y, sum_w2y = w^2 sum y, ...
    """
    assert np.array_equal(vol[:, 0].astype(np.int64), stratum)
    w = vol[:, 2] / vol[:, 1]
    frame = {"stratum": stratum, "n_psu": agg[:, 0].astype(np.int64)}
    parts = []
    k = 1
    for item in ITEMS:
        n, s, t, q = agg[:, k], agg[:, k + 1], agg[:, k + 2], agg[:, k + 3]
        parts += [("rate", item, n, s, s), ("score", item, n, t, q)]
        k += 4
    for c in COMPONENTS + ["overall"]:
        parts.append(("overall" if c == "overall" else "component", c,
                      agg[:, k], agg[:, k + 1], agg[:, k + 2]))
        k += 3
    unit = stratum // (N_FIELDS * N_PERIODS)
    period = stratum % N_PERIODS
    m = len(stratum)
    cells = {
        "unit": np.tile(unit, len(parts)), "period": np.tile(period, len(parts)),
        "stat": np.repeat([p[0] for p in parts], m),
        "measure": np.repeat([p[1] for p in parts], m),
        "stratum": np.tile(stratum, len(parts)),
    }
    n = np.concatenate([p[2] for p in parts])
    sy = np.concatenate([np.nan_to_num(p[3]) for p in parts])
    sy2 = np.concatenate([np.nan_to_num(p[4]) for p in parts])
    ww = np.tile(w, len(parts))
    cells.update(n=n.astype(np.int64), sum_w=ww * n, sum_wy=ww * sy, sum_wy2=ww * sy2,
                 sum_w2=ww**2 * n, sum_w2y=ww**2 * sy, sum_w2y2=ww**2 * sy2)
    return frame, cells


def median_time(fn, runs: int):
    times, out = [], None
    for _ in range(runs):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def compare_samplics(data: dict[str, np.ndarray], max_rows: int, runs: int) -> None:
    from samplics.estimation import TaylorEstimator
    from samplics.utils.types import PopParam
    counts = np.bincount(data["unit"], minlength=N_UNITS)
    units = np.flatnonzero(np.cumsum(counts) <= max_rows)
    rows = np.flatnonzero(np.isin(data["unit"], units))
    w_h = data["dossiers_h"] / np.maximum(data["responses_h"], 1)
    _, _, overall = respondent_scores(data["answers"][rows], ITEM_COMPONENT)
    keep = ~np.isnan(overall)
    rows, y = rows[keep], overall[keep]
    # samplics divides by zero on one-response strata even with single_psu=skip: drop them.
    sizes = np.bincount(data["stratum"][rows])
    keep = sizes[data["stratum"][rows]] >= 2
    rows, y = rows[keep], y[keep]
    stratum = data["stratum"][rows]
    w = w_h[stratum]
    domain = data["unit"][rows].astype(np.int64) * N_PERIODS + data["period"][rows]
    t_ours, ours = median_time(lambda: by(Design.from_arrays(weights=w, strata=stratum),
                                          y, domain), runs)

    def run_samplics():
        est = TaylorEstimator(PopParam.mean)
        est.estimate(y, w, stratum=stratum, domain=domain)
        return est
    t_s, est = median_time(run_samplics, 1)
    keys = sorted(ours)
    d_est = max(abs(ours[k].estimate - est.point_est[k]) / abs(ours[k].estimate) for k in keys)
    d_se = max(abs(ours[k].se - est.stderror[k]) / max(ours[k].se, 1e-300) for k in keys
               if ours[k].se > 0)
    print(f"  samplics subsample: {len(rows):,} rows, {len(units)} units, {len(keys)} "
          f"domains (overall index per unit x period)")
    print(f"    max rel diff estimate {d_est:.1e}, SE {d_se:.1e}  (CIs differ by design: "
          f"samplics uses the full design's df for every domain, R/ours the domain's)")
    print(f"    samplics {t_s:.2f} s, ours (rows) {t_ours * 1000:.1f} ms -> "
          f"{t_s / t_ours:,.0f}x faster")


def bench(n: int, runs: int, samplics_rows: int) -> None:
    print(f"== {n:,} responses, {N_UNITS} units, {len(ITEMS)} items ==")
    t0 = time.perf_counter()
    data = generate(n)
    print(f"  generate {time.perf_counter() - t0:.1f} s; strata with responses "
          f"{np.count_nonzero(data['responses_h']):,}")
    print(f"  load (COPY) {load(data):.1f} s")
    t_sql, (stratum, agg, vol) = median_time(run_sql, runs)
    print(f"  SQL GROUP BY (median of {runs}) {t_sql:.2f} s -> {len(stratum):,} strata rows")

    def analyse():
        frame, cells = cells_from_sql(stratum, agg, vol)
        return index_table(frame, cells)
    tracemalloc.start()
    t_idx, table = median_time(analyse, runs)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    n_rel = sum(e.reliable for e in table)
    print(f"  index table with CIs (median of {runs}) {t_idx:.2f} s: {len(table):,}"
          f" estimates, {n_rel:,} reliable; peak Python memory {peak / 2**20:,.0f} MiB")
    print(f"  total SQL + index {t_sql + t_idx:.2f} s; process max RSS "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MiB")
    check_against_rows(data, table)
    compare_samplics(data, samplics_rows, runs)


def check_against_rows(data: dict[str, np.ndarray], table: list[Estimate]) -> None:
    """SQL path == row path for the overall index of every unit x period."""
    w_h = data["dossiers_h"] / np.maximum(data["responses_h"], 1)
    _, _, overall = respondent_scores(data["answers"], ITEM_COMPONENT)
    design = Design.from_arrays(weights=w_h[data["stratum"]], strata=data["stratum"],
                                lonely_psu="adjust")
    domain = data["unit"].astype(np.int64) * N_PERIODS + data["period"]
    rows = by(design, overall, domain)
    sel = [e for e in table if e.stat == "overall"]
    worst = {f: (0.0, None) for f in ("estimate", "se", "ci_low", "ci_high")}
    for e in sel:
        unit, period = int(e.unit), int(e.period)
        r = rows[unit * N_PERIODS + period]
        for f in worst:
            # Absolute: SEs that are truly 0 come out ~1e-9 from raw-moment sums.
            d = abs(getattr(r, f) - getattr(e, f))
            if d > worst[f][0]:
                worst[f] = (d, (unit, period, getattr(r, f), getattr(e, f)))
    print(f"  SQL path vs row path, overall index of {len(sel):,} unit-periods: max abs "
          "diff " + ", ".join(f"{f} {v[0]:.1e}" for f, v in worst.items()))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", default="1e5,1e6", help="comma-separated response counts")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--samplics-rows", type=float, default=5e3,
                   help="rows of whole units given to samplics (it is slow)")
    args = p.parse_args()
    for size in args.sizes.split(","):
        bench(int(float(size)), args.runs, int(args.samplics_rows))


if __name__ == "__main__":
    main()
