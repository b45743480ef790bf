"""kept bulletins: a finished period's bulletin composed once (by the worker or its first reader)
and read by its pages, instead of a province's or the nation's month added up on every view

Revision ID: 0032
Revises: 0029
Create Date: 2026-12-06 14:00:00
"""
import sqlalchemy as sa
from alembic import op

from inspect_app.db import UTCDateTime

revision = '0032'
down_revision = '0029'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'kept_bulletin',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('node_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=8), nullable=False),
        sa.Column('period_start', sa.Date(), nullable=False),
        sa.Column('locale', sa.String(length=16), nullable=False),
        sa.Column('settings', sa.String(length=64), nullable=False),
        sa.Column('format', sa.Integer(), nullable=False),
        sa.Column('computed_at', UTCDateTime(), nullable=False),
        sa.Column('digest', sa.String(length=64), nullable=False),
        sa.Column('data', sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('node_id', 'kind', 'period_start', 'locale', 'settings', name='uq_kept_bulletin'),
    )
    op.create_index('ix_kept_bulletin_node_id', 'kept_bulletin', ['node_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_kept_bulletin_node_id', table_name='kept_bulletin')
    op.drop_table('kept_bulletin')
