"""dossier agency/received index: an agency's dossiers newest first

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 08:00:00

The officers' dossier search (engine.dossier_search) lists the dossiers of their agency
newest first, a page at a time by keyset on (received_at, id): read backwards from this
index, a page is fifty entries however many dossiers the agency has.
"""

from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_dossier_agency_received', 'dossier', ['agency_id', 'received_at', 'id'],
                    unique=False)


def downgrade() -> None:
    op.drop_index('ix_dossier_agency_received', table_name='dossier')
