"""watermark: the rollup says what it holds by a per-survey id watermark, not a mark per response

Revision ID: i15d_watermark
Revises: i15b_parts
Create Date: 2026-12-07 13:00:00

A fold used to mark every response it added (``response.rollup_batch``), rewriting each response
row and its indexes: 64 s of a 170 s fold of 10^6 responses. Now ``rollup_state.folded_to`` says
"every counted response of the survey with id <= this is in the sums", except the few in
``rollup_late`` (released from quarantine after the fold passed them); survey/indices/rollups.py.

Upgrade keeps every sum: each survey's watermark is its greatest folded id, and its counted
responses under it that were not folded go to the late set. A survey whose rollup holds a
response that is not counted (only possible by editing statuses outside the review page) is
forgotten instead, so the next ``flask rollup`` rebuilds it exactly. SQLite's response ids
become AUTOINCREMENT (never reused after a delete), which a watermark needs; PostgreSQL draws
them from a sequence already. Downgrade marks exactly the responses the rollup holds.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'i15d_watermark'
down_revision = 'i15b_parts'
branch_labels = None
depends_on = None

# The rollup holds: counted, under its survey's watermark, not late.
FOLDED = ("response.status = 'counted' AND response.id <= "
          "(SELECT folded_to FROM rollup_state s WHERE s.survey_id = response.survey_id) "
          "AND NOT EXISTS (SELECT 1 FROM rollup_late l WHERE l.survey_id = response.survey_id "
          "AND l.response_id = response.id)")


def _sqlite():
    return op.get_bind().dialect.name == "sqlite"


def _forget(where):
    """Delete the rollup of the surveys `where` (SQL over response.survey_id s) selects."""
    surveys = f"SELECT s FROM (SELECT DISTINCT survey_id AS s FROM response WHERE {where}) AS x"
    op.execute(f"DELETE FROM rollup_cell WHERE stratum_id IN "
               f"(SELECT id FROM rollup_stratum WHERE survey_id IN ({surveys}))")
    op.execute(f"DELETE FROM rollup_stratum WHERE survey_id IN ({surveys})")
    op.execute(f"DELETE FROM rollup_state WHERE survey_id IN ({surveys})")


def upgrade():
    with op.batch_alter_table('rollup_state', schema=None) as batch_op:
        batch_op.add_column(sa.Column('folded_to', sa.BigInteger(), server_default=sa.text('0'),
                                      nullable=False))
    op.create_table('rollup_late',
    sa.Column('survey_id', sa.Integer(), nullable=False),
    sa.Column('response_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['survey_id'], ['survey.id'], name=op.f('fk_rollup_late_survey_id_survey')),
    sa.PrimaryKeyConstraint('survey_id', 'response_id', name=op.f('pk_rollup_late'))
    )
    # A folded response that is not counted, or folded without a state row: rebuild that survey.
    _forget("rollup_batch IS NOT NULL AND (status <> 'counted' OR survey_id NOT IN "
            "(SELECT survey_id FROM rollup_state))")
    op.execute("UPDATE rollup_state SET folded_to = COALESCE((SELECT max(r.id) FROM response r "
               "WHERE r.survey_id = rollup_state.survey_id AND r.rollup_batch IS NOT NULL), 0)")
    op.execute("INSERT INTO rollup_late (survey_id, response_id) SELECT r.survey_id, r.id "
               "FROM response r JOIN rollup_state s ON s.survey_id = r.survey_id "
               "WHERE r.status = 'counted' AND r.rollup_batch IS NULL AND r.id <= s.folded_to")
    with op.batch_alter_table('response', schema=None,
                              table_kwargs={"sqlite_autoincrement": True}) as batch_op:
        batch_op.drop_index('ix_response_rollup_batch_id')
        batch_op.drop_column('rollup_batch')


def downgrade():
    # SQLite: rebuilt, so that its ids lose AUTOINCREMENT again (adding a column alone would not).
    with op.batch_alter_table('response', schema=None, recreate='always' if _sqlite() else 'auto',
                              table_kwargs={"sqlite_autoincrement": False}) as batch_op:
        batch_op.add_column(sa.Column('rollup_batch', sa.BigInteger(), nullable=True))
        batch_op.create_index('ix_response_rollup_batch_id', ['rollup_batch', 'id'], unique=False)
    op.execute(f"UPDATE response SET rollup_batch = 1 WHERE {FOLDED}")
    op.drop_table('rollup_late')
    with op.batch_alter_table('rollup_state', schema=None) as batch_op:
        batch_op.drop_column('folded_to')
