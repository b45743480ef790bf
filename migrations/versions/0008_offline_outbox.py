"""offline: the check-in's client id (a second check-in is refused) and each person's outbox key

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 03:00:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('visit') as batch:
        batch.add_column(sa.Column('checkin_client_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
    with op.batch_alter_table('user_account') as batch:
        batch.add_column(sa.Column('outbox_key', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('user_account') as batch:
        batch.drop_column('outbox_key')
    with op.batch_alter_table('visit') as batch:
        batch.drop_column('checkin_client_id')
