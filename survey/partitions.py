"""Period partitions on PostgreSQL: `flask partitions ensure|archive|list` (docs/scale.md §5).

Migration i15b_parts made response, answer and response_score PARTITION BY LIST (period), one
partition per half-year (``response_2026_h2``) and a DEFAULT partition so a submission never
fails for want of a partition. This module keeps that layout going:

- ``ensure`` (cron, daily or monthly; idempotent): the current and the next half-year's
  partitions of every partitioned table, and any period whose rows landed in a DEFAULT partition
  (cron missed the turn of a half-year) moved out into its own partition.
- ``archive``: an old period out of the database: DETACH, pg_dump of its partitions, DROP, its
  response_key rows deleted. Its rollup cells stay, so its published figures remain.
- ``record_keys``: the global idempotency keys (response_key) for writers other than the
  citizen store statement, which inserts its key itself (survey/intake/responses.py).

SQLite has no partitions: everything here is a no-op there (or refused, for archive).
pg_partman is not used: it manages partitions on a time or integer control column, and the key
here is the text period (see docs/scale.md §5 for the choice).
"""
from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable

import click
from flask.cli import with_appcontext
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from survey.catalog.periods import following, period_of, period_problem
from survey.extensions import db

# Parents before children (answer's foreign key needs its response partition attached first).
# Partitioning one more table with a period column: one entry here and in the migration.
TABLES = ("response", "answer", "response_score")
KEY = "period"
# Child table -> the table its rows belong to: each partition of the child has a foreign key to
# the parent's partition of the same period (cheap to check: a plain table), made by link_sql.
REFERENCES = {"answer": "response"}
_PARTITION = re.compile(r"^(?:%s)_(?:\d{4}_h[12]|default)$" % "|".join(TABLES))


def suffix(period: str) -> str:
    """'2026-H2' -> '2026_h2', the partitions' name suffix."""
    return period.lower().replace("-", "_")


def link_sql(child: str, parent: str, period_suffix: str) -> str:
    """The foreign key from a child's partition to its parent's partition of the same period."""
    return (f"ALTER TABLE {child}_{period_suffix} ADD CONSTRAINT fk_{child}_{period_suffix}_{parent} "
            f"FOREIGN KEY (response_id, {KEY}) REFERENCES {parent}_{period_suffix} (id, {KEY}) ON DELETE CASCADE")


def is_partition_name(name: str) -> bool:
    return bool(_PARTITION.match(name))


def partitioned(conn: Connection) -> list[str]:
    """The tables of TABLES that are partitioned here (none on SQLite)."""
    if conn.dialect.name != "postgresql":
        return []
    found = {r[0] for r in conn.execute(text(
        "SELECT relname FROM pg_class WHERE relkind = 'p' AND relname = ANY(:t) "
        "AND relnamespace = 'public'::regnamespace"), {"t": list(TABLES)})}
    return [t for t in TABLES if t in found]


def partitions(conn: Connection, table: str) -> dict[str, str]:
    """{period or 'DEFAULT': partition name} of a partitioned table."""
    rows = conn.execute(text(
        "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i "
        "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = CAST(:t AS regclass)"), {"t": table})
    found = {}
    for name, bound in rows:
        values = re.findall(r"'([^']*)'", bound)
        found[values[0] if values else "DEFAULT"] = name
    return found


def scanned(plan: Iterable[str], table: str) -> set[str]:
    """The partitions of `table` an EXPLAIN plan (its lines) reads (index names left out)."""
    found = set()
    for line in plan:
        if "Bitmap Index Scan" not in line:
            found |= set(re.findall(rf" on ({table}_\w+)", line))
    return found


def record_keys(conn: Any, response_ids: Iterable[int]) -> None:
    """The global idempotency keys of responses stored without the citizen store statement (bulk
    loaders, demo data, the ORM): a key stored before in any period fails the caller's
    transaction. ``conn``: a Connection or Session. No-op where response is not partitioned."""
    ids = sorted(set(response_ids))
    bind = conn.get_bind() if hasattr(conn, "get_bind") else conn
    if not ids or bind.dialect.name != "postgresql":
        return
    conn.execute(text("INSERT INTO response_key (idempotency_key, period, response_id) "
                      "SELECT idempotency_key, period, id FROM response WHERE id = ANY(:ids)"), {"ids": ids})


def forget_keys(conn: Any, like: str) -> None:
    """Delete the response_key rows whose key matches `like` (demo data being replaced)."""
    bind = conn.get_bind() if hasattr(conn, "get_bind") else conn
    if bind.dialect.name == "postgresql":
        conn.execute(text("DELETE FROM response_key WHERE idempotency_key LIKE :k"), {"k": like})


@dataclass(frozen=True)
class Ensured:
    created: list[str]  # partitions made
    moved: dict[str, int]  # partition -> rows moved out of its table's DEFAULT partition


def ensure(conn: Connection, now: datetime | None = None) -> Ensured:
    """Create the current and next half-year's partitions, and a partition for any period with
    rows in a DEFAULT partition (moving them), in the caller's transaction. Idempotent.

    A new partition is built as a plain table and then ATTACHed: ATTACH locks the parent in
    SHARE UPDATE EXCLUSIVE mode (reads go on), where CREATE TABLE ... PARTITION OF would lock
    it exclusively (docs/scale.md §5)."""
    tables = partitioned(conn)
    if not tables:
        return Ensured([], {})
    current = period_of(now or datetime.now(timezone.utc))
    wanted = {current, following(current)}
    for table in tables:
        default = partitions(conn, table).get("DEFAULT")
        if default:
            wanted |= {r[0] for r in conn.execute(text(f"SELECT DISTINCT {KEY} FROM {default}"))}
    created, moved = [], {}
    for period in sorted(wanted):
        missing = [t for t in tables if period not in partitions(conn, t)]
        if not missing:
            continue
        defaults = [partitions(conn, t).get("DEFAULT") for t in missing]
        if any(defaults):
            # No new row of this period may reach a DEFAULT partition until it is attached.
            conn.execute(text(f"LOCK TABLE {', '.join(d for d in defaults if d)} IN EXCLUSIVE MODE"))
        for table, default in zip(missing, defaults):
            name = f"{table}_{suffix(period)}"
            conn.execute(text(f"CREATE TABLE {name} (LIKE {table} INCLUDING DEFAULTS)"))
            if default:
                count = conn.execute(text(f"INSERT INTO {name} SELECT * FROM {default} WHERE {KEY} = :p"),
                                     {"p": period}).rowcount
                if count:
                    moved[name] = count
        for table, default in reversed(list(zip(missing, defaults))):  # children's rows first
            if default and f"{table}_{suffix(period)}" in moved:
                conn.execute(text(f"DELETE FROM {default} WHERE {KEY} = :p"), {"p": period})
        for table in missing:
            name = f"{table}_{suffix(period)}"
            conn.execute(text(f"ALTER TABLE {table} ATTACH PARTITION {name} FOR VALUES IN ('{period}')"))
            created.append(name)
        for child, parent in REFERENCES.items():
            if child in missing and parent in tables:
                conn.execute(text(link_sql(child, parent, suffix(period))))
    return Ensured(created, moved)


class ArchiveRefused(Exception):
    """Why a period cannot be archived (nothing was changed)."""


def archive(engine: Engine, period: str, dump: Path, libpq_url: str, now: datetime | None = None) -> int:
    """Detach the period's partitions, pg_dump them to `dump`, drop them and delete the period's
    response_key rows; returns the responses archived. The detach is committed before pg_dump
    (which reads in its own session) and undone if pg_dump fails.

    Refused for the current period and later ones (still written to), where there is no
    partition of the period, and on SQLite. The rollup cells of the period stay: its figures are
    still published, but `flask rollup --rebuild` (or rollups.reset) would lose them."""
    with engine.connect() as conn:
        tables = partitioned(conn)
        if not tables:
            raise ArchiveRefused("Chỉ lưu trữ được kỳ trên PostgreSQL đã phân vùng theo kỳ.")
        if period >= period_of(now or datetime.now(timezone.utc)):
            raise ArchiveRefused(f"Kỳ {period} là kỳ hiện tại hoặc sau đó: không lưu trữ được.")
        names = {t: partitions(conn, t).get(period, "") for t in tables}
        if not all(names.values()):
            raise ArchiveRefused(f"Kỳ {period} không có phân vùng riêng: không có gì để lưu trữ.")
        count = conn.execute(text(f"SELECT count(*) FROM {names['response']}")).scalar_one()
    with engine.begin() as conn:
        # DETACH (CONCURRENTLY is not allowed with a DEFAULT partition) holds an exclusive lock
        # on the parent for milliseconds, once it has it: give up rather than queue citizens'
        # inserts behind a long report query.
        conn.execute(text("SET LOCAL lock_timeout = '5s'"))
        # Children first; the answer partition's foreign key names the response partition, so
        # the pair leaves (and is dumped and dropped) together.
        for table in reversed(tables):
            conn.execute(text(f"ALTER TABLE {table} DETACH PARTITION {names[table]}"))
    try:
        subprocess.run(["pg_dump", "--format=custom", "--no-owner", "--file", str(dump),
                        *[a for t in tables for a in ("--table", names[t])], libpq_url],
                       check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError):
        with engine.begin() as conn:  # back as it was
            for table in tables:
                conn.execute(text(f"ALTER TABLE {table} ATTACH PARTITION {names[table]} FOR VALUES IN ('{period}')"))
        raise
    with engine.begin() as conn:
        conn.execute(text(f"DROP TABLE {', '.join(names[t] for t in tables)}"))
        conn.execute(text("DELETE FROM response_key WHERE period = :p"), {"p": period})
    return int(count)


def include_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    """Alembic autogenerate filter: what partitioning makes PostgreSQL differ from the models on
    purpose (the models describe the unpartitioned schema, which SQLite has): the partitions,
    response_key, and the keys that gained the period."""
    if type_ == "table" and name is not None and (name == "response_key" or is_partition_name(name)):
        return False
    if type_ in ("unique_constraint", "foreign_key_constraint", "index") and name in PERIOD_KEYS:
        return False
    # PostgreSQL's own copies of a foreign key into a partitioned table, one per partition.
    if type_ == "foreign_key_constraint" and is_partition_name(obj.referred_table.name):
        return False
    return True


# Constraints that differ on PostgreSQL: uq_response_idempotency_key is (idempotency_key, period)
# there (response_key keeps the key unique across periods); the answer's foreign key is one per
# partition, (response_id, period) -> the response partition of the same period (link_sql).
PERIOD_KEYS = {"uq_response_idempotency_key", "fk_answer_response_id_response"}


@click.group("partitions")
def partitions_command() -> None:
    """Period partitions of responses and answers (PostgreSQL; docs/scale.md §5)."""


@partitions_command.command("ensure")
@with_appcontext
def ensure_command() -> None:
    """Create the current and next half-year's partitions (cron; idempotent)."""
    with db.engine.begin() as conn:
        done = ensure(conn)
    if not partitioned_here():
        click.echo("Cơ sở dữ liệu không phân vùng theo kỳ (SQLite): không có gì để làm.")
        return
    for name in done.created:
        moved = done.moved.get(name)
        click.echo(f"Đã tạo phân vùng {name}" + (f" (chuyển {moved} dòng từ phân vùng mặc định)" if moved else ""))
    if not done.created:
        click.echo("Các phân vùng của kỳ hiện tại và kỳ sau đã có.")


@partitions_command.command("list")
@with_appcontext
def list_command() -> None:
    """Every partition with its rows (estimated) and size."""
    with db.engine.connect() as conn:
        for table in partitioned(conn):
            for period, name in sorted(partitions(conn, table).items()):
                rows, size = conn.execute(text(
                    "SELECT reltuples::bigint, pg_size_pretty(pg_total_relation_size(oid)) FROM pg_class "
                    "WHERE oid = CAST(:n AS regclass)"), {"n": name}).one()
                click.echo(f"{table}\t{period}\t{name}\t{max(rows, 0)}\t{size}")


@partitions_command.command("archive")
@click.argument("period")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Tệp pg_dump (định dạng custom) của các phân vùng của kỳ.")
@with_appcontext
def archive_command(period: str, output: Path) -> None:
    """Move an old PERIOD out of the database into a pg_dump file (DETACH, pg_dump, DROP)."""
    from survey.backup import _libpq
    from survey.services import audit

    problem = period_problem(period)
    if problem:
        raise click.BadParameter(problem, param_hint="PERIOD")
    if output.exists():
        raise click.ClickException(f"{output} đã có: không ghi đè.")
    url = db.engine.url.render_as_string(hide_password=False)
    try:
        count = archive(db.engine, period, output, _libpq(url))
    except ArchiveRefused as refused:
        raise click.ClickException(str(refused)) from None
    except subprocess.CalledProcessError as failed:
        raise click.ClickException("pg_dump lỗi, các phân vùng đã được gắn lại: "
                                   + failed.stderr.decode(errors="replace")) from None
    audit.record("partition_archive", period=period, responses=count, file=output.name)
    db.session.commit()
    click.echo(f"Đã lưu trữ kỳ {period}: {count} phiếu vào {output}; số liệu tổng hợp của kỳ được giữ nguyên.")


def partitioned_here() -> bool:
    with db.engine.connect() as conn:
        return bool(partitioned(conn))
