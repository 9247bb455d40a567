"""Load: gunicorn + PostgreSQL on this machine, separate load processes posting valid forms.

    .venv/bin/python bench/load.py [--seconds 20] [--warmup 3] [--users 16] [--procs 1]
                                   [--workers N] [--threads 1] [--limiter redis|memory|off]

Every simulated citizen loops: GET the form of a random counter (a new phone: no cookie, so a new
session and CSRF token), POST a full set of answers with the form's hidden fields, a new
connection per request (as a phone behind a buffering proxy would; sync workers close anyway).
A small share of citizens tap "Gửi" twice (--double-tap): the second POST must be acknowledged
too and store nothing. The server runs with gunicorn.conf.py (the production settings) and, by
default, the rate limiter on Redis with limits raised far above the load, so its cost is counted.

Prints, for the measured window after the warm-up: acknowledged (303) submissions/s, POST and
GET latency percentiles, errors, and CPU seconds per submission spent by the server workers,
PostgreSQL (this database's backends and the server's WAL writer, checkpointer...) and the load processes. Then it checks the database:
the set of idempotency keys stored must equal the set acknowledged (warm-up included), every
response has all its answers, and the sum of one randomly chosen answer matches what was sent.
Loopback only; bounded in time; stops by itself.
"""
from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import random
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
PG = "postgresql+psycopg://postgres@127.0.0.1:5432/survey_load"
HIDDEN = re.compile(rb'<input[^>]*name="(csrf_token|idem|version)"[^>]*value="([^"]*)"')
COOKIE = re.compile(rb"\r\nSet-Cookie: ([^;\r\n]*)", re.IGNORECASE)
REQUIRED = "A1_1 A1_2 A1_3 A2_1 A2_2 A2_3 A2_4 A3_2 A3_3 A3_4 A3_5 A4_1 A4_2 A4_3 OVERALL".split()
FIXED = urlencode({f"q_{c}": "4" for c in REQUIRED})  # q_A3_1 varies: its sum is checked
ANSWERS_PER_RESPONSE = len(REQUIRED) + 1
TIMEOUT = 10.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class OneShot(asyncio.Protocol):
    """Send one request, read the response until the server closes the connection."""

    def __init__(self, payload: bytes, done: asyncio.Future):
        self.payload, self.done, self.chunks = payload, done, []

    def connection_made(self, transport):
        self.transport = transport
        transport.write(self.payload)
        self.timer = asyncio.get_running_loop().call_later(TIMEOUT, transport.abort)

    def data_received(self, data: bytes):
        self.chunks.append(data)

    def connection_lost(self, exc):
        self.timer.cancel()
        if not self.done.done():
            raw = b"".join(self.chunks)
            if exc is None and raw.startswith(b"HTTP/1."):
                self.done.set_result(raw)
            else:
                self.done.set_exception(exc or ConnectionError("incomplete response"))


async def fetch(loop, port: int, payload: bytes) -> bytes:
    done = loop.create_future()
    await loop.create_connection(lambda: OneShot(payload, done), "127.0.0.1", port)
    return await done


def get_request(path: str, agent: str) -> bytes:
    return (f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: {agent}\r\n"
            "Connection: close\r\n\r\n").encode()


def post_request(path: str, agent: str, cookie: bytes, body: bytes) -> bytes:
    return (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: {agent}\r\n"
            f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n"
            f"Connection: close\r\nCookie: ").encode() + cookie + b"\r\n\r\n" + body


class Tally:
    def __init__(self):
        self.post_ms: list[float] = []  # within the measured window
        self.get_ms: list[float] = []
        self.window_acked = 0
        self.acked: list[str] = []  # every acknowledged idempotency key, warm-up included
        self.a31_sum = 0
        self.double_taps = 0
        self.errors: dict[str, int] = {}

    def error(self, kind: str) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1


async def citizen(port: int, paths: list[str], window: tuple[float, float], tally: Tally,
                  rng: random.Random, double_tap: float) -> None:
    loop = asyncio.get_running_loop()
    start, stop = window
    while time.monotonic() < stop:
        path = rng.choice(paths)
        agent = f"bench-phone-{rng.getrandbits(40):x}"
        try:
            t0 = time.monotonic()
            page = await fetch(loop, port, get_request(path, agent))
            t1 = time.monotonic()
            if page[9:12] != b"200":
                tally.error(f"GET {page[9:12].decode()}")
                continue
            hidden = dict(HIDDEN.findall(page))
            cookie = COOKIE.search(page)
            a31 = rng.randint(1, 5)
            body = (f"csrf_token={hidden[b'csrf_token'].decode()}&idem={hidden[b'idem'].decode()}"
                    f"&version={hidden[b'version'].decode()}&{FIXED}&q_A3_1={a31}").encode()
            request = post_request(path, agent, cookie.group(1) if cookie else b"", body)
            t2 = time.monotonic()
            answer = await fetch(loop, port, request)
            t3 = time.monotonic()
            status = answer[9:12]
            if status != b"303":
                tally.error(f"POST {status.decode()}")
                continue
            tally.acked.append(hidden[b"idem"].decode())
            tally.a31_sum += a31
            if start <= t0 and t3 <= stop:
                tally.window_acked += 1
                tally.post_ms.append((t3 - t2) * 1000)
                tally.get_ms.append((t1 - t0) * 1000)
            if rng.random() < double_tap:  # the same form sent again: acknowledged, not stored twice
                again = await fetch(loop, port, request)
                if again[9:12] == b"303":
                    tally.double_taps += 1
                else:
                    tally.error(f"double tap {again[9:12].decode()}")
        except (OSError, ConnectionError, KeyError) as error:
            tally.error(type(error).__name__)


def load_process(port: int, paths: list[str], users: int, window: tuple[float, float],
                 double_tap: float, seed: int, out: mp.Queue) -> None:
    tally = Tally()

    async def main():
        rngs = [random.Random(seed * 1000 + i) for i in range(users)]
        await asyncio.gather(*(citizen(port, paths, window, tally, rng, double_tap) for rng in rngs))

    asyncio.run(main())
    times = os.times()
    out.put((tally, times.user + times.system))


def cpu_of(pids: list[int]) -> float:
    """User + system CPU seconds of these processes so far (0 for any that are gone)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
        except (OSError, IndexError):
            pass
    return total


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


def postgres_pids(conninfo: str, database: str) -> list[int]:
    """This database's backends and the server's own processes (WAL writer, checkpointer...)."""
    import psycopg

    with psycopg.connect(conninfo, autocommit=True) as c:
        return [row[0] for row in c.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s OR backend_type <> 'client backend'",
            (database,))]


def cpu_deltas(before: dict[int, float], after: dict[int, float]) -> float:
    # Only processes alive at both ends: others' short-lived backends must not count.
    return sum(after[pid] - before[pid] for pid in before if pid in after)


def cpu_each(pids: list[int]) -> dict[int, float]:
    found = {}
    for pid in pids:
        value = cpu_of([pid])
        if Path(f"/proc/{pid}").exists():
            found[pid] = value
    return found


def machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] if values else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20, help="measured window")
    parser.add_argument("--warmup", type=float, default=3, help="load before the window (not measured)")
    parser.add_argument("--users", type=int, default=16, help="concurrent citizens per load process")
    parser.add_argument("--procs", type=int, default=1, help="load processes")
    parser.add_argument("--workers", type=int, help="gunicorn workers (default: gunicorn.conf.py)")
    parser.add_argument("--threads", type=int, help="threads per worker (default: gunicorn.conf.py)")
    parser.add_argument("--limiter", choices=["redis", "memory", "off"], default="redis")
    parser.add_argument("--double-tap", type=float, default=0.02, help="share of citizens who send twice")
    parser.add_argument("--db", default=PG)
    args = parser.parse_args()

    sys.path.insert(0, str(ROOT))
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(args.db)
    with psycopg.connect(f"host={url.host} user={url.username} dbname=postgres", autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')
        c.execute(f'CREATE DATABASE "{url.database}"')
    env = {**os.environ, "DATABASE_URL": args.db, "SECRET_KEY": "load-bench", "FLASK_APP": "wsgi",
           # Far above the load: the limiter does all its work (count, check) but never refuses.
           "SUBMIT_LIMIT_PER_CLIENT": "1000000 per minute", "SUBMIT_LIMIT_PER_COUNTER": "1000000 per minute"}
    env.pop("REDIS_URL", None)
    if args.limiter == "off":
        env["RATELIMIT_ENABLED"] = "0"
    elif args.limiter == "redis":
        env["REDIS_URL"] = "redis://127.0.0.1:6379/14"
        import redis

        redis.Redis.from_url(env["REDIS_URL"]).flushdb()
    flask = str(Path(sys.executable).with_name("flask"))
    subprocess.run([flask, "init-db"], env=env, cwd=ROOT, check=True, capture_output=True)
    subprocess.run([flask, "seed-demo"], env=env, cwd=ROOT, check=True, capture_output=True)
    port = free_port()
    qr = subprocess.run([flask, "qr-codes", "-o", "/tmp/load-qr"], env={**env, "PUBLIC_BASE_URL": ""},
                        cwd=ROOT, check=True, capture_output=True, text=True)
    paths = [line.split("\t")[1] for line in qr.stdout.splitlines() if "\t" in line]
    command = [str(Path(sys.executable).with_name("gunicorn")), "-c", str(ROOT / "gunicorn.conf.py"),
               "-b", f"127.0.0.1:{port}", "--log-level", "warning"]
    if args.workers:
        command += ["-w", str(args.workers)]
    if args.threads:
        command += ["--threads", str(args.threads)]
    server = subprocess.Popen(command + ["wsgi:app"], env=env, cwd=ROOT)
    try:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        expected = args.workers or 2 * os.cpu_count() + 1  # gunicorn.conf.py's default
        for _ in range(100):  # every worker forked and listening before the window opens
            workers = children_of(server.pid)
            if len(workers) >= expected:
                break
            time.sleep(0.1)
        time.sleep(0.5)
        out: mp.Queue = mp.Queue()
        begin = time.monotonic() + 0.3
        window = (begin + args.warmup, begin + args.warmup + args.seconds)
        procs = [mp.Process(target=load_process, args=(port, paths, args.users, window, args.double_tap,
                                                       i, out)) for i in range(args.procs)]
        for p in procs:
            p.start()
        time.sleep(max(0.0, window[0] - time.monotonic()))
        pg = postgres_pids(f"host={url.host} user={url.username} dbname=postgres", url.database)
        cpu0 = (cpu_each(workers), cpu_each(pg), machine_busy())
        time.sleep(max(0.0, window[1] - time.monotonic()))
        cpu1 = (cpu_each(workers), cpu_each(pg), machine_busy())
        results = [out.get() for _ in range(args.procs)]
        for p in procs:
            p.join()
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)

    tallies = [r[0] for r in results]
    load_cpu = sum(r[1] for r in results)
    post_ms = [x for t in tallies for x in t.post_ms]
    get_ms = [x for t in tallies for x in t.get_ms]
    in_window = sum(t.window_acked for t in tallies)
    acked = [k for t in tallies for k in t.acked]
    errors: dict[str, int] = {}
    for t in tallies:
        for kind, count in t.errors.items():
            errors[kind] = errors.get(kind, 0) + count
    with psycopg.connect(f"host={url.host} user={url.username} dbname={url.database}") as c:
        stored = {row[0] for row in c.execute("SELECT idempotency_key FROM response")}
        partial = c.execute("SELECT count(*) FROM response r WHERE (SELECT count(*) FROM answer a "
                            "WHERE a.response_id = r.id) <> %s", (ANSWERS_PER_RESPONSE,)).fetchone()[0]
        a31 = c.execute("SELECT coalesce(sum(a.value_int), 0) FROM answer a JOIN question q "
                        "ON q.id = a.question_id WHERE q.code = 'A3.1'").fetchone()[0]

    seconds = args.seconds
    workers_cpu, pg_cpu = cpu_deltas(cpu0[0], cpu1[0]), cpu_deltas(cpu0[1], cpu1[1])
    busy = (cpu1[2][0] - cpu0[2][0]) / max(1, cpu1[2][1] - cpu0[2][1])
    per = max(in_window, 1)
    print(f"gunicorn {len(workers)} workers ({args.threads or 'conf'} threads), limiter {args.limiter}; "
          f"load {args.procs} process(es) x {args.users} citizens; window {seconds:.0f} s after "
          f"{args.warmup:.0f} s warm-up; {os.cpu_count()} cores shared by server, database and load")
    print(f"POST submissions acknowledged in window: {in_window} ({in_window / seconds:.0f}/s); "
          f"errors {errors or 0}; double taps {sum(t.double_taps for t in tallies)}")
    print(f"POST latency p50 {pct(post_ms, .5):.1f} ms, p95 {pct(post_ms, .95):.1f} ms, "
          f"p99 {pct(post_ms, .99):.1f} ms; GET p50 {pct(get_ms, .5):.1f} ms, p99 {pct(get_ms, .99):.1f} ms")
    print(f"CPU per submission (GET + POST): workers {workers_cpu / per * 1000:.2f} ms, PostgreSQL "
          f"{pg_cpu / per * 1000:.2f} ms, load {load_cpu / max(len(acked), 1) * 1000:.2f} ms; "
          f"machine busy {busy * 100:.0f}%")
    same = set(acked) == stored and len(acked) == len(stored)
    print(f"acknowledged {len(acked)} (warm-up included), stored {len(stored)}; same idempotency keys: "
          f"{same}; responses without all {ANSWERS_PER_RESPONSE} answers: {partial}; "
          f"sum of A3.1 sent {sum(t.a31_sum for t in tallies)}, stored {a31}")


if __name__ == "__main__":
    main()
