"""Faults under load: PostgreSQL restarted and a gunicorn worker killed while citizens submit.

    .venv/bin/python bench/faults.py [--seconds 40] [--users 16] [--workers 4] [--port 55432]

Runs as root (like ./dev test): creates a throwaway PostgreSQL 15 cluster of its own in a temporary
directory (initdb as the postgres user, its own port; the shared server on 5432 is never touched),
seeds the demo province, starts gunicorn on it and lets simulated citizens loop: GET a counter's
form, POST a full set of answers with a comment naming the form's idempotency key. A 503 (or a
dropped connection) is answered the way a citizen would: send the same form again (same key)
after a short wait. At 25% of the run the private PostgreSQL is restarted (pg_ctl restart -m
fast); at 60% one gunicorn worker is killed with SIGKILL.

Prints: acknowledged (303) forms vs stored responses (they must be the same set of keys),
responses without all their answers, 503s (re-shown forms with the answers / bare retry pages,
each checked for the Vietnamese retry message), dropped connections, time from the restart to
the next stored response, and whether the app serves again afterwards. Removes the cluster at
the end. Exit status 1 when a figure is wrong (a lost or half-written response, a 500, a 503
without its message).
"""
from __future__ import annotations

import argparse
import http.client
import os
import random
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
PG_BIN = Path("/usr/lib/postgresql/15/bin")
HIDDEN = re.compile(r'<input[^>]*name="(csrf_token|idem|version)"[^>]*value="([^"]*)"')
CODES = "A1_1 A1_2 A1_3 A2_1 A2_2 A2_3 A2_4 A3_1 A3_2 A3_3 A3_4 A3_5 A4_1 A4_2 A4_3 OVERALL".split()
ANSWERS = {f"q_{c}": "4" for c in CODES}
RETRY_FORM = "câu trả lời chưa được lưu"  # the public form re-shown with the answers (503)
RETRY_PAGE = "Hệ thống đang bận"  # the error page when the form itself could not be built (503)


def free_port(preferred: int) -> int:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", preferred))
        except OSError:
            s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def as_postgres(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(["runuser", "-u", "postgres", "--", *args], check=True, capture_output=True,
                          text=True, **kwargs)


class Cluster:
    """A private PostgreSQL: its own data directory, socket directory and port."""

    def __init__(self, port: int):
        self.port = port
        self.base = Path(tempfile.mkdtemp(prefix="survey-faults-"))
        self.base.chmod(0o755)
        self.data = self.base / "data"
        self.log = self.base / "postgres.log"
        shutil.chown(self.base, "postgres", "postgres")

    def init(self) -> None:
        as_postgres(str(PG_BIN / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres",
                    "-E", "UTF8", "--locale=C.UTF-8", "--no-sync")
        self._ctl("start")

    def _ctl(self, action: str, *extra: str) -> None:
        as_postgres(str(PG_BIN / "pg_ctl"), action, "-D", str(self.data), "-l", str(self.log), "-w",
                    "-t", "60", *extra,
                    "-o", f"-p {self.port} -k {self.base} -c listen_addresses=127.0.0.1 -c max_connections=100")

    def restart(self) -> float:
        started = time.monotonic()
        self._ctl("restart", "-m", "fast")
        return time.monotonic() - started

    def destroy(self) -> None:
        if (self.data / "postmaster.pid").exists():
            try:
                as_postgres(str(PG_BIN / "pg_ctl"), "stop", "-D", str(self.data), "-m", "immediate", "-w")
            except subprocess.CalledProcessError:
                pass
        shutil.rmtree(self.base, ignore_errors=True)


class Tally:
    def __init__(self):
        self.lock = threading.Lock()
        self.acked: set[str] = set()
        self.gave_up: set[str] = set()
        self.posts = 0
        self.status: dict[str, int] = {}
        self.retry_forms = 0  # 503 with the form and every answer re-shown
        self.retry_pages = 0  # 503 error page (the form could not be built)
        self.bad_503 = 0  # a 503 without its Vietnamese message, or a form without the answers
        self.get_503 = 0
        self.dropped = 0  # connection reset / refused / closed without a response
        self.drops: list[float] = []
        self.drop_kinds: dict[str, int] = {}
        self.acks: list[float] = []  # monotonic times of 303s

    def count(self, key: str) -> None:
        self.status[key] = self.status.get(key, 0) + 1


def request(port: int, method: str, path: str, body: str | None = None, cookie: str = ""):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
    try:
        headers = {"Cookie": cookie} if cookie else {}
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn.request(method, path, body, headers)
        r = conn.getresponse()
        return r.status, r.read().decode("utf-8", "replace"), (r.getheader("Set-Cookie") or "").split(";")[0]
    finally:
        conn.close()


def citizen(port: int, paths: list[str], deadline: float, tally: Tally, seed: int) -> None:
    rng = random.Random(seed)
    while time.monotonic() < deadline:
        path = rng.choice(paths)
        try:
            status, html, cookie = request(port, "GET", path)
        except OSError as error:
            with tally.lock:
                tally.dropped += 1
                tally.drops.append(time.monotonic())
                kind = f"GET {type(error).__name__}"
                tally.drop_kinds[kind] = tally.drop_kinds.get(kind, 0) + 1
            time.sleep(0.2)
            continue
        if status != 200:
            with tally.lock:
                tally.count(f"GET {status}")
                if status == 503:
                    tally.get_503 += 1
                    if RETRY_PAGE not in html:
                        tally.bad_503 += 1
            time.sleep(0.2)
            continue
        fields = dict(HIDDEN.findall(html))
        key = fields.get("idem", "")
        comment = f"Phiếu {key[:12]} — cán bộ nhiệt tình"
        answers = {**ANSWERS, "q_A3_1": str(rng.randint(1, 5)), "q_COMMENT": comment}
        # The citizen keeps pressing "Gửi lại" on the same form (same key) until it is stored.
        for _attempt in range(40):
            body = urlencode({**fields, **answers})
            try:
                status, html, _ = request(port, "POST", path, body, cookie)
            except OSError as error:
                with tally.lock:
                    tally.dropped += 1
                    tally.drops.append(time.monotonic())
                    kind = f"POST {type(error).__name__}"
                    tally.drop_kinds[kind] = tally.drop_kinds.get(kind, 0) + 1
                time.sleep(0.25)
                continue
            with tally.lock:
                tally.posts += 1
                tally.count(f"POST {status}")
                if status == 303:
                    tally.acked.add(key)
                    tally.acks.append(time.monotonic())
                elif status == 503:
                    if RETRY_FORM in html:
                        tally.retry_forms += 1
                        kept = f">{comment}</textarea>" in html and 'value="4" checked' in html
                        tally.bad_503 += 0 if kept else 1
                    elif RETRY_PAGE in html:
                        tally.retry_pages += 1
                    else:
                        tally.bad_503 += 1
            if status == 303:
                break
            if status == 503 and RETRY_FORM in html:
                fields = dict(HIDDEN.findall(html))  # the re-shown form: same key, fresh CSRF
                if fields.get("idem") != key:
                    with tally.lock:
                        tally.bad_503 += 1
                    break
            elif status != 503:
                break  # 4xx/5xx other than 503: counted, not retried
            time.sleep(0.25 + 0.25 * rng.random())
        else:
            with tally.lock:
                tally.gave_up.add(key)


def worker_pids(master: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(master)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=40)
    parser.add_argument("--users", type=int, default=16, help="citizen threads")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--port", type=int, default=55432, help="the private PostgreSQL's port")
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("run as root: the private cluster is created as the postgres user with runuser")

    sys.path.insert(0, str(ROOT))
    import psycopg

    cluster = Cluster(free_port(args.port))
    server = None
    try:
        cluster.init()
        dsn = f"host=127.0.0.1 port={cluster.port} user=postgres"
        with psycopg.connect(f"{dsn} dbname=postgres", autocommit=True) as c:
            c.execute("CREATE DATABASE survey_faults")
        env = {**os.environ, "DATABASE_URL": f"postgresql://postgres@127.0.0.1:{cluster.port}/survey_faults",
               "SECRET_KEY": secrets.token_hex(32), "RATELIMIT_ENABLED": "0", "FLASK_APP": "wsgi",
               "PUBLIC_BASE_URL": "", "SIGNAL_OPENING_HOURS": ""}
        env.pop("REDIS_URL", None)
        flask = str(Path(sys.executable).with_name("flask"))
        subprocess.run([flask, "init-db"], env=env, cwd=ROOT, check=True, capture_output=True)
        subprocess.run([flask, "seed-demo"], env=env, cwd=ROOT, check=True, capture_output=True)
        qr_dir = cluster.base / "qr"
        qr = subprocess.run([flask, "qr-codes", "-o", str(qr_dir)], env=env, cwd=ROOT, check=True,
                            capture_output=True, text=True)
        paths = [line.split("\t")[1] for line in qr.stdout.splitlines() if "\t" in line]
        port = free_port(0)
        server = subprocess.Popen([str(Path(sys.executable).with_name("gunicorn")), "-w", str(args.workers),
                                   "-b", f"127.0.0.1:{port}", "--log-level", "warning", "--timeout", "30",
                                   "wsgi:app"], env=env, cwd=ROOT, stderr=open(cluster.base / "gunicorn.log", "w"))
        for _ in range(600):  # until a worker answers a form (imports take a while on a busy machine)
            try:
                if request(port, "GET", paths[0])[0] == 200:
                    break
            except OSError:
                pass
            time.sleep(0.2)
        else:
            raise SystemExit("gunicorn did not answer within 2 minutes")

        tally = Tally()
        started = time.monotonic()
        deadline = started + args.seconds
        threads = [threading.Thread(target=citizen, args=(port, paths, deadline, tally, i)) for i in range(args.users)]
        for t in threads:
            t.start()

        time.sleep(args.seconds * 0.25)
        restart_at = time.monotonic()
        restart_took = cluster.restart()
        print(f"t={restart_at - started:.1f}s  pg_ctl restart -m fast took {restart_took:.1f} s", flush=True)
        time.sleep(max(0.0, started + args.seconds * 0.60 - time.monotonic()))
        victims = worker_pids(server.pid)
        killed_at = time.monotonic()
        if victims:
            os.kill(victims[0], signal.SIGKILL)
        print(f"t={killed_at - started:.1f}s  SIGKILL to gunicorn worker {victims[:1]} "
              f"({len(victims)} workers)", flush=True)
        for t in threads:
            t.join()
        elapsed = time.monotonic() - started

        # After the faults: does it serve again without anyone restarting it?
        if server.poll() is not None:
            print("gunicorn exited:", (cluster.base / "gunicorn.log").read_text()[-3000:])
        status, html, cookie = request(port, "GET", paths[0])
        after = "no form"
        if status == 200:
            fields = dict(HIDDEN.findall(html))
            status, _, _ = request(port, "POST", paths[0], urlencode({**fields, **ANSWERS}), cookie)
            after = f"GET 200, POST {status}"
            if status == 303:
                tally.acked.add(fields["idem"])

        with psycopg.connect(f"{dsn} dbname=survey_faults") as c:
            stored = {row[0] for row in c.execute("SELECT idempotency_key FROM response")}
            partial = c.execute(
                "SELECT count(*) FROM response r WHERE (SELECT count(*) FROM answer a WHERE a.response_id = r.id) "
                "NOT IN (16, 17)").fetchone()[0]
            answers = c.execute("SELECT count(*) FROM answer").fetchone()[0]

        back_at = restart_at + restart_took  # pg_ctl restart returned: PostgreSQL accepts connections
        after_restart = [t for t in tally.acks if t > back_at]
        recovery = (min(after_restart) - back_at) if after_restart else float("nan")
        # What citizens saw: the longest stretch without any stored response around the restart.
        window = sorted(t for t in tally.acks if restart_at - 1 <= t <= back_at + 15)
        outage = max((b - a for a, b in zip(window, window[1:])), default=float("nan"))
        drops_at_kill = sum(1 for t in tally.drops if killed_at - 0.5 <= t <= killed_at + 5)
        after_kill = [t for t in tally.acks if t > killed_at]
        kill_recovery = (min(after_kill) - killed_at) if after_kill else float("nan")
        lost = tally.acked - stored
        unacknowledged = stored - tally.acked
        server_errors = sum(n for k, n in tally.status.items() if k.endswith(" 500"))

        print(f"load: {args.users} citizens, gunicorn -w {args.workers}, {elapsed:.1f} s, private PostgreSQL "
              f"on port {cluster.port}")
        print(f"POSTs sent {tally.posts}; statuses {dict(sorted(tally.status.items()))}; dropped connections "
              f"{tally.dropped} ({drops_at_kill} within 5 s of the worker kill; {tally.drop_kinds})")
        print(f"acknowledged (303) forms {len(tally.acked)}; stored responses {len(stored)} ({answers} answers); "
              f"acknowledged == stored: {tally.acked == stored}")
        print(f"acknowledged but not stored (lost): {len(lost)}; stored but never acknowledged "
              f"(citizen gave up): {len(unacknowledged)}; gave up after 40 tries: {len(tally.gave_up)}")
        print(f"responses without all their answers: {partial}")
        print(f"503s: {tally.retry_forms} forms re-shown with answers and '{RETRY_FORM}', {tally.retry_pages} "
              f"retry pages ('{RETRY_PAGE}') on POST, {tally.get_503} on GET; 503s missing message or answers: "
              f"{tally.bad_503}; 500s: {server_errors}")
        print(f"restart: pg_ctl restart -m fast took {restart_took:.2f} s; first stored response {recovery:.2f} s "
              f"after it returned; longest gap without a stored response {outage:.2f} s; "
              f"worker kill: next stored response after {kill_recovery:.2f} s")
        print(f"after the run: {after}")
        ok = (not lost and partial == 0 and tally.bad_503 == 0 and server_errors == 0 and after == "GET 200, POST 303"
              and tally.acked == stored)
        print("RESULT", "ok" if ok else "FAILED")
        return 0 if ok else 1
    finally:
        if server is not None:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(30)
            except subprocess.TimeoutExpired:
                server.kill()
        cluster.destroy()


if __name__ == "__main__":
    sys.exit(main())
