"""incidents: back-off for timers and messages, the failed element, suspended dossiers

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 08:00:00

A timer or message whose step fails is tried again after an exponential back-off
(``attempts``, ``next_attempt_at``) before it is set aside as failed, with the element that
failed; an administrator sees it in the operations console (/admin/su-co) and may suspend
a dossier's processing (``dossier.suspended_at``). See :mod:`engine.incidents`.
"""

import sqlalchemy as sa
from alembic import op

import engine.db

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ('timer', 'message'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('attempts', sa.Integer(), nullable=False,
                                          server_default='0'))
            batch_op.add_column(sa.Column('next_attempt_at', engine.db.UTCDateTime(), nullable=True))
            batch_op.add_column(sa.Column('failed_element', sa.String(length=255),
                                          nullable=False, server_default=''))
    with op.batch_alter_table('dossier', schema=None) as batch_op:
        batch_op.add_column(sa.Column('suspended_at', engine.db.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('dossier', schema=None) as batch_op:
        batch_op.drop_column('suspended_at')
    for table in ('message', 'timer'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('failed_element')
            batch_op.drop_column('next_attempt_at')
            batch_op.drop_column('attempts')
