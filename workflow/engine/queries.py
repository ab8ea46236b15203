"""Read side: applications, history and "what may I do now", as plain JSON-ready dicts.

Every function checks the acting user against the application's parties first; the
shapes returned here are what ``--json`` prints and what the web API will serve.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.engine import Connection

from ..documents.drafts import documents_of, list_documents
from ..documents.drafts import downloads as document_downloads
from ..errors import NotFound, Said
from ..process import machine as mc
from ..process.acts import acts_of, unavailable_areas
from ..reminders.ledger import list_reminders, sent_for_history
from ..store import database as store
from ..store import tables as t
from .context import TxContext
from .workflow import Actor, Workflow


def _load(conn: Connection, app_id: int) -> dict[str, Any]:
    row = conn.execute(select(t.application).where(t.application.c.id == app_id)) \
        .mappings().first()
    if row is None:
        raise NotFound.application(app_id)
    return dict(row)


def _visible(wf: Workflow, actor: Actor, rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in rows if actor.role == "admin" or actor.municipality in r["parties"]]


def get_application(wf: Workflow, app_id: int, *, user: str | None) -> dict[str, Any]:
    with store.read(wf.engine) as conn:
        actor = wf.actor(conn, user)
        row = _load(conn, app_id)
        wf.check_party(actor, app_id, row["parties"], row["case_number"])
        return _describe(wf, conn, [row])[0]


def list_applications(wf: Workflow, *, user: str | None, state: str | None = None,
                      kind: str | None = None) -> list[dict[str, Any]]:
    a = t.application
    with store.read(wf.engine) as conn:
        actor = wf.actor(conn, user)
        q = select(a).order_by(a.c.id)
        if state:
            q = q.where(a.c.state == state)
        if kind:
            q = q.where(a.c.kind == kind)
        rows = _visible(wf, actor, (dict(r) for r in conn.execute(q).mappings()))
        return _describe(wf, conn, rows)


def _describe(wf: Workflow, conn: Connection, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if not rows:
        return []
    ids = [r["id"] for r in rows]
    aa, d, lk = t.application_area, t.deadline, t.link
    areas: dict[int, list[dict[str, Any]]] = {}
    position = {a: i for i, a in enumerate(wf.areas)}
    for r in sorted(conn.execute(select(aa).where(aa.c.application_id.in_(ids))),
                    key=lambda r: position.get(r.area_id, len(position))):
        areas.setdefault(r.application_id, []).append(
            {"id": r.area_id, "name": wf.areas[r.area_id].name_da if r.area_id in wf.areas
             else r.area_id, "live": r.live, "outcome": r.outcome})
    deadlines: dict[int, list[dict[str, Any]]] = {}
    today = wf.today()
    for r in conn.execute(select(d).where(d.c.application_id.in_(ids))
                          .order_by(d.c.active.desc(), d.c.due, d.c.id)):
        deadlines.setdefault(r.application_id, []).append(_deadline(r, today))
    links: dict[int, list[dict[str, Any]]] = {}
    for r in conn.execute(select(lk).where(or_(lk.c.from_id.in_(ids), lk.c.to_id.in_(ids)))):
        links.setdefault(r.from_id, []).append({"rel": r.kind, "application": r.to_id})
        links.setdefault(r.to_id, []).append({"rel": f"has_{r.kind.removesuffix('_for')}",
                                              "application": r.from_id})
    acts = acts_of(conn, {r["id"]: r["entered_version"] for r in rows})
    record = acts_of(conn, {r["id"]: 0 for r in rows}, voided=True)
    docs = documents_of(conn, wf.definition, ids)
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
            "acts": acts[row["id"]],        # what holds in the current state
            "record": record[row["id"]],    # each party's latest act of each kind, ever
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


def _deadline(r: Any, today: date) -> dict[str, Any]:
    return {"state": r.state, "party": r.party, "due": r.due.isoformat(),
            "derivation": r.derivation, "active": r.active,
            "met_at": r.met_at.isoformat() if r.met_at else None,
            "overdue": bool(r.active and r.due < today),
            "days_left": (r.due - today).days if r.active else None}


def history(wf: Workflow, app_id: int, *, user: str | None) -> list[dict[str, Any]]:
    with store.read(wf.engine) as conn:
        actor = wf.actor(conn, user)
        row = _load(conn, app_id)
        wf.check_party(actor, app_id, row["parties"], row["case_number"])
        return _history(conn, app_id)


def _history(conn: Connection, app_id: int) -> list[dict[str, Any]]:
    ae = t.audit_entry
    entries = [{"version": r.version, "trigger": r.trigger, "from": r.from_state,
                "to": r.to_state, "user": r.user_id, "role": r.role,
                "municipality": r.municipality, "at": r.at.isoformat(),
                "comment": r.comment, "data": r.data}
               for r in conn.execute(select(ae).where(ae.c.application_id == app_id)
                                     .order_by(ae.c.version))]
    # the steps in version order, the downloads between them by time
    return list(heapq.merge(entries, document_downloads(conn, app_id),
                            sent_for_history(conn, app_id), key=lambda e: e["at"]))


def case_view(wf: Workflow, app_id: int, *, user: str | None) -> dict[str, Any]:
    """Everything an application's page shows, in one read: the acting user (``actor``),
    the application as :func:`get_application` gives it, and its ``triggers``,
    ``history`` and ``documents`` as the functions of those names give them."""
    with store.read(wf.engine) as conn:
        actor = wf.actor(conn, user)
        row = _load(conn, app_id)
        wf.check_party(actor, app_id, row["parties"], row["case_number"])
        return {"actor": actor, "application": _describe(wf, conn, [row])[0],
                "triggers": _triggers(wf, conn, row, actor),
                "history": _history(conn, app_id),
                "documents": list_documents(conn, wf.definition, app_id)}


def documents(wf: Workflow, app_id: int, *, user: str | None) -> list[dict[str, Any]]:
    """The application's drafts, every version, and whether council approvals still match."""
    with store.read(wf.engine) as conn:
        actor = wf.actor(conn, user)
        row = _load(conn, app_id)
        wf.check_party(actor, app_id, row["parties"], row["case_number"])
        return list_documents(conn, wf.definition, app_id)


def triggers(wf: Workflow, app_id: int, *, user: str | None) -> list[dict[str, Any]]:
    """Every trigger from the current state: whether this user may fire it now, or why not."""
    with store.read(wf.engine) as conn:
        actor = wf.actor(conn, user)
        row = _load(conn, app_id)
        wf.check_party(actor, app_id, row["parties"], row["case_number"])
        return _triggers(wf, conn, row, actor)


def tasks(wf: Workflow, apps: list[dict[str, Any]], *, user: str | None
          ) -> list[dict[str, Any]]:
    """What is awaited from ``user`` on the open ones of ``apps`` (as
    :func:`list_applications` describes them), in one read, each case once.

    A case is the user's task when it has an active deadline the user answers for (the
    rule of :func:`deadlines` with ``mine``: the user's role is among the state's
    responsible roles and a deadline per party is her municipality's), or when a joint step
    waits for her municipality (another party has done its part, hers has not, and she has
    the role). Each is ``{"app", "actions", "deadline"}``: the awaited actions
    (``{"trigger", "label"}``, never a ``side`` one) and the nearest of the user's
    deadlines (as :func:`deadlines` gives it) or None; the soonest deadline first, then
    the cases without one, each group in the apps' order."""
    return _tasks(wf, apps, user=user)


def _triggers(wf: Workflow, conn: Connection, row: dict[str, Any], actor: Actor
              ) -> list[dict[str, Any]]:
    process = wf.process_of(row["process"])
    out = []
    for trig in process.triggers_from(row["state"]):
        cands = process.candidates(row["state"], trig)
        out.append({"trigger": trig, "label": cands[0].label.da,
                    "dests": sorted({c.dest for c in cands}),
                    "roles": sorted({r for c in cands for r in c.roles}),
                    "fields": _fields(wf, cands),
                    **_why_not(wf, conn, row, actor, cands)})
    return out


def _fields(wf: Workflow, cands: list[Any]) -> list[dict[str, Any]]:
    names = list(dict.fromkeys(f for c in cands for f in c.fields))
    always = set.intersection(*(set(c.requires) for c in cands))
    out = []
    for n in names:
        spec = wf.definition.fields[n]
        when = [dict(c.when) for c in cands if n in c.requires and n not in always]
        out.append({"name": n, "type": spec.type, "label": spec.label.da,
                    "required": n in always, "choices": list(spec.choices),
                    "choice_labels": dict(spec.choice_labels),
                    "required_when": when})
    return out


def _why_not(wf: Workflow, conn: Connection, row: dict[str, Any], actor: Actor,
             cands: list[Any]) -> dict[str, Any]:
    roles = sorted({r for c in cands for r in c.roles})
    names = wf.names
    if actor.role not in roles:
        return {"allowed": False, "reason": Said(f"needs the role {' or '.join(roles)}",
                                                 f"kræver rollen {names.roles(roles)}")}
    if actor.municipality not in row["parties"]:
        return {"allowed": False,
                "reason": Said(f"{actor.municipality} is not a party",
                               f"{names.party(actor.municipality)} er ikke part i sagen")}
    ctx = TxContext(wf=wf, conn=conn, row=row, data={}, party=actor.municipality,
                    user_id=actor.id, now=wf.clock(), spawn=lambda *a: 0)
    cands = [c for c in cands if actor.role in c.roles]   # the branches for this role
    joint = next((c.joint for c in cands if c.joint), None)
    if joint and actor.municipality in ctx.acts(joint):
        waiting = [p for p in row["parties"] if p not in ctx.acts(joint)]
        return {"allowed": False,
                "reason": Said(f"{actor.municipality} has done its part; waiting for "
                               f"{', '.join(waiting)}",
                               f"{names.party(actor.municipality)} har gjort sin del; "
                               f"afventer {names.parties(waiting)}")}
    reasons: list[str] = []
    for c in cands:
        step = mc.Step(state=row["state"], ctx=ctx, attrs={"role": actor.role})
        if step.guards_pass(c):
            return {"allowed": True, "reason": None}
        reasons.extend(step.reasons)
    return {"allowed": False, "reason": Said.joined(list(dict.fromkeys(reasons)))}


def areas(wf: Workflow) -> list[dict[str, Any]]:
    """The areas of the cooperation, who runs each, and whether it is free to apply for."""
    with store.read(wf.engine) as conn:
        taken = unavailable_areas(conn)
        rows = list(conn.execute(select(t.area).order_by(t.area.c.position)))
    return [{"id": a.id, "name": a.name_da, "name_en": a.name_en, "law_ref": a.law_ref,
             "run_by": a.run_by,
             "released_on": a.released_on.isoformat() if a.released_on else None,
             "available": a.id not in taken, "status": taken.get(a.id, "available")}
            for a in rows]


def visible_ids(wf: Workflow, conn: Connection, actor: Actor,
                application: int | None = None) -> list[int]:
    a = t.application
    q = select(a.c.id, a.c.parties)
    if application is not None:
        q = q.where(a.c.id == application)
        if conn.execute(q).first() is None:
            raise NotFound.application(application)
    rows = [r for r in conn.execute(q)
            if actor.role == "admin" or actor.municipality in r.parties]
    if application is not None and not rows:
        wf.check_party(actor, application, [])
    return [r.id for r in rows]


def deadlines(wf: Workflow, *, user: str | None, overdue: bool = False,
              application: int | None = None, mine: bool = False) -> list[dict[str, Any]]:
    """Open deadlines of the applications this user may see, soonest first; with ``mine``
    only those the user is responsible for (role, and municipality where it is per party)."""
    d, a = t.deadline, t.application
    today = wf.today()
    with store.read(wf.engine) as conn:
        actor = wf.actor(conn, user)
        ids = visible_ids(wf, conn, actor, application)
        q = (select(d, a.c.case_number, a.c.title, a.c.kind, a.c.state.label("app_state"))
             .join(a, a.c.id == d.c.application_id)
             .where(d.c.active, d.c.application_id.in_(ids)).order_by(d.c.due, d.c.id))
        if overdue:
            q = q.where(d.c.due < today)
        out = []
        for r in conn.execute(q):
            process = wf.definition.process_for_kind(r.kind)
            state = process.states.get(r.state)
            if mine and (actor.role not in process.responsible_roles(r.state)
                         or (r.party and r.party != actor.municipality)):
                continue
            out.append({**_deadline(r, today), "id": r.id, "application": r.application_id,
                        "case_number": r.case_number, "title": r.title,
                        "state_label": state.label.da if state else r.state})
        return out


def reminders(wf: Workflow, *, user: str | None, status: str | None = None,
              application: int | None = None) -> list[dict[str, Any]]:
    with store.read(wf.engine) as conn:
        actor = wf.actor(conn, user)
        return list_reminders(conn, app_ids=visible_ids(wf, conn, actor, application),
                              status=status)


# ------------------------------------------------------------- tasks and names (pages)
def _tasks(wf: Workflow, apps: list[dict[str, Any]], *, user: str | None
           ) -> list[dict[str, Any]]:
    wanted = [a["id"] for a in apps if not a["final"]]
    if not wanted:
        return []
    a, d = t.application, t.deadline
    today = wf.today()
    with store.read(wf.engine) as conn:
        actor = wf.actor(conn, user)
        rows = {r["id"]: r for r in _visible(wf, actor, (
            dict(r) for r in conn.execute(select(a).where(a.c.id.in_(wanted))).mappings()))}
        if not rows:
            return []
        mine: dict[int, list[dict[str, Any]]] = {}
        for r in conn.execute(select(d).where(d.c.active, d.c.application_id.in_(list(rows)))
                              .order_by(d.c.due, d.c.id)):
            process = wf.definition.processes.get(rows[r.application_id]["process"])
            if process is None or r.state not in process.states:
                continue
            if actor.role in process.responsible_roles(r.state) \
                    and (not r.party or r.party == actor.municipality):
                mine.setdefault(r.application_id, []).append(
                    {**_deadline(r, today), "id": r.id, "application": r.application_id})
        acts = acts_of(conn, {i: row["entered_version"] for i, row in rows.items()})
        found: list[tuple[tuple[int, str, int], dict[str, Any]]] = []
        for position, app in enumerate(apps):
            row = rows.get(app["id"])
            if row is None or row["process"] not in wf.definition.processes \
                    or row["state"] not in wf.definition.processes[row["process"]].states:
                continue
            actions, waiting = _awaited(wf, row, actor, acts[row["id"]])
            due = mine.get(row["id"])
            if not due and not waiting:
                # no deadline of mine and no joint step waiting for me: still mine when I
                # may move the case on now (both councils approved: send it)
                waiting = _may_move_on(wf, conn, row, actor)
                if not waiting:
                    continue
            found.append(((0, due[0]["due"], position) if due else (1, "", position),
                          {"app": app, "deadline": due[0] if due else None,
                           "actions": actions if due else [x for x in actions
                                                           if x["trigger"] in waiting]}))
    return [task for _, task in sorted(found, key=lambda x: x[0])]


def _may_move_on(wf: Workflow, conn: Connection, row: dict[str, Any], actor: Actor
                 ) -> set[str]:
    """The triggers that move the case to another state whatever the data, and that the
    user may take now (their guards pass); never a side action, nor a branch a value picks
    (a council's rejection sends a case back, but is not awaited)."""
    process = wf.definition.processes[row["process"]]
    out = set()
    for trig in process.triggers_from(row["state"]):
        cands = [c for c in process.candidates(row["state"], trig)
                 if not c.side and c.dest != row["state"] and actor.role in c.roles
                 and all(k in ("kind", "round") for k, _ in c.when)]  # not a branch of data
        if cands and _why_not(wf, conn, row, actor, cands)["allowed"]:
            out.add(trig)
    return out


def _awaited(wf: Workflow, row: dict[str, Any], actor: Actor,
             acts: dict[str, dict[str, Any]]) -> tuple[list[dict[str, Any]], set[str]]:
    """The actions from the case's state that the user's role takes (never a side one,
    nor a joint step her municipality has done its part of), and the joint steps among
    them that wait for her municipality (another party has done its part, hers has not)."""
    process = wf.definition.processes[row["process"]]
    actions: list[dict[str, Any]] = []
    waiting: set[str] = set()
    for trig in process.triggers_from(row["state"]):
        mine = [c for c in process.candidates(row["state"], trig) if actor.role in c.roles]
        joint = next((c.joint for c in mine if c.joint), None)
        done = acts.get(joint, {}) if joint else {}
        # a side action is never awaited, unless another party has begun it jointly (a
        # withdrawal one project lead asked for waits for the other)
        cands = [c for c in mine if not c.side or (c.joint and done)]
        if not cands:
            continue
        if actor.municipality in done:
            continue
        if done and actor.municipality in (row["parties"] or []):
            waiting.add(trig)
        actions.append({"trigger": trig, "label": cands[0].label.da})
    return actions, waiting


def user_names(wf: Workflow, ids: Iterable[str | None]) -> dict[str, str]:
    """People's names by user id, for the pages (an id not found is left out)."""
    wanted = sorted({i for i in ids if i})
    if not wanted:
        return {}
    u = t.user
    with store.read(wf.engine) as conn:
        return {r.id: r.name for r in conn.execute(
            select(u.c.id, u.c.name).where(u.c.id.in_(wanted)))}
