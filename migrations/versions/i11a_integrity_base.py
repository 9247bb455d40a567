"""integrity base: response status/flags/verified, dossier links, used dossiers, client salt, session epoch

Revision ID: i11a_integrity_base
Revises: 76dd283d966b
Create Date: 2026-12-02 11:40:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'i11a_integrity_base'
down_revision = '76dd283d966b'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('response', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status', sa.String(length=12), server_default='counted', nullable=False))
        batch_op.add_column(sa.Column('flags', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('verified', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.create_index(batch_op.f('ix_response_status'), ['status'], unique=False)
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_epoch', sa.Integer(), server_default='0', nullable=False))
    op.create_table('dossier_link',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('survey_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('counter_id', sa.Integer(), nullable=True),
    sa.Column('dossier_hash', sa.String(length=64), nullable=False),
    sa.Column('service_field', sa.String(length=32), nullable=True),
    sa.Column('procedure_name', sa.String(length=255), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['counter_id'], ['counter.id'], name=op.f('fk_dossier_link_counter_id_counter')),
    sa.ForeignKeyConstraint(['created_by'], ['user_account.id'], name=op.f('fk_dossier_link_created_by_user_account')),
    sa.ForeignKeyConstraint(['survey_id'], ['survey.id'], name=op.f('fk_dossier_link_survey_id_survey')),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], name=op.f('fk_dossier_link_unit_id_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dossier_link'))
    )
    with op.batch_alter_table('dossier_link', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dossier_link_dossier_hash'), ['dossier_hash'], unique=False)
        batch_op.create_index(batch_op.f('ix_dossier_link_unit_id'), ['unit_id'], unique=False)
    op.create_table('used_dossier',
    sa.Column('survey_id', sa.Integer(), nullable=False),
    sa.Column('dossier_hash', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['survey_id'], ['survey.id'], name=op.f('fk_used_dossier_survey_id_survey')),
    sa.PrimaryKeyConstraint('survey_id', 'dossier_hash', name=op.f('pk_used_dossier'))
    )
    op.create_table('client_salt',
    sa.Column('day', sa.String(length=10), nullable=False),
    sa.Column('salt', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('day', name=op.f('pk_client_salt'))
    )


def downgrade():
    op.drop_table('client_salt')
    op.drop_table('used_dossier')
    with op.batch_alter_table('dossier_link', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dossier_link_unit_id'))
        batch_op.drop_index(batch_op.f('ix_dossier_link_dossier_hash'))
    op.drop_table('dossier_link')
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_column('session_epoch')
    with op.batch_alter_table('response', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_response_status'))
        batch_op.drop_column('verified')
        batch_op.drop_column('flags')
        batch_op.drop_column('status')
