"""An outlet's unit and a unit's path by id from an index alone (ix_outlet_id_unit,
ix_unit_id_path): the open complaints of the nation's board and hotspots (2,243) each looked up
their outlet's unit's path through two table rows (27 ms of the statement); from the indexes,
9 ms. IF NOT EXISTS: a large database may have been given them beforehand with CREATE INDEX
CONCURRENTLY.

Revision ID: 0045
Revises: 0044
Create Date: 2026-12-07 17:20:00
"""
from alembic import op

revision = '0045'
down_revision = '0044'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_outlet_id_unit', 'outlet', ['id', 'unit_id'], unique=False, if_not_exists=True)
    op.create_index('ix_unit_id_path', 'unit', ['id', 'path'], unique=False, if_not_exists=True)


def downgrade() -> None:
    op.drop_index('ix_unit_id_path', table_name='unit')
    op.drop_index('ix_outlet_id_unit', table_name='outlet')
