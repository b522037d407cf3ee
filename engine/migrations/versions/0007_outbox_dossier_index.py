"""outbox dossier index: a dossier's notifications by index

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 10:00:00

Every status look-up (GET /api/v1/dossiers/{code}, the dossier pages) lists the dossier's
notifications: ``outbox WHERE dossier_id = …``. Without an index that read scans the whole
outbox, which grows by several e-mails per dossier and is never emptied.
"""

from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_outbox_dossier', 'outbox', ['dossier_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_outbox_dossier', table_name='outbox')
