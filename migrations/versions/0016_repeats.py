"""rectification lines: 屡查屡犯, the earlier failure a repeat line follows and its day

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-10 10:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('rectification_line', schema=None) as batch_op:
        batch_op.add_column(sa.Column('repeat_of_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('repeat_since', sa.Date(), nullable=True))
        batch_op.create_foreign_key('fk_line_repeat_of', 'rectification_line', ['repeat_of_id'], ['id'])
        batch_op.create_index('ix_line_repeat', ['repeat_of_id', 'issued_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('rectification_line', schema=None) as batch_op:
        batch_op.drop_index('ix_line_repeat')
        batch_op.drop_constraint('fk_line_repeat_of', type_='foreignkey')
        batch_op.drop_column('repeat_since')
        batch_op.drop_column('repeat_of_id')
