"""scores: response_score, each response's per-measure values written at submission

Revision ID: i15a_scores
Revises: i14e_short_form
Create Date: 2026-12-07 05:30:00

The backfill is the application's own scoring statement (survey/indices/scores.py) over every
stored response, set-based, copied here as text so this migration keeps meaning what it meant
when the application's code moves on.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'i15a_scores'
down_revision = 'i14e_short_form'
branch_labels = None
depends_on = None

BACKFILL = (
    "WITH sv AS (SELECT s.response_id, s.period, q.code, q.component, s.value_int AS v "
    "FROM (SELECT a.response_id, r.period, a.question_id, a.value_int FROM answer a "
    "JOIN response r ON r.id = a.response_id) s JOIN question q ON q.id = s.question_id "
    "WHERE q.type = 'likert5' AND s.value_int BETWEEN 1 AND 5), "
    "sc AS (SELECT response_id, period, component, "
    "CAST(SUM(CASE WHEN v >= 4 THEN 1 ELSE 0 END) AS FLOAT) / COUNT(*) AS y "
    "FROM sv WHERE component IS NOT NULL AND component <> 'OVERALL' "
    "GROUP BY response_id, period, component) "
    "INSERT INTO response_score (response_id, kind, code, period, y) "
    "SELECT response_id, 1, code, period, CAST(v AS FLOAT) FROM sv UNION ALL "
    "SELECT response_id, 2, component, period, y FROM sc UNION ALL "
    "SELECT response_id, 3, 'overall', period, AVG(y) FROM sc GROUP BY response_id, period")


def upgrade():
    op.create_table('response_score',
    sa.Column('response_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.SmallInteger(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('period', sa.String(length=8), nullable=False),
    sa.Column('y', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('response_id', 'kind', 'code', 'period', name=op.f('pk_response_score'))
    )
    op.execute(BACKFILL)


def downgrade():
    op.drop_table('response_score')
