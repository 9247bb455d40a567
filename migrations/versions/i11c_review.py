"""placeholder for one line of work (c_review); no schema change unless it says so below

Revision ID: i11c_review
Revises: i11b_intake
Create Date: 2026-12-02 11:40:00

"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


revision = 'i11c_review'
down_revision = 'i11b_intake'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
