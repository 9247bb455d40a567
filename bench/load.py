"""Load: gunicorn + PostgreSQL on this machine, wrk (C, in its own process) submitting valid forms.

    .venv/bin/python bench/load.py [--seconds 20] [--warmup 3] [--users 16] [--workers N]
                                   [--limiter redis|memory|off] [--double-tap 0.02] [--db URL]

Each simulated citizen is one wrk connection running bench/load.lua: GET the form of a random
counter as a new phone (no cookie, its own User-Agent), POST every required answer with the form's
CSRF token, idempotency key and version and the session cookie it was given; 2 % tap "Gửi" twice
(the second POST must be acknowledged and store nothing). The server runs with gunicorn.conf.py
(the production settings) and, by default, the submission limits on Redis with limits far above
the load, so their cost is counted. The database is recreated as `survey_load` and reached over
PostgreSQL's Unix socket, as on a one-server installation (--db for another URL, e.g. TCP).

Prints, for the measured run after the warm-up run: acknowledged (303) submissions per second,
POST and GET latency percentiles, errors, CPU per submission of the gunicorn workers, PostgreSQL,
Redis and wrk, and how busy the machine was. Then it counts the database: every acknowledged
idempotency key is stored, every stored key was sent, the only stored-but-unacknowledged keys are
the POSTs still in flight when wrk stopped (at most one per connection and run), every response
has all its answers, each stored A3.1 answer is the value sent under that key, and none is
quarantined (these citizens are well behaved; the limits are set above the load). Exit status 1
when any of these fails. Loopback only; bounded in time.
"""
from __future__ import annotations

import argparse
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The application served to the citizens: BENCH_REPO=/path/to/another/checkout measures its code
# with this bench (same load, same floor), for old-vs-new pairs run back to back.
APP_ROOT = Path(os.environ.get("BENCH_REPO") or ROOT).resolve()
PG = "postgresql+psycopg://postgres@/survey_load?host=/var/run/postgresql"
REDIS = "redis://127.0.0.1:6379/14"
ANSWERS_PER_RESPONSE = 16


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
            except (OSError, IndexError):
                pass
    return found


def pids_named(name: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == name:
                    found.append(int(entry.name))
            except OSError:
                pass
    return found


def cpu_each(pids: list[int]) -> dict[int, float]:
    """User + system CPU seconds of each live process."""
    tick = os.sysconf("SC_CLK_TCK")
    found = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            found[pid] = (int(fields[11]) + int(fields[12])) / tick
        except (OSError, IndexError):
            pass
    return found


def cpu_delta(before: dict[int, float], after: dict[int, float]) -> float:
    # Only processes alive at both ends (a PostgreSQL backend of another client does not count).
    return sum(after[pid] - before[pid] for pid in before if pid in after)


def machine_busy() -> tuple[float, float]:
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] if values else float("nan")


@dataclass
class Events:
    """What wrk's threads wrote (bench/load.lua)."""

    get_ms: list[float] = field(default_factory=list)
    post_ms: list[float] = field(default_factory=list)
    sent: dict[str, int] = field(default_factory=dict)  # idempotency key -> A3.1 value sent
    acked: set[str] = field(default_factory=set)
    acked_posts: int = 0  # 303s to a first POST (a double tap's second 303 is not a submission)
    double_taps: int = 0
    errors: dict[str, int] = field(default_factory=dict)

    def read(self, prefix: Path, timed: bool) -> None:
        for path in sorted(prefix.parent.glob(prefix.name + ".*.tsv")):
            for line in path.read_text().splitlines():
                kind, *rest = line.split("\t")
                if kind in ("get", "post") and timed:
                    (self.get_ms if kind == "get" else self.post_ms).append(float(rest[1]))
                elif kind == "sent":
                    self.sent[rest[0]] = int(rest[1])
                elif kind == "ack":
                    self.acked.add(rest[0])
                    self.acked_posts += timed
                elif kind == "double":
                    self.double_taps += 1
                elif kind == "error":
                    self.errors[rest[0]] = self.errors.get(rest[0], 0) + 1


def run_wrk(port: int, users: int, seconds: float, paths: Path, prefix: Path, double_tap: float,
            seed: int) -> float:
    """Run wrk to its end; return its CPU seconds."""
    command = ["wrk", f"-t{users}", f"-c{users}", f"-d{seconds:g}s", "--timeout", "10s",
               "-s", str(ROOT / "bench" / "load.lua"), f"http://127.0.0.1:{port}", "--",
               str(paths), str(prefix), str(double_tap), str(seed)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    _pid, status, usage = os.wait4(process.pid, 0)
    if status != 0:
        raise SystemExit(f"wrk failed (status {status})")
    return usage.ru_utime + usage.ru_stime


def start_gunicorn(target: str, port: int, workers: int | None, env: dict[str, str],
                   root: Path = ROOT) -> subprocess.Popen[bytes]:
    command = [str(Path(sys.executable).with_name("gunicorn")), "-c", str(root / "gunicorn.conf.py"),
               "-b", f"127.0.0.1:{port}", "--log-level", "warning"]
    if workers:
        command += ["-w", str(workers)]
    return subprocess.Popen(command + [target], env=env, cwd=root)


def wait_ready(server: subprocess.Popen[bytes], port: int, workers: int | None) -> None:
    for _ in range(300):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    expected = workers or int(os.environ.get("WEB_CONCURRENCY", 0)) or 2 * (os.cpu_count() or 1)
    for _ in range(100):  # every worker forked before the load starts
        if len(children_of(server.pid)) >= expected:
            break
        time.sleep(0.1)
    time.sleep(0.5)


def run_floor(users: int, seconds: float, warmup: float, workers: int | None) -> tuple[int, float]:
    """The hello-world app (bench/hello_app.py) on the same gunicorn.conf.py, GET + POST pairs
    from the same number of connections: (requests answered, worker CPU seconds)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    server = start_gunicorn("bench.hello_app:app", port, workers, env)
    try:
        wait_ready(server, port, workers)
        wrk = ["wrk", f"-t{users}", f"-c{users}", "--timeout", "10s", "-s", str(ROOT / "bench" / "hello.lua"),
               f"http://127.0.0.1:{port}/"]
        if warmup > 0:
            subprocess.run(wrk[:1] + [f"-d{warmup:g}s"] + wrk[1:], check=True, capture_output=True)
        pids = children_of(server.pid)
        before = cpu_each(pids)
        out = subprocess.run(wrk[:1] + [f"-d{seconds:g}s"] + wrk[1:], check=True, capture_output=True,
                             text=True).stdout
        after = cpu_each(pids)
    finally:
        server.terminate()
        server.wait(30)
    requests = int(next(line for line in out.splitlines() if " requests in " in line).split()[0])
    return requests, cpu_delta(before, after)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20, help="measured run")
    parser.add_argument("--warmup", type=float, default=3, help="run before the measured one")
    parser.add_argument("--users", type=int, default=16, help="concurrent citizens (wrk connections)")
    parser.add_argument("--workers", type=int, help="gunicorn workers (default: gunicorn.conf.py)")
    parser.add_argument("--limiter", choices=["redis", "memory", "off"], default="redis")
    parser.add_argument("--double-tap", type=float, default=0.02, help="share of citizens who send twice")
    parser.add_argument("--db", default=PG)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (Debian: apt-get install wrk)")

    sys.path.insert(0, str(ROOT))
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(args.db)
    conninfo = {"host": url.query.get("host") or url.host, "user": url.username}
    with psycopg.connect(**conninfo, dbname="postgres", autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')
        c.execute(f'CREATE DATABASE "{url.database}"')
    env = {**os.environ, "DATABASE_URL": args.db, "SECRET_KEY": secrets.token_hex(32), "FLASK_APP": "wsgi",
           # Far above the load: the limiter does all its work (count, check) but never refuses.
           # wrk's citizens all come from 127.0.0.1, so the per-address flood limit too; a stuffer's
           # traffic is bench/stuffing.py's business.
           "SUBMIT_LIMIT_PER_CLIENT": "1000000 per minute", "SUBMIT_LIMIT_PER_COUNTER": "1000000 per minute",
           "SUBMIT_FLOOD_LIMIT": "1000000 per minute",
           # Hundreds of simulated citizens a second at a few counters from one address are a
           # burst by every rule: the rules still run (their cost is measured), but cannot fire,
           # and the wall clock does not decide what counts.
           "SIGNAL_BURST_COUNT": "1000000000", "SIGNAL_SAME_CLIENT_PER_COUNTER": "1000000000",
           "SIGNAL_SAME_CLIENT_PER_DAY": "1000000000", "SIGNAL_IDENTICAL_RUN": "1000000000",
           "SIGNAL_OPENING_HOURS": ""}
    env.pop("REDIS_URL", None)
    if args.limiter == "off":
        env["RATELIMIT_ENABLED"] = "0"
    elif args.limiter == "redis":
        env["REDIS_URL"] = REDIS
        import redis

        redis.Redis.from_url(REDIS).flushdb()
    flask = str(Path(sys.executable).with_name("flask"))
    subprocess.run([flask, "init-db"], env=env, cwd=APP_ROOT, check=True, capture_output=True)
    subprocess.run([flask, "seed-demo"], env=env, cwd=APP_ROOT, check=True, capture_output=True)
    work = Path(tempfile.mkdtemp(prefix="load-"))
    qr = subprocess.run([flask, "qr-codes", "-o", str(work / "qr")], env={**env, "PUBLIC_BASE_URL": ""},
                        cwd=APP_ROOT, check=True, capture_output=True, text=True)
    paths = work / "paths.txt"
    paths.write_text("".join(line.split("\t")[1] + "\n" for line in qr.stdout.splitlines() if "\t" in line))

    # The floor is measured half before and half after the citizens' run, so a machine whose load
    # drifts during the run (2 cores shared with other work) weighs on both sides of the ratio alike.
    floor_requests, floor_cpu = run_floor(args.users, args.seconds / 2, args.warmup, args.workers)
    port = free_port()
    server = start_gunicorn("wsgi:app", port, args.workers, env, APP_ROOT)
    warm, measured = Events(), Events()
    try:
        wait_ready(server, port, args.workers)
        if args.warmup > 0:
            run_wrk(port, args.users, args.warmup, paths, work / "warm", args.double_tap, 1)
        workers = children_of(server.pid)
        watched = {"gunicorn workers": workers, "PostgreSQL": pids_named("postgres"),
                   "Redis": pids_named("redis-server")}
        before = {name: cpu_each(pids) for name, pids in watched.items()}
        busy0 = machine_busy()
        wrk_cpu = run_wrk(port, args.users, args.seconds, paths, work / "measured", args.double_tap, 2)
        busy1 = machine_busy()
        after = {name: cpu_each(pids) for name, pids in watched.items()}
    finally:
        server.terminate()
        server.wait(30)
    after_requests, after_cpu = run_floor(args.users, args.seconds / 2, args.warmup, args.workers)
    floor_requests, floor_cpu = floor_requests + after_requests, floor_cpu + after_cpu
    warm.read(work / "warm", timed=False)
    measured.read(work / "measured", timed=True)

    with psycopg.connect(**conninfo, dbname=url.database) as c:
        stored = dict(c.execute(
            "SELECT r.idempotency_key, a.value_int FROM response r JOIN answer a ON a.response_id = r.id "
            "JOIN question q ON q.id = a.question_id WHERE q.code = 'A3.1'").fetchall())
        responses = c.execute("SELECT count(*) FROM response").fetchone()[0]
        quarantined = c.execute("SELECT count(*) FROM response WHERE status <> 'counted'").fetchone()[0]
        partial = c.execute("SELECT count(*) FROM response r WHERE (SELECT count(*) FROM answer a "
                            "WHERE a.response_id = r.id) <> %s", (ANSWERS_PER_RESPONSE,)).fetchone()[0]
    shutil.rmtree(work, ignore_errors=True)

    acked = warm.acked | measured.acked
    sent = {**warm.sent, **measured.sent}
    errors = {k: warm.errors.get(k, 0) + measured.errors.get(k, 0) for k in {*warm.errors, *measured.errors}}
    in_flight = set(stored) - acked
    checks = {
        "every acknowledged response is stored": acked <= set(stored),
        "every stored response was sent": set(stored) <= set(sent),
        "stored but unacknowledged only in flight at wrk's stop": len(in_flight) <= 2 * args.users,
        "one response per idempotency key": responses == len(stored),
        "every response has all its answers": partial == 0,
        "each stored A3.1 is the value sent": all(sent[k] == v for k, v in stored.items() if k in sent),
        "no errors": not errors,
        "no well-behaved citizen quarantined": quarantined == 0,
    }
    seconds = args.seconds
    rate = measured.acked_posts / seconds
    per = max(measured.acked_posts, 1)
    cpu = {name: cpu_delta(before[name], after[name]) for name in watched}
    cpu["wrk"] = wrk_cpu
    busy = (busy1[0] - busy0[0]) / max(1, busy1[1] - busy0[1])
    print(f"application {APP_ROOT}; gunicorn {len(workers)} workers (gunicorn.conf.py), "
          f"submission limits: {args.limiter}; "
          f"{args.users} citizens (wrk connections); measured {seconds:g} s after a {args.warmup:g} s "
          f"warm-up; database {url.render_as_string()}; {os.cpu_count()} cores shared by all")
    print(f"submissions acknowledged (303): {measured.acked_posts} in {seconds:g} s = {rate:.0f}/s; "
          f"double taps acknowledged {warm.double_taps + measured.double_taps}; errors {errors or 0}")
    print(f"POST latency p50 {pct(measured.post_ms, .5):.1f} ms, p95 {pct(measured.post_ms, .95):.1f} ms, "
          f"p99 {pct(measured.post_ms, .99):.1f} ms, max {max(measured.post_ms, default=0):.1f} ms; "
          f"GET p50 {pct(measured.get_ms, .5):.1f} ms, p95 {pct(measured.get_ms, .95):.1f} ms, "
          f"p99 {pct(measured.get_ms, .99):.1f} ms")
    print("CPU per submission (GET + POST): " + ", ".join(
        f"{name} {value / per * 1000:.2f} ms" for name, value in cpu.items())
        + f"; machine busy {busy * 100:.0f}%")
    floor_ms = floor_cpu / max(floor_requests, 1) * 1000
    citizen_ms = cpu["gunicorn workers"] / per * 1000
    print(f"framework floor (bench/hello_app.py, same gunicorn.conf.py, GET/POST pairs, half before and "
          f"half after the citizens): {floor_requests} requests, worker CPU {floor_ms:.3f} ms per request, "
          f"{2 * floor_ms:.3f} ms per GET + POST")
    print(f"citizen GET + POST: worker CPU {citizen_ms:.3f} ms per submission = "
          f"{citizen_ms / (2 * floor_ms):.2f} × the floor's GET + POST "
          f"({citizen_ms / floor_ms:.2f} × one floor request); target ≤ 3")
    print(f"database: acknowledged {len(acked)} (warm-up included), stored {len(stored)}, "
          f"stored while in flight at wrk's stop {len(in_flight)}, without all {ANSWERS_PER_RESPONSE} "
          f"answers {partial}, quarantined {quarantined}")
    for name, ok in checks.items():
        print(f"  {'ok  ' if ok else 'FAIL'} {name}")
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
