"""A one-time password must be changed: ``user.must_change_password`` (NULL: no), set when
an administrator gives a user a password made for them, cleared when the user chooses
their own.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06 01:15:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("must_change_password", sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.drop_column("must_change_password")
