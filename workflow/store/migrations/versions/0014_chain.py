"""The tamper-evident chain, and what regenerates a document version.

``chain_link`` holds one link per audit entry, document version and journal entry (0013)
of a case, each with the hash of the link before it (``store/chain.py``); the existing rows
of every case are chained here, in the order the steps made them. ``document_version.recipe`` keeps what
regenerates a version's bytes (the rendering context, letterhead, engine version); the
versions made before this revision have none.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04 18:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

# the chained kinds and their fields at this revision (later ones chain from their own)
FIELDS = {
    "audit_entry": ("version", "trigger", "from_state", "to_state", "user_id", "role",
                    "municipality", "at", "happened_on", "comment", "data"),
    "document_version": ("document_id", "number", "created_at", "created_by", "trigger",
                         "audit_version", "state", "letter_date", "template",
                         "template_sha256", "input_sha256", "input", "approval_sha256",
                         "sha256", "size", "content", "recipe"),
    "journal_entry": ("number", "registered_at", "registered_by", "dated", "kind",
                      "direction", "doc_type", "party", "description", "filename",
                      "media_type", "sha256", "size", "document_version_id", "text",
                      "corrects"),
}


def upgrade() -> None:
    with op.batch_alter_table("document_version", schema=None) as batch_op:
        batch_op.add_column(sa.Column("recipe", sa.JSON(), nullable=True))
    op.create_table(
        "chain_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("prev_sha256", sa.String(length=64), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("digests", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["application_id"], ["application.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("application_id", "seq", name="uq_chain_link_seq"))
    from workflow.store import chain

    conn = op.get_bind()
    for (case,) in conn.execute(sa.text("SELECT id FROM application ORDER BY id")):
        chain.rebuild(conn, int(case), FIELDS)


def downgrade() -> None:
    op.drop_table("chain_link")
    with op.batch_alter_table("document_version", schema=None) as batch_op:
        batch_op.drop_column("recipe")
