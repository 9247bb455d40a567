"""Citizen form: page size and server time for GET form and POST submit, through the WSGI app.

    .venv/bin/python bench/submit.py [--runs 300] [--pg postgresql+psycopg://postgres@127.0.0.1/survey_bench]

Prints, per backend: form page bytes (raw and gzip, plus the stylesheet), and the median and p95
of server time for GET and POST over --runs requests, with the rows counted afterwards.
"""
from __future__ import annotations

import argparse
import gzip
import re
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg  # noqa: E402
from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import func, select  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from survey import create_app  # noqa: E402
from survey.demo import seed_demo  # noqa: E402
from survey.extensions import db  # noqa: E402
from survey.intake.tokens import make_token  # noqa: E402
from survey.models import Counter, Response, Survey  # noqa: E402

HIDDEN = re.compile(r'<input[^>]*name="(csrf_token|idem|version)"[^>]*value="([^"]*)"')
ANSWERS = {f"q_{c}": "4" for c in (
    "A1_1 A1_2 A1_3 A2_1 A2_2 A2_3 A2_4 A3_1 A3_2 A3_3 A3_4 A3_5 A4_1 A4_2 A4_3 OVERALL".split())}
ANSWERS["q_COMMENT"] = "Cán bộ nhiệt tình, hướng dẫn chu đáo."


def fresh_pg(url: str) -> None:
    u = make_url(url)
    with psycopg.connect(f"host={u.host} port={u.port or 5432} user={u.username} dbname=postgres",
                         autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{u.database}"')
        conn.execute(f'CREATE DATABASE "{u.database}"')


def pct(values: list[float], q: float) -> float:
    return sorted(values)[min(len(values) - 1, int(q * len(values)))]


def run(name: str, url: str, runs: int) -> None:
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": secrets.token_hex(32), "RATELIMIT_ENABLED": False})
    with app.app_context():
        upgrade()
        seed_demo()
        counters = db.session.scalars(select(Counter)).all()
        survey_id = db.session.scalar(select(Survey.id))
        paths = [f"/s/{make_token(c.id, survey_id, c.token_version)}" for c in counters]
    client = app.test_client()
    page = client.get(paths[0]).data
    css = client.get("/static/app.css").data
    get_ms, post_ms = [], []
    for i in range(runs):
        path = paths[i % len(paths)]
        t0 = time.perf_counter()
        html = client.get(path).get_data(as_text=True)
        t1 = time.perf_counter()
        response = client.post(path, data={**dict(HIDDEN.findall(html)), **ANSWERS})
        t2 = time.perf_counter()
        assert response.status_code == 303, response.status_code
        get_ms.append((t1 - t0) * 1000)
        post_ms.append((t2 - t1) * 1000)
    with app.app_context():
        stored = db.session.scalar(select(func.count()).select_from(Response))
        db.engine.dispose()
    print(f"[{name}] form page {len(page):,} B raw, {len(gzip.compress(page)):,} B gzip; "
          f"stylesheet {len(css):,} B raw, {len(gzip.compress(css)):,} B gzip")
    print(f"[{name}] GET form   median {statistics.median(get_ms):6.2f} ms  p95 {pct(get_ms, .95):6.2f} ms")
    print(f"[{name}] POST submit median {statistics.median(post_ms):6.2f} ms  p95 {pct(post_ms, .95):6.2f} ms")
    print(f"[{name}] submitted {runs}, stored {stored}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/survey_bench")
    parser.add_argument("--skip-pg", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run("sqlite", f"sqlite:///{tmp}/bench.sqlite3", args.runs)
    if not args.skip_pg:
        fresh_pg(args.pg)
        run("postgresql", args.pg, args.runs)


if __name__ == "__main__":
    main()
