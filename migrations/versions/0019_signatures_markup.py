"""signatures on the phone (the outlet's confirmation on site, the chief's 签收, the inspector's
on-site 复查) and photo markup (circles, arrows, labels: a marked copy beside the untouched photo)

Revision ID: 0019
Revises: 0020
Create Date: 2026-12-12 09:00:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel
import inspect_app.db


revision = '0019'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'photo_markup',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('photo_id', sa.Integer(), nullable=False),
        sa.Column('shapes', sa.JSON(), nullable=False),
        sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('storage_key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column('content_type', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column('width', sa.Integer(), nullable=False),
        sa.Column('height', sa.Integer(), nullable=False),
        sa.Column('size_bytes', sa.Integer(), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=False),
        sa.Column('received_at', inspect_app.db.UTCDateTime(), nullable=False),
        sa.Column('client_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column('replaced_at', inspect_app.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id']),
        sa.ForeignKeyConstraint(['photo_id'], ['photo.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('created_by_id', 'client_id', name='uq_markup_client'),
    )
    with op.batch_alter_table('photo_markup', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_photo_markup_photo_id'), ['photo_id'], unique=False)
    with op.batch_alter_table('photo', schema=None) as batch_op:
        batch_op.add_column(sa.Column('markup_id', sa.Integer(), nullable=True))

    op.create_table(
        'signature',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('purpose', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('visit_id', sa.Integer(), nullable=True),
        sa.Column('notice_id', sa.Integer(), nullable=True),
        sa.Column('line_id', sa.Integer(), nullable=True),
        sa.Column('event_id', sa.Integer(), nullable=True),
        sa.Column('outlet_id', sa.Integer(), nullable=False),
        sa.Column('signer_name', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column('signer_post', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column('refused', sa.Boolean(), nullable=False),
        sa.Column('refusal_reason', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column('storage_key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column('width', sa.Integer(), nullable=True),
        sa.Column('height', sa.Integer(), nullable=True),
        sa.Column('size_bytes', sa.Integer(), nullable=True),
        sa.Column('signed_at', inspect_app.db.UTCDateTime(), nullable=True),
        sa.Column('received_at', inspect_app.db.UTCDateTime(), nullable=False),
        sa.Column('recorded_by_id', sa.Integer(), nullable=False),
        sa.Column('client_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column('replaced_at', inspect_app.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['event_id'], ['rectification_event.id']),
        sa.ForeignKeyConstraint(['line_id'], ['rectification_line.id']),
        sa.ForeignKeyConstraint(['notice_id'], ['rectification_notice.id']),
        sa.ForeignKeyConstraint(['outlet_id'], ['outlet.id']),
        sa.ForeignKeyConstraint(['recorded_by_id'], ['user_account.id']),
        sa.ForeignKeyConstraint(['visit_id'], ['visit.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('recorded_by_id', 'client_id', name='uq_signature_client'),
    )
    with op.batch_alter_table('signature', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_signature_line_id'), ['line_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_signature_notice_id'), ['notice_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_signature_outlet_id'), ['outlet_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_signature_visit_id'), ['visit_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('signature', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_signature_visit_id'))
        batch_op.drop_index(batch_op.f('ix_signature_outlet_id'))
        batch_op.drop_index(batch_op.f('ix_signature_notice_id'))
        batch_op.drop_index(batch_op.f('ix_signature_line_id'))
    op.drop_table('signature')
    with op.batch_alter_table('photo', schema=None) as batch_op:
        batch_op.drop_column('markup_id')
    with op.batch_alter_table('photo_markup', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_photo_markup_photo_id'))
    op.drop_table('photo_markup')
