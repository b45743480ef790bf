"""server-side sessions: each signed-in device, revocable

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 22:00:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel
import inspect_app.db


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('user_session',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', inspect_app.db.UTCDateTime(), nullable=False),
    sa.Column('last_seen_at', inspect_app.db.UTCDateTime(), nullable=False),
    sa.Column('revoked_at', inspect_app.db.UTCDateTime(), nullable=True),
    sa.Column('user_agent', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('ip', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key_hash')
    )
    op.create_index('ix_user_session_user', 'user_session', ['user_id', 'revoked_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_user_session_user', table_name='user_session')
    op.drop_table('user_session')
