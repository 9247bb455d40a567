"""letterhead: the unit's document heading (Nghị định 30/2020/NĐ-CP) for reports and posters

Revision ID: i14c_letterhead
Revises: i13a_loop
Create Date: 2026-12-07 05:40:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'i14c_letterhead'
down_revision = 'i13a_loop'
branch_labels = None
depends_on = None

COLUMNS = (
    ('letterhead_parent', sa.String(length=255)),
    ('letterhead_issuer', sa.String(length=255)),
    ('letterhead_symbol', sa.String(length=32)),
    ('letterhead_place', sa.String(length=128)),
    ('letterhead_signer', sa.String(length=255)),
    ('letterhead_recipients', sa.Text()),
)


def upgrade():
    # batch_alter_table: SQLite cannot drop columns in place (downgrade), PostgreSQL ignores it.
    with op.batch_alter_table('unit', schema=None) as batch_op:
        for name, type_ in COLUMNS:
            batch_op.add_column(sa.Column(name, type_, nullable=True))


def downgrade():
    with op.batch_alter_table('unit', schema=None) as batch_op:
        for name, _type in reversed(COLUMNS):
            batch_op.drop_column(name)
