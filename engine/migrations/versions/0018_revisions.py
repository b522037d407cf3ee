"""revisions: numbers the database moves when the calendar or the settings change

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06 23:00:00

- ``revision``: one row per revision (``calendar``), starting at a random number;
- triggers on ``calendar_override`` and ``platform_setting`` that move the ``calendar``
  revision on every insert, update and delete (:mod:`engine.revisions`), so that
  processes keep the working calendar until it changes instead of reading it every step.
"""

import sqlalchemy as sa
from alembic import op

from engine import revisions

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('revision',
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('n', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )
    revisions.install(op.get_bind())


def downgrade() -> None:
    revisions.drop(op.get_bind())
    op.drop_table('revision')
