"""rectification lines by outlet, status and deadline: a small scope's late lines (a county's
overdue list, its board) read outlet by outlet in deadline order, not through the country's

Revision ID: 0022
Revises: 0019
Create Date: 2026-12-06 06:30:00
"""
from alembic import op


revision = '0022'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_line_outlet_deadline', 'rectification_line', ['outlet_id', 'status', 'deadline_at'],
                    unique=False)
    op.drop_index('ix_line_outlet_status', table_name='rectification_line')


def downgrade() -> None:
    op.create_index('ix_line_outlet_status', 'rectification_line', ['outlet_id', 'status'], unique=False)
    op.drop_index('ix_line_outlet_deadline', table_name='rectification_line')
