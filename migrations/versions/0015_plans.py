"""inspection plans: the plan, its outlets, pool, cross-inspection pairs and blackout days; each
visit's place in its plan

Revision ID: 0015
Revises: 0013
Create Date: 2026-12-08 09:00:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel
import inspect_app.db


revision = '0015'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('inspection_plan',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('checklist_code', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('outlet_rule', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('red_line_days', sa.Integer(), nullable=True),
    sa.Column('period_kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('per_period', sa.Integer(), nullable=False),
    sa.Column('assign_mode', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('max_per_person', sa.Integer(), nullable=True),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', inspect_app.db.UTCDateTime(), nullable=False),
    sa.Column('updated_at', inspect_app.db.UTCDateTime(), nullable=True),
    sa.Column('ended_at', inspect_app.db.UTCDateTime(), nullable=True),
    sa.Column('ended_by_id', sa.Integer(), nullable=True),
    sa.Column('end_reason', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], ),
    sa.ForeignKeyConstraint(['ended_by_id'], ['user_account.id'], ),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('inspection_plan', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inspection_plan_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_inspection_plan_unit_id'), ['unit_id'], unique=False)
    op.create_table('plan_blackout',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('date_from', sa.Date(), nullable=False),
    sa.Column('date_until', sa.Date(), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.ForeignKeyConstraint(['plan_id'], ['inspection_plan.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('plan_blackout', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_plan_blackout_plan_id'), ['plan_id'], unique=False)
    op.create_table('plan_member',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['plan_id'], ['inspection_plan.id'], ),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('plan_id', 'user_id', name='uq_plan_member')
    )
    with op.batch_alter_table('plan_member', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_plan_member_plan_id'), ['plan_id'], unique=False)
    op.create_table('plan_outlet',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('outlet_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['outlet_id'], ['outlet.id'], ),
    sa.ForeignKeyConstraint(['plan_id'], ['inspection_plan.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('plan_id', 'outlet_id', name='uq_plan_outlet')
    )
    with op.batch_alter_table('plan_outlet', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_plan_outlet_plan_id'), ['plan_id'], unique=False)
    op.create_table('plan_pairing',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('source_unit_id', sa.Integer(), nullable=False),
    sa.Column('target_unit_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['plan_id'], ['inspection_plan.id'], ),
    sa.ForeignKeyConstraint(['source_unit_id'], ['unit.id'], ),
    sa.ForeignKeyConstraint(['target_unit_id'], ['unit.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('plan_id', 'target_unit_id', name='uq_plan_pairing_target')
    )
    with op.batch_alter_table('plan_pairing', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_plan_pairing_plan_id'), ['plan_id'], unique=False)
    with op.batch_alter_table('visit', schema=None) as batch_op:
        batch_op.add_column(sa.Column('plan_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('plan_period', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('plan_seq', sa.Integer(), nullable=True))
        batch_op.create_index('ix_visit_due_until', ['due_until'], unique=False)
        batch_op.create_unique_constraint('uq_visit_plan_slot', ['plan_id', 'outlet_id', 'plan_period', 'plan_seq'])
        batch_op.create_foreign_key('fk_visit_plan', 'inspection_plan', ['plan_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('visit', schema=None) as batch_op:
        batch_op.drop_constraint('fk_visit_plan', type_='foreignkey')
        batch_op.drop_constraint('uq_visit_plan_slot', type_='unique')
        batch_op.drop_index('ix_visit_due_until')
        batch_op.drop_column('plan_seq')
        batch_op.drop_column('plan_period')
        batch_op.drop_column('plan_id')
    with op.batch_alter_table('plan_pairing', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_plan_pairing_plan_id'))
    op.drop_table('plan_pairing')
    with op.batch_alter_table('plan_outlet', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_plan_outlet_plan_id'))
    op.drop_table('plan_outlet')
    with op.batch_alter_table('plan_member', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_plan_member_plan_id'))
    op.drop_table('plan_member')
    with op.batch_alter_table('plan_blackout', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_plan_blackout_plan_id'))
    op.drop_table('plan_blackout')
    with op.batch_alter_table('inspection_plan', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inspection_plan_unit_id'))
        batch_op.drop_index(batch_op.f('ix_inspection_plan_status'))
    op.drop_table('inspection_plan')
