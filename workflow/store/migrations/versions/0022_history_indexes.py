"""A case's history is paged in SQL (``store/keyset.py``): each of its sources read by
case, then (at, id), from an index in that order: ``case_section``, ``document_download``
and ``reminder`` (the steps are read by ``audit_entry``'s primary key).

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-06 01:40:00
"""

from __future__ import annotations

from alembic import op

revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None

INDEXES = (("ix_case_section_history", "case_section", "created_at"),
           ("ix_document_download_history", "document_download", "at"),
           ("ix_reminder_history", "reminder", "sent_at"))


def upgrade() -> None:
    for name, table, at in INDEXES:
        op.create_index(name, table, ["application_id", at, "id"])


def downgrade() -> None:
    for name, table, _ in INDEXES:
        op.drop_index(name, table_name=table)
