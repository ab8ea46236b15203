"""Whose turn a step makes it: the people it newly awaits, for the your-turn e-mails.

A role in a municipality is awaited for an action of the case's state when

- a joint step waits for the municipality: another party has done its part, it has not
  (Ishøj has confirmed the areas: Vallensbæk's project leads);
- the state has an open deadline the role answers for (its responsible roles, as for the
  reminders), for that municipality or for every party (a council decision awaited, the
  conditions to accept); or
- the action moves the case on, is not joint, and may be taken now (both councils have
  approved: the project leads may send the application).

A step notifies what it made newly awaited: awaited after it and not before (a new state
awaits everything it awaits). Never a side action, never the user who took the step.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from ..process import machine as mc
from ..process.acts import current_acts
from ..process.spec import ProcessSpec
from ..reminders import notices
from ..store import tables as t
from .context import TxContext

if TYPE_CHECKING:
    from .workflow import Workflow

# (role, municipality) -> {trigger: its Danish label}, in the state's order
Awaited = dict[tuple[str, str], dict[str, str]]


def open_deadline_parties(conn: Connection, app_id: int) -> set[str | None]:
    """The parties of the case's open deadlines (None: one for every party)."""
    d = t.deadline
    return set(conn.execute(select(d.c.party).where(d.c.application_id == app_id,
                                                    d.c.active)).scalars())


def awaited(wf: Workflow, conn: Connection, process: ProcessSpec, row: Mapping[str, Any],
            now: datetime) -> Awaited:
    """Who the case waits for now, and for what (see the module's description)."""
    state = row["state"]
    if process.states[state].final:
        return {}
    parties = list(row["parties"] or [])
    acts = current_acts(conn, row["id"], row["entered_version"])
    responsible = set(process.responsible_roles(state))
    due = open_deadline_parties(conn, row["id"]) if process.states[state].deadline else set()
    out: Awaited = {}
    for trig in process.triggers_from(state):
        cands = process.candidates(state, trig)
        joint = next((c.joint for c in cands if c.joint), None)
        done = acts.get(joint, {}) if joint else {}
        for c in cands:
            if c.side and not (c.joint and done):
                continue
            for role in c.roles:
                for party in parties:
                    key = (role, party)
                    if party in done or trig in out.get(key, {}):
                        continue
                    if done or role in responsible and (None in due or party in due) \
                            or _may_move_on(wf, conn, process, row, c, role, party, now):
                        out.setdefault(key, {})[trig] = c.label.da
    return out


def _may_move_on(wf: Workflow, conn: Connection, process: ProcessSpec,
                 row: Mapping[str, Any], spec: Any, role: str, party: str,
                 now: datetime) -> bool:
    """Whether ``spec`` moves the case to another state whatever the data, alone, and its
    guards pass for ``role`` in ``party`` now (a branch a value picks is never awaited)."""
    if spec.dest == row["state"] or spec.joint \
            or any(k not in ("kind", "round") for k, _ in spec.when):
        return False  # (a joint step is awaited once another party has begun it)
    ctx = TxContext(wf=wf, conn=conn, row=row, data={}, party=party, user_id="",
                    now=now, spawn=lambda *a: 0)
    step = mc.Step(state=row["state"], ctx=ctx,
                   attrs={"kind": row["kind"], "round": row["round"], "role": role})
    return step.matches(spec) and step.guards_pass(spec)


def newly_awaited(before: Awaited | None, after: Awaited) -> Awaited:
    """What ``after`` awaits that ``before`` did not (None: a new state, all of it)."""
    if before is None:
        return after
    out: Awaited = {}
    for key, actions in after.items():
        new = {k: v for k, v in actions.items() if k not in before.get(key, {})}
        if new:
            out[key] = new
    return out


class Turn:
    """One step's notices: who was awaited before it (taken before it writes anything),
    then, after it, the stale notices cancelled and the new ones planned."""

    def __init__(self, wf: Workflow, conn: Connection, process: ProcessSpec,
                 row: Mapping[str, Any], spec: Any, dest: str, now: datetime) -> None:
        policy = wf.definition.reminders
        same = dest == row["state"]
        # a side step that stays put (a detail corrected, an exception) changes no one's turn
        self.on = policy is not None and policy.turn_notices \
            and not (same and spec.side and not spec.joint)
        self.wf, self.conn, self.process, self.now = wf, conn, process, now
        self.before = awaited(wf, conn, process, row, now) if self.on and same else None

    def after(self, row: Mapping[str, Any], *, actor: Any, version: int, label: str,
              trigger: str, day: Any) -> None:
        if not self.on:
            return
        now_awaited = awaited(self.wf, self.conn, self.process, row, self.now)
        notices.cancel_stale(self.conn, app_id=row["id"], still=now_awaited, now=self.now)
        targets = newly_awaited(self.before, now_awaited)
        if targets:
            by = self.wf.municipalities.get(actor.municipality) if actor.municipality else None
            notices.plan(self.conn, app_id=row["id"], version=version, targets=targets,
                         actor=actor.id, now=self.now,
                         step={"trigger": trigger, "label": label, "by": actor.name,
                               "by_municipality": by.name if by else None,
                               "day": day.isoformat(), "state": row["state"]})
