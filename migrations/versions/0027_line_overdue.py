"""late lines per county, issue month, kind and severity as the worker last counted them: the
board of a scope too large to count its late lines live (the nation) reads these; and the
notices nobody acknowledged, found by index

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-06 10:20:00
"""
import sqlalchemy as sa
from alembic import op

from inspect_app.db import UTCDateTime

revision = '0027'
down_revision = '0026'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'line_overdue',
        sa.Column('unit_id', sa.Integer(), nullable=False),
        sa.Column('month', sa.Date(), nullable=False),
        sa.Column('checklist_kind', sa.String(length=16), nullable=False),
        sa.Column('severity', sa.String(length=16), nullable=False),
        sa.Column('overdue', sa.Integer(), nullable=False),
        sa.Column('oldest_deadline_at', UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('unit_id', 'month', 'checklist_kind', 'severity'),
    )
    op.create_table(
        'kept_figures',
        sa.Column('name', sa.String(length=32), nullable=False),
        sa.Column('computed_at', UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('name'),
    )
    op.create_index('ix_notice_unacknowledged', 'rectification_notice', ['acknowledged_at', 'issued_at', 'outlet_id'],
                    unique=False)


def downgrade() -> None:
    op.drop_index('ix_notice_unacknowledged', table_name='rectification_notice')
    op.drop_table('kept_figures')
    op.drop_table('line_overdue')
