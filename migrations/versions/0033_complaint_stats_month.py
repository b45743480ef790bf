"""complaint_stats_month: complaints counted per unit (each unit's rows count its whole subtree:
a complaint counts for its county and every unit above it), month (where the network is) and
category, kept with every change of a complaint; the board reads its children's rows for whole
months instead of grouping the complaints by their outlets' units in every request (the nation's
90 days: 150 ms). Filled from the complaints here.

Revision ID: 0033
Revises: 0031
Create Date: 2026-12-06 17:30:00
"""
import datetime as dt
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

revision = '0033'
down_revision = '0031'
branch_labels = None
depends_on = None

ZONE = "Asia/Shanghai"  # the network's zone (DEFAULT_TIMEZONE); `inspect-app stats rebuild` after changing it


def upgrade() -> None:
    op.create_table(
        'complaint_stats_month',
        sa.Column('unit_id', sa.Integer(), nullable=False),
        sa.Column('month', sa.Date(), nullable=False),
        sa.Column('category', sa.String(length=32), nullable=False),
        sa.Column('received', sa.Integer(), nullable=False),
        sa.Column('at_fault', sa.Integer(), nullable=False),
        sa.Column('appeals', sa.Integer(), nullable=False),
        sa.Column('concluded', sa.Integer(), nullable=False),
        sa.Column('first_contact', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('unit_id', 'month', 'category'),
    )
    op.create_index('ix_complaint_stats_month_month', 'complaint_stats_month', ['month', 'unit_id'], unique=False)
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute(sa.text("""
INSERT INTO complaint_stats_month (unit_id, month, category, received, at_fault, appeals, concluded, first_contact)
SELECT up.unit_id, month, category, sum(received), sum(at_fault), sum(appeals), sum(concluded), sum(first_contact)
FROM (
    SELECT o.unit_id, date_trunc('month', c.received_at AT TIME ZONE :zone)::date AS month, c.category,
           1 AS received, CASE WHEN c.verdict IN ('substantiated', 'partly') THEN 1 ELSE 0 END AS at_fault,
           CASE WHEN c.source = 'appeal' THEN 1 ELSE 0 END AS appeals, 0 AS concluded, 0 AS first_contact
    FROM complaint c JOIN outlet o ON o.id = c.outlet_id
    UNION ALL
    SELECT o.unit_id, date_trunc('month', c.concluded_at AT TIME ZONE :zone)::date, c.category, 0, 0, 0, 1,
           CASE WHEN c.handed_on = 0 AND c.reopened = 0 THEN 1 ELSE 0 END
    FROM complaint c JOIN outlet o ON o.id = c.outlet_id WHERE c.concluded_at IS NOT NULL
) counted
JOIN unit u ON u.id = counted.unit_id
CROSS JOIN LATERAL unnest(string_to_array(trim(both '/' from u.path), '/')::int[]) AS up(unit_id)
GROUP BY up.unit_id, month, category""").bindparams(zone=ZONE))
        return
    zone = ZoneInfo(ZONE)

    def month(value):
        if isinstance(value, str):
            value = dt.datetime.fromisoformat(value)
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.timezone.utc)
        return value.astimezone(zone).date().replace(day=1)

    totals: dict[tuple, list[int]] = {}
    rows = bind.execute(sa.text(
        "SELECT u.path, c.received_at, c.category, c.verdict, c.source, c.concluded_at, c.handed_on, c.reopened "
        "FROM complaint c JOIN outlet o ON o.id = c.outlet_id JOIN unit u ON u.id = o.unit_id"))
    for path, received, category, verdict, source, concluded, handed_on, reopened in rows:
        for unit_id in (int(part) for part in path.strip("/").split("/") if part):
            row = totals.setdefault((unit_id, month(received), category), [0] * 5)
            row[0] += 1
            row[1] += verdict in ("substantiated", "partly")
            row[2] += source == "appeal"
            if concluded is not None:
                row = totals.setdefault((unit_id, month(concluded), category), [0] * 5)
                row[3] += 1
                row[4] += not handed_on and not reopened
    table = sa.table('complaint_stats_month', *[sa.column(n) for n in (
        'unit_id', 'month', 'category', 'received', 'at_fault', 'appeals', 'concluded', 'first_contact')])
    values = [dict(zip(('unit_id', 'month', 'category', 'received', 'at_fault', 'appeals', 'concluded',
                        'first_contact'), (*key, *counts))) for key, counts in totals.items()]
    if values:
        op.bulk_insert(table, values)


def downgrade() -> None:
    op.drop_index('ix_complaint_stats_month_month', table_name='complaint_stats_month')
    op.drop_table('complaint_stats_month')
