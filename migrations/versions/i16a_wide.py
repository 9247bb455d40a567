"""wide: one response_score row per response, its measures' values as an array (ys)

Revision ID: i16a_wide
Revises: i15d_watermark
Create Date: 2026-12-07 16:40:00

~27 narrow rows per response, (response_id, measure, period, y), made the fold's GROUP BY
(stratum, measure) cost 45-62 s for 10^6 responses: a hash update per score row.  One row per
response, ``ys[k]`` = its value of the measure with rollup_measure id k (NULL where none; the
array ends at its highest measure), summed with one explicit aggregate per measure, took ~7 s
on the same data, and the table is 279 MB instead of 1344 MB (docs/scale.md §6).

PostgreSQL: ``float8[]``, converted in place (rows into a temporary table, TRUNCATE, the columns
and the primary key changed, rows back), so the table keeps its period partitions (migration
i15b_parts; survey/partitions.py makes new ones LIKE the parent).  SQLite has no arrays: a JSON
array text, written with 17 significant digits (json_array() keeps 15) so every float is read
back as stored; the table is rebuilt.  The statements are copied here as text so this
migration keeps meaning what it meant.  Downgrade gives back exactly the narrow rows.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'i16a_wide'
down_revision = 'i15d_watermark'
branch_labels = None
depends_on = None

# Every position 1..the response's highest measure, its value or NULL, in order.
PG_WIDE = (
    "CREATE TEMPORARY TABLE score_wide ON COMMIT DROP AS "
    "SELECT w.response_id, w.period, array_agg(s.y ORDER BY p.i) AS ys FROM "
    "(SELECT response_id, period, MAX(measure) AS top FROM response_score GROUP BY response_id, period) w "
    "CROSS JOIN LATERAL generate_series(1, w.top) AS p(i) LEFT JOIN response_score s "
    "ON s.response_id = w.response_id AND s.period = w.period AND s.measure = p.i "
    "GROUP BY w.response_id, w.period")
PG_NARROW = (
    "CREATE TEMPORARY TABLE score_narrow ON COMMIT DROP AS "
    "SELECT s.response_id, CAST(e.i AS SMALLINT) AS measure, s.period, e.y "
    "FROM response_score s CROSS JOIN LATERAL unnest(s.ys) WITH ORDINALITY AS e(y, i) "
    "WHERE e.y IS NOT NULL")
SQLITE_WIDE = (
    "WITH spos(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM spos "
    "WHERE i < (SELECT MAX(measure) FROM response_score)), "
    "sw AS (SELECT response_id, period, MAX(measure) AS top FROM response_score GROUP BY response_id, period) "
    "INSERT INTO response_score_new (response_id, period, ys) "
    "SELECT response_id, period, '[' || group_concat(CASE WHEN y IS NULL THEN 'null' ELSE printf('%!.17g', y) END, ',') || ']' "
    "FROM (SELECT sw.response_id, sw.period, p.i, s.y FROM sw JOIN spos AS p ON p.i <= sw.top "
    "LEFT JOIN response_score s ON s.response_id = sw.response_id AND s.period = sw.period "
    "AND s.measure = p.i ORDER BY sw.response_id, sw.period, p.i) GROUP BY response_id, period")
SQLITE_NARROW = (
    "INSERT INTO response_score_old (response_id, measure, period, y) "
    "SELECT s.response_id, e.key + 1, s.period, e.value FROM response_score s, json_each(s.ys) e "
    "WHERE e.value IS NOT NULL")


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_WIDE)
        op.execute("TRUNCATE response_score")
        op.execute("ALTER TABLE response_score DROP CONSTRAINT pk_response_score")
        op.execute("ALTER TABLE response_score DROP COLUMN measure, DROP COLUMN y, "
                   "ADD COLUMN ys FLOAT[] NOT NULL")
        op.execute("INSERT INTO response_score (response_id, period, ys) "
                   "SELECT response_id, period, ys FROM score_wide")
        op.execute("ALTER TABLE response_score ADD CONSTRAINT pk_response_score "
                   "PRIMARY KEY (response_id, period)")
        op.execute("ANALYZE response_score")
        return
    op.create_table('response_score_new',
    sa.Column('response_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('period', sa.String(length=8), nullable=False),
    sa.Column('ys', sa.ARRAY(sa.Float()).with_variant(sa.Text(), 'sqlite'), nullable=False),
    sa.PrimaryKeyConstraint('response_id', 'period', name='pk_response_score')
    )
    op.execute(SQLITE_WIDE)
    op.drop_table('response_score')
    op.rename_table('response_score_new', 'response_score')


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_NARROW)
        op.execute("TRUNCATE response_score")
        op.execute("ALTER TABLE response_score DROP CONSTRAINT pk_response_score")
        op.execute("ALTER TABLE response_score DROP COLUMN ys, ADD COLUMN measure SMALLINT NOT NULL, "
                   "ADD COLUMN y FLOAT NOT NULL")
        op.execute("INSERT INTO response_score (response_id, measure, period, y) "
                   "SELECT response_id, measure, period, y FROM score_narrow")
        op.execute("ALTER TABLE response_score ADD CONSTRAINT pk_response_score "
                   "PRIMARY KEY (response_id, measure, period)")
        op.execute("ANALYZE response_score")
        return
    op.create_table('response_score_old',
    sa.Column('response_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('measure', sa.SmallInteger(), nullable=False),
    sa.Column('period', sa.String(length=8), nullable=False),
    sa.Column('y', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('response_id', 'measure', 'period', name='pk_response_score')
    )
    op.execute(SQLITE_NARROW)
    op.drop_table('response_score')
    op.rename_table('response_score_old', 'response_score')
