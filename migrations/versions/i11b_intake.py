"""intake: response.dossier_hash gives way to used_dossier (a response no longer knows its dossier)

Revision ID: i11b_intake
Revises: i11a_integrity_base
Create Date: 2026-12-02 11:40:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'i11b_intake'
down_revision = 'i11a_integrity_base'
branch_labels = None
depends_on = None


def upgrade():
    # Dossiers already rated stay rated: their hashes move to used_dossier, without the response.
    op.execute(
        "INSERT INTO used_dossier (survey_id, dossier_hash) "
        "SELECT DISTINCT survey_id, dossier_hash FROM response WHERE dossier_hash IS NOT NULL"
    )
    with op.batch_alter_table('response', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_response_survey_id_dossier_hash'), type_='unique')
        batch_op.drop_column('dossier_hash')


def downgrade():
    # The link between a response and its dossier is gone for good: the column comes back empty.
    with op.batch_alter_table('response', schema=None) as batch_op:
        batch_op.add_column(sa.Column('dossier_hash', sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_response_survey_id_dossier_hash'),
                                          ['survey_id', 'dossier_hash'])
