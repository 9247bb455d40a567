"""parts: response, answer and response_score partitioned by period (PostgreSQL); answer.period

Revision ID: i15b_parts
Revises: i15c_fold
Create Date: 2026-12-07 09:30:00

PostgreSQL (docs/scale.md §5): each table becomes PARTITION BY LIST (period), one partition per
half-year present in the data plus the current and the next one, and a DEFAULT partition so a
submission never fails for want of a partition (`flask partitions ensure` moves any rows that land
there into their own partition). Rows, ids and the response id sequence are kept, in the one
transaction Alembic runs the migration in. Every unique constraint of a partitioned table must
include the partition key, so:

- response: primary key (id, period); idempotency_key unique per period only. Its global
  uniqueness, which the optimistic store relies on (a retry sent at 23:59 on 30 June and repeated
  at 00:01 on 1 July falls in another period), moves to response_key (idempotency_key PRIMARY KEY,
  period, response_id), not partitioned, inserted by the citizen store in the same statement as
  the response (survey/intake/responses.py) and by every other writer (survey/partitions.py).
  response_key has no foreign key: a key outlives its response on purpose (a purged rejected
  response's retry is still refused), and is deleted with its period's archive.
- answer: gains period (copied from its response), primary key (response_id, question_id,
  period). Its foreign key to response was the only one that pointed at response(id) (feedback,
  review, quarantine and dossier tables name no response: anonymity, DESIGN.md §7;
  response_score has none by design), checked below: the conversion refuses to run if another
  one appeared. It becomes one foreign key per period, from each answer partition to the
  response partition of the same period, (response_id, period) -> (id, period) ON DELETE
  CASCADE: the same integrity, but checked against a plain table. A foreign key to the
  partitioned response itself cost 36 µs per answer row at submission (0.86 ms for 24 answers,
  against 0.08 ms before), which the citizen path pays on every response.
- response_score: its primary key already has period; no foreign key (indices/scores.py).

SQLite has no partitioning: only answer.period is added (the ORM writes it on both databases).
"""
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'i15b_parts'
down_revision = 'i15c_fold'
branch_labels = None
depends_on = None

KEY = "period"
# Parents before children: answer's foreign key needs response's (id, period) key. Partitioning
# one more table that has a period column is one more entry here.
TABLES = ("response", "answer", "response_score")
# Keys that carry the period unpartitioned too (everything else gains it, and loses it again).
OWN_PERIOD = {"pk_response_score"}


def _period_of(moment):
    # As survey/catalog/periods.py says (a migration keeps meaning what it meant): half-years by
    # the clock in Vietnam (UTC+7, no summer time).
    local = moment.astimezone(timezone(timedelta(hours=7)))
    return f"{local.year}-H{1 if local.month <= 6 else 2}"


def _following(period):
    year, half = period.split("-H")
    return f"{year}-H2" if half == "1" else f"{int(year) + 1}-H1"


def _suffix(period):
    return period.lower().replace("-", "_")


def _rows(sql, **params):
    return op.get_bind().execute(sa.text(sql), params).all()


def _definitions(table):
    """What a table carries besides its columns, as SQL to run again on the rebuilt table: its
    primary key and unique constraints (columns), plain indexes and outgoing foreign keys."""
    keys = {}
    for name, kind, columns in _rows(
            "SELECT c.conname, c.contype, array_agg(a.attname ORDER BY k.i) FROM pg_constraint c "
            "CROSS JOIN LATERAL unnest(c.conkey) WITH ORDINALITY AS k(attnum, i) "
            "JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum "
            "WHERE c.conrelid = CAST(:t AS regclass) AND c.contype IN ('p', 'u') "
            "GROUP BY c.conname, c.contype", t=table):
        keys[name] = (kind, list(columns))
    indexes = [d.replace(" ON ONLY ", " ON ") for (d,) in _rows(
        "SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i WHERE i.indrelid = CAST(:t AS regclass) "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid "
        "AND c.conrelid = i.indrelid)", t=table)]
    foreign = _rows("SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                    "WHERE conrelid = CAST(:t AS regclass) AND contype = 'f'", t=table)
    sequences = _rows("SELECT a.attname, pg_get_serial_sequence(:t, a.attname) FROM pg_attribute a "
                      "WHERE a.attrelid = CAST(:t AS regclass) AND a.attnum > 0 AND NOT a.attisdropped "
                      "AND pg_get_serial_sequence(:t, a.attname) IS NOT NULL", t=table)
    columns = [c for (c,) in _rows("SELECT attname FROM pg_attribute WHERE attrelid = CAST(:t AS regclass) "
                                    "AND attnum > 0 AND NOT attisdropped ORDER BY attnum", t=table)]
    return keys, indexes, foreign, sequences, columns


def _rebuild(table, partitioned, periods=(), source=None):
    """Rebuild `table` with the same rows, ids, defaults, keys, indexes and outgoing foreign keys,
    partitioned by period (keys gain the period) or back to one table (keys lose it).

    `source` is the SELECT of the rows (columns in the new table's order) from ``<table>_old``.
    Foreign keys pointing at the table must be dropped before and made again after by the caller:
    the old table is dropped without CASCADE, so one that was missed stops the migration."""
    keys, indexes, foreign, sequences, columns = _definitions(table)
    old = f"{table}_old"
    op.execute(f"ALTER TABLE {table} RENAME TO {old}")
    for _column, sequence in sequences:
        op.execute(f"ALTER SEQUENCE {sequence} OWNED BY NONE")
    spec = f" PARTITION BY LIST ({KEY})" if partitioned else ""
    op.execute(f"CREATE TABLE {table} (LIKE {old} INCLUDING DEFAULTS){spec}")
    if partitioned:
        for period in periods:
            op.execute(f"CREATE TABLE {table}_{_suffix(period)} PARTITION OF {table} FOR VALUES IN ('{period}')")
        op.execute(f"CREATE TABLE {table}_default PARTITION OF {table} DEFAULT")
    names = ", ".join(columns)
    op.execute(f"INSERT INTO {table} ({names}) {source or f'SELECT {names} FROM {old}'}")
    op.execute(f"DROP TABLE {old}")  # frees the constraint and index names for the new table
    for column, sequence in sequences:
        op.execute(f"ALTER SEQUENCE {sequence} OWNED BY {table}.{column}")
    for name, (kind, cols) in keys.items():
        cols = [c for c in cols if c != KEY] + ([KEY] if partitioned or name in OWN_PERIOD else [])
        what = "PRIMARY KEY" if kind == "p" else "UNIQUE"
        op.execute(f"ALTER TABLE {table} ADD CONSTRAINT {name} {what} ({', '.join(cols)})")
    for statement in indexes:
        op.execute(statement)
    for name, definition in foreign:
        op.execute(f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}")
    op.execute(f"ANALYZE {table}")


def _referencing(table):
    return [(r, n) for r, n in _rows("SELECT conrelid::regclass::text, conname FROM pg_constraint "
                                     "WHERE contype = 'f' AND confrelid = CAST(:t AS regclass)", t=table)]


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        with op.batch_alter_table('answer', schema=None) as batch_op:
            batch_op.add_column(sa.Column('period', sa.String(length=8), nullable=True))
        op.execute("UPDATE answer SET period = (SELECT r.period FROM response r WHERE r.id = answer.response_id)")
        with op.batch_alter_table('answer', schema=None) as batch_op:
            batch_op.alter_column('period', existing_type=sa.String(length=8), nullable=False)
        return
    # The only foreign key into response (checked: anything else stops the migration here).
    # It becomes one foreign key per period between the partitions (below).
    found = _referencing("response")
    if found != [("answer", "fk_answer_response_id_response")]:
        raise RuntimeError(f"unexpected foreign keys into response: {found}")
    op.execute("ALTER TABLE answer DROP CONSTRAINT fk_answer_response_id_response")
    # A default is metadata only (no rewrite of the answers); the copy below fills the period.
    op.execute("ALTER TABLE answer ADD COLUMN period VARCHAR(8) NOT NULL DEFAULT ''")
    now = _period_of(datetime.now(timezone.utc))
    present = {p for (p,) in _rows("SELECT DISTINCT period FROM response")}
    periods = sorted(present | {now, _following(now)})
    _rebuild("response", True, periods)
    _rebuild("answer", True, periods,
             "SELECT a.response_id, a.question_id, a.value_int, a.value_text, a.na, r.period "
             "FROM answer_old a JOIN response r ON r.id = a.response_id")
    op.execute("ALTER TABLE answer ALTER COLUMN period DROP DEFAULT")
    _rebuild("response_score", True, periods)
    for suffix in [_suffix(p) for p in periods] + ["default"]:
        # As survey/partitions.py's link_sql (ensure makes the same for new periods).
        op.execute(f"ALTER TABLE answer_{suffix} ADD CONSTRAINT fk_answer_{suffix}_response FOREIGN KEY "
                   f"(response_id, period) REFERENCES response_{suffix} (id, period) ON DELETE CASCADE")
    op.execute("CREATE TABLE response_key (idempotency_key VARCHAR(64) NOT NULL, period VARCHAR(8) NOT NULL, "
               "response_id BIGINT NOT NULL, CONSTRAINT pk_response_key PRIMARY KEY (idempotency_key))")
    op.execute("INSERT INTO response_key SELECT idempotency_key, period, id FROM response")
    op.execute("ANALYZE response_key")


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        with op.batch_alter_table('answer', schema=None) as batch_op:
            batch_op.drop_column('period')
        return
    op.execute("DROP TABLE response_key")
    # The answer partitions' foreign keys to response partitions go with the partitions.
    for table in reversed(TABLES):
        _rebuild(table, False)
    op.execute("ALTER TABLE answer DROP COLUMN period")
    op.execute("ALTER TABLE answer ADD CONSTRAINT fk_answer_response_id_response FOREIGN KEY "
               "(response_id) REFERENCES response (id) ON DELETE CASCADE")
