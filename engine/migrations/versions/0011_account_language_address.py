"""account language and address: e-mails in the recipient's language, forms prefilled

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 08:00:00

``user_account.language`` (``vi`` or ``en``) is the language the account last chose on the
portal: e-mails to it are written in that language only. ``user_account.address`` is the
account's postal address, which application forms may prefill (``x-prefill: address``).
"""

import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('user_account') as batch:
        batch.add_column(sa.Column('language', sa.String(length=5), nullable=False,
                                   server_default='vi'))
        batch.add_column(sa.Column('address', sa.String(length=500), nullable=False,
                                   server_default=''))


def downgrade() -> None:
    with op.batch_alter_table('user_account') as batch:
        batch.drop_column('address')
        batch.drop_column('language')
