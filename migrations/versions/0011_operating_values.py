"""indicator system: imported operating values per unit, month and metric; computed snapshots

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 14:50:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel
import inspect_app.db


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('operating_value',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('metric', sqlmodel.sql.sqltypes.AutoString(length=48), nullable=False),
    sa.Column('value', sa.Numeric(precision=14, scale=4), nullable=False),
    sa.Column('imported_at', inspect_app.db.UTCDateTime(), nullable=False),
    sa.Column('imported_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['imported_by_id'], ['user_account.id'], ),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('unit_id', 'month', 'metric', name='uq_operating_value')
    )
    with op.batch_alter_table('operating_value', schema=None) as batch_op:
        batch_op.create_index('ix_operating_value_metric_month', ['metric', 'month'], unique=False)
    op.create_table('indicator_snapshot',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tree_sha', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('node_id', sa.Integer(), nullable=False),
    sa.Column('period', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('raws', sa.JSON(), nullable=False),
    sa.Column('computed_at', inspect_app.db.UTCDateTime(), nullable=False),
    sa.Column('frozen_at', inspect_app.db.UTCDateTime(), nullable=True),
    sa.Column('frozen_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['frozen_by_id'], ['user_account.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('tree_sha', 'node_id', 'period', name='uq_indicator_snapshot')
    )


def downgrade() -> None:
    op.drop_table('indicator_snapshot')
    with op.batch_alter_table('operating_value', schema=None) as batch_op:
        batch_op.drop_index('ix_operating_value_metric_month')
    op.drop_table('operating_value')
