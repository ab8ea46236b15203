"""The keyset of a case's history: one order over rows of several tables.

Each source of a case's history reads its own rows after its own position, in SQL:
the steps after a version, the others after ``(at, id)`` (:func:`after`), each in its own
order. A history entry's merge key is ``(at, source, id)``: when it was recorded, which
table it comes from (a fixed number per source, so two entries at the same instant keep
one order), and its row id there. A page is a merge of a few indexed reads, and page 100
costs what page 1 does.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, literal, true, tuple_

Key = tuple[datetime, int, int]        # an entry's place in the merge
Position = tuple[datetime, int]        # a source's last row read: its (at, id)
Entry = tuple[Key, dict[str, Any]]     # a history entry with its key

# the sources, in the order two entries recorded at the same instant are shown
AUDIT, DOWNLOADS, REMINDERS, NOTICES, SECTIONS, EDITS = range(6)


def after(at: ColumnElement[Any], row_id: ColumnElement[Any],
          position: Position | None) -> ColumnElement[bool]:
    """The rows (by their ``at`` and id columns) that come after ``position``."""
    if position is None:
        return true()
    k_at, k_id = position
    return tuple_(at, row_id) > tuple_(literal(k_at, at.type), literal(k_id, row_id.type))


def order(at: ColumnElement[Any], row_id: ColumnElement[Any],
          newest: bool) -> list[ColumnElement[Any]]:
    """A source's order: by ``(at, id)``, the newest first with ``newest``."""
    return [at.desc(), row_id.desc()] if newest else [at, row_id]
