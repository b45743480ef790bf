"""configuration: checklist versions say where they came from and may repeat an older content;
indicator tree versions; uploaded drafts; snapshots name their tree version

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 03:30:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel
import inspect_app.db


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('checklist_version', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False,
                                      server_default='file'))
        batch_op.add_column(sa.Column('published_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False,
                                      server_default=''))
        batch_op.create_foreign_key('fk_checklist_version_published_by', 'user_account', ['published_by_id'], ['id'])
        batch_op.drop_constraint('uq_checklist_code_sha', type_='unique')
        batch_op.create_index('ix_checklist_code_sha', ['code', 'sha256'], unique=False)
    op.create_table('indicator_tree_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('definition', sa.JSON(), nullable=False),
    sa.Column('created_at', inspect_app.db.UTCDateTime(), nullable=False),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('published_by_id', sa.Integer(), nullable=True),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.ForeignKeyConstraint(['published_by_id'], ['user_account.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code', 'version', name='uq_indicator_tree_code_version')
    )
    with op.batch_alter_table('indicator_tree_version', schema=None) as batch_op:
        batch_op.create_index('ix_indicator_tree_code_sha', ['code', 'sha256'], unique=False)
    op.create_table('config_draft',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('code', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('filename', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('definition', sa.JSON(), nullable=False),
    sa.Column('uploaded_at', inspect_app.db.UTCDateTime(), nullable=False),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=False),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('decided_at', inspect_app.db.UTCDateTime(), nullable=True),
    sa.Column('version_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['user_account.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('visit', schema=None) as batch_op:
        batch_op.add_column(sa.Column('section_scores', sa.JSON(), nullable=True))
    with op.batch_alter_table('indicator_snapshot', schema=None) as batch_op:
        batch_op.add_column(sa.Column('tree_version_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_indicator_snapshot_tree_version', 'indicator_tree_version',
                                    ['tree_version_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('indicator_snapshot', schema=None) as batch_op:
        batch_op.drop_constraint('fk_indicator_snapshot_tree_version', type_='foreignkey')
        batch_op.drop_column('tree_version_id')
    with op.batch_alter_table('visit', schema=None) as batch_op:
        batch_op.drop_column('section_scores')
    op.drop_table('config_draft')
    with op.batch_alter_table('indicator_tree_version', schema=None) as batch_op:
        batch_op.drop_index('ix_indicator_tree_code_sha')
    op.drop_table('indicator_tree_version')
    with op.batch_alter_table('checklist_version', schema=None) as batch_op:
        batch_op.drop_index('ix_checklist_code_sha')
        batch_op.create_unique_constraint('uq_checklist_code_sha', ['code', 'sha256'])
        batch_op.drop_constraint('fk_checklist_version_published_by', type_='foreignkey')
        batch_op.drop_column('note')
        batch_op.drop_column('published_by_id')
        batch_op.drop_column('source')
