"""Two times per record: the day a step happened beside when it was recorded.

``audit_entry.happened_on`` and ``party_act.happened_on`` are the day the step (a council
meeting, the ministry's letter) took place; ``at`` stays the moment it was recorded.
``application.entered_on`` is the day the current state was entered as it happened (the
deadlines count from it), ``application.opened_on`` the day the case was opened (its case
number's year). Rows from before have NULL: their recorded day is the day it happened.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 17:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

COLUMNS = (("audit_entry", "happened_on"), ("party_act", "happened_on"),
           ("application", "entered_on"), ("application", "opened_on"))


def upgrade() -> None:
    for table, column in COLUMNS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column(column, sa.Date(), nullable=True))


def downgrade() -> None:
    for table, column in reversed(COLUMNS):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column(column)
