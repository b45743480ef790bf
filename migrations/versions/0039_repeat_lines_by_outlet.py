"""a scope's repeat lines by its outlets (a partial index): the repeats page (屡查屡犯) of a province
on the large SQLite dataset read each of its 1,680 outlets' every line through
ix_line_outlet_deadline to find its repeat lines (840 ms; none there); through this index only the
repeat lines. IF NOT EXISTS: a large database may have been given it beforehand with CREATE INDEX
CONCURRENTLY.

Revision ID: 0039
Revises: 0036
Create Date: 2026-12-06 21:15:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0039'
down_revision = '0036'
branch_labels = None
depends_on = None

REPEAT = "repeat_of_id IS NOT NULL"


def upgrade() -> None:
    op.create_index('ix_line_outlet_repeat', 'rectification_line', ['outlet_id', 'issued_at'], unique=False,
                    sqlite_where=sa.text(REPEAT), postgresql_where=sa.text(REPEAT), if_not_exists=True)


def downgrade() -> None:
    op.drop_index('ix_line_outlet_repeat', table_name='rectification_line')
