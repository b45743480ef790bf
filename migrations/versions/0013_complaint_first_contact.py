"""complaints: the sweep's first-contact reminder and escalation stamps; a key customer's note

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 10:00:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel
import inspect_app.db


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('complaint', schema=None) as batch_op:
        batch_op.add_column(sa.Column('contact_reminded_at', inspect_app.db.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('contact_escalated_at', inspect_app.db.UTCDateTime(), nullable=True))
    with op.batch_alter_table('key_customer', schema=None) as batch_op:
        batch_op.add_column(sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False,
                                      server_default=''))


def downgrade() -> None:
    with op.batch_alter_table('key_customer', schema=None) as batch_op:
        batch_op.drop_column('note')
    with op.batch_alter_table('complaint', schema=None) as batch_op:
        batch_op.drop_column('contact_escalated_at')
        batch_op.drop_column('contact_reminded_at')
