"""visits by outlet and planned window: a scope's coverage (the board's missed visits, the
coverage page) reads its own outlets' planned visits of the month, not every visit they ever had

Revision ID: 0026
Revises: 0021
Create Date: 2026-12-06 10:00:00
"""
from alembic import op


revision = '0026'
down_revision = '0021'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_visit_outlet_due', 'visit', ['outlet_id', 'due_until', 'status'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_visit_outlet_due', table_name='visit')
