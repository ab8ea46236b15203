"""A municipality's own letterhead, signatories, contacts and agenda layout.

The letterhead of every draft is made from these columns (``documents/letterhead.py``):
``council_type`` (``kommunalbestyrelse`` or ``byraad``: how the council is called), the
``logo`` image's bytes and ``logo_type`` (``image/png`` or ``image/jpeg``), the
``signatories`` who sign its letters and its ``contacts`` (JSON lists), the
``agenda_layout`` its agenda items are laid out in and an ``agenda_template`` of its own
(a file name under templates/documents/). Existing rows get the defaults.

Revision ID: 0020
Revises: 0016
Create Date: 2026-12-04 21:15:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("municipality", schema=None) as batch_op:
        batch_op.add_column(sa.Column("council_type", sa.String(length=40), nullable=False,
                                      server_default="kommunalbestyrelse"))
        batch_op.add_column(sa.Column("logo", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("logo_type", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("signatories", sa.JSON(), nullable=False,
                                      server_default="[]"))
        batch_op.add_column(sa.Column("contacts", sa.JSON(), nullable=False,
                                      server_default="[]"))
        batch_op.add_column(sa.Column("agenda_layout", sa.String(length=40), nullable=False,
                                      server_default="standard"))
        batch_op.add_column(sa.Column("agenda_template", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("municipality", schema=None) as batch_op:
        for name in ("agenda_template", "agenda_layout", "contacts", "signatories",
                     "logo_type", "logo", "council_type"):
            batch_op.drop_column(name)
