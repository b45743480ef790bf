"""self-inspection (自查): the self-inspection a line's item had passed shortly before an inspection
found it failed (自查不实) and its day; the released-visits index holds the kind, so inspection
figures leave the outlets' self-inspections out without reading the table

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-12 09:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('rectification_line', schema=None) as batch_op:
        batch_op.add_column(sa.Column('self_check_visit_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('self_check_day', sa.Date(), nullable=True))
        batch_op.create_foreign_key('fk_line_self_check_visit', 'visit', ['self_check_visit_id'], ['id'])
        batch_op.create_index('ix_line_self_check', ['self_check_visit_id', 'issued_at'], unique=False)
    with op.batch_alter_table('visit', schema=None) as batch_op:
        batch_op.drop_index('ix_visit_released')
        batch_op.create_index('ix_visit_released', ['status', 'released_at', 'outlet_id', 'score', 'red_line', 'kind'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('visit', schema=None) as batch_op:
        batch_op.drop_index('ix_visit_released')
        batch_op.create_index('ix_visit_released', ['status', 'released_at', 'outlet_id', 'score', 'red_line'],
                              unique=False)
    with op.batch_alter_table('rectification_line', schema=None) as batch_op:
        batch_op.drop_index('ix_line_self_check')
        batch_op.drop_constraint('fk_line_self_check_visit', type_='foreignkey')
        batch_op.drop_column('self_check_day')
        batch_op.drop_column('self_check_visit_id')
