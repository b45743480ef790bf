"""the accounts in the admin list's order (role, username): a page of the nation's 54,000 accounts
was a sort of all of them (95 ms for the first page, 290 ms deep in the list); through this index
a page is read in order. IF NOT EXISTS: a large database may have been given it beforehand with
CREATE INDEX CONCURRENTLY.

Revision ID: 0038
Revises: 0034
Create Date: 2026-12-06 20:20:00
"""
from alembic import op

revision = '0038'
down_revision = '0034'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_user_account_role_username', 'user_account', ['role', 'username'], unique=False,
                    if_not_exists=True)


def downgrade() -> None:
    op.drop_index('ix_user_account_role_username', table_name='user_account')
