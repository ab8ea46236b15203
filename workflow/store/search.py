"""The rows that lists and search read, written in the transaction that changes what they
stand for, and the full-text match in each database's own terms.

* :func:`set_parties` – a case's parties as ``application_party`` rows (the JSON column
  ``application.parties`` stays the case's own record; the rows are what a list joins).
* :func:`index_text` – one piece of a case's text (``case``: case number and title;
  ``document:NAME:PARTY``: the newest generated draft's text; ``section:NAME``).
* :func:`matching` – a query of the ``(application_id, rank)`` of the cases whose text
  matches: PostgreSQL's ``websearch_to_tsquery('danish', …)`` on the GIN-indexed
  ``tsv`` (stemmed: "ansøgninger" finds "ansøgning"), SQLite's FTS5 ``MATCH`` with each
  word a quoted prefix (no FTS syntax from the user ever reaches the parser). A search
  that matches more than :data:`MAX_RANKED` pieces of text ranks the first ones found
  (more words narrow it): ranking every match of a common word would cost time in
  proportion to the cases.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    delete,
    func,
    insert,
    literal_column,
    select,
    text,
    update,
)
from sqlalchemy.engine import Connection

from . import tables as t

MAX_QUERY = 200          # characters of a search; a longer one is refused
MAX_BODY = 200_000       # characters of one piece of text kept for search
MAX_RANKED = 2_000       # pieces of text a search ranks at most: the first ones found
_WORD = re.compile(r"\w+", re.UNICODE)


def outside_models(obj: Any, name: str | None, type_: str, reflected: bool,
                   compare_to: Any) -> bool:
    """False for what revision 0018 made beside the models (SQLite's FTS5 table and its
    shadow tables, PostgreSQL's ``tsv`` column and its index): Alembic's ``include_object``."""
    if type_ == "table" and name and name.startswith("search_fts"):
        return False
    if type_ == "column" and name == "tsv" and getattr(obj, "table", None) is not None \
            and obj.table.name == "search_entry":
        return False
    return not (type_ == "index" and name == "ix_search_entry_tsv")


def set_parties(conn: Connection, app_id: int, parties: Iterable[str]) -> None:
    ap = t.application_party
    conn.execute(delete(ap).where(ap.c.application_id == app_id))
    rows = [{"application_id": app_id, "municipality": m} for m in dict.fromkeys(parties)]
    if rows:
        conn.execute(insert(ap), rows)


def index_text(conn: Connection, app_id: int, source: str, body: str,
               now: datetime) -> None:
    """Keep ``body`` as the case's text from ``source`` (replacing what was there)."""
    se = t.search_entry
    body = body.replace("\0", " ")[:MAX_BODY]
    done = conn.execute(update(se).where(se.c.application_id == app_id, se.c.source == source)
                        .values(body=body, updated_at=now)).rowcount
    if not done:
        conn.execute(insert(se).values(application_id=app_id, source=source, body=body,
                                       updated_at=now))


def words(query: str) -> list[str]:
    """The words of a search as FTS5 may take them: letters and digits only."""
    return list(dict.fromkeys(_WORD.findall(query)))[:32]


def matching(conn: Connection, query: str) -> Select[tuple[int, float]] | None:
    """``(application_id, rank)`` of the cases whose text matches ``query``, one row per
    case, a higher rank more relevant; None when the query has no word to look for. On
    PostgreSQL the rest of ``conn``'s transaction is planned for each statement's values
    (``plan_cache_mode``), as a search must be."""
    se = t.search_entry
    if conn.dialect.name == "postgresql":
        clean = " ".join(query.split())
        if not words(clean):
            return None
        # how a word's matches are best found depends on the word: a rare one through
        # the GIN index, one in nearly every case by reading until MAX_RANKED are found.
        # A statement run often is prepared (psycopg, at its 5th run), and PostgreSQL may
        # then plan it once for every word: after searches for places a common word took
        # 85 ms, not 18 (bench lists, 1,000,000 cases). This transaction plans each
        # statement for its own values.
        conn.exec_driver_sql("SET LOCAL plan_cache_mode = force_custom_plan")
        tsq = func.websearch_to_tsquery(literal_column("'danish'::regconfig"), clean)
        tsv: ColumnElement[Any] = literal_column("search_entry.tsv")
        hits = (select(se.c.application_id.label("application_id"),
                       func.ts_rank(tsv, tsq).label("rank"))
                .where(tsv.op("@@")(tsq)).limit(MAX_RANKED).subquery())
        return (select(hits.c.application_id, func.max(hits.c.rank).label("rank"))
                .group_by(hits.c.application_id))
    found = words(query)
    if not found:
        return None
    expr = " ".join('"' + w.replace('"', '""') + '"*' for w in found)
    # bm25 is lower for a better match: its negation ranks like ts_rank
    fts = (select(literal_column("rowid").label("id"),
                  (-func.bm25(literal_column("search_fts"))).label("rank"))
           .select_from(text("search_fts"))
           .where(text("search_fts MATCH :expr").bindparams(expr=expr)).limit(MAX_RANKED)
           .cte("fts_hits").prefix_with("MATERIALIZED"))  # bm25 only works unflattened
    return (select(se.c.application_id.label("application_id"),
                   func.max(fts.c.rank).label("rank"))
            .join(fts, fts.c.id == se.c.id).group_by(se.c.application_id))
