"""rectification lines by the time they were closed and their outlet: the lines still overdue at a
period's end (the indicator B4 and the rows behind it) without reading every line ever closed

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 05:10:00
"""
from alembic import op


revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('rectification_line', schema=None) as batch_op:
        batch_op.create_index('ix_line_closed_outlet', ['closed_at', 'outlet_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('rectification_line', schema=None) as batch_op:
        batch_op.drop_index('ix_line_closed_outlet')
