"""fold: response_score keyed by an integer measure (rollup_measure.id) instead of (kind, code)

Revision ID: i15c_fold
Revises: i15a_scores
Create Date: 2026-12-07 09:40:00

The fold and the live tail group ~27 score rows per response; with (kind, code text) in the key
most of their time went into hashing and comparing text (bench/indices_db.py).  Every measure
any question implies (likert5 item codes, their components, 'overall') gets its rollup_measure
row first, so each score row maps to one; the application keeps adding rows for new questions
(survey/indices/scores.py ensure_measures).  The statements are copied here as text so this
migration keeps meaning what it meant.

PostgreSQL: altered in place (ADD COLUMN, UPDATE, DROP COLUMN, a new primary key), which also
works when response_score is partitioned by period (migration i15b_parts).  SQLite: the table is
rebuilt (it cannot drop primary-key columns; a constraint's name is the table's own there).
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'i15c_fold'
down_revision = 'i15a_scores'
branch_labels = None
depends_on = None

MEASURES = (
    "INSERT INTO rollup_measure (kind, code) SELECT kind, code FROM ("
    "SELECT DISTINCT 1 AS kind, code FROM question WHERE type = 'likert5' UNION "
    "SELECT DISTINCT 2, component FROM question WHERE type = 'likert5' "
    "AND component IS NOT NULL AND component <> 'OVERALL' UNION "
    "SELECT 3, 'overall' UNION "
    "SELECT DISTINCT kind, code FROM response_score) x WHERE true ON CONFLICT (kind, code) DO NOTHING")
MEASURE_OF = ("(SELECT m.id FROM rollup_measure m "
              "WHERE m.kind = response_score.kind AND m.code = response_score.code)")


def upgrade():
    op.execute(MEASURES)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE response_score ADD COLUMN measure SMALLINT")
        op.execute("UPDATE response_score SET measure = m.id FROM rollup_measure m "
                   "WHERE m.kind = response_score.kind AND m.code = response_score.code")
        op.execute("ALTER TABLE response_score DROP CONSTRAINT pk_response_score")
        op.execute("ALTER TABLE response_score DROP COLUMN kind, DROP COLUMN code, "
                   "ALTER COLUMN measure SET NOT NULL")
        op.execute("ALTER TABLE response_score ADD CONSTRAINT pk_response_score "
                   "PRIMARY KEY (response_id, measure, period)")
        return
    op.create_table('response_score_new',
    sa.Column('response_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('measure', sa.SmallInteger(), nullable=False),
    sa.Column('period', sa.String(length=8), nullable=False),
    sa.Column('y', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('response_id', 'measure', 'period', name='pk_response_score')
    )
    op.execute("INSERT INTO response_score_new (response_id, measure, period, y) "
               f"SELECT response_id, {MEASURE_OF}, period, y FROM response_score")
    op.drop_table('response_score')
    op.rename_table('response_score_new', 'response_score')


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE response_score ADD COLUMN kind SMALLINT, ADD COLUMN code VARCHAR(32)")
        op.execute("UPDATE response_score SET kind = m.kind, code = m.code FROM rollup_measure m "
                   "WHERE m.id = response_score.measure")
        op.execute("ALTER TABLE response_score DROP CONSTRAINT pk_response_score")
        op.execute("ALTER TABLE response_score DROP COLUMN measure, ALTER COLUMN kind SET NOT NULL, "
                   "ALTER COLUMN code SET NOT NULL")
        op.execute("ALTER TABLE response_score ADD CONSTRAINT pk_response_score "
                   "PRIMARY KEY (response_id, kind, code, period)")
        return
    op.create_table('response_score_old',
    sa.Column('response_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.SmallInteger(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('period', sa.String(length=8), nullable=False),
    sa.Column('y', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('response_id', 'kind', 'code', 'period', name='pk_response_score')
    )
    op.execute("INSERT INTO response_score_old (response_id, kind, code, period, y) "
               "SELECT s.response_id, m.kind, m.code, s.period, s.y FROM response_score s "
               "JOIN rollup_measure m ON m.id = s.measure")
    op.drop_table('response_score')
    op.rename_table('response_score_old', 'response_score')
