"""The change counter: one row counted up by every write transaction (the pages' cache key).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 17:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    table = op.create_table('change_counter',
                            sa.Column('id', sa.Integer(), nullable=False),
                            sa.Column('n', sa.BigInteger(), nullable=False),
                            sa.PrimaryKeyConstraint('id'))
    op.bulk_insert(table, [{"id": 1, "n": 0}])


def downgrade() -> None:
    op.drop_table('change_counter')
