"""the open complaints by outlet (a partial index): the board's open and overdue complaint counts of a
province probed each of its 1,264 outlets' every complaint for the few open ones (11 ms); through
this index, only the open ones. IF NOT EXISTS: a large database may have been given it beforehand
with CREATE INDEX CONCURRENTLY.

Revision ID: 0034
Revises: 0033
Create Date: 2026-12-06 17:40:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0034'
down_revision = '0033'
branch_labels = None
depends_on = None

OPEN = "status = 'registered' OR status = 'handling'"  # ORs: PostgreSQL writes IN back differently


def upgrade() -> None:
    op.create_index('ix_complaint_open_outlet', 'complaint', ['outlet_id'], unique=False,
                    sqlite_where=sa.text(OPEN), postgresql_where=sa.text(OPEN), if_not_exists=True)


def downgrade() -> None:
    op.drop_index('ix_complaint_open_outlet', table_name='complaint')
