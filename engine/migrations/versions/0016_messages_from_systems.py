"""messages from other systems: the system account that posted a message

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 09:00:00

- ``message.sender_user_id``: the system account that posted the message through
  ``POST /api/v1/messages`` (a message start event starts a dossier for it); empty for a
  message a dossier sent.
"""

import sqlalchemy as sa
from alembic import op

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('message') as batch:
        batch.add_column(sa.Column('sender_user_id', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('message') as batch:
        batch.drop_column('sender_user_id')
