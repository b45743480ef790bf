"""a scope's late lines by its outlets (a partial index of the lines waiting on the outlet, the line
id beside the deadline on PostgreSQL): the board of a province on the national dataset probed
ix_line_outlet_deadline once per outlet and status and read each late line's row (30 ms); through
this index one probe per outlet and no row (11 ms). IF NOT EXISTS: a large database may have been
given it beforehand with CREATE INDEX CONCURRENTLY.

Revision ID: 0041
Revises: 0040
Create Date: 2026-12-07 07:30:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0041'
down_revision = '0040'
branch_labels = None
depends_on = None

OUTLET_TURN = "status IN ('issued', 'acknowledged', 'returned')"
#: as PostgreSQL prints it back (the national demo makes its indexes again from their print)
OUTLET_TURN_PG = "(status)::text = ANY ('{issued,acknowledged,returned}'::text[])"


def upgrade() -> None:
    op.create_index('ix_line_late_outlet', 'rectification_line', ['outlet_id', 'deadline_at'], unique=False,
                    postgresql_include=['id'], sqlite_where=sa.text(OUTLET_TURN),
                    postgresql_where=sa.text(OUTLET_TURN_PG), if_not_exists=True)


def downgrade() -> None:
    op.drop_index('ix_line_late_outlet', table_name='rectification_line')
