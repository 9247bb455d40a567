"""cellidx: rollup_cell (measure_id, stratum_id) INCLUDE (n, sat, s1, s2); rollup_state.version

Revision ID: i16b_cellidx
Revises: i15d_watermark
Create Date: 2026-12-07 16:20:00

A unit's standing ranks it among every unit on the overall score: one measure's cells of all
units, 1 row in ~30 of rollup_cell, which its primary key (stratum_id, measure_id) cannot find
without reading them all.  The index finds them and carries the sums (PostgreSQL INCLUDE;
SQLite has no INCLUDE and indexes the two keys only), so the read is an index-only scan.

``rollup_state.version``: changed by every writer of a survey's rollup cells in its own
transaction (survey/indices/rollups.py ``changed``), so a worker that holds the cells of a
version need not read them again (survey/indices/rollup_read.py).  A later migration that
writes rollup_stratum or rollup_cell must change it too (or delete the state row).  Existing
rows get a random version here: 0 means "unknown" and is never cached.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'i16b_cellidx'
down_revision = 'i16a_wide'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_rollup_cell_measure', 'rollup_cell', ['measure_id', 'stratum_id'],
                    unique=False, postgresql_include=['n', 'sat', 's1', 's2'])
    with op.batch_alter_table('rollup_state', schema=None) as batch_op:
        batch_op.add_column(sa.Column('version', sa.BigInteger(), server_default=sa.text('0'),
                                      nullable=False))
    if op.get_bind().dialect.name == "sqlite":
        op.execute("UPDATE rollup_state SET version = abs(random() % 9223372036854775807) + 1")
    else:
        op.execute("UPDATE rollup_state SET version = "
                   "floor(random() * 9223372036854775000)::bigint + 1")


def downgrade():
    with op.batch_alter_table('rollup_state', schema=None) as batch_op:
        batch_op.drop_column('version')
    op.drop_index('ix_rollup_cell_measure', table_name='rollup_cell')
