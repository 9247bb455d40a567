"""The app under real WSGI servers keeps answering: citizen page loads by the hundred, then an
official's sign-in (survey/intake/citizen_connection.py keeps connections per process).

Each server runs as production would start it (`flask run` as `./dev demo` does, gunicorn with
gunicorn.conf.py, waitress-serve), on a free loopback port, on the test's database, without
TESTING or DEBUG (so with a real SECRET_KEY). A server that holds a connection per thread and
never gives it back stops answering after about fifteen loads under `flask run`: a request then
times out here instead of answering.
"""
from __future__ import annotations

import http.cookiejar
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import select

from survey.catalog.instrument import STANDING_CODE
from survey.extensions import db
from survey.intake.tokens import make_token
from survey.models import Counter, Survey
from tests.conftest import DEMO_PASSWORDS

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
LOADS = 300
CLIENTS = 6  # more browsers at once than a citizen connection keeps idle
TIMEOUT = 20  # seconds for one request; a pool that ran dry makes a request wait 30 s

SERVERS = {
    "flask run": lambda port: [str(BIN / "flask"), "--app", "wsgi", "run", "--host", "127.0.0.1",
                               "--port", str(port)],
    "gunicorn sync": lambda port: [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "-w", "1", "-k", "sync",
                                   "-b", f"127.0.0.1:{port}", "wsgi:app"],
    "gunicorn gthread": lambda port: [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "-w", "1",
                                      "-k", "gthread", "--threads", "4", "-b", f"127.0.0.1:{port}", "wsgi:app"],
    "waitress": lambda port: [str(BIN / "waitress-serve"), "--host", "127.0.0.1", "--port", str(port),
                              "--threads", "4", "wsgi:app"],
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _status(opener, url: str, data: dict | None = None) -> int:
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    try:
        with opener.open(url, data=body, timeout=TIMEOUT) as response:
            response.read()
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def _wait_until_up(base: str, server: subprocess.Popen, log: Path) -> None:
    for _ in range(240):
        if server.poll() is not None:
            pytest.fail(f"the server exited with {server.returncode}: {log.read_text()[-2000:]}")
        try:
            _status(urllib.request.build_opener(), base + "/dang-nhap")
            return
        except OSError:
            time.sleep(0.25)
    pytest.fail("the server did not start")


@pytest.mark.parametrize("kind", SERVERS)
def test_a_real_server_survives_citizen_loads_then_a_sign_in(app, db_url, kind, tmp_path):
    key = secrets.token_hex(32)
    with app.app_context():
        app.config["SECRET_KEY"] = key  # the server's key signs the QR code
        survey_id = db.session.scalar(select(Survey.id).where(Survey.code == STANDING_CODE))
        paths = [f"/s/{make_token(c.id, survey_id, c.token_version)}"
                 for c in db.session.scalars(select(Counter).where(Counter.active).order_by(Counter.id))]
        db.session.remove()
        db.engine.dispose()  # nothing of the test's own holds connections the server might want
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "DATABASE_URL": db_url, "SECRET_KEY": key, "PUBLIC_BASE_URL": base,
           "FLASK_DEBUG": "0", "BIND": f"127.0.0.1:{port}", "QR_OUTPUT_DIR": str(tmp_path / "qr")}
    for name in ("REDIS_URL", "SECRET_KEY_FALLBACKS", "WEB_CONCURRENCY", "GUNICORN_CMD_ARGS", "SQLITE_PATH"):
        env.pop(name, None)
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        server = subprocess.Popen(SERVERS[kind](port), cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                  start_new_session=True)
    try:
        _wait_until_up(base, server, log)
        citizen = urllib.request.build_opener()
        with ThreadPoolExecutor(CLIENTS) as pool:
            codes = list(pool.map(lambda i: _status(citizen, base + paths[i % len(paths)]), range(LOADS)))
        assert codes == [200] * LOADS, log.read_text()[-2000:]
        # Then an official signs in, with the session cookie a browser keeps.
        official = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        with official.open(base + "/dang-nhap", timeout=TIMEOUT) as page:
            assert page.status == 200
            csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.read().decode()).group(1)
        email, password = DEMO_PASSWORDS["official"]
        with official.open(base + "/dang-nhap", timeout=TIMEOUT,
                           data=urllib.parse.urlencode({"email": email, "password": password,
                                                        "csrf_token": csrf}).encode()) as home:
            assert home.status == 200 and urllib.parse.urlsplit(home.url).path == "/quan-ly/"
            assert "Phường Đồng Tiến" in home.read().decode()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
