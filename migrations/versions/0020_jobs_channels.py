"""the job queue's jobs (key, attempts, dead letters), the units' notification channels, people's
e-mail preferences, every delivery attempt, and the files the worker makes for one person

Revision ID: 0020
Revises: 0023
Create Date: 2026-12-12 09:00:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel
import inspect_app.db


revision = '0020'
down_revision = '0023'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('notification_channel',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('target', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('secret', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('events', sa.JSON(), nullable=False),
    sa.Column('subunits', sa.Boolean(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', inspect_app.db.UTCDateTime(), nullable=False),
    sa.Column('updated_at', inspect_app.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['unit_id'], ['unit.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('notification_channel', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notification_channel_unit_id'), ['unit_id'], unique=False)

    op.create_table('job',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=160), nullable=True),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('max_attempts', sa.Integer(), nullable=False),
    sa.Column('run_at', inspect_app.db.UTCDateTime(), nullable=False),
    sa.Column('last_error', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('requested_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', inspect_app.db.UTCDateTime(), nullable=False),
    sa.Column('started_at', inspect_app.db.UTCDateTime(), nullable=True),
    sa.Column('finished_at', inspect_app.db.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['requested_by_id'], ['user_account.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key')
    )
    with op.batch_alter_table('job', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_job_created_at'), ['created_at'], unique=False)
        batch_op.create_index('ix_job_status_run_at', ['status', 'run_at'], unique=False)

    op.create_table('notification_delivery',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('channel_id', sa.Integer(), nullable=True),
    sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('target', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('error', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('digest_id', sa.Integer(), nullable=True),
    sa.Column('created_at', inspect_app.db.UTCDateTime(), nullable=False),
    sa.Column('last_attempt_at', inspect_app.db.UTCDateTime(), nullable=True),
    sa.Column('sent_at', inspect_app.db.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['channel_id'], ['notification_channel.id'], ),
    sa.ForeignKeyConstraint(['digest_id'], ['notification_delivery.id'], ),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('notification_delivery', schema=None) as batch_op:
        batch_op.create_index('ix_delivery_user_status', ['user_id', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_notification_delivery_channel_id'), ['channel_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_notification_delivery_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_notification_delivery_status'), ['status'], unique=False)

    op.create_table('notification_preference',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('email', sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
    sa.Column('mode', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('updated_at', inspect_app.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], ),
    sa.PrimaryKeyConstraint('user_id')
    )
    op.create_table('generated_file',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('path', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('filename', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('mimetype', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('storage_key', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('error', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('job_id', sa.Integer(), nullable=True),
    sa.Column('created_at', inspect_app.db.UTCDateTime(), nullable=False),
    sa.Column('ready_at', inspect_app.db.UTCDateTime(), nullable=True),
    sa.Column('expires_at', inspect_app.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['job_id'], ['job.id'], ),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('generated_file', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_generated_file_expires_at'), ['expires_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_generated_file_user_id'), ['user_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('generated_file', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_generated_file_user_id'))
        batch_op.drop_index(batch_op.f('ix_generated_file_expires_at'))

    op.drop_table('generated_file')
    op.drop_table('notification_preference')
    with op.batch_alter_table('notification_delivery', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notification_delivery_status'))
        batch_op.drop_index(batch_op.f('ix_notification_delivery_created_at'))
        batch_op.drop_index(batch_op.f('ix_notification_delivery_channel_id'))
        batch_op.drop_index('ix_delivery_user_status')

    op.drop_table('notification_delivery')
    with op.batch_alter_table('job', schema=None) as batch_op:
        batch_op.drop_index('ix_job_status_run_at')
        batch_op.drop_index(batch_op.f('ix_job_created_at'))

    op.drop_table('job')
    with op.batch_alter_table('notification_channel', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notification_channel_unit_id'))

    op.drop_table('notification_channel')
