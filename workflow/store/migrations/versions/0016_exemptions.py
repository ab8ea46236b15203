"""Exemptions from aktindsigt: which journal entries (or fields of them) are withheld, on
which ground of offentlighedsloven, decided by whom and when. Rows are never changed.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04 18:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('journal_exemption',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('application_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('field', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('ground', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('decided_by', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('decided_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['application_id'], ['application.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('journal_exemption', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_journal_exemption_application_id'),
                              ['application_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('journal_exemption', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_journal_exemption_application_id'))
    op.drop_table('journal_exemption')
