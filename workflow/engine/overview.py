"""The dashboard's reads, each a bounded page, whatever the number of cases: the user's
tasks (among the cases with her nearest deadlines and the latest changed open cases), the
soonest open deadlines, the list of cases (filtered, sorted, a page at a time, or a
search), the newest BUM agreements and the granted cases a BUM agreement may open from.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.engine import Connection

from ..store import database as store
from ..store import tables as t
from . import agreements, lists
from .queries import active_deadlines, claim_view, deadline_rows, deadline_view
from .tasks import tasks_on
from .workflow import Actor, Workflow

TASK_CANDIDATES = 15   # cases looked at for "Mine opgaver", of each of the two kinds
DEADLINES_SHOWN = 10
AGREEMENTS_SHOWN = 10
AGREEMENTS_SCANNED = 1000
SOURCES_SHOWN = 100


@dataclass
class Filters:
    """What the case list on the dashboard is asked for (all optional)."""

    q: str = ""
    state: str = ""
    kind: str = ""
    due_before: date | None = None
    sort: str = "updated"
    cursor: str | None = None
    limit: int = 50


def summaries(wf: Workflow, conn: Connection, rows: list[dict[str, Any]], *,
              active: dict[int, list[Any]] | None = None) -> list[dict[str, Any]]:
    """The application rows as a list shows them: labels, areas, the next open deadline;
    ``active``: their :func:`~.queries.active_deadlines`, when the caller has read them already."""
    ids = [r["id"] for r in rows]
    if not ids:
        return []
    aa = t.application_area
    position = {a: i for i, a in enumerate(wf.areas)}
    claims: dict[int, list[Any]] = {}
    for r in sorted(conn.execute(select(aa).where(aa.c.application_id.in_(ids))),
                    key=lambda r: (position.get(r.area_id, len(position)), r.id)):
        claims.setdefault(r.application_id, []).append(r)
    if active is None:
        active = active_deadlines(conn, ids)
    today = wf.today()
    out = []
    for row in rows:
        process = wf.definition.processes.get(row["process"])
        state = process.states.get(row["state"]) if process else None
        kind = process.kinds.get(row["kind"]) if process else None
        areas = claim_view(wf, claims.get(row["id"], []))
        soonest = active.get(row["id"])
        out.append({**{k: row[k] for k in ("id", "process", "kind", "case_number", "title",
                                           "state", "data", "parties", "updated_at")},
                    "kind_label": kind.label.da if kind else row["kind"],
                    "state_label": state.label.da if state else row["state"],
                    "final": bool(state and state.final),
                    "area_details": [x for x in areas if x["live"] or x["outcome"]],
                    "next_deadline": deadline_view(soonest[0], today) if soonest else None,
                    "rank": row.get("rank")})
    return out


def dashboard(wf: Workflow, user: str, filters: Filters) -> dict[str, Any]:
    """Everything the dashboard shows, in one read transaction and a bounded number of
    statements: the user (``me``), the kinds she may open (``kinds``) and the granted
    cases they open from, the case list, her tasks and deadlines, the BUM agreements."""
    with store.read(wf.engine) as conn:
        actor = wf.actor(conn, user)
        kinds = creatable(wf, actor)
        if filters.q:
            page = lists.search(wf, conn, actor, filters.q, cursor=filters.cursor,
                                limit=filters.limit,
                                sort="updated" if filters.sort == "updated" else "relevance")
        else:
            page = lists.cases(wf, conn, actor, state=filters.state or None,
                               kind=filters.kind or None, due_before=filters.due_before,
                               sort=filters.sort if filters.sort in lists.SORTS else "updated",
                               cursor=filters.cursor, limit=filters.limit)
        soon = lists.deadlines(wf, conn, actor, limit=DEADLINES_SHOWN)
        bum_rows, more_bum = _agreements(conn, actor)
        candidates = _candidates(wf, conn, actor)
        # the lists' cases and the tasks' candidates: their deadlines in one read, the
        # two lists summed up together
        shown = {r["id"]: r for r in [*bum_rows, *page.rows]}  # the page's (its rank)
        active = active_deadlines(conn, list({*shown, *candidates}))
        summed = {r["id"]: r for r in summaries(wf, conn, list(shown.values()),
                                                active=active)}
        mine = tasks_on(wf, conn, actor, [
            {"id": i, "case_number": r["case_number"], "title": r["title"], "final": False}
            for i, r in candidates.items()], rows=candidates, active=active)
        sources = _sources(wf, conn, actor, kinds)
    return {"cases": [summed[r["id"]] for r in page.rows], "page": page, "tasks": mine,
            "deadlines": deadline_rows(wf, soon.rows), "more_deadlines": soon.next is not None,
            "agreements": [summed[r["id"]] for r in bum_rows], "more_agreements": more_bum,
            "sources": sources, "me": actor, "kinds": kinds}


def creatable(wf: Workflow, actor: Actor) -> list[Any]:
    """The kinds of case ``actor``'s role may open, in the definition's order."""
    return [k for p in wf.definition.processes.values() if actor.role in p.create_roles
            for k in p.kinds.values()]


def _agreements(conn: Connection, actor: Actor) -> tuple[list[dict[str, Any]], bool]:
    """The user's newest BUM agreements, among the :data:`AGREEMENTS_SCANNED` changed
    last (a bound: a municipality party to none costs that many probes, not a scan of
    every case); and whether there may be more (the full list: the case list's filter)."""
    a = t.application
    newest = (select(a.c.id, a.c.updated_at).where(a.c.process == agreements.PROCESS)
              .order_by(a.c.updated_at.desc(), a.c.id.desc())
              .limit(AGREEMENTS_SCANNED).subquery())
    # ordered by the scan's own columns, so PostgreSQL reads the scan in its order and
    # stops at the first visible ones (ordered by the case's, it probes all of them)
    q = (select(a).select_from(newest).join(a, a.c.id == newest.c.id)
         .where(lists.visible(actor, newest.c.id))
         .order_by(newest.c.updated_at.desc(), newest.c.id.desc())
         .limit(AGREEMENTS_SHOWN + 1))
    rows = [dict(r) for r in conn.execute(q).mappings()]
    return rows[:AGREEMENTS_SHOWN], len(rows) > AGREEMENTS_SHOWN


def _candidates(wf: Workflow, conn: Connection, actor: Actor) -> dict[int, dict[str, Any]]:
    """The cases that may hold the user's tasks, as application rows by id, in order: those
    of her nearest open deadlines she answers for, then the open cases changed last (a
    joint step another party began)."""
    mine = lists.deadlines(wf, conn, actor, mine=True, limit=TASK_CANDIDATES).rows
    recent = lists.cases(wf, conn, actor, open_only=True, limit=TASK_CANDIDATES).rows
    seen: dict[int, dict[str, Any]] = {r["id"]: r for r in recent}
    wanted = [r["application_id"] for r in mine if r["application_id"] not in seen]
    if wanted:
        a = t.application
        seen.update((r["id"], dict(r)) for r in conn.execute(
            select(a).where(a.c.id.in_(wanted), lists.visible(actor, a.c.id))).mappings())
    order = dict.fromkeys([r["application_id"] for r in mine] + [r["id"] for r in recent])
    return {i: seen[i] for i in order if i in seen}


def _sources(wf: Workflow, conn: Connection, actor: Actor,
             kinds: list[Any]) -> list[dict[str, Any]]:
    """The granted cases the user's kinds may open from, newest change first (at most
    :data:`SOURCES_SHOWN`), in one query."""
    wanted = [(k.opens_from[0], tuple(k.opens_from[1])) for k in kinds if k.opens_from]
    if not wanted:
        return []
    a = t.application
    q = (select(a.c.id, a.c.case_number, a.c.title, a.c.process, a.c.state)
         .where(or_(*(and_(a.c.process == p, a.c.state.in_(states)) for p, states in wanted)),
                lists.visible(actor, a.c.id))
         .order_by(a.c.updated_at.desc(), a.c.id.desc()).limit(SOURCES_SHOWN))
    out = []
    for r in conn.execute(q):
        process = wf.definition.processes.get(r.process)
        state = process.states.get(r.state) if process else None
        out.append({"id": r.id, "case_number": r.case_number, "title": r.title,
                    "state_label": state.label.da if state else r.state})
    return out
