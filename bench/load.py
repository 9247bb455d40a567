"""Load: gunicorn + PostgreSQL on this machine, a separate load process posting valid forms.

    .venv/bin/python bench/load.py [--seconds 20] [--users 24] [--workers 4] [--procs 2]

Every simulated citizen loops: GET the form of a random counter (cookie + CSRF token +
idempotency key), POST a full set of answers. Prints POST submissions/s, p50/p95/p99 latency,
errors, and then counts rows: acknowledged (303) submissions must equal stored responses.
Loopback only; bounded in time; stops by itself.
"""
from __future__ import annotations

import argparse
import http.client
import multiprocessing as mp
import os
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
PG = "postgresql+psycopg://postgres@127.0.0.1:5432/survey_load"
HIDDEN = re.compile(r'<input[^>]*name="(csrf_token|idem|version)"[^>]*value="([^"]*)"')
ANSWERS = {f"q_{c}": "4" for c in (
    "A1_1 A1_2 A1_3 A2_1 A2_2 A2_3 A2_4 A3_1 A3_2 A3_3 A3_4 A3_5 A4_1 A4_2 A4_3 OVERALL".split())}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def citizen(port: int, paths: list[str], deadline: float, out: mp.Queue, seed: int) -> None:
    rng = random.Random(seed)
    latencies, acked, errors = [], 0, {}
    while time.monotonic() < deadline:
        path = rng.choice(paths)
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("GET", path)
            r = conn.getresponse()
            html = r.read().decode()
            cookie = (r.getheader("Set-Cookie") or "").split(";")[0]
            conn.close()
            body = urlencode({**dict(HIDDEN.findall(html)), **ANSWERS, "q_A3_1": str(rng.randint(1, 5))})
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            t0 = time.perf_counter()
            conn.request("POST", path, body, {"Content-Type": "application/x-www-form-urlencoded",
                                              "Cookie": cookie})
            r = conn.getresponse()
            r.read()
            latencies.append(time.perf_counter() - t0)
            conn.close()
            if r.status == 303:
                acked += 1
            else:
                errors[r.status] = errors.get(r.status, 0) + 1
        except OSError as error:
            errors[type(error).__name__] = errors.get(type(error).__name__, 0) + 1
    out.put((latencies, acked, errors))


def load_process(port: int, paths: list[str], users: int, deadline: float, out: mp.Queue, seed: int) -> None:
    import threading

    threads = [threading.Thread(target=citizen, args=(port, paths, deadline, out, seed * 1000 + i))
               for i in range(users)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--users", type=int, default=24, help="threads per load process")
    parser.add_argument("--procs", type=int, default=2, help="load processes")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--db", default=PG)
    args = parser.parse_args()

    sys.path.insert(0, str(ROOT))
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(args.db)
    with psycopg.connect(f"host={url.host} user={url.username} dbname=postgres", autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')
        c.execute(f'CREATE DATABASE "{url.database}"')
    env = {**os.environ, "DATABASE_URL": args.db, "SECRET_KEY": "load-bench", "RATELIMIT_ENABLED": "0",
           "FLASK_APP": "wsgi"}
    flask = str(Path(sys.executable).with_name("flask"))
    subprocess.run([flask, "init-db"], env=env, cwd=ROOT, check=True, capture_output=True)
    subprocess.run([flask, "seed-demo"], env=env, cwd=ROOT, check=True, capture_output=True)
    port = free_port()
    qr = subprocess.run([flask, "qr-codes", "-o", "/tmp/load-qr"], env={**env, "PUBLIC_BASE_URL": ""},
                        cwd=ROOT, check=True, capture_output=True, text=True)
    paths = [line.split("\t")[1] for line in qr.stdout.splitlines() if "\t" in line]
    server = subprocess.Popen([str(Path(sys.executable).with_name("gunicorn")), "-w", str(args.workers),
                               "-b", f"127.0.0.1:{port}", "--log-level", "warning", "wsgi:app"],
                              env=env, cwd=ROOT)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        out: mp.Queue = mp.Queue()
        deadline = time.monotonic() + args.seconds
        procs = [mp.Process(target=load_process, args=(port, paths, args.users, deadline, out, i))
                 for i in range(args.procs)]
        started = time.monotonic()
        for p in procs:
            p.start()
        results = [out.get() for _ in range(args.procs * args.users)]
        elapsed = time.monotonic() - started
        for p in procs:
            p.join()
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)
    latencies = sorted(x for r in results for x in r[0])
    acked = sum(r[1] for r in results)
    errors: dict = {}
    for r in results:
        for kind, count in r[2].items():
            errors[kind] = errors.get(kind, 0) + count
    with psycopg.connect(f"host={url.host} user={url.username} dbname={url.database}") as c:
        stored = c.execute("SELECT count(*) FROM response").fetchone()[0]
        partial = c.execute("SELECT count(*) FROM response r WHERE (SELECT count(*) FROM answer a "
                            "WHERE a.response_id = r.id) <> 16").fetchone()[0]

    def pct(q: float) -> float:
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000

    print(f"gunicorn workers {args.workers}, load {args.procs} processes x {args.users} citizens, "
          f"{elapsed:.1f} s, {os.cpu_count()} cores shared by server, database and load")
    print(f"POST submissions acknowledged: {acked} ({acked / elapsed:.0f}/s), errors {errors or 0}")
    print(f"POST latency p50 {pct(.5):.1f} ms, p95 {pct(.95):.1f} ms, p99 {pct(.99):.1f} ms "
          f"(median {statistics.median(latencies) * 1000:.1f} ms)")
    print(f"stored responses {stored}; acknowledged == stored: {acked == stored}; "
          f"responses without all 16 answers: {partial}")


if __name__ == "__main__":
    main()
