"""The case file's tables, as SQLModel classes (beside :mod:`.models`, which holds the
case's own): uploaded files' bytes by sha256 and the journal (the aktliste).

Created by Alembic migrations like the rest; :mod:`.tables` registers both modules.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Column, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel


class StoredFile(SQLModel, table=True):
    """An uploaded file's exact bytes, once per sha256 (the same bytes twice are one row):
    in ``stored_file_chunk`` (``place`` "database") or in a content-addressed folder."""

    __tablename__ = "stored_file"

    sha256: str = Field(primary_key=True, max_length=64)
    size: int = Field(sa_type=BigInteger)
    place: str = Field(max_length=20, description="database | folder")
    created_at: datetime


class StoredFileChunk(SQLModel, table=True):
    """One piece (at most 1 MiB) of a stored file's bytes, in order by ``seq``."""

    __tablename__ = "stored_file_chunk"

    sha256: str = Field(foreign_key="stored_file.sha256", primary_key=True, max_length=64)
    seq: int = Field(primary_key=True)
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class JournalEntry(SQLModel, table=True):
    """One entry of a case's journal (the aktliste): a generated document version, an
    uploaded document received or sent, or a note. ``number`` (the aktnummer) is given
    when it is registered, in order per case, and never changes; no entry is ever
    updated (the database refuses it), a note is corrected by a new one (``corrects``)."""

    __tablename__ = "journal_entry"
    __table_args__ = (UniqueConstraint("application_id", "number",
                                       name="uq_journal_entry_number"),)

    id: int | None = Field(default=None, primary_key=True)
    application_id: int = Field(foreign_key="application.id", index=True)
    number: int = Field(description="the aktnummer: 1, 2, … per case")
    registered_at: datetime
    registered_by: str = Field(max_length=80)
    dated: date = Field(description="the day received, sent, written or made")
    kind: str = Field(max_length=20, description="generated | upload | note")
    direction: str = Field(max_length=20, description="received | sent | internal")
    doc_type: str = Field(max_length=40)
    party: str = Field(default="", max_length=200, description="sender or recipient")
    description: str = Field(default="", max_length=500)
    filename: str = Field(default="", max_length=255)
    media_type: str = Field(default="", max_length=100)
    sha256: str | None = Field(default=None, max_length=64)
    size: int | None = Field(default=None, sa_type=BigInteger)
    document_version_id: int | None = Field(default=None, foreign_key="document_version.id")
    text: str | None = Field(default=None, description="a note's text")
    corrects: int | None = Field(default=None, description="a note: the number it corrects")


class JournalExemption(SQLModel, table=True):
    """A decision that journal entry ``number`` of a case (``field`` "": the whole
    document; else one field of its line in the aktliste) is exempt from aktindsigt on a
    ground of ``documents.exemptions`` in states.yaml. Rows are never changed: the newest
    for an entry and field is in force, and one with no ``ground`` lifts the exemption."""

    __tablename__ = "journal_exemption"

    id: int | None = Field(default=None, primary_key=True)
    application_id: int = Field(foreign_key="application.id", index=True)
    number: int = Field(description="the journal entry's aktnummer")
    field: str = Field(default="", max_length=20, description="'' | description | party | text")
    ground: str | None = Field(default=None, max_length=40,
                               description="a key of documents.exemptions; None: lifted")
    reason: str = Field(default="", max_length=1000)
    decided_by: str = Field(max_length=80)
    decided_at: datetime
