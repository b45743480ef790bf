"""line_stats summed per county and month (over kinds and severities): the board without a kind or
severity filter reads a national network's 67,000 rows instead of a million; filled from line_stats.
The unacknowledged notices' index becomes partial (only those rows, by outlet): a province's board
probed 64,000 acknowledged notices of its 1,264 outlets through the outlet index (142 ms)

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-06 11:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0028'
down_revision = '0027'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'line_stats_month',
        sa.Column('unit_id', sa.Integer(), nullable=False),
        sa.Column('month', sa.Date(), nullable=False),
        sa.Column('issued', sa.Integer(), nullable=False),
        sa.Column('acknowledged', sa.Integer(), nullable=False),
        sa.Column('answered', sa.Integer(), nullable=False),
        sa.Column('closed', sa.Integer(), nullable=False),
        sa.Column('withdrawn', sa.Integer(), nullable=False),
        sa.Column('extended', sa.Integer(), nullable=False),
        sa.Column('close_seconds', sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(['unit_id'], ['unit.id']),
        sa.PrimaryKeyConstraint('unit_id', 'month'),
    )
    op.create_index('ix_line_stats_month_month', 'line_stats_month', ['month', 'unit_id'], unique=False)
    op.execute("INSERT INTO line_stats_month (unit_id, month, issued, acknowledged, answered, closed, withdrawn, "
               "extended, close_seconds) SELECT unit_id, month, sum(issued), sum(acknowledged), sum(answered), "
               "sum(closed), sum(withdrawn), sum(extended), sum(close_seconds) FROM line_stats GROUP BY unit_id, month")


    op.drop_index('ix_notice_unacknowledged', table_name='rectification_notice')
    op.create_index('ix_notice_unacknowledged', 'rectification_notice', ['outlet_id', 'issued_at'], unique=False,
                    sqlite_where=sa.text('acknowledged_at IS NULL'), postgresql_where=sa.text('acknowledged_at IS NULL'))


def downgrade() -> None:
    op.drop_index('ix_notice_unacknowledged', table_name='rectification_notice')
    op.create_index('ix_notice_unacknowledged', 'rectification_notice', ['acknowledged_at', 'issued_at', 'outlet_id'],
                    unique=False)
    op.drop_index('ix_line_stats_month_month', table_name='line_stats_month')
    op.drop_table('line_stats_month')
