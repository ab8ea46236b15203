"""Read side: applications, history and "what may I do now", as plain JSON-ready dicts.

Every function checks the acting user against the application's parties first; the
shapes returned here are what ``--json`` prints and what the web API will serve.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.engine import Connection

from ..documents.listing import documents_of, list_documents
from ..errors import NotFound, Said, in_danish
from ..process.acts import read_acts, unavailable_areas
from ..store import database as store
from ..store import tables as t
from . import history as timeline
from . import lists
from .workflow import Actor, Workflow


def load_case(conn: Connection, app_id: int) -> dict[str, Any]:
    row = conn.execute(select(t.application).where(t.application.c.id == app_id)) \
        .mappings().first()
    if row is None:
        raise NotFound.application(app_id)
    return dict(row)


def get_application(wf: Workflow, app_id: int, *, user: str | None) -> dict[str, Any]:
    with store.read(wf.engine) as conn:
        actor = wf.actor(conn, user)
        row = load_case(conn, app_id)
        wf.check_party(actor, app_id, row["parties"], row["case_number"],
                       row.get("cooperation_id"))
        return describe_rows(wf, conn, [row])[0]


def list_applications(wf: Workflow, *, user: str | None, state: str | None = None,
                      kind: str | None = None) -> list[dict[str, Any]]:
    """Every application this user may see, by id (the command line's list; the pages and
    the API read a page at a time: :func:`application_page`)."""
    a = t.application
    with store.read(wf.engine) as conn:
        actor = wf.actor(conn, user)
        q = select(a).where(lists.visible(actor, a.c.id)).order_by(a.c.id)
        if state:
            q = q.where(a.c.state == state)
        if kind:
            q = q.where(a.c.kind == kind)
        return describe_rows(wf, conn, [dict(r) for r in conn.execute(q).mappings()])


def application_page(wf: Workflow, *, user: str | None, state: str | None = None,
                     kind: str | None = None, due_before: date | None = None,
                     q: str | None = None, sort: str = "updated", cursor: str | None = None,
                     limit: int = 50) -> lists.Page:
    """A page of the applications this user may see, as :func:`get_application` describes
    them (filters, sorts and cursors: :func:`lists.cases`; with ``q`` a search,
    :func:`lists.search`, by relevance unless ``sort`` is ``updated``)."""
    with store.read(wf.engine) as conn:
        actor = wf.actor(conn, user)
        if q:
            page = lists.search(wf, conn, actor, q, cursor=cursor, limit=limit,
                                sort="updated" if sort == "updated" else "relevance")
        else:
            page = lists.cases(wf, conn, actor, state=state, kind=kind,
                               due_before=due_before, sort=sort, cursor=cursor, limit=limit)
        page.rows = describe_rows(wf, conn, page.rows)
        return page


def describe_rows(wf: Workflow, conn: Connection, rows: list[dict[str, Any]], *,
                  docs: dict[int, list[dict[str, Any]]] | None = None
                  ) -> list[dict[str, Any]]:
    """The applications ``rows`` as :func:`get_application` describes them, in a bounded
    number of statements; ``docs``: their :func:`documents_of`, when the caller has read
    them already."""
    if not rows:
        return []
    ids = [r["id"] for r in rows]
    aa, d, lk = t.application_area, t.deadline, t.link
    claims: dict[int, list[Any]] = {}
    position = {a: i for i, a in enumerate(wf.areas)}
    for r in sorted(conn.execute(select(aa).where(aa.c.application_id.in_(ids))),
                    key=lambda r: (position.get(r.area_id, len(position)), r.id)):
        claims.setdefault(r.application_id, []).append(r)
    areas = {app_id: claim_view(wf, rows) for app_id, rows in claims.items()}
    deadlines: dict[int, list[dict[str, Any]]] = {}
    today = wf.today()
    for r in conn.execute(select(d).where(d.c.application_id.in_(ids))
                          .order_by(d.c.active.desc(), d.c.due, d.c.id)):
        deadlines.setdefault(r.application_id, []).append(deadline_view(r, today))
    links: dict[int, list[dict[str, Any]]] = {}
    for r in conn.execute(select(lk).where(or_(lk.c.from_id.in_(ids), lk.c.to_id.in_(ids)))):
        links.setdefault(r.from_id, []).append({"rel": r.kind, "application": r.to_id})
        links.setdefault(r.to_id, []).append({"rel": f"has_{r.kind.removesuffix('_for')}",
                                              "application": r.from_id})
    read = read_acts(conn, {r["id"]: r["entered_version"] for r in rows})
    if docs is None:
        docs = documents_of(conn, wf.definition, ids, versions=False)
    out = []
    for row in rows:
        process = wf.definition.processes.get(row["process"])
        state = process.states.get(row["state"]) if process else None
        kind = process.kinds.get(row["kind"]) if process else None
        app_areas = areas.get(row["id"], [])
        out.append({
            "id": row["id"], "process": row["process"], "kind": row["kind"],
            "kind_label": kind.label.da if kind else row["kind"],
            "round": row["round"], "title": row["title"], "case_number": row["case_number"],
            "state": row["state"], "state_label": state.label.da if state else row["state"],
            "final": bool(state and state.final), "version": row["version"],
            "parties": row["parties"],
            "areas": [x["id"] for x in app_areas if x["live"] or x["outcome"]],
            "area_details": app_areas,
            "deadlines": deadlines.get(row["id"], []),
            "links": links.get(row["id"], []),
            "acts": read.holding[row["id"]],     # what holds in the current state
            "record": read.record[row["id"]],    # each party's latest act of each kind, ever
            "committees": read.committees[row["id"]],   # every committee decision, in order
            "decision": ministry_decision(wf, row["data"] or {}),
            "documents": [{k: v for k, v in doc.items() if k != "versions"}
                          for doc in docs[row["id"]]],
            "data": row["data"],
            "definition_hash": row["definition_hash"],
            "created_at": row["created_at"].isoformat(), "created_by": row["created_by"],
            "updated_at": row["updated_at"].isoformat(), "updated_by": row["updated_by"],
        })
    return out


def ministry_decision(wf: Workflow, data: dict[str, Any]) -> dict[str, Any] | None:
    """The ministry's decision as the case recorded it, or None before there is one."""
    outcome = data.get("outcome")
    if not outcome:
        return None
    field = wf.definition.fields.get("outcome")
    return {"outcome": outcome,
            "outcome_label": field.choice_labels.get(outcome, outcome) if field else outcome,
            "reference": data.get("reference"), "decision_date": data.get("decision_date"),
            "conditions": data.get("conditions"),
            "granted_areas": list(data.get("granted_areas") or []),
            "refused_areas": list(data.get("refused_areas") or []),
            "effective_date": data.get("effective_date")}


def active_deadlines(conn: Connection, ids: list[int]) -> dict[int, list[Any]]:
    """The open deadlines of the cases ``ids``, soonest first, by case (one statement)."""
    d = t.deadline
    out: dict[int, list[Any]] = {}
    for r in conn.execute(select(d).where(d.c.application_id.in_(ids), d.c.active)
                          .order_by(d.c.due, d.c.id)):
        out.setdefault(r.application_id, []).append(r)
    return out


def deadline_view(r: Any, today: date) -> dict[str, Any]:
    return {"state": r.state, "party": r.party, "due": r.due.isoformat(),
            "derivation": r.derivation, "active": r.active,
            "met_at": r.met_at.isoformat() if r.met_at else None,
            "overdue": bool(r.active and r.due < today),
            "days_left": (r.due - today).days if r.active else None}


def history(wf: Workflow, app_id: int, *, user: str | None) -> list[dict[str, Any]]:
    """The whole history of an application (:mod:`.history`), oldest first."""
    with store.read(wf.engine) as conn:
        _check_case(wf, conn, app_id, user)
        return history_entries(conn, app_id)


def history_page(wf: Workflow, app_id: int, *, user: str | None, cursor: str | None = None,
                 limit: int = timeline.PAGE) -> lists.Page:
    """``limit`` entries of an application's history after ``cursor`` (from the first
    without it), and the cursor of the page after (None on the last)."""
    kind = f"history:{app_id}"
    after = None
    if cursor is not None:
        values, _ = lists.decode(cursor, kind, timeline.TYPES)
        try:
            after = timeline.Positions.of(values)
        except ValueError:
            raise lists.refused_cursor() from None
    with store.read(wf.engine) as conn:
        _check_case(wf, conn, app_id, user)
        got, ends = timeline.entries(conn, app_id, after=after,
                                     limit=max(1, min(limit, timeline.MAX_PAGE)))
    following = lists.encode(kind, ends.values()) if ends is not None else None
    return lists.Page([e for _, e in got], next=following)


def history_entries(conn: Connection, app_id: int) -> list[dict[str, Any]]:
    return [e for _, e in timeline.entries(conn, app_id)[0]]


def _check_case(wf: Workflow, conn: Connection, app_id: int, user: str | None) -> None:
    actor = wf.actor(conn, user)
    row = load_case(conn, app_id)
    wf.check_party(actor, app_id, row["parties"], row["case_number"],
                   row.get("cooperation_id"))


def documents(wf: Workflow, app_id: int, *, user: str | None) -> list[dict[str, Any]]:
    """The application's drafts, every version, and whether council approvals still match."""
    with store.read(wf.engine) as conn:
        actor = wf.actor(conn, user)
        row = load_case(conn, app_id)
        wf.check_party(actor, app_id, row["parties"], row["case_number"],
                       row.get("cooperation_id"))
        return list_documents(conn, wf.definition, app_id)


def claim_view(wf: Workflow, rows: list[Any]) -> list[dict[str, Any]]:
    """An application's claim rows as areas and parts: an area claimed (or granted) whole
    is one entry; an area asked in part, or granted in part, is an entry per part
    (``social:s82``, named "Det sociale område: serviceloven § 82")."""
    by_area: dict[str, list[Any]] = {}
    for r in rows:
        by_area.setdefault(r.area_id, []).append(r)
    out = []
    for area_id, mine in by_area.items():
        whole = [r for r in mine if r.part_id == ""]
        alone = [r for r in mine if r.part_id]
        held = [r for r in alone if r.live or r.outcome == "granted"]
        shown = alone if not whole or (held and not (whole[0].live
                                                     or whole[0].outcome == "granted")) \
            else whole
        for r in shown:
            token = f"{area_id}:{r.part_id}" if r.part_id else area_id
            out.append({"id": token, "name": wf.names.area(token), "live": r.live,
                        "outcome": r.outcome})
    return out


def areas(wf: Workflow, cooperations: list[str] | None = None) -> list[dict[str, Any]]:
    """The areas of the cooperations (default: all), who runs each, and whether it is free
    to apply for; an area with parts lists them, each with its own status (claimed or
    released alone)."""
    out = []
    for coop in (cooperations if cooperations is not None else list(wf.cooperations)):
        out += _areas_of(wf, coop)
    return out


def _areas_of(wf: Workflow, coop: str) -> list[dict[str, Any]]:
    with store.read(wf.engine) as conn:
        taken = unavailable_areas(conn, coop)
        rows = list(conn.execute(select(t.area).where(t.area.c.cooperation_id == coop)
                                 .order_by(t.area.c.position)))
    out = []
    for a in rows:
        parts = [{"id": f"{a.id}:{p['id']}", "part": p["id"], "name": p.get("name_da", ""),
                  "law_ref": p.get("law_ref", ""),
                  "available": a.id not in taken and f"{a.id}:{p['id']}" not in taken,
                  "status": taken.get(a.id) or taken.get(f"{a.id}:{p['id']}", "available")}
                 for p in a.parts or []]
        some = [p for p in parts if not p["available"]]
        status = taken.get(a.id) or (Said(
            "in part: " + ", ".join(f"{p['part']} {p['status']}" for p in some),
            "delvist: " + ", ".join(f"{p['name']} {in_danish(p['status'])}" for p in some))
            if some else "available")
        out.append({"id": a.id, "cooperation": coop, "name": a.name_da, "name_en": a.name_en,
                    "law_ref": a.law_ref, "run_by": a.run_by,
                    "released_on": a.released_on.isoformat() if a.released_on else None,
                    "available": a.id not in taken and not some, "status": status,
                    "parts": parts})
    return out


def check_visible(wf: Workflow, conn: Connection, actor: Actor, app_id: int) -> None:
    """Refuse a case that does not exist (404) or that ``actor`` may not see (403)."""
    a = t.application
    row = conn.execute(select(a.c.parties, a.c.case_number, a.c.cooperation_id)
                       .where(a.c.id == app_id)).first()
    if row is None:
        raise NotFound.application(app_id)
    wf.check_party(actor, app_id, list(row.parties), row.case_number, row.cooperation_id)


def deadline_rows(wf: Workflow, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    today = wf.today()
    out = []
    for r in rows:
        process = wf.definition.processes.get(r["process"])
        state = process.states.get(r["state"]) if process else None
        out.append({**deadline_view(_Row(r), today), "id": r["id"],
                    "application": r["application_id"], "case_number": r["case_number"],
                    "title": r["title"], "state_label": state.label.da if state else r["state"]})
    return out


class _Row:
    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)


def deadline_page(wf: Workflow, *, user: str | None, overdue: bool = False,
                  application: int | None = None, mine: bool = False,
                  cursor: str | None = None, limit: int | None = 50) -> lists.Page:
    """A page of the open deadlines of the applications this user may see, soonest
    first; with ``mine`` only those the user is responsible for (role, and municipality
    where it is per party)."""
    with store.read(wf.engine) as conn:
        actor = wf.actor(conn, user)
        if application is not None:
            check_visible(wf, conn, actor, application)
        page = lists.deadlines(wf, conn, actor, overdue=overdue, application=application,
                               mine=mine, cursor=cursor, limit=limit)
        page.rows = deadline_rows(wf, page.rows)
        return page


def deadlines(wf: Workflow, *, user: str | None, overdue: bool = False,
              application: int | None = None, mine: bool = False) -> list[dict[str, Any]]:
    """Every open deadline :func:`deadline_page` would list, soonest first."""
    return deadline_page(wf, user=user, overdue=overdue, application=application,
                         mine=mine, limit=None).rows


def reminders(wf: Workflow, *, user: str | None, status: str | None = None,
              application: int | None = None, cursor: str | None = None,
              limit: int | None = None) -> lists.Page:
    """A page of the reminder ledger of the applications this user may see, by due time."""
    with store.read(wf.engine) as conn:
        actor = wf.actor(conn, user)
        if application is not None:
            check_visible(wf, conn, actor, application)
        return lists.reminders(conn, actor, application=application, status=status,
                               cursor=cursor, limit=limit)


def user_names(wf: Workflow, ids: Iterable[str | None]) -> dict[str, str]:
    """People's names by user id, for the pages (an id not found is left out)."""
    with store.read(wf.engine) as conn:
        return user_names_on(conn, ids)


def user_names_on(conn: Connection, ids: Iterable[str | None]) -> dict[str, str]:
    """:func:`user_names` in the caller's read transaction."""
    wanted = sorted({i for i in ids if i})
    if not wanted:
        return {}
    u = t.user
    return {r.id: r.name for r in conn.execute(
        select(u.c.id, u.c.name).where(u.c.id.in_(wanted)))}
