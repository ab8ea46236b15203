"""Writing a case's journal (the aktliste): :func:`add` numbers and inserts one entry,
inside the caller's transaction, so an entry is written with whatever it records.

Numbers (aktnumre) are given in order per case, 1, 2, …, when an entry is registered,
and never change: the case's row is locked first (on PostgreSQL; SQLite has one writer),
so two transactions cannot take the same number. Nothing here updates an entry, and the
database refuses an UPDATE (revision 0013's trigger).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.engine import Connection

from . import chain
from . import tables as t

KINDS = ("generated", "upload", "note")
DIRECTIONS = ("received", "sent", "internal")


def add(conn: Connection, *, application_id: int, registered_at: datetime,
        registered_by: str, dated: date, kind: str, direction: str, doc_type: str,
        description: str, **more: Any) -> int:
    """Register one entry of case ``application_id`` and return its number; ``more``:
    party, filename, media_type, sha256, size, document_version_id, text, corrects."""
    if kind not in KINDS or direction not in DIRECTIONS:
        raise ValueError(f"journal entry of kind {kind!r}, direction {direction!r}")
    app = t.application
    lock = select(app.c.id).where(app.c.id == application_id)
    if conn.dialect.name != "sqlite":
        lock = lock.with_for_update()
    conn.execute(lock)
    je = t.journal_entry
    number = int(conn.execute(select(func.coalesce(func.max(je.c.number), 0))
                              .where(je.c.application_id == application_id)).scalar_one()) + 1
    conn.execute(insert(je).values(
        application_id=application_id, number=number, registered_at=registered_at,
        registered_by=registered_by, dated=dated, kind=kind, direction=direction,
        doc_type=doc_type, description=description[:500],
        party=more.pop("party", "") or "", filename=more.pop("filename", "") or "",
        media_type=more.pop("media_type", "") or "", **more))
    chain.append(conn, application_id, "journal_entry", number)
    return number
