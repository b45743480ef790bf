"""the months' line counts and the kept late-line counts summed below each unit (line_stats_below,
line_overdue_below): the nation's board summed 70,000 county rows up to its 31 provinces twice
(the flows, the late lines: 35-40 ms each on the national dataset); it reads 744 rows of each.
Filled from line_stats_month and line_overdue.

Revision ID: 0042
Revises: 0041
Create Date: 2026-12-07 08:00:00
"""
import sqlalchemy as sa
from alembic import op

from inspect_app.db import UTCDateTime

revision = '0042'
down_revision = '0041'
branch_labels = None
depends_on = None

COUNTERS = "issued, acknowledged, answered, closed, withdrawn, extended, close_seconds"
UNITS_ABOVE = ("WITH RECURSIVE up (unit_id, above_id) AS (SELECT id, parent_id FROM unit WHERE parent_id IS NOT NULL"
               " UNION ALL SELECT up.unit_id, unit.parent_id FROM up JOIN unit ON unit.id = up.above_id"
               " WHERE unit.parent_id IS NOT NULL) ")


def upgrade() -> None:
    op.create_table(
        'line_stats_below',
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
    op.create_table(
        'line_overdue_below',
        sa.Column('unit_id', sa.Integer(), nullable=False),
        sa.Column('month', sa.Date(), nullable=False),
        sa.Column('overdue', sa.Integer(), nullable=False),
        sa.Column('oldest_deadline_at', UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('unit_id', 'month'),
    )
    sums = ", ".join(f"sum({c})" for c in COUNTERS.split(", "))
    op.execute(f"{UNITS_ABOVE}INSERT INTO line_stats_below (unit_id, month, {COUNTERS}) "
               f"SELECT up.above_id, month, {sums} FROM line_stats_month "
               "JOIN up ON up.unit_id = line_stats_month.unit_id GROUP BY up.above_id, month")
    op.execute(f"{UNITS_ABOVE}INSERT INTO line_overdue_below (unit_id, month, overdue, oldest_deadline_at) "
               "SELECT up.above_id, month, sum(overdue), min(oldest_deadline_at) FROM line_overdue "
               "JOIN up ON up.unit_id = line_overdue.unit_id GROUP BY up.above_id, month")


def downgrade() -> None:
    op.drop_table('line_overdue_below')
    op.drop_table('line_stats_below')
