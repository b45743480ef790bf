"""deadline changes of lines by time (a partial index: only the events that moved a deadline): a
bulletin reads back the deadlines its lines had at its end in one read instead of one per 500 lines

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-06 11:40:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0029'
down_revision = '0028'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_event_deadline_changes', 'rectification_event', ['at', 'line_id'], unique=False,
                    sqlite_where=sa.text('deadline_before IS NOT NULL'),
                    postgresql_where=sa.text('deadline_before IS NOT NULL'))


def downgrade() -> None:
    op.drop_index('ix_event_deadline_changes', table_name='rectification_event')
