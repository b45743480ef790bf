"""the visit list's order as indexes (issue 22): the managing side's list is newest first by
coalesce(submitted_at, started_at, created_at), which no index held, so every page sorted its
scope's visits (a province's 100,000, the nation's 4,000,000: 1.6–10 s). Now the nation walks
ix_visit_list_order and stops at the page's end, and a small scope takes each outlet's newest
through ix_visit_outlet_list_order. IF NOT EXISTS: a large database may have been given them
beforehand with CREATE INDEX CONCURRENTLY. And the flagged check-ins by time (a partial index): the
flagged check-ins page read its scope's every visit of the period to find the few flagged.

Revision ID: 0036
Revises: 0037
Create Date: 2026-12-06 20:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0036'
down_revision = '0037'
branch_labels = None
depends_on = None

KEY = sa.text('coalesce(submitted_at, started_at, created_at)')
FLAGGED = "checkin_flag <> ''"


def upgrade() -> None:
    op.create_index('ix_visit_list_order', 'visit', [KEY, 'id'], unique=False, if_not_exists=True)
    op.create_index('ix_visit_outlet_list_order', 'visit', ['outlet_id', KEY, 'id'], unique=False, if_not_exists=True)
    op.create_index('ix_visit_flagged_checkin', 'visit',
                    ['checkin_at', 'id', 'assignee_id', 'checkin_flag', 'outlet_id', 'status'], unique=False, if_not_exists=True,
                    sqlite_where=sa.text(FLAGGED), postgresql_where=sa.text(FLAGGED))


def downgrade() -> None:
    op.drop_index('ix_visit_flagged_checkin', table_name='visit')
    op.drop_index('ix_visit_outlet_list_order', table_name='visit')
    op.drop_index('ix_visit_list_order', table_name='visit')
