"""the check-in's distance and flag on every visit, extension requests (延期申请) on rectification
lines, and the count of approved extensions on lines and in the board's running totals

Revision ID: 0021
Revises: 0022
Create Date: 2026-12-06 06:20:00
"""
import math

import sqlalchemy as sa
from alembic import op

import inspect_app.db

revision = '0021'
down_revision = '0022'
branch_labels = None
depends_on = None


def _distance_m(lat1, lon1, lat2, lon2):
    r = 6_371_000.0
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(math.sqrt(a))


def upgrade() -> None:
    with op.batch_alter_table('visit', schema=None) as batch_op:
        batch_op.add_column(sa.Column('checkin_distance_m', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('checkin_flag', sa.String(length=16), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('checkin_far_reason', sa.String(length=300), nullable=False, server_default=''))
        batch_op.create_index('ix_visit_checkin_flag', ['checkin_flag', 'assignee_id', 'checkin_at'], unique=False)
    with op.batch_alter_table('rectification_line', schema=None) as batch_op:
        batch_op.add_column(sa.Column('extensions', sa.Integer(), nullable=False, server_default='0'))
    with op.batch_alter_table('line_stats', schema=None) as batch_op:
        batch_op.add_column(sa.Column('extended', sa.Integer(), nullable=False, server_default='0'))
    op.create_table(
        'extension_request',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('line_id', sa.Integer(), sa.ForeignKey('rectification_line.id'), nullable=False),
        sa.Column('requested_by_id', sa.Integer(), sa.ForeignKey('user_account.id'), nullable=False),
        sa.Column('requested_at', inspect_app.db.UTCDateTime(), nullable=False),
        sa.Column('deadline_before', sa.Date(), nullable=False),
        sa.Column('requested_deadline', sa.Date(), nullable=False),
        sa.Column('reason', sa.String(length=2000), nullable=False),
        sa.Column('photo_id', sa.Integer(), sa.ForeignKey('photo.id'), nullable=True),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('decided_by_id', sa.Integer(), sa.ForeignKey('user_account.id'), nullable=True),
        sa.Column('decided_at', inspect_app.db.UTCDateTime(), nullable=True),
        sa.Column('approved_deadline', sa.Date(), nullable=True),
        sa.Column('decision_reason', sa.String(length=2000), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_extension_request_line_id', 'extension_request', ['line_id'], unique=False)
    op.create_index('ix_extension_decided', 'extension_request', ['status', 'decided_at'], unique=False)
    op.create_index('uq_extension_open_line', 'extension_request', ['line_id'], unique=True,
                    sqlite_where=sa.text("status = 'open'"), postgresql_where=sa.text("status = 'open'"))
    # Past check-ins get their flag as today's rule gives it (300 m, the accuracy allowed up to it):
    # the managers' list starts complete, not from the day of the upgrade. A self-inspection (the
    # chief in their own outlet, position optional) is never flagged.
    bind = op.get_bind()
    rows = bind.execute(sa.text(
        "SELECT v.id, v.checkin_lat, v.checkin_lon, v.checkin_accuracy, o.lat, o.lon FROM visit v "
        "JOIN outlet o ON o.id = v.outlet_id WHERE v.checkin_at IS NOT NULL AND v.kind != 'self'")).all()
    for visit_id, lat, lon, accuracy, outlet_lat, outlet_lon in rows:
        if lat is None or lon is None:
            bind.execute(sa.text("UPDATE visit SET checkin_flag = 'no_location' WHERE id = :id"), {"id": visit_id})
        elif outlet_lat is not None and outlet_lon is not None:
            meters = _distance_m(lat, lon, outlet_lat, outlet_lon)
            flag = 'far' if meters - min(accuracy or 0, 300) > 300 else ''
            bind.execute(sa.text("UPDATE visit SET checkin_distance_m = :m, checkin_flag = :f WHERE id = :id"),
                         {"m": round(meters, 1), "f": flag, "id": visit_id})


def downgrade() -> None:
    op.drop_index('uq_extension_open_line', table_name='extension_request')
    op.drop_index('ix_extension_decided', table_name='extension_request')
    op.drop_index('ix_extension_request_line_id', table_name='extension_request')
    op.drop_table('extension_request')
    with op.batch_alter_table('line_stats', schema=None) as batch_op:
        batch_op.drop_column('extended')
    with op.batch_alter_table('rectification_line', schema=None) as batch_op:
        batch_op.drop_column('extensions')
    with op.batch_alter_table('visit', schema=None) as batch_op:
        batch_op.drop_index('ix_visit_checkin_flag')
        batch_op.drop_column('checkin_far_reason')
        batch_op.drop_column('checkin_flag')
        batch_op.drop_column('checkin_distance_m')
