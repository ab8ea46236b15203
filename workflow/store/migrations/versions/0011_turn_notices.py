"""Your-turn notices ride on the reminder ledger.

A ``reminder`` row is now either a step before or after a deadline (as before) or, with
``step`` "turn" and no deadline (``deadline_id`` NULL), an e-mail sent at once to the
people a step made it the turn of. It records the role
and municipality it is for, the audit entry that caused it (``audit_version``) and what it
says (``detail``: the step, who took it, the actions now awaited). ``user.turn_notices``
lets a user turn them off (NULL: on, the default).

Revision ID: 0011
Revises: 0009
Create Date: 2026-12-03 22:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("reminder", schema=None) as batch_op:
        batch_op.alter_column("deadline_id", existing_type=sa.Integer(), nullable=True)
        batch_op.add_column(sa.Column("role", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("municipality", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("audit_version", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("detail", sa.JSON(), nullable=True))
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("turn_notices", sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.drop_column("turn_notices")
    op.execute("DELETE FROM reminder WHERE deadline_id IS NULL")
    with op.batch_alter_table("reminder", schema=None) as batch_op:
        for column in ("detail", "audit_version", "municipality", "role"):
            batch_op.drop_column(column)
        batch_op.alter_column("deadline_id", existing_type=sa.Integer(), nullable=False)
