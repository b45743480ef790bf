"""kept notice PDFs: a notice's rendered PDF per audience, served again while its digest holds

Revision ID: 0030
Revises: 0032
Create Date: 2026-12-06 13:40:00
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

from inspect_app.db import UTCDateTime

revision = '0030'
down_revision = '0032'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'kept_notice_pdf',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('notice_id', sa.Integer(), nullable=False),
        sa.Column('audience', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('digest', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('storage_key', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('kept_at', UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['notice_id'], ['rectification_notice.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('notice_id', 'audience', name='uq_kept_notice_pdf_audience'),
    )
    op.create_index('ix_kept_notice_pdf_notice_id', 'kept_notice_pdf', ['notice_id'], unique=False)
    op.create_index('ix_kept_notice_pdf_digest', 'kept_notice_pdf', ['digest'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_kept_notice_pdf_digest', table_name='kept_notice_pdf')
    op.drop_index('ix_kept_notice_pdf_notice_id', table_name='kept_notice_pdf')
    op.drop_table('kept_notice_pdf')
