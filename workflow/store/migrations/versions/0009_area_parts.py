"""Parts of areas: ``area.parts``, claims per part, and released parts.

``area.parts`` declares the parts an application may ask for alone. ``application_area``
gets ``part_id`` ('' = the area itself) and its live claims become unique per (area, part);
the table is rebuilt for that (its old unique constraint had no name to drop). Existing
claims become whole-area claims: their rows keep ``part_id`` ''. ``area_part_release``
records a part released by a partial grant.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 23:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

OLD = "application_area_0008"
COLUMNS = "id, application_id, area_id, live, outcome"


def _claims(part: bool) -> None:
    columns = [
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('application_id', sa.Integer(), nullable=False),
        sa.Column('area_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False)]
    if part:
        columns.append(sa.Column('part_id', sqlmodel.sql.sqltypes.AutoString(length=40),
                                 nullable=False, server_default=''))
    keys = ['application_id', 'area_id', 'part_id'] if part else ['application_id', 'area_id']
    op.create_table(
        'application_area', *columns,
        sa.Column('live', sa.Boolean(), nullable=False),
        sa.Column('outcome', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.ForeignKeyConstraint(['application_id'], ['application.id'], ),
        sa.ForeignKeyConstraint(['area_id'], ['area.id'], ),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint(*keys, name='uq_application_area_claim' if part else None))
    with op.batch_alter_table('application_area', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_application_area_application_id'),
                              ['application_id'], unique=False)
        batch_op.create_index('uq_area_live_claim', ['area_id', 'part_id'] if part
                              else ['area_id'], unique=True, sqlite_where=sa.text('live'),
                              postgresql_where=sa.text('live'))


def _rebuild(part: bool) -> None:
    with op.batch_alter_table('application_area', schema=None) as batch_op:
        batch_op.drop_index('uq_area_live_claim')
        batch_op.drop_index(batch_op.f('ix_application_area_application_id'))
    op.rename_table('application_area', OLD)
    _claims(part)
    where = "" if part else " WHERE part_id = ''"
    op.execute(f"INSERT INTO application_area ({COLUMNS}) SELECT {COLUMNS} FROM {OLD}{where}")
    op.drop_table(OLD)
    if op.get_bind().dialect.name == "postgresql":   # the copied ids: the sequence follows
        op.execute("SELECT setval(pg_get_serial_sequence('application_area', 'id'), "
                   "COALESCE((SELECT MAX(id) FROM application_area), 0) + 1, false)")


def upgrade() -> None:
    with op.batch_alter_table('area', schema=None) as batch_op:
        batch_op.add_column(sa.Column('parts', sa.JSON(), nullable=True))
    op.create_table(
        'area_part_release',
        sa.Column('area_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column('part_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column('released_on', sa.Date(), nullable=False),
        sa.Column('released_by', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['area_id'], ['area.id'], ),
        sa.ForeignKeyConstraint(['released_by'], ['application.id'], ),
        sa.PrimaryKeyConstraint('area_id', 'part_id'))
    _rebuild(part=True)


def downgrade() -> None:
    _rebuild(part=False)
    op.drop_table('area_part_release')
    with op.batch_alter_table('area', schema=None) as batch_op:
        batch_op.drop_column('parts')
