"""indexes for the national manager pages (issue 22): the current star ratings by outlet and level
(a partial index: the star board's level counts from the index alone, the nation's 123,000 or a
province's own; each level's page walked outlet by outlet in code order), and a
small scope's released visits by outlet and release time (home's last 30 days of a province
through its outlets, not through the country's month). IF NOT EXISTS: a large database may have
been given them beforehand with CREATE INDEX CONCURRENTLY (writes go on while it builds).

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-06 13:45:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0031'
down_revision = '0030'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_star_current_outlet', 'star_rating', ['outlet_id', 'stars', 'valid_until'], unique=False,
                    sqlite_where=sa.text('ended_at IS NULL'), postgresql_where=sa.text('ended_at IS NULL'),
                    if_not_exists=True)
    op.create_index('ix_visit_outlet_released', 'visit', ['outlet_id', 'status', 'released_at', 'score', 'kind'],
                    unique=False, if_not_exists=True)


def downgrade() -> None:
    op.drop_index('ix_visit_outlet_released', table_name='visit')
    op.drop_index('ix_star_current_outlet', table_name='star_rating')
