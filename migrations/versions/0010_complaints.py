"""complaints, callbacks, accountability, staff register; notices and lines without a visit (from a
complaint); findings name a staff member

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 13:50:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel
import inspect_app.db


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('key_customer',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('outlet_id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('contact_name', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('contact_phone', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('tier', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('start_date', sa.Date(), nullable=False),
    sa.Column('created_at', inspect_app.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['outlet_id'], ['outlet.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('key_customer', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_key_customer_outlet_id'), ['outlet_id'], unique=False)

    op.create_table('staff_member',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('job_number', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('post', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('outlet_id', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', inspect_app.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['outlet_id'], ['outlet.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('staff_member', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_staff_member_job_number'), ['job_number'], unique=True)
        batch_op.create_index(batch_op.f('ix_staff_member_outlet_id'), ['outlet_id'], unique=False)

    op.create_table('commendation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('by_id', sa.Integer(), nullable=True),
    sa.Column('at', inspect_app.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['by_id'], ['user_account.id'], ),
    sa.ForeignKeyConstraint(['staff_id'], ['staff_member.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('commendation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_commendation_staff_id'), ['staff_id'], unique=False)

    op.create_table('complaint',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('received_at', inspect_app.db.UTCDateTime(), nullable=False),
    sa.Column('outlet_id', sa.Integer(), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=True),
    sa.Column('category', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('account', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('customer_name', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('customer_phone', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('reference', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('first_owner_id', sa.Integer(), nullable=True),
    sa.Column('owner_id', sa.Integer(), nullable=True),
    sa.Column('handed_on', sa.Integer(), nullable=False),
    sa.Column('contact_due_at', inspect_app.db.UTCDateTime(), nullable=False),
    sa.Column('resolve_due_at', inspect_app.db.UTCDateTime(), nullable=False),
    sa.Column('contacted_at', inspect_app.db.UTCDateTime(), nullable=True),
    sa.Column('verdict', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.Column('grade', sa.Integer(), nullable=True),
    sa.Column('conclusion', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('concluded_at', inspect_app.db.UTCDateTime(), nullable=True),
    sa.Column('concluded_by_id', sa.Integer(), nullable=True),
    sa.Column('reopened', sa.Integer(), nullable=False),
    sa.Column('notice_id', sa.Integer(), nullable=True),
    sa.Column('registered_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', inspect_app.db.UTCDateTime(), nullable=False),
    sa.Column('row_version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['concluded_by_id'], ['user_account.id'], ),
    sa.ForeignKeyConstraint(['first_owner_id'], ['user_account.id'], ),
    sa.ForeignKeyConstraint(['notice_id'], ['rectification_notice.id'], ),
    sa.ForeignKeyConstraint(['outlet_id'], ['outlet.id'], ),
    sa.ForeignKeyConstraint(['owner_id'], ['user_account.id'], ),
    sa.ForeignKeyConstraint(['registered_by_id'], ['user_account.id'], ),
    sa.ForeignKeyConstraint(['staff_id'], ['staff_member.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('complaint', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_complaint_category'), ['category'], unique=False)
        batch_op.create_index(batch_op.f('ix_complaint_concluded_at'), ['concluded_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_complaint_number'), ['number'], unique=False)
        batch_op.create_index('ix_complaint_outlet_received', ['outlet_id', 'received_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_complaint_owner_id'), ['owner_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_complaint_received_at'), ['received_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_complaint_staff_id'), ['staff_id'], unique=False)
        batch_op.create_index('ix_complaint_status_due', ['status', 'resolve_due_at'], unique=False)

    op.create_table('accountability',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.Column('outlet_id', sa.Integer(), nullable=False),
    sa.Column('complaint_id', sa.Integer(), nullable=True),
    sa.Column('line_id', sa.Integer(), nullable=True),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('grade', sa.Integer(), nullable=True),
    sa.Column('amount', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('opened_by_id', sa.Integer(), nullable=True),
    sa.Column('opened_at', inspect_app.db.UTCDateTime(), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', inspect_app.db.UTCDateTime(), nullable=True),
    sa.Column('acknowledged_at', inspect_app.db.UTCDateTime(), nullable=True),
    sa.Column('appeal_reason', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('appealed_at', inspect_app.db.UTCDateTime(), nullable=True),
    sa.Column('appeal_decision', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.ForeignKeyConstraint(['complaint_id'], ['complaint.id'], ),
    sa.ForeignKeyConstraint(['decided_by_id'], ['user_account.id'], ),
    sa.ForeignKeyConstraint(['line_id'], ['rectification_line.id'], ),
    sa.ForeignKeyConstraint(['opened_by_id'], ['user_account.id'], ),
    sa.ForeignKeyConstraint(['outlet_id'], ['outlet.id'], ),
    sa.ForeignKeyConstraint(['staff_id'], ['staff_member.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('accountability', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_accountability_complaint_id'), ['complaint_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_accountability_line_id'), ['line_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_accountability_outlet_id'), ['outlet_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_accountability_staff_id'), ['staff_id'], unique=False)

    op.create_table('callback',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('outlet_id', sa.Integer(), nullable=False),
    sa.Column('complaint_id', sa.Integer(), nullable=True),
    sa.Column('key_customer_id', sa.Integer(), nullable=True),
    sa.Column('at', inspect_app.db.UTCDateTime(), nullable=False),
    sa.Column('by_id', sa.Integer(), nullable=True),
    sa.Column('satisfaction', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.ForeignKeyConstraint(['by_id'], ['user_account.id'], ),
    sa.ForeignKeyConstraint(['complaint_id'], ['complaint.id'], ),
    sa.ForeignKeyConstraint(['key_customer_id'], ['key_customer.id'], ),
    sa.ForeignKeyConstraint(['outlet_id'], ['outlet.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('callback', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_callback_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_callback_complaint_id'), ['complaint_id'], unique=False)
        batch_op.create_index('ix_callback_customer_at', ['key_customer_id', 'at'], unique=False)
        batch_op.create_index(batch_op.f('ix_callback_outlet_id'), ['outlet_id'], unique=False)

    op.create_table('complaint_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('complaint_id', sa.Integer(), nullable=False),
    sa.Column('at', inspect_app.db.UTCDateTime(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('action', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
    sa.Column('status_after', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('text', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('to_user_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['actor_id'], ['user_account.id'], ),
    sa.ForeignKeyConstraint(['complaint_id'], ['complaint.id'], ),
    sa.ForeignKeyConstraint(['to_user_id'], ['user_account.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('complaint_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_complaint_event_complaint_id'), ['complaint_id'], unique=False)

    with op.batch_alter_table('answer', schema=None) as batch_op:
        batch_op.add_column(sa.Column('staff_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_answer_staff', 'staff_member', ['staff_id'], ['id'])

    with op.batch_alter_table('photo', schema=None) as batch_op:
        batch_op.add_column(sa.Column('complaint_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_photo_complaint_id'), ['complaint_id'], unique=False)

    with op.batch_alter_table('rectification_line', schema=None) as batch_op:
        batch_op.add_column(sa.Column('staff_id', sa.Integer(), nullable=True))
        batch_op.alter_column('visit_id',
               existing_type=sa.INTEGER(),
               nullable=True)
        batch_op.create_index(batch_op.f('ix_rectification_line_staff_id'), ['staff_id'], unique=False)
        batch_op.create_foreign_key('fk_line_staff', 'staff_member', ['staff_id'], ['id'])

    with op.batch_alter_table('rectification_notice', schema=None) as batch_op:
        batch_op.add_column(sa.Column('origin', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False, server_default=''))
        batch_op.alter_column('visit_id',
               existing_type=sa.INTEGER(),
               nullable=True)



def downgrade() -> None:
    with op.batch_alter_table('rectification_notice', schema=None) as batch_op:
        batch_op.alter_column('visit_id',
               existing_type=sa.INTEGER(),
               nullable=False)
        batch_op.drop_column('origin')

    with op.batch_alter_table('rectification_line', schema=None) as batch_op:
        batch_op.drop_constraint('fk_line_staff', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_rectification_line_staff_id'))
        batch_op.alter_column('visit_id',
               existing_type=sa.INTEGER(),
               nullable=False)
        batch_op.drop_column('staff_id')

    with op.batch_alter_table('photo', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_photo_complaint_id'))
        batch_op.drop_column('complaint_id')

    with op.batch_alter_table('answer', schema=None) as batch_op:
        batch_op.drop_constraint('fk_answer_staff', type_='foreignkey')
        batch_op.drop_column('staff_id')

    with op.batch_alter_table('complaint_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_complaint_event_complaint_id'))

    op.drop_table('complaint_event')
    with op.batch_alter_table('callback', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_callback_outlet_id'))
        batch_op.drop_index('ix_callback_customer_at')
        batch_op.drop_index(batch_op.f('ix_callback_complaint_id'))
        batch_op.drop_index(batch_op.f('ix_callback_at'))

    op.drop_table('callback')
    with op.batch_alter_table('accountability', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_accountability_staff_id'))
        batch_op.drop_index(batch_op.f('ix_accountability_outlet_id'))
        batch_op.drop_index(batch_op.f('ix_accountability_line_id'))
        batch_op.drop_index(batch_op.f('ix_accountability_complaint_id'))

    op.drop_table('accountability')
    with op.batch_alter_table('complaint', schema=None) as batch_op:
        batch_op.drop_index('ix_complaint_status_due')
        batch_op.drop_index(batch_op.f('ix_complaint_staff_id'))
        batch_op.drop_index(batch_op.f('ix_complaint_received_at'))
        batch_op.drop_index(batch_op.f('ix_complaint_owner_id'))
        batch_op.drop_index('ix_complaint_outlet_received')
        batch_op.drop_index(batch_op.f('ix_complaint_number'))
        batch_op.drop_index(batch_op.f('ix_complaint_concluded_at'))
        batch_op.drop_index(batch_op.f('ix_complaint_category'))

    op.drop_table('complaint')
    with op.batch_alter_table('commendation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_commendation_staff_id'))

    op.drop_table('commendation')
    with op.batch_alter_table('staff_member', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_staff_member_outlet_id'))
        batch_op.drop_index(batch_op.f('ix_staff_member_job_number'))

    op.drop_table('staff_member')
    with op.batch_alter_table('key_customer', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_key_customer_outlet_id'))

    op.drop_table('key_customer')
