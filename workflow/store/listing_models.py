"""The tables that make lists and search scale: the parties of a case as rows (an
indexed join for "the cases my municipality is a party to"), and the text a case is
found by (its title and case number, its drafts' text, its sections).

On PostgreSQL ``search_entry`` also has a generated ``tsv`` column (``to_tsvector('danish',
body)``) under a GIN index; on SQLite an FTS5 table ``search_fts`` mirrors ``body``
through triggers. Both are made by revision 0018, outside these classes: see
:mod:`workflow.store.search`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


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
