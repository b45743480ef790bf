"""indicators: visits by the last day of their planned window (plan completion, A9)

The rows behind plan completion and its figure select the visits whose window ends in the period;
without an index on ``due_until`` SQLite read every visit of the unit's outlets (a province: 0.15 s
for the page's one query on the large demo, growing with the years of visits kept).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 12:00:00
"""
from alembic import op


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('visit', schema=None) as batch_op:
        batch_op.create_index('ix_visit_due_until', ['due_until'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('visit', schema=None) as batch_op:
        batch_op.drop_index('ix_visit_due_until')
