"""The committees a municipality's council decisions pass through first.

``municipality.committees`` lists, in order, the committees that treat a case before the
council (Ishøj: a fagudvalg, then Økonomi- og Planudvalget); NULL or empty: none declared.
A committee's decision is a party act like the council's, so no other table changes.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 06:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("municipality", schema=None) as batch_op:
        batch_op.add_column(sa.Column("committees", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("municipality", schema=None) as batch_op:
        batch_op.drop_column("committees")
