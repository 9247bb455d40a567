"""placeholder for one line of work (b_intake); no schema change unless it says so below

Revision ID: i11b_intake
Revises: i11a_integrity_base
Create Date: 2026-12-02 11:40:00

"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


revision = 'i11b_intake'
down_revision = 'i11a_integrity_base'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
