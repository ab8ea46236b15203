"""A case's history: its steps, downloads, reminders, notices, section edits and edited
drafts in one order, the whole of it or a page at a time.

Each source reads its own rows after its own position (:mod:`workflow.store.keyset`), in
SQL and at most a page and one more of them; the page is the merge of those reads by key. So a page
costs a few indexed reads, however long the history is, and the pages one after another
are exactly the whole history.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from ..documents import edits, sections
from ..documents.listing import downloads
from ..reminders import ledger, notices
from ..store import keyset
from ..store import tables as t
from ..store.keyset import Entry, Position

PAGE = 100       # entries a page holds unless asked for fewer or more
MAX_PAGE = 500


@dataclass(frozen=True)
class Positions:
    """Where a page of the history ended: the last step's version, and each other
    source's last row (None: none of it read yet)."""

    version: int = 0
    rows: tuple[Position | None, ...] = (None,) * keyset.EDITS   # the sources after AUDIT

    def values(self) -> list[Any]:
        """The positions as a cursor holds them (:func:`workflow.engine.lists.encode`)."""
        out: list[Any] = [self.version]
        for p in self.rows:
            out += [p[0].isoformat(), p[1]] if p is not None else ["", 0]
        return out

    @classmethod
    def of(cls, values: list[Any]) -> Positions:
        """The positions a cursor's values name; ValueError for any that are not."""
        version, rest = values[0], values[1:]
        if version < 0 or len(rest) != 2 * len(cls().rows):
            raise ValueError(values)
        rows = tuple((datetime.fromisoformat(at), row_id) if at else None
                     for at, row_id in zip(rest[::2], rest[1::2], strict=True))
        return cls(version, rows)


TYPES = (int,) + (str, int) * keyset.EDITS   # a cursor's values


def steps(conn: Connection, app_id: int, *, after: int = 0, limit: int | None = None,
          newest: bool = False) -> list[Entry]:
    """The case's steps (its audit entries) after version ``after``, in version order (a
    step's recorded time follows it but for racing writers), as history entries."""
    ae = t.audit_entry
    rows = conn.execute(select(ae).where(ae.c.application_id == app_id, ae.c.version > after)
                        .order_by(ae.c.version.desc() if newest else ae.c.version)
                        .limit(limit))
    return [((r.at, keyset.AUDIT, r.version),
             {"version": r.version, "trigger": r.trigger, "from": r.from_state,
              "to": r.to_state, "user": r.user_id, "role": r.role,
              "municipality": r.municipality, "at": r.at.isoformat(),
              "happened_on": r.happened_on.isoformat() if r.happened_on else None,
              "comment": r.comment, "data": r.data}) for r in rows]


# the sources other than the steps, in the order of their numbers in keyset
OTHERS: tuple[Callable[..., list[Entry]], ...] = (
    downloads, ledger.sent_for_history, notices.sent_for_history, sections.for_history,
    edits.for_history)


def entries(conn: Connection, app_id: int, *, after: Positions | None = None,
            limit: int | None = None) -> tuple[list[Entry], Positions | None]:
    """The history entries after ``after`` (from the first without it), at most ``limit``
    (all without it), and where they end when more follow (None: this is the end).

    Every source is read in its own order and the reads merged by key (heapq: the
    smallest head first); the merge depends only on what is left of each source, so
    going on from the positions a page ended on gives exactly the rest of the whole."""
    at = after or Positions()
    more = None if limit is None else limit + 1
    reads = [steps(conn, app_id, after=at.version, limit=more)]
    reads += [source(conn, app_id, after=pos, limit=more)
              for source, pos in zip(OTHERS, at.rows, strict=True)]
    merged = list(heapq.merge(*reads, key=lambda e: e[0]))
    if limit is None or len(merged) <= limit:
        return merged, None
    page = merged[:limit]
    version = max((k[2] for k, _ in page if k[1] == keyset.AUDIT), default=at.version)
    rows = list(at.rows)
    for (when, source, row_id), _ in page:
        if source != keyset.AUDIT:
            rows[source - 1] = (when, row_id)
    return page, Positions(version, tuple(rows))


def latest(conn: Connection, app_id: int, n: int) -> tuple[list[Entry], bool]:
    """The newest ``n`` entries of the history, oldest first, and whether there are older
    ones: each source's newest ``n`` and one more, merged from the newest."""
    reads = [source(conn, app_id, limit=n + 1, newest=True) for source in (steps, *OTHERS)]
    merged = list(heapq.merge(*reads, key=lambda e: e[0], reverse=True))
    return merged[:n][::-1], len(merged) > n
