"""complaint_last_fault and complaint_last_fault_unit: each outlet's and each unit's newest complaint
at fault (substantiated or partly), kept with every change of a complaint (``complaints.stats``).
The 零投诉 streak list grouped the nation's 190,000 complaints at fault by outlet in every request,
and the hotspots walked the received index once per province for the units' streaks (and read
the newest 300 complaints at fault for the newest outlets: by ``ix_complaint_last_fault_last`` now). Filled from the
complaints here.

Revision ID: 0040
Revises: 0039
Create Date: 2026-12-06 23:40:00
"""
import datetime as dt

import sqlalchemy as sa
from alembic import op

revision = '0040'
down_revision = '0039'
branch_labels = None
depends_on = None


def upgrade() -> None:
    aware = sa.DateTime(timezone=op.get_bind().dialect.name == "postgresql")
    op.create_table('complaint_last_fault',
                    sa.Column('outlet_id', sa.Integer(), nullable=False),
                    sa.Column('last_at', aware, nullable=False),
                    sa.PrimaryKeyConstraint('outlet_id'))
    op.create_index('ix_complaint_last_fault_last', 'complaint_last_fault', ['last_at', 'outlet_id'], unique=False)
    op.create_table('complaint_last_fault_unit',
                    sa.Column('unit_id', sa.Integer(), nullable=False),
                    sa.Column('last_at', aware, nullable=False),
                    sa.PrimaryKeyConstraint('unit_id'))
    op.execute("INSERT INTO complaint_last_fault (outlet_id, last_at) SELECT outlet_id, max(received_at) "
               "FROM complaint WHERE verdict = 'substantiated' OR verdict = 'partly' GROUP BY outlet_id")
    bind = op.get_bind()
    newest: dict[int, object] = {}
    for path, moment in bind.execute(sa.text(
            "SELECT u.path, max(f.last_at) FROM complaint_last_fault f JOIN outlet o ON o.id = f.outlet_id "
            "JOIN unit u ON u.id = o.unit_id GROUP BY u.path")):
        if isinstance(moment, str):  # SQLite
            moment = dt.datetime.fromisoformat(moment)
        for unit_id in (int(part) for part in path.strip("/").split("/") if part):
            newest[unit_id] = max(moment, newest.get(unit_id, moment))
    if newest:
        op.bulk_insert(sa.table('complaint_last_fault_unit', sa.column('unit_id'), sa.column('last_at', aware)),
                       [{"unit_id": unit_id, "last_at": moment} for unit_id, moment in sorted(newest.items())])


def downgrade() -> None:
    op.drop_index('ix_complaint_last_fault_last', table_name='complaint_last_fault')
    op.drop_table('complaint_last_fault_unit')
    op.drop_table('complaint_last_fault')
