"""`flask backup` and `flask restore`: a consistent copy of the whole database, and back.

PostgreSQL: pg_dump's custom format (compressed, restorable table by table) and pg_restore.
SQLite: the online backup API, which copies a consistent snapshot while the app keeps writing.
A restore goes only into an empty database, so it can never merge into or clobber live data.
"""
from __future__ import annotations

from typing import cast
import shutil
import sqlite3
import subprocess
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import inspect
from sqlalchemy.engine import make_url

from survey.extensions import db


def _libpq(url: str) -> str:
    """The SQLAlchemy URL as libpq understands it (no driver suffix)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _sqlite_path(url: str) -> Path:
    return Path(cast(str, make_url(url).database))  # a SQLite URL names its file


def _sqlite_copy(source: Path, target: Path) -> None:
    src, dest = sqlite3.connect(source), sqlite3.connect(target)
    try:
        with dest:
            src.backup(dest)
    finally:
        dest.close()
        src.close()


def backup_database(url: str, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    if url.startswith("sqlite"):
        _sqlite_copy(_sqlite_path(url), target)
        return
    if shutil.which("pg_dump") is None:
        raise click.ClickException("Không tìm thấy pg_dump: cài gói postgresql-client.")
    subprocess.run(["pg_dump", "--format=custom", "--no-owner", "--file", str(target), _libpq(url)],
                   check=True)


def restore_database(url: str, source: Path) -> None:
    if not source.is_file():
        raise click.ClickException(f"Không có tệp sao lưu {source}.")
    if url.startswith("sqlite"):
        path = _sqlite_path(url)
        if path.exists() and path.stat().st_size > 0 and _has_tables(url):
            raise click.ClickException(f"Cơ sở dữ liệu {path} đã có dữ liệu; chỉ khôi phục vào CSDL trống.")
        _sqlite_copy(source, path)
        return
    if _has_tables(url):
        raise click.ClickException("Cơ sở dữ liệu đích đã có bảng; chỉ khôi phục vào CSDL trống.")
    subprocess.run(["pg_restore", "--no-owner", "--exit-on-error", "--dbname", _libpq(url), str(source)],
                   check=True)


def _has_tables(url: str) -> bool:
    from sqlalchemy import create_engine

    engine = create_engine(url)
    try:
        return bool(inspect(engine).get_table_names())
    finally:
        engine.dispose()


@click.command("backup")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
@with_appcontext
def backup_command(output: Path) -> None:
    """Write a consistent backup of the whole database to OUTPUT."""
    backup_database(current_app.config["SQLALCHEMY_DATABASE_URI"], output)
    click.echo(f"Đã sao lưu vào {output} ({output.stat().st_size:,} byte).".replace(",", "."))


@click.command("restore")
@click.argument("source", type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def restore_command(source: Path) -> None:
    """Restore SOURCE (from `flask backup`) into the configured, empty database."""
    db.engine.dispose()  # the restore writes from outside this process's pool
    restore_database(current_app.config["SQLALCHEMY_DATABASE_URI"], source)
    click.echo(f"Đã khôi phục từ {source}.")
