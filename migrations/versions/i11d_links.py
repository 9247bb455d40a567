"""placeholder for one line of work (d_links); no schema change unless it says so below

Revision ID: i11d_links
Revises: i11c_review
Create Date: 2026-12-02 11:40:00

"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


revision = 'i11d_links'
down_revision = 'i11c_review'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
