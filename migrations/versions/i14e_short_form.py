"""short form: a survey setting to ask one item per component plus overall

Revision ID: i14e_short_form
Revises: i14c_letterhead
Create Date: 2026-12-07 05:45:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'i14e_short_form'
down_revision = 'i14c_letterhead'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('survey', schema=None) as batch_op:
        batch_op.add_column(sa.Column('short_form', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade():
    with op.batch_alter_table('survey', schema=None) as batch_op:
        batch_op.drop_column('short_form')
