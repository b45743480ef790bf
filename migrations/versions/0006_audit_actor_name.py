"""audit events keep who acted by name (the log reads without the accounts table)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 21:00:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('actor_name', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False,
                                      server_default=''))
    op.execute("UPDATE audit_event SET actor_name = COALESCE((SELECT username FROM user_account "
               "WHERE user_account.id = audit_event.actor_id), '')")


def downgrade() -> None:
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_column('actor_name')
