"""identity links: accounts signed in with the national identity (VNeID / national SSO)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 11:00:00

- ``identity_link``: the OpenID Connect identity (issuer, subject) an account signs in
  with, unique per identity and per account and issuer; the claims last received (forms
  prefill from them) and when it was linked and last used. An account with a link is
  "verified with the national ID app" in the national portal's records.
"""

import sqlalchemy as sa
from alembic import op

import engine.db

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('identity_link',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('issuer', sa.String(length=500), nullable=False),
    sa.Column('subject', sa.String(length=255), nullable=False),
    sa.Column('id_number', sa.String(length=40), nullable=False),
    sa.Column('claims', sa.JSON(), nullable=False),
    sa.Column('linked_at', engine.db.UTCDateTime(), nullable=False),
    sa.Column('last_login_at', engine.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('issuer', 'subject', name='uq_identity_link_subject'),
    sa.UniqueConstraint('user_id', 'issuer', name='uq_identity_link_user')
    )
    with op.batch_alter_table('identity_link', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_identity_link_user_id'), ['user_id'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('identity_link', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_identity_link_user_id'))
    op.drop_table('identity_link')
