"""What a user may do now: a case's triggers with why one is not possible, the tasks of a
list of cases (the dashboard, ``workflow triggers``), and a case's page in one read."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from ..documents.listing import documents_of
from ..errors import Said
from ..process import machine as mc
from ..process.acts import acts_of
from ..store import database as store
from ..store import tables as t
from . import history as timeline
from . import journal, lists
from .context import TxContext
from .queries import (
    active_deadlines,
    deadline_view,
    describe_rows,
    load_case,
    user_names_on,
)
from .workflow import Actor, Workflow

CASE_PAGE_HISTORY = 50   # the history entries a case's page shows, the newest


def case_view(wf: Workflow, app_id: int, *, user: str | None,
              journal_limit: int = 50) -> dict[str, Any]:
    """Everything an application's page shows, in one read: the acting user (``actor``),
    the application as :func:`get_application` gives it, its ``triggers`` and
    ``documents`` as the functions of those names give them, the newest
    :data:`CASE_PAGE_HISTORY` entries of its ``history`` (``history_more``: there are
    older ones), the newest ``journal_limit`` of its ``journal`` (:func:`journal.page`)
    and its ``notes`` (:func:`journal.note_choices`), and the names of the ``people`` all
    of these name."""
    with store.read(wf.engine) as conn:
        actor = wf.actor(conn, user)
        row = load_case(conn, app_id)
        wf.check_party(actor, app_id, row["parties"], row["case_number"],
                       row.get("cooperation_id"))
        history, older = timeline.latest(conn, app_id, CASE_PAGE_HISTORY)
        docs = documents_of(conn, wf.definition, [app_id])
        view = {"actor": actor, "application": describe_rows(wf, conn, [row], docs=docs)[0],
                "triggers": _triggers(wf, conn, row, actor),
                "history": [e for _, e in history], "history_more": older,
                "documents": docs[app_id],
                "journal": journal.page_on(wf, conn, app_id, row["case_number"], row["title"],
                                           limit=journal_limit),
                "notes": journal.note_choices_on(conn, app_id)}
        view["people"] = user_names_on(conn, _people_of(view))
        return view


def _people_of(view: dict[str, Any]) -> set[str]:
    """The users a case's page names: in its history, its documents, its acts and its
    journal."""
    ids = {e["user"] for e in view["history"]}
    ids |= {v.get("created_by") for doc in view["documents"] for v in doc.get("versions", ())}
    ids |= {act.get("user") for acts in view["application"]["acts"].values()
            for act in acts.values()}
    ids |= {e["registered_by"] for e in view["journal"].entries}
    return {i for i in ids if isinstance(i, str)}


def triggers(wf: Workflow, app_id: int, *, user: str | None) -> list[dict[str, Any]]:
    """Every trigger from the current state: whether this user may fire it now, or why not."""
    with store.read(wf.engine) as conn:
        actor = wf.actor(conn, user)
        row = load_case(conn, app_id)
        wf.check_party(actor, app_id, row["parties"], row["case_number"],
                       row.get("cooperation_id"))
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
    wanted = [a["id"] for a in apps if not a["final"]]
    if not wanted:
        return []
    with store.read(wf.engine) as conn:
        return tasks_on(wf, conn, wf.actor(conn, user), apps)


def _triggers(wf: Workflow, conn: Connection, row: dict[str, Any], actor: Actor
              ) -> list[dict[str, Any]]:
    process = wf.process_of(row["process"])
    acts = acts_of(conn, {row["id"]: row["entered_version"]})[row["id"]]  # once, not a trigger
    out = []
    for trig in process.triggers_from(row["state"]):
        cands = process.candidates(row["state"], trig)
        out.append({"trigger": trig, "label": cands[0].label.da,
                    "dests": sorted({c.dest for c in cands}),
                    "roles": sorted({r for c in cands for r in c.roles}),
                    "fields": _fields(wf, cands),
                    **_why_not(wf, conn, row, actor, cands, acts)})
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
             cands: list[Any], acts: dict[str, dict[str, Any]] | None = None
             ) -> dict[str, Any]:
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
                    user_id=actor.id, now=wf.clock(), spawn=lambda *a: 0, acts=acts)
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


# ------------------------------------------------------------- tasks and names (pages)
def tasks_on(wf: Workflow, conn: Connection, actor: Actor, apps: list[dict[str, Any]], *,
             rows: dict[int, dict[str, Any]] | None = None,
             active: dict[int, list[Any]] | None = None) -> list[dict[str, Any]]:
    """:func:`tasks` in the caller's read transaction, for ``actor`` as it has read her;
    ``rows``: the cases' application rows by id, read in it already (those ``actor`` may
    see), and ``active``: their open deadlines, soonest first, by case."""
    wanted = [a["id"] for a in apps if not a["final"]]
    if not wanted:
        return []
    a = t.application
    today = wf.today()
    if rows is None:
        rows = {r["id"]: dict(r) for r in conn.execute(select(a).where(
            a.c.id.in_(wanted), lists.visible(actor, a.c.id))).mappings()}
    else:
        rows = {i: rows[i] for i in wanted if i in rows}
    if not rows:
        return []
    if active is None:
        active = active_deadlines(conn, list(rows))
    mine: dict[int, list[dict[str, Any]]] = {}
    for r in (r for i in rows for r in active.get(i, ())):
        process = wf.definition.processes.get(rows[r.application_id]["process"])
        if process is None or r.state not in process.states:
            continue
        if actor.role in process.responsible_roles(r.state) \
                and (not r.party or r.party == actor.municipality):
            mine.setdefault(r.application_id, []).append(
                {**deadline_view(r, today), "id": r.id, "application": r.application_id})
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
            waiting = _may_move_on(wf, conn, row, actor, acts[row["id"]])
            if not waiting:
                continue
        found.append(((0, due[0]["due"], position) if due else (1, "", position),
                      {"app": app, "deadline": due[0] if due else None,
                       "actions": actions if due else [x for x in actions
                                                       if x["trigger"] in waiting]}))
    return [task for _, task in sorted(found, key=lambda x: x[0])]


def _may_move_on(wf: Workflow, conn: Connection, row: dict[str, Any], actor: Actor,
                 acts: dict[str, dict[str, Any]]) -> set[str]:
    """The triggers that move the case to another state whatever the data, and that the
    user may take now (their guards pass); never a side action, nor a branch a value picks
    (a council's rejection sends a case back, but is not awaited)."""
    process = wf.definition.processes[row["process"]]
    out = set()
    for trig in process.triggers_from(row["state"]):
        cands = [c for c in process.candidates(row["state"], trig)
                 if not c.side and c.dest != row["state"] and actor.role in c.roles
                 and all(k in ("kind", "round") for k, _ in c.when)]  # not a branch of data
        if cands and _why_not(wf, conn, row, actor, cands, acts)["allowed"]:
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
