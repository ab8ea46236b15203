"""The tables that make lists and search scale: the parties of a case as rows (an
indexed join for "the cases my municipality is a party to"), and the text a case is
found by (its title and case number, its drafts' text, its sections); and the indexes a
case's history is paged by (:mod:`workflow.store.keyset`).

On PostgreSQL ``search_entry`` also has a generated ``tsv`` column (``to_tsvector('danish',
body)``) under a GIN index; on SQLite an FTS5 table ``search_fts`` mirrors ``body``
through triggers. Both are made by revision 0018, outside these classes: see
:mod:`workflow.store.search`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import Column, Index, Table, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from .models import CaseSection, DocumentDownload, Reminder


class ApplicationParty(SQLModel, table=True):
    """One municipality that is a party to a case (``application.parties``, as rows),
    written in the transaction that sets the parties."""

    __tablename__ = "application_party"
    __table_args__ = (Index("ix_application_party_municipality", "municipality",
                            "application_id"),)

    application_id: int = Field(foreign_key="application.id", primary_key=True)
    municipality: str = Field(primary_key=True, max_length=40)


class SearchEntry(SQLModel, table=True):
    """A piece of a case's text to search: ``source`` ``case`` (case number and title),
    ``document:NAME:PARTY`` (the latest generated draft's text) or ``section:NAME``."""

    __tablename__ = "search_entry"
    __table_args__ = (UniqueConstraint("application_id", "source",
                                       name="uq_search_entry_source"),)

    id: int | None = Field(default=None, primary_key=True)
    application_id: int = Field(foreign_key="application.id", index=True)
    source: str = Field(max_length=120)
    body: str = Field(sa_column=Column(Text, nullable=False))
    updated_at: datetime


# A case's history, a page at a time: each source read by case, then (at, id), from an
# index in that order (the steps are read by their primary key, (application, version)).
def _history_index(name: str, model: Any, at: str) -> Index:
    table = cast(Table, model.__table__)
    return Index(name, table.c.application_id, table.c[at], table.c.id)


HISTORY_INDEXES = (_history_index("ix_case_section_history", CaseSection, "created_at"),
                   _history_index("ix_document_download_history", DocumentDownload, "at"),
                   _history_index("ix_reminder_history", Reminder, "sent_at"))
