"""step path: jobs run after commit, compressed workflow state

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 05:10:00
"""

import sqlalchemy as sa
from alembic import op

import engine.db

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('job',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('dossier_id', sa.Integer(), nullable=True),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', engine.db.UTCDateTime(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=False),
    sa.Column('created_at', engine.db.UTCDateTime(), nullable=False),
    sa.Column('finished_at', engine.db.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['dossier_id'], ['dossier.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key')
    )
    with op.batch_alter_table('job', schema=None) as batch_op:
        batch_op.create_index('ix_job_due', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index('ix_job_dossier', ['dossier_id'], unique=False)
    # Saved states become bytes: the old ones keep their JSON text as UTF-8 bytes, which
    # engine.spiff.load_state tells from zlib data by its first byte.
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("ALTER TABLE instance ALTER COLUMN state TYPE bytea "
                   "USING convert_to(state, 'UTF8')")
    else:
        with op.batch_alter_table('instance', schema=None) as batch_op:
            batch_op.alter_column('state', type_=sa.LargeBinary(), existing_nullable=False)
        op.execute("UPDATE instance SET state = CAST(state AS BLOB)")


def downgrade() -> None:
    # Compressed states cannot go back into a text column; the downgrade keeps readable ones.
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("ALTER TABLE instance ALTER COLUMN state TYPE text "
                   "USING convert_from(state, 'UTF8')")
    else:
        with op.batch_alter_table('instance', schema=None) as batch_op:
            batch_op.alter_column('state', type_=sa.Text(), existing_nullable=False)
    with op.batch_alter_table('job', schema=None) as batch_op:
        batch_op.drop_index('ix_job_dossier')
        batch_op.drop_index('ix_job_due')
    op.drop_table('job')
