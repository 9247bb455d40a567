"""placeholder for one line of work (f_officials); no schema change unless it says so below

Revision ID: i11f_officials
Revises: i11e_sessions
Create Date: 2026-12-02 11:40:00

"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


revision = 'i11f_officials'
down_revision = 'i11e_sessions'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
