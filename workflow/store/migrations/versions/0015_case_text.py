"""The case's own text and drafts edited by hand.

``case_section`` holds every version of a case's own text for a section of its letter
(reasons, transition plan, staff, economy, citizens), never overwritten: the newest of a
section is what the drafts print. ``document_version`` gains ``origin`` ("generated" from
the template, "edited": a .docx uploaded by legal staff), ``edited_from`` (an edited
version: the number of the version it was edited from) and ``note``.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04 18:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'case_section',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('application_id', sa.Integer(), nullable=False),
        sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column('number', sa.Integer(), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.ForeignKeyConstraint(['application_id'], ['application.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('application_id', 'name', 'number'))
    op.create_index(op.f('ix_case_section_application_id'), 'case_section',
                    ['application_id'], unique=False)
    with op.batch_alter_table("document_version", schema=None) as batch_op:
        batch_op.add_column(sa.Column("origin", sqlmodel.sql.sqltypes.AutoString(length=20),
                                      nullable=False, server_default="generated"))
        batch_op.add_column(sa.Column("edited_from", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("note", sqlmodel.sql.sqltypes.AutoString(length=2000),
                                      nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("document_version", schema=None) as batch_op:
        for column in ("note", "edited_from", "origin"):
            batch_op.drop_column(column)
    op.drop_index(op.f('ix_case_section_application_id'), table_name='case_section')
    op.drop_table('case_section')
