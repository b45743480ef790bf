"""a scope's lines not closed, by its outlets (a partial index, the id and status beside the
deadline on PostgreSQL): a province's line list of every state read its 7,273 lines not closed
through ix_line_outlet_deadline, one probe per outlet and status and a row read per line
(37-50 ms on the national dataset); through this index one probe per outlet and no row (6-9 ms).
IF NOT EXISTS: a large database may have been given it beforehand with CREATE INDEX CONCURRENTLY.

Revision ID: 0043
Revises: 0042
Create Date: 2026-12-07 09:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0043'
down_revision = '0042'
branch_labels = None
depends_on = None

NOT_CLOSED = "status <> 'closed'"
#: as PostgreSQL prints it back (the national demo makes its indexes again from their print)
NOT_CLOSED_PG = "(status)::text <> 'closed'::text"


def upgrade() -> None:
    op.create_index('ix_line_open_outlet', 'rectification_line', ['outlet_id', 'deadline_at'], unique=False,
                    postgresql_include=['id', 'status'], sqlite_where=sa.text(NOT_CLOSED),
                    postgresql_where=sa.text(NOT_CLOSED_PG), if_not_exists=True)


def downgrade() -> None:
    op.drop_index('ix_line_open_outlet', table_name='rectification_line')
