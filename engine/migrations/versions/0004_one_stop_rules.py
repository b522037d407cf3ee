"""one-stop rules: clock stops, cooperating dossiers, procedure agencies, registries

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 20:40:00
"""

import sqlalchemy as sa
from alembic import op

import engine.db

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('agency', schema=None) as batch_op:
        batch_op.add_column(sa.Column('address', sa.String(length=500), nullable=False,
                                      server_default=''))
        batch_op.add_column(sa.Column('active', sa.Boolean(), nullable=False,
                                      server_default=sa.true()))
    with op.batch_alter_table('dossier', schema=None) as batch_op:
        batch_op.add_column(sa.Column('parent_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('process_id', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('clock_stopped_at', engine.db.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('paused_working_days', sa.Integer(), nullable=False,
                                      server_default='0'))
        batch_op.add_column(sa.Column('supplement_count', sa.Integer(), nullable=False,
                                      server_default='0'))
        batch_op.create_foreign_key('fk_dossier_parent', 'dossier', ['parent_id'], ['id'])
        batch_op.create_index('ix_dossier_parent', ['parent_id'], unique=False)
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attachments', sa.JSON(), nullable=False,
                                      server_default='[]'))
    op.create_table('procedure_agency',
    sa.Column('procedure_id', sa.Integer(), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['agency.id'], ),
    sa.ForeignKeyConstraint(['procedure_id'], ['procedure.id'], ),
    sa.PrimaryKeyConstraint('procedure_id', 'agency_id')
    )
    op.create_table('clock_stop',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('dossier_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=40), nullable=False),
    sa.Column('started_at', engine.db.UTCDateTime(), nullable=False),
    sa.Column('ended_at', engine.db.UTCDateTime(), nullable=True),
    sa.Column('working_days', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['dossier_id'], ['dossier.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('clock_stop', schema=None) as batch_op:
        batch_op.create_index('ix_clock_stop_dossier', ['dossier_id'], unique=False)
    op.create_table('code_sequence',
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('last', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )
    op.create_table('registry_entry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('registry', sa.String(length=80), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('number', sa.String(length=80), nullable=True),
    sa.Column('kind', sa.String(length=80), nullable=False),
    sa.Column('dossier_id', sa.Integer(), nullable=True),
    sa.Column('attributes', sa.JSON(), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=True),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('created_at', engine.db.UTCDateTime(), nullable=False),
    sa.Column('closed_at', engine.db.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['dossier_id'], ['dossier.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('registry', 'number')
    )
    with op.batch_alter_table('registry_entry', schema=None) as batch_op:
        batch_op.create_index('ix_registry_key', ['registry', 'key', 'status'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('registry_entry', schema=None) as batch_op:
        batch_op.drop_index('ix_registry_key')
    op.drop_table('registry_entry')
    op.drop_table('code_sequence')
    with op.batch_alter_table('clock_stop', schema=None) as batch_op:
        batch_op.drop_index('ix_clock_stop_dossier')
    op.drop_table('clock_stop')
    op.drop_table('procedure_agency')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_column('attachments')
    with op.batch_alter_table('dossier', schema=None) as batch_op:
        batch_op.drop_index('ix_dossier_parent')
        batch_op.drop_constraint('fk_dossier_parent', type_='foreignkey')
        batch_op.drop_column('supplement_count')
        batch_op.drop_column('paused_working_days')
        batch_op.drop_column('clock_stopped_at')
        batch_op.drop_column('process_id')
        batch_op.drop_column('parent_id')
    with op.batch_alter_table('agency', schema=None) as batch_op:
        batch_op.drop_column('active')
        batch_op.drop_column('address')
