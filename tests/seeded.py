"""The migrated demo province, built once per backend per test run and copied into each test.

Migrating and seeding took ~1.3 s per test (15 migrations, the demo accounts' password hashes);
a copy takes ~5 ms on SQLite (the backup API) and a rename on PostgreSQL (PgClones). The migrations
themselves are tested from scratch in tests/test_migrations.py.
"""
from __future__ import annotations

import itertools
import queue
import shutil
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

import psycopg
from flask_migrate import upgrade
from sqlalchemy.engine import make_url

from survey import create_app
from survey.demo import seed_demo
from survey.extensions import db


def conninfo(url: str, database: str | None = None) -> str:
    parsed = make_url(url)
    return (f"host={parsed.host} port={parsed.port or 5432} user={parsed.username} "
            f"dbname={database or parsed.database}")


class PgClones:
    """Fresh copies of a template database, made one ahead in a thread.

    CREATE DATABASE ... TEMPLATE took 0.13-0.9 s here, nearly all of it waiting on fsync; made while
    the previous test runs, handing a copy over is a DROP and a RENAME (~30 ms).
    """

    def __init__(self, server: str, template: str) -> None:
        self._server, self._template = server, template
        self._ready: queue.Queue[str] = queue.Queue(maxsize=1)
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._make, name="pg-clones", daemon=True)
        self._thread.start()

    def _make(self) -> None:
        try:
            with psycopg.connect(self._server, autocommit=True) as conn:
                for i in itertools.count():
                    name = f"{self._template}_{i}"
                    conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
                    conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{self._template}"')
                    while not self._stop.is_set():
                        try:
                            self._ready.put(name, timeout=0.2)
                            break
                        except queue.Full:
                            continue
                    if self._stop.is_set():
                        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
                        return
        except BaseException as error:  # handed to the test that waits for a copy
            self._error = error

    def take(self, target: str) -> None:
        """Make `target` a fresh copy of the template, whatever it held."""
        while True:
            try:
                name = self._ready.get(timeout=1)
                break
            except queue.Empty:
                if not self._thread.is_alive():
                    raise RuntimeError("the seeded database could not be copied") from self._error
        with psycopg.connect(self._server, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{target}" WITH (FORCE)')
            conn.execute(f'ALTER DATABASE "{name}" RENAME TO "{target}"')

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        with psycopg.connect(self._server, autocommit=True) as conn:
            while not self._ready.empty():
                conn.execute(f'DROP DATABASE IF EXISTS "{self._ready.get()}"')
            conn.execute(f'DROP DATABASE IF EXISTS "{self._template}" WITH (FORCE)')


class Seeded:
    """Seeded databases, each built on first use: the demo province per backend (``restore``)
    and, on it, what a fixture adds (``variant``: demo responses, say), copied into each test."""

    def __init__(self, make_dir: Callable[[str], Path], config: Callable[[str, Path], dict]) -> None:
        self._make_dir, self._config = make_dir, config
        self._built: dict[tuple[str, str], tuple[str, Path]] = {}
        self._clones: dict[tuple[str, str], PgClones] = {}

    def _build(self, db_url: str, name: str = "", build: Callable[[], object] | None = None
               ) -> tuple[str, Path]:
        kind = make_url(db_url).get_backend_name()
        if (kind, name) in self._built:
            return self._built[(kind, name)]
        base = self._build(db_url) if name else None
        root = self._make_dir(f"seed-{kind}-{name or 'demo'}")
        if kind == "sqlite":
            url = f"sqlite:///{root / 'seed.sqlite3'}"
            if base is not None:
                _sqlite_copy(base[0], url)
        else:
            database = f"{make_url(db_url).database}_seed{len(self._built)}"
            template = f' TEMPLATE "{make_url(base[0]).database}"' if base is not None else ""
            with psycopg.connect(conninfo(db_url, "postgres"), autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
                conn.execute(f'CREATE DATABASE "{database}"{template}')
            url = make_url(db_url).set(database=database).render_as_string(hide_password=False)
        if base is not None and (base[1] / "evidence").exists():
            shutil.copytree(base[1] / "evidence", root / "evidence")
        seed_app = create_app(self._config(url, root))
        with seed_app.app_context():
            if base is None:
                upgrade()
                seed_demo()
            else:
                build()             # type: ignore[misc]
                db.session.commit()
            db.session.remove()
            db.engine.dispose()
        if kind != "sqlite":
            self._clones[(kind, name)] = PgClones(conninfo(db_url, "postgres"), make_url(url).database)
        self._built[(kind, name)] = (url, root)
        return url, root

    def restore(self, db_url: str, root: Path, name: str = "",
                build: Callable[[], object] | None = None) -> None:
        """Make the database at ``db_url`` and the files under ``root`` the seeded ones: the
        demo province, plus what ``build`` adds to it when ``name`` is given (built once per
        backend; the same ``name`` must always mean the same ``build``).  Nothing may hold a
        connection to ``db_url`` (a test's app: dispose its engine first)."""
        source, seed_root = self._build(db_url, name, build)
        kind = make_url(db_url).get_backend_name()
        if kind == "sqlite":
            _sqlite_copy(source, db_url)
        else:
            self._clones[(kind, name)].take(make_url(db_url).database)
        if (seed_root / "evidence").exists():
            shutil.copytree(seed_root / "evidence", root / "evidence", dirs_exist_ok=True)

    def close(self) -> None:
        for clones in self._clones.values():
            clones.close()


def _sqlite_copy(source: str, target: str) -> None:
    # The backup API copies a consistent image whatever the WAL holds.
    with sqlite3.connect(make_url(source).database) as src, sqlite3.connect(make_url(target).database) as dst:
        src.backup(dst)
