"""the first-login tour seen (or skipped) per person and role: it comes back only when asked for

Revision ID: 0023
Revises: 0018
Create Date: 2026-12-06 06:40:00
"""
from alembic import op
import sqlalchemy as sa
import inspect_app.db


revision = '0023'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('tour_seen',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('skipped', sa.Boolean(), nullable=False),
    sa.Column('seen_at', inspect_app.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], ),
    sa.PrimaryKeyConstraint('user_id', 'role')
    )


def downgrade() -> None:
    op.drop_table('tour_seen')
