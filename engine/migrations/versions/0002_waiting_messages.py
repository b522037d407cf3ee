"""messages between dossiers: the waiting_message index, sender/receiver/error on message

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 16:00:00
"""

import sqlalchemy as sa
from alembic import op

import engine.db

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('waiting_message',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('dossier_id', sa.Integer(), nullable=False),
    sa.Column('task_guid', sa.String(length=36), nullable=False),
    sa.Column('spec_name', sa.String(length=255), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('correlation', sa.String(length=255), nullable=False),
    sa.Column('created_at', engine.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['dossier_id'], ['dossier.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('task_guid', 'name')
    )
    with op.batch_alter_table('waiting_message', schema=None) as batch_op:
        batch_op.create_index('ix_waiting_message_lookup', ['name', 'correlation'], unique=False)
        batch_op.create_index('ix_waiting_message_dossier', ['dossier_id'], unique=False)

    # Existing rows (none were ever written before this revision) get empty defaults.
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sender_dossier_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('receiver_dossier_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('sender_task', sa.String(length=255), nullable=False,
                                      server_default=''))
        batch_op.add_column(sa.Column('last_error', sa.Text(), nullable=False,
                                      server_default=''))
        batch_op.create_foreign_key('fk_message_sender_dossier', 'dossier',
                                    ['sender_dossier_id'], ['id'])
        batch_op.create_foreign_key('fk_message_receiver_dossier', 'dossier',
                                    ['receiver_dossier_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.drop_constraint('fk_message_receiver_dossier', type_='foreignkey')
        batch_op.drop_constraint('fk_message_sender_dossier', type_='foreignkey')
        batch_op.drop_column('last_error')
        batch_op.drop_column('sender_task')
        batch_op.drop_column('receiver_dossier_id')
        batch_op.drop_column('sender_dossier_id')
    with op.batch_alter_table('waiting_message', schema=None) as batch_op:
        batch_op.drop_index('ix_waiting_message_dossier')
        batch_op.drop_index('ix_waiting_message_lookup')
    op.drop_table('waiting_message')
