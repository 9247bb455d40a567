"""Benchmark (not a test): the officials' pages and the unit reports at national scale.

Seeds --size synthetic responses over --units communes (bench/indices_db.py's loader, imported,
so both benches load the same data) into its own database, folds them into the rollup, turns
the first 100 communes into wards (so ``/tinh?kind=ward`` is the page of a 100-unit province),
then prints medians of server time (Flask test client, warm):

- ``unit``: one unit's dashboard GET (analyst signed in);
- ``tinh``: /quan-ly/bang-dieu-khien/tinh of every unit (national) and of the 100 wards;
- ``pdf``: one unit's report, data read + PDF (draw_unit: what a batch worker does per unit);
- ``batch``: a real ``flask report province --workers 2`` over the national period, stopped
  after --batch reports (its process group killed: the run is then resumed by the next
  command, as after a crash), per report seconds from the manifest and wall time, and the
  **projection** to all --units reports (a projection, not a run of all of them).

Seed once, then measure the old and the new code on the same database, back to back:

    .venv/bin/python bench/pages.py --seed --size 1e6 --units 3321
    BENCH_REPO=/work/main .venv/bin/python bench/pages.py; .venv/bin/python bench/pages.py

BENCH_REPO runs another checkout's code (imported first on sys.path, as indices_db.py does).
"""
from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import indices_db  # noqa: E402  (puts BENCH_REPO, or this checkout, first on sys.path)
from sqlalchemy import func, select, update  # noqa: E402

from survey import create_app  # noqa: E402
from survey.extensions import db  # noqa: E402
from survey.models import Unit, User  # noqa: E402

REPO = indices_db.REPO
PERIOD = indices_db.PERIOD
DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/bench_pages"
WARDS = 100
DASH = "/quan-ly/bang-dieu-khien/"


def seed(url: str, size: int, units: int) -> None:
    from flask_migrate import upgrade

    from survey.demo import seed_demo
    from survey.indices import rollups

    indices_db.recreate(url)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": secrets.token_hex(32)})
    with app.app_context():
        upgrade()
        seed_demo()
        t = time.perf_counter()
        indices_db.load(url, size, units, seed=1)
        print(f"load   {time.perf_counter() - t:7.1f} s  {size:,} responses, {units} units", flush=True)
        t = time.perf_counter()
        folded = rollups.refresh(chunk=1_000_000)
        print(f"fold   {time.perf_counter() - t:7.1f} s  {folded:,} responses", flush=True)
        db.session.execute(update(Unit).where(Unit.code < f"B{WARDS:05d}", Unit.code.like("B%"))
                           .values(kind="ward"))
        db.session.commit()
    with indices_db.psycopg.connect(indices_db.conninfo(url), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")



def median_ms(times: list[float]) -> str:
    return f"{statistics.median(times) * 1000:7.0f} ms  (runs: {', '.join(f'{t * 1000:.0f}' for t in times)})"


def get_times(client, url: str, runs: int) -> tuple[list[float], int, list[float]]:
    """Wall seconds of ``runs`` warm GETs, the status, and this process's CPU seconds of each
    (steadier than wall time on a shared machine; PostgreSQL's own time is not in it)."""
    status = client.get(url).status_code   # warm: templates compiled, caches filled
    times, cpu = [], []
    for _ in range(runs):
        t, c = time.perf_counter(), time.process_time()
        client.get(url)
        times.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    return times, status, cpu


def pages(app, runs: int, profile: str | None, which: list[str] | None = None) -> None:
    with app.app_context():
        unit_id = db.session.scalar(select(Unit.id).where(Unit.code == "B00150"))
        analyst = db.session.scalar(select(User).where(User.role == "analyst")).get_id()
        units = db.session.scalar(select(func.count()).select_from(Unit))
        db.session.rollback()
    client = app.test_client()
    with client.session_transaction() as sess:
        sess["_user_id"] = analyst
        sess["_fresh"] = True
    urls = {"unit": f"{DASH}?period={PERIOD}&unit={unit_id}",
            "tinh": f"{DASH}tinh?period={PERIOD}",
            f"tinh-{WARDS}": f"{DASH}tinh?period={PERIOD}&kind=ward"}
    if profile or which:
        urls = {k: v for k, v in urls.items() if k == profile or k in (which or ())}
    for name, url in urls.items():
        times, status, cpu = get_times(client, url, runs)
        note = {"unit": "one unit's dashboard", "tinh": f"province page, all {units} units",
                f"tinh-{WARDS}": f"province page of {WARDS} units (?kind=ward)"}[name]
        print(f"{name:>9} {median_ms(times)}  {note}, HTTP {status}; "
              f"CPU of this process {statistics.median(cpu) * 1000:.0f} ms", flush=True)
    if profile:
        prof = cProfile.Profile()
        prof.runcall(client.get, urls[profile])
        pstats.Stats(prof).sort_stats("cumulative").print_stats(45)


def pdf(app, runs: int, profile: bool) -> None:
    from contextlib import nullcontext

    from survey.indices import drill
    from survey.reports.jobs import draw_unit

    # As a batch chunk draws (render_units): the province read once (new code) or per unit (old).
    shared = getattr(drill, "shared_ranking", nullcontext)
    with app.app_context(), shared():
        draw_unit("B00150", PERIOD)
        times, cpu = [], []
        for i in range(runs):
            t, c = time.perf_counter(), time.process_time()
            draw_unit(f"B{151 + i:05d}", PERIOD)
            times.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c)
            db.session.rollback()
        print(f"{'pdf':>9} {median_ms(times)}  one unit's report in a batch chunk: data read + PDF; "
              f"CPU of this process {statistics.median(cpu) * 1000:.0f} ms", flush=True)
        if profile:
            prof = cProfile.Profile()
            prof.runcall(draw_unit, "B00160", PERIOD)
            pstats.Stats(prof).sort_stats("cumulative").print_stats(60)


def workers_cpu(pid: int) -> float:
    """CPU seconds (user + system) of the CLI's child processes (the RQ workers), from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            fields = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def batch(url: str, reports: int, workers: int, units: int) -> None:
    """A real `flask report province --workers N` run, stopped after ``reports`` reports."""
    from survey.reports import batch as manifest

    out = Path(tempfile.mkdtemp(prefix="bench-pages-"))
    env = dict(os.environ, DATABASE_URL=url, SECRET_KEY=secrets.token_hex(32), FLASK_APP="wsgi",
               REDIS_URL=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14"),
               REPORT_QUEUE=f"bench-pages-{secrets.token_hex(4)}")
    log = out.parent / f"{out.name}.log"
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "flask", "report", "province", "--period", PERIOD,
                             "-o", str(out), "--workers", str(workers), "--queue"], cwd=REPO, env=env,
                            stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True)
    path = manifest.manifest_path(out, PERIOD)
    marks: dict[int, float] = {}
    warm = min(10, reports // 4)
    try:
        while True:
            got = len(manifest.read_entries(path))
            if got >= 1 and 1 not in marks:
                marks[1] = time.perf_counter() - t0
            if got >= warm and warm not in marks:
                marks[warm] = time.perf_counter() - t0
            if got >= reports:
                marks[got] = time.perf_counter() - t0
                cpu = workers_cpu(proc.pid)
                break
            if proc.poll() is not None:
                raise SystemExit(f"the batch ended early (exit {proc.returncode}) after {got} reports:\n"
                                 + log.read_text(errors="replace")[-2000:])
            time.sleep(0.2)
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)   # as a crash would: the next run resumes
        except ProcessLookupError:
            pass
        proc.wait()
        from redis import Redis
        from rq import Queue
        Queue(env["REPORT_QUEUE"], connection=Redis.from_url(env["REDIS_URL"])).delete(delete_jobs=True)
    done = max(marks)
    entries = manifest.read_entries(path)
    steady = (marks[done] - marks[warm]) / (done - warm)
    print(f"{'batch':>9} {done} reports in {marks[done]:.1f} s wall with --workers {workers} "
          f"(first report after {marks[1]:.1f} s: start-up); steady {steady:.3f} s a report, "
          f"median {statistics.median(e.seconds for e in entries):.3f} s a report per worker", flush=True)
    print(f"{'':>9} projection (not a run of all): {units} reports ≈ {marks[warm]:.0f} s start-up + "
          f"{units - warm} × {steady:.3f} s = {(marks[warm] + (units - warm) * steady) / 60:.1f} min "
          f"(target < 20 min, this machine as loaded now: load average {os.getloadavg()[0]:.1f})", flush=True)
    print(f"{'':>9} workers' CPU {cpu:.1f} s = {cpu / done:.3f} s a report (start-up included; PostgreSQL's "
          f"not): {units} reports on {workers} cores to ourselves ≈ {cpu / done * units / workers / 60:.1f} min "
          f"(a projection)", flush=True)
    shutil.rmtree(out, ignore_errors=True)
    log.unlink(missing_ok=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", default=DEFAULT_URL)
    ap.add_argument("--seed", action="store_true", help="(re)create and fill the database first")
    ap.add_argument("--size", type=float, default=1e6)
    ap.add_argument("--units", type=int, default=3321)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--batch", type=int, default=200, help="reports of the batch run (0: skip)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--profile", choices=["unit", "tinh", "tinh-100", "pdf"], help="cProfile one of them")
    ap.add_argument("--only", default="pages,pdf,batch", help="which steps, comma-separated")
    ap.add_argument("--pages", default=f"unit,tinh,tinh-{WARDS}", help="which pages, comma-separated")
    args = ap.parse_args()
    if args.seed:
        seed(args.url, int(args.size), args.units)
    print(f"code: {REPO}", flush=True)
    app = create_app({"SQLALCHEMY_DATABASE_URI": args.url, "SECRET_KEY": secrets.token_hex(32)})
    steps = args.only.split(",")
    if "pages" in steps:
        pages(app, args.runs, args.profile if args.profile in ("unit", "tinh", "tinh-100") else None,
              args.pages.split(","))
    if "pdf" in steps:
        pdf(app, args.runs, args.profile == "pdf")
    if "batch" in steps and args.batch:
        batch(args.url, args.batch, args.workers, args.units)


if __name__ == "__main__":
    main()
