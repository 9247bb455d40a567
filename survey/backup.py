"""`flask backup` and `flask restore`: a consistent copy of the whole database, and back.

PostgreSQL: pg_dump's custom format (compressed, restorable table by table) and pg_restore.
SQLite: the online backup API, which copies a consistent snapshot while the app keeps writing.
A restore goes only into an empty database, so it can never merge into or clobber live data.

Evidence files (EVIDENCE_DIR, hồ sơ kiểm chứng of remediation tasks) go into a tar archive next
to the dump, `<FILE>.evidence.tar`, copied *after* the database: a file is written before its
row is committed, so every row in the dump has its file in the archive (a file without a row, from
an upload during the backup, is harmless). `flask restore FILE` puts them back when that archive
exists, into an empty EVIDENCE_DIR only.
"""
from __future__ import annotations

import re
import shutil
import sqlite3
import subprocess
import tarfile
from pathlib import Path
from typing import cast

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


EVIDENCE_SUFFIX = ".evidence.tar"
_STORED_NAME = re.compile(r"[0-9a-f]{32}")  # survey/remediation/files.py names files so


def evidence_archive(dump: Path) -> Path:
    return dump.with_name(dump.name + EVIDENCE_SUFFIX)


def backup_evidence(directory: Path, archive: Path) -> int:
    """Tar the stored evidence files (not temporary uploads); returns how many."""
    names = sorted(p.name for p in directory.iterdir() if _STORED_NAME.fullmatch(p.name)) \
        if directory.is_dir() else []
    with tarfile.open(archive, "w") as tar:  # PDFs, images and Office files are compressed already
        for name in names:
            tar.add(directory / name, arcname=name)
    return len(names)


def _refuse_filled(directory: Path) -> None:
    if directory.is_dir() and any(_STORED_NAME.fullmatch(p.name) for p in directory.iterdir()):
        raise click.ClickException(f"Thư mục hồ sơ kiểm chứng {directory} đã có tệp; "
                                   "chỉ khôi phục vào thư mục trống.")


def restore_evidence(archive: Path, directory: Path) -> int:
    """Unpack `archive` into an empty `directory`; only stored-file names, nothing else."""
    _refuse_filled(directory)
    directory.mkdir(parents=True, exist_ok=True)
    count = 0
    with tarfile.open(archive, "r") as tar:
        for member in tar.getmembers():
            if not (member.isfile() and _STORED_NAME.fullmatch(member.name)):
                raise click.ClickException(f"Tệp lưu trữ có mục lạ: {member.name!r}; không khôi phục.")
            source = tar.extractfile(member)
            assert source is not None  # member.isfile() was checked above; only links and dirs give None
            with open(directory / member.name, "wb") as out:
                shutil.copyfileobj(source, out)
            count += 1
    return count


@click.command("backup")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
@with_appcontext
def backup_command(output: Path) -> None:
    """Write a consistent backup of the whole database to OUTPUT, and the evidence files to
    OUTPUT.evidence.tar."""
    backup_database(current_app.config["SQLALCHEMY_DATABASE_URI"], output)
    click.echo(f"Đã sao lưu vào {output} ({output.stat().st_size:,} byte).".replace(",", "."))
    count = backup_evidence(Path(current_app.config["EVIDENCE_DIR"]), evidence_archive(output))
    click.echo(f"Hồ sơ kiểm chứng: {count} tệp trong {evidence_archive(output)}.")


@click.command("restore")
@click.argument("source", type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def restore_command(source: Path) -> None:
    """Restore SOURCE (from `flask backup`) into the configured, empty database."""
    db.engine.dispose()  # the restore writes from outside this process's pool
    archive = evidence_archive(source)
    if archive.is_file():  # checked first, so a refused archive leaves the database untouched
        _refuse_filled(Path(current_app.config["EVIDENCE_DIR"]))
    restore_database(current_app.config["SQLALCHEMY_DATABASE_URI"], source)
    click.echo(f"Đã khôi phục từ {source}.")
    if archive.is_file():
        count = restore_evidence(archive, Path(current_app.config["EVIDENCE_DIR"]))
        click.echo(f"Đã khôi phục {count} tệp hồ sơ kiểm chứng từ {archive}.")
