"""Benchmark of PDF report rendering (not a test): prints figures.

    cd /work/main && .venv/bin/python bench/reports.py [--runs 10] [--batch 100] [--procs 2] [--profile] [--unit-only]

BENCH_REPO=/work/main runs another checkout's code (first on sys.path, as bench/indices_db.py
does), for old-vs-new pairs on the same machine, back to back.

Targets (issue 15): one unit report in under 0,4 s (median, warm process); all
3,321 communes in under 20 min on 2 cores. Wall time and process CPU time are
both printed: on a shared machine the CPU time is the steadier figure
(rendering is single-threaded). The parallel batch renders --batch reports in
--procs processes (as --procs RQ workers would) and projects 3,321 from its
wall time and from its CPU time per report divided over the processes.
"""
from __future__ import annotations

import argparse
import cProfile
import multiprocessing
import os
import pstats
import resource
import statistics
import sys
import time
from pathlib import Path

REPO = os.environ.get("BENCH_REPO") or str(Path(__file__).resolve().parents[1])
sys.path.insert(0, REPO)

from analysis.report import render_posters, render_province_report, render_thematic_report, render_unit_report  # noqa: E402
from analysis.report.demo import demo_posters, demo_province, demo_thematic, demo_unit  # noqa: E402


def timed(fn, *args) -> tuple[str, bytes]:
    t, c = time.perf_counter(), time.process_time()
    out = fn(*args)
    return f"{time.perf_counter() - t:6.3f} s (CPU {time.process_time() - c:6.3f} s)", out


def median_of(runs: int, fn, *args) -> str:
    walls, cpus = [], []
    for _ in range(runs):
        t, c = time.perf_counter(), time.process_time()
        fn(*args)
        walls.append(time.perf_counter() - t)
        cpus.append(time.process_time() - c)
    return f"{statistics.median(walls):6.3f} s (CPU {statistics.median(cpus):6.3f} s)"


NATIONAL = 3321


def _render_share(args: tuple[int, int, int]) -> tuple[int, float]:
    """One worker process's share of the batch: (reports, CPU seconds), after a warm-up report."""
    start, step, batch = args
    render_unit_report(demo_unit())
    c = time.process_time()
    done = 0
    for i in range(start, batch, step):
        render_unit_report(demo_unit(f"Ủy ban nhân dân xã Số {i}", seed=i, n=50 + 7 * i))
        done += 1
    return done, time.process_time() - c


def parallel_batch(batch: int, procs: int) -> None:
    with multiprocessing.get_context("spawn").Pool(procs) as pool:
        pool.map(_render_share, [(0, 1, 0)] * procs)  # start and warm every process first
        t = time.perf_counter()
        shares = pool.map(_render_share, [(i, procs, batch) for i in range(procs)])
        wall = time.perf_counter() - t
    cpu = sum(c for _, c in shares)
    print(f"batch of {batch} in {procs} processes:  {wall:6.1f} s wall ({wall / batch:.3f} s a report), "
          f"CPU {cpu / batch:.3f} s a report")
    print(f"  projected {NATIONAL} reports on {procs} cores: {wall / batch * NATIONAL / 60:5.1f} min from wall time "
          f"(this machine, as loaded now), {cpu / batch * NATIONAL / procs / 60:5.1f} min from CPU time "
          f"(cores to ourselves); target < 20 min, data reads not included")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--procs", type=int, default=2, help="processes for the parallel batch (0: skip)")
    ap.add_argument("--profile", action="store_true", help="cProfile one unit report")
    ap.add_argument("--unit-only", action="store_true",
                    help="skip the posters, province and thematic reports (a loaded machine: quicker pairs)")
    args = ap.parse_args()

    print(f"code: {REPO}")
    unit = demo_unit()
    first, pdf = timed(render_unit_report, unit)
    print(f"unit report, first in process:    {first}  ({len(pdf) / 1024:.0f} KiB)")
    print(f"unit report, median of {args.runs:<3}:       {median_of(args.runs, render_unit_report, unit)}")

    if not args.unit_only:
        posters = demo_posters(50)
        t, pdf = timed(render_posters, posters)
        print(f"QR posters, 50 counters, first:   {t}  ({len(pdf) / 1024:.0f} KiB)")
        print(f"QR posters, 50 counters, median 3: {median_of(3, render_posters, posters)}")
        print(f"province report, 14 units, median 3: {median_of(3, render_province_report, demo_province())}")
        print(f"thematic report, median 3:         {median_of(3, render_thematic_report, demo_thematic())}")

    units = [demo_unit(f"Ủy ban nhân dân xã Số {i}", seed=i, n=50 + 7 * i) for i in range(args.batch)]
    t, c = time.perf_counter(), time.process_time()
    for u in units:
        render_unit_report(u)
    total, cpu = time.perf_counter() - t, time.process_time() - c
    if args.batch:
        print(f"batch of {args.batch} unit reports:      {total:6.1f} s "
              f"(CPU {cpu:6.1f} s; {total / args.batch:.3f} s each)")

    if args.procs and args.batch:
        parallel_batch(args.batch, args.procs)

    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(f"peak memory (max RSS):             {peak_kib / 1024:6.0f} MiB")

    if args.profile:
        prof = cProfile.Profile()
        prof.runcall(render_unit_report, unit)
        stats = pstats.Stats(prof)
        stats.sort_stats("cumulative").print_stats(40)
        stats.sort_stats("tottime").print_stats(25)


if __name__ == "__main__":
    main()
