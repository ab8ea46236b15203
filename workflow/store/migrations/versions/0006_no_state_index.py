"""Drop the index on application.state.

A transition changes the state, so the index was rewritten by every transition (on SQLite
a second b-tree page in every commit; on PostgreSQL no HOT update), while the listings it
served read a few hundred rows, a scan either way.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27 21:40:00
"""

from __future__ import annotations

from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('application', schema=None) as batch_op:
        batch_op.drop_index('ix_application_state')


def downgrade() -> None:
    with op.batch_alter_table('application', schema=None) as batch_op:
        batch_op.create_index('ix_application_state', ['state'], unique=False)
