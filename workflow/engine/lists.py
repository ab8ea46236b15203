"""Lists that scale: a page of cases, deadlines or search results, filtered, sorted and
cut in SQL, with the user's visibility in the query (an indexed join on
``application_party``), never in Python.

Pages are cut by keyset (the sort key of the last row seen, and the id as a tie-break),
so page 1,000 costs what page 1 does; a search sorted by relevance is cut by offset
(at most :data:`MAX_OFFSET`). A page's ``next`` and ``prev`` are opaque cursors
(:func:`encode`): base64 of the keyset and a check digest, so a cursor changed by hand is
refused (:class:`InvalidData`, 422) rather than read. No page counts its rows.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    exists,
    false,
    func,
    literal,
    not_,
    or_,
    select,
    true,
    tuple_,
)
from sqlalchemy.engine import Connection

from ..errors import InvalidData, Said
from ..reminders import ledger
from ..store import search as fts
from ..store import tables as t
from .workflow import Actor, Workflow

SORTS = ("updated", "case_number", "due")
SEARCH_SORTS = ("relevance", "updated")
MAX_LIMIT = 100
MAX_OFFSET = 1000


@dataclass
class Page:
    """One page of rows, and the cursors of the pages beside it (None: there is none)."""

    rows: list[dict[str, Any]]
    next: str | None = None
    prev: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def bad(en: str, da: str) -> InvalidData:
    return InvalidData(Said(en, da))


# ------------------------------------------------------------------------ cursors
def encode(kind: str, key: list[Any], back: bool = False) -> str:
    body = json.dumps({"s": kind, "k": key, "b": back}, separators=(",", ":"))
    check = hashlib.sha256(body.encode()).hexdigest()[:12]
    return base64.urlsafe_b64encode(f"{check}{body}".encode()).decode().rstrip("=")


def refused_cursor() -> InvalidData:
    """The refusal of a cursor that is not one the list gave out."""
    return bad("the cursor is not one this list gave out (changed, or of another "
               "list or sort): start again without it",
               "markøren er ikke en, denne liste har givet (ændret, eller fra en anden "
               "liste eller sortering): begynd forfra uden den")


def decode(cursor: str, kind: str, types: tuple[type, ...]) -> tuple[list[Any], bool]:
    """The keyset and direction of ``cursor``, made for the list ``kind`` with a key of
    ``types``; anything else is refused, saying so."""
    refused = refused_cursor()
    try:
        if len(cursor) > 400:
            raise ValueError
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        check, body = raw[:12], raw[12:]
        if hashlib.sha256(body.encode()).hexdigest()[:12] != check:
            raise ValueError
        got = json.loads(body)
        if got["s"] != kind or len(got["k"]) != len(types) or not isinstance(got["b"], bool):
            raise ValueError
        key: list[Any] = []
        for value, typ in zip(got["k"], types, strict=True):
            if typ is datetime:
                key.append(datetime.fromisoformat(value))
            elif typ is date:
                key.append(date.fromisoformat(value))
            elif typ is int and isinstance(value, int) and not isinstance(value, bool):
                key.append(value)
            elif typ is str and isinstance(value, str):
                key.append(value)
            else:
                raise ValueError
        return key, got["b"]
    except (ValueError, TypeError, KeyError, UnicodeDecodeError, json.JSONDecodeError):
        raise refused from None


def _jsonable(v: Any) -> Any:
    return v.isoformat() if isinstance(v, date | datetime) else v


def checked_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_LIMIT:
        raise bad(f"limit must be 1 to {MAX_LIMIT}", f"limit skal være 1 til {MAX_LIMIT}")
    return limit


# --------------------------------------------------------------------- visibility
def visible(actor: Actor, app_id: ColumnElement[Any]) -> ColumnElement[bool]:
    """The cases ``actor`` may see: all for an admin (an admin of one cooperation: its
    cases), else those her municipality is a party to (the primary key of
    ``application_party``: one index probe a case)."""
    if actor.role == "admin":
        if actor.cooperation is None:
            return true()
        own = t.application.alias("own")   # an admin limited to one cooperation: its cases
        return exists().where(own.c.id == app_id, own.c.cooperation_id == actor.cooperation)
    if not actor.municipality:
        return false()
    ap = t.application_party
    return exists().where(ap.c.application_id == app_id,
                          ap.c.municipality == actor.municipality)


def open_cases(wf: Workflow) -> ColumnElement[bool]:
    a = t.application
    finals = [and_(a.c.process == p.name, a.c.state.in_(p.final_states))
              for p in wf.definition.processes.values() if p.final_states]
    return not_(or_(*finals)) if finals else true()


def _keyset(q: Select[Any], cols: list[Any], key: list[Any] | None, back: bool,
            descending: bool) -> Select[Any]:
    """Rows after ``key`` in the list's order (before it with ``back``), in the order to
    read them (reversed with ``back``: the caller turns the page round)."""
    forward = descending != back   # True: the comparison is "<" (descending order)
    if key is not None:
        bound = tuple_(*(literal(v, c.type) for v, c in zip(key, cols, strict=True)))
        q = q.where(tuple_(*cols) < bound if forward else tuple_(*cols) > bound)
    return q.order_by(*(c.desc() if forward else c.asc() for c in cols))


def _cut(rows: list[Any], limit: int, back: bool, had_key: bool, kind: str,
         key_of: Any) -> tuple[list[Any], str | None, str | None]:
    more = len(rows) > limit
    rows = rows[:limit]
    if back:
        rows.reverse()
    if not rows:
        return rows, None, None
    nxt = encode(kind, [_jsonable(v) for v in key_of(rows[-1])]) \
        if (more if not back else True) else None
    prev = encode(kind, [_jsonable(v) for v in key_of(rows[0])], back=True) \
        if (had_key if not back else more) else None
    return rows, nxt, prev


# -------------------------------------------------------------------------- cases
def cases(wf: Workflow, conn: Connection, actor: Actor, *, state: str | None = None,
          kind: str | None = None, process: str | None = None,
          not_process: str | None = None, due_before: date | None = None,
          open_only: bool = False, sort: str = "updated", cursor: str | None = None,
          limit: int = 50) -> Page:
    """A page of the cases ``actor`` may see (application rows, as dicts), newest change
    first (``updated``), by case number, or by their nearest open deadline (``due``: a
    case without one is not in that list)."""
    if sort not in SORTS:
        raise bad(f"sort must be one of {', '.join(SORTS)}",
                  f"sortering skal være en af {', '.join(SORTS)}")
    limit = checked_limit(limit)
    a, d = t.application, t.deadline
    q = select(a).where(visible(actor, a.c.id))
    if state:
        q = q.where(a.c.state == state)
    if kind:
        q = q.where(a.c.kind == kind)
    if process:
        q = q.where(a.c.process == process)
    if not_process:
        q = q.where(a.c.process != not_process)
    if open_only:
        q = q.where(open_cases(wf))
    if sort == "due" or due_before is not None:
        if sort != "due":
            q = q.where(exists().where(d.c.application_id == a.c.id, d.c.active,
                                       d.c.due < due_before))
    types: tuple[type, ...]
    if sort == "updated":
        cols, types, desc = [a.c.updated_at, a.c.id], (datetime, int), True
    elif sort == "case_number":
        cols, types, desc = [a.c.case_number, a.c.id], (str, int), False
    else:
        d2 = d.alias("d2")
        first = not_(exists().where(d2.c.application_id == d.c.application_id, d2.c.active,
                                    tuple_(d2.c.due, d2.c.id) < tuple_(d.c.due, d.c.id)))
        q = q.add_columns(d.c.due.label("_due"), d.c.id.label("_deadline")) \
            .join(d, d.c.application_id == a.c.id).where(d.c.active, first)
        if due_before is not None:
            q = q.where(d.c.due < due_before)
        cols, types, desc = [d.c.due, d.c.id], (date, int), False
    key, back = decode(cursor, f"cases:{sort}", types) if cursor else (None, False)
    q = _keyset(q, cols, key, back, desc).limit(limit + 1)
    rows = [dict(r) for r in conn.execute(q).mappings()]
    names = {"updated": ("updated_at", "id"), "case_number": ("case_number", "id"),
             "due": ("_due", "_deadline")}[sort]
    rows, nxt, prev = _cut(rows, limit, back, key is not None, f"cases:{sort}",
                           lambda r: [r[n] for n in names])
    return Page(rows, nxt, prev)


# ------------------------------------------------------------------------- search
def search(wf: Workflow, conn: Connection, actor: Actor, query: str, *,
           sort: str = "relevance", cursor: str | None = None, limit: int = 20) -> Page:
    """A page of the cases ``actor`` may see whose title, case number or text matches
    ``query`` (PostgreSQL: stemmed Danish; SQLite: each word as a prefix), the most
    relevant first (``relevance``) or the newest change first (``updated``). Each row is
    the application row with its ``rank``."""
    if sort not in SEARCH_SORTS:
        raise bad(f"sort must be one of {', '.join(SEARCH_SORTS)}",
                  f"sortering skal være en af {', '.join(SEARCH_SORTS)}")
    limit = checked_limit(limit)
    if "\0" in query or len(query) > fts.MAX_QUERY:
        raise bad(f"a search is at most {fts.MAX_QUERY} characters, without NUL",
                  f"en søgning er højst {fts.MAX_QUERY} tegn, uden NUL-tegn")
    matched = fts.matching(conn, query)
    if matched is None:
        return Page([])
    a = t.application
    m = matched.subquery()
    exact = select(a.c.id.label("application_id"), literal(1000.0).label("rank")) \
        .where(a.c.case_number == query.strip())
    hits = select(m.c.application_id, m.c.rank).union_all(exact).subquery()
    best = select(hits.c.application_id, func.max(hits.c.rank).label("rank")) \
        .group_by(hits.c.application_id).subquery()
    q = (select(a, best.c.rank).join(best, best.c.application_id == a.c.id)
         .where(visible(actor, a.c.id)))
    if sort == "updated":
        key, back = decode(cursor, "search:updated", (datetime, int)) if cursor \
            else (None, False)
        q = _keyset(q, [a.c.updated_at, a.c.id], key, back, True).limit(limit + 1)
        rows = [dict(r) for r in conn.execute(q).mappings()]
        rows, nxt, prev = _cut(rows, limit, back, key is not None, "search:updated",
                               lambda r: [r["updated_at"], r["id"]])
        return Page(rows, nxt, prev)
    (offset,), _ = decode(cursor, "search:relevance", (int,)) if cursor else ((0,), False)
    if not 0 <= offset <= MAX_OFFSET:
        raise bad("the cursor is past the last page a search shows",
                  "markøren er ud over den sidste side, en søgning viser")
    q = q.order_by(best.c.rank.desc(), a.c.id.desc()).offset(offset).limit(limit + 1)
    rows = [dict(r) for r in conn.execute(q).mappings()]
    more = len(rows) > limit and offset + limit <= MAX_OFFSET
    return Page(rows[:limit],
                encode("search:relevance", [offset + limit]) if more else None,
                encode("search:relevance", [max(0, offset - limit)]) if offset else None)



# ---------------------------------------------------------------------- deadlines
def deadlines(wf: Workflow, conn: Connection, actor: Actor, *, overdue: bool = False,
              application: int | None = None, mine: bool = False,
              cursor: str | None = None, limit: int | None = 50) -> Page:
    """A page of the open deadlines of the cases ``actor`` may see, soonest first (rows
    of ``deadline`` with the case's number, title, kind and state); with ``mine`` only
    those she answers for (her role among the state's responsible roles, and a deadline
    per party her municipality's): that rule is in the query too. ``limit`` None: all."""
    d, a = t.deadline, t.application
    q = (select(d, a.c.case_number, a.c.title, a.c.kind, a.c.process,
                a.c.state.label("app_state"))
         .join(a, a.c.id == d.c.application_id)
         .where(d.c.active, visible(actor, d.c.application_id)))
    if application is not None:
        q = q.where(d.c.application_id == application)
    if overdue:
        q = q.where(d.c.due < wf.today())
    if mine:
        answered = {p.name: [s for s in p.states if actor.role in p.responsible_roles(s)]
                    for p in wf.definition.processes.values()}
        answers = [and_(a.c.process == name, d.c.state.in_(states))
                   for name, states in answered.items() if states]
        if not answers:
            # a role that answers for no state has no deadline of its own: not a query
            # that would look through every open deadline to find none
            return Page([])
        q = q.where(or_(*answers),
                    or_(d.c.party.is_(None), d.c.party == actor.municipality))
    key, back = decode(cursor, "deadlines", (date, int)) if cursor else (None, False)
    q = _keyset(q, [d.c.due, d.c.id], key, back, False)
    if limit is None:
        return Page([dict(r) for r in conn.execute(q).mappings()])
    limit = checked_limit(limit)
    rows = [dict(r) for r in conn.execute(q.limit(limit + 1)).mappings()]
    rows, nxt, prev = _cut(rows, limit, back, key is not None, "deadlines",
                           lambda r: [r["due"], r["id"]])
    return Page(rows, nxt, prev)


def reminders(conn: Connection, actor: Actor, *, status: str | None = None,
              application: int | None = None, cursor: str | None = None,
              limit: int | None = 50) -> Page:
    """A page of the reminder ledger of the cases ``actor`` may see, by due time."""
    r = t.reminder
    q = ledger.reminder_query(status=status).where(visible(actor, r.c.application_id))
    if application is not None:
        q = q.where(r.c.application_id == application)
    key, back = decode(cursor, "reminders", (datetime, int)) if cursor else (None, False)
    q = _keyset(q, [r.c.due_at, r.c.id], key, back, False)
    if limit is None:
        return Page([ledger.view(x._mapping) for x in conn.execute(q)])
    limit = checked_limit(limit)
    rows = list(conn.execute(q.limit(limit + 1)))
    rows, nxt, prev = _cut(rows, limit, back, key is not None, "reminders",
                           lambda x: [x.due_at, x.id])
    return Page([ledger.view(x._mapping) for x in rows], nxt, prev)
