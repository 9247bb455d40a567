"""placeholder for one line of work (e_sessions); no schema change unless it says so below

Revision ID: i11e_sessions
Revises: i11d_links
Create Date: 2026-12-02 11:40:00

"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


revision = 'i11e_sessions'
down_revision = 'i11d_links'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
