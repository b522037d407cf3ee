"""procedure data stores: the values of BPMN data stores, one row per procedure and store

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 08:00:00
"""

import sqlalchemy as sa
from alembic import op

import engine.db

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('procedure_data_store',
    sa.Column('procedure_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('value', sa.JSON(), nullable=False),
    sa.Column('updated_at', engine.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['procedure_id'], ['procedure.id'], ),
    sa.PrimaryKeyConstraint('procedure_id', 'name')
    )


def downgrade() -> None:
    op.drop_table('procedure_data_store')
