"""published bulletins: numbered, figures and PDF kept

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 03:10:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel
import inspect_app.db


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('published_bulletin',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('number', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('figures', sa.JSON(), nullable=False),
    sa.Column('pdf_key', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('published_at', inspect_app.db.UTCDateTime(), nullable=False),
    sa.Column('published_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['published_by_id'], ['user_account.id'], ),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('unit_id', 'kind', 'period_start', name='uq_bulletin_period'),
    sa.UniqueConstraint('unit_id', 'year', 'sequence', name='uq_bulletin_number')
    )
    op.create_index('ix_published_bulletin_unit_id', 'published_bulletin', ['unit_id'], unique=False)
    op.create_index('ix_published_bulletin_published_at', 'published_bulletin', ['published_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_published_bulletin_published_at', table_name='published_bulletin')
    op.drop_index('ix_published_bulletin_unit_id', table_name='published_bulletin')
    op.drop_table('published_bulletin')
