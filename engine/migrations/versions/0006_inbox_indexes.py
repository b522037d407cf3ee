"""inbox indexes: one partial index per arm of the inbox query

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 09:00:00

engine.inbox reads "assigned to me" from ``ix_task_assignee_due`` and "unclaimed for my
(role, agency)" from ``ix_task_unclaimed_due``, both partial (open tasks only) and ordered
by due date then id. ``ix_task_inbox`` (status, role_code, agency_id) served the old
``OR`` query, which used it for neither arm; nothing else reads by it.

The indexes are built inside the upgrade's transaction (a plain CREATE INDEX: it blocks
writes to human_task while it runs; open tasks are a small part of the table, which the
partial indexes alone cover).
"""

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

OPEN = "status = 'open'"
UNCLAIMED = "status = 'open' AND assignee_id IS NULL"


def upgrade() -> None:
    op.create_index('ix_task_assignee_due', 'human_task', ['assignee_id', 'due_at', 'id'],
                    unique=False, postgresql_where=sa.text(OPEN), sqlite_where=sa.text(OPEN))
    op.create_index('ix_task_unclaimed_due', 'human_task',
                    ['role_code', 'agency_id', 'due_at', 'id'], unique=False,
                    postgresql_where=sa.text(UNCLAIMED), sqlite_where=sa.text(UNCLAIMED))
    op.drop_index('ix_task_inbox', table_name='human_task')


def downgrade() -> None:
    op.create_index('ix_task_inbox', 'human_task', ['status', 'role_code', 'agency_id'],
                    unique=False)
    op.drop_index('ix_task_unclaimed_due', table_name='human_task')
    op.drop_index('ix_task_assignee_due', table_name='human_task')
