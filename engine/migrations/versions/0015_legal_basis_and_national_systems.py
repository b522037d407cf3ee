"""legal basis and national systems: platform settings, a dossier's form set and national
code, the applicant's notice channels

Revision ID: 0015
Revises: 0013
Create Date: 2026-12-06 08:00:00

- ``platform_setting``: values an administrator sets (close of day, afternoon cut-off, the
  form set in force and the dates form sets apply from);
- ``dossier.form_set``: the form set (Circular 01/2018 or 03/2025…) chosen at receipt;
- ``dossier.national_code``: the national portal's code, stored when it answers a sync;
- ``user_account.notify_channels``: e-mail, SMS or both.
"""

import sqlalchemy as sa
from alembic import op

import engine.db

revision = '0015'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'platform_setting',
        sa.Column('key', sa.String(length=80), nullable=False),
        sa.Column('value', sa.Text(), nullable=False),
        sa.Column('updated_at', engine.db.UTCDateTime(), nullable=False),
        sa.Column('updated_by', sa.String(length=80), nullable=False),
        sa.PrimaryKeyConstraint('key'),
    )
    with op.batch_alter_table('dossier') as batch:
        batch.add_column(sa.Column('form_set', sa.String(length=40), nullable=True))
        batch.add_column(sa.Column('national_code', sa.String(length=80), nullable=True))
    with op.batch_alter_table('user_account') as batch:
        batch.add_column(sa.Column('notify_channels', sa.String(length=20), nullable=False,
                                   server_default='email'))


def downgrade() -> None:
    with op.batch_alter_table('user_account') as batch:
        batch.drop_column('notify_channels')
    with op.batch_alter_table('dossier') as batch:
        batch.drop_column('national_code')
        batch.drop_column('form_set')
    op.drop_table('platform_setting')
