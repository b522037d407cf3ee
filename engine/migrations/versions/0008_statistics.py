"""statistics: the appointment before any apology, the hand-over, counter receptions,
ratings and the scorecard's rules (engine/stats_models.py)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 08:00:00

``dossier.original_due_at`` is backfilled from ``due_at``: for a dossier given an apology
before this revision the appointment it replaced is only in the audit log, so such a dossier
is judged against its new date (as it was until now).
"""

import sqlalchemy as sa
from alembic import op

import engine.db

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('dossier', schema=None) as batch_op:
        batch_op.add_column(sa.Column('original_due_at', engine.db.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('returned_at', engine.db.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('return_method', sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column('received_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_dossier_received_by', 'user_account',
                                    ['received_by_id'], ['id'])
        batch_op.create_index('ix_dossier_received_at', ['received_at'], unique=False)
        batch_op.create_index('ix_dossier_finished_at', ['finished_at'], unique=False)
    op.execute("UPDATE dossier SET original_due_at = due_at")
    op.execute("UPDATE dossier SET returned_at = finished_at WHERE status = 'returned'")
    op.create_table('rating',
    sa.Column('dossier_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('scores', sa.JSON(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('place', sa.String(length=10), nullable=False),
    sa.Column('created_at', engine.db.UTCDateTime(), nullable=False),
    sa.Column('updated_at', engine.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['dossier_id'], ['dossier.id'], ),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], ),
    sa.PrimaryKeyConstraint('dossier_id')
    )
    op.create_table('scorecard_rule',
    sa.Column('indicator', sa.String(length=60), nullable=False),
    sa.Column('points', sa.Float(), nullable=False),
    sa.Column('threshold', sa.Float(), nullable=False),
    sa.Column('confirmed', sa.Boolean(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('updated_by', sa.String(length=80), nullable=False),
    sa.Column('updated_at', engine.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('indicator')
    )


def downgrade() -> None:
    op.drop_table('scorecard_rule')
    op.drop_table('rating')
    with op.batch_alter_table('dossier', schema=None) as batch_op:
        batch_op.drop_index('ix_dossier_finished_at')
        batch_op.drop_index('ix_dossier_received_at')
        batch_op.drop_constraint('fk_dossier_received_by', type_='foreignkey')
        batch_op.drop_column('received_by_id')
        batch_op.drop_column('return_method')
        batch_op.drop_column('returned_at')
        batch_op.drop_column('original_due_at')
