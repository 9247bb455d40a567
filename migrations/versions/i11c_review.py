"""review: index on response.flags for the review page's flagged groups

Revision ID: i11c_review
Revises: i11b_intake
Create Date: 2026-12-02 11:40:00

"""
from alembic import op

revision = 'i11c_review'
down_revision = 'i11b_intake'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('response', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_response_flags'), ['flags'], unique=False)


def downgrade():
    with op.batch_alter_table('response', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_response_flags'))
