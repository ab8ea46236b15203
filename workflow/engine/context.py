"""The rule context: what guards and effects see and change, over the open transaction.

Implements :class:`workflow.rules.registry.Context` with SQLAlchemy Core statements on the
connection of the transition's transaction, so everything a rule does commits or rolls
back together with the state change and its audit entry.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, delete, func, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql import ColumnElement

from ..danish import join_and, long_date
from ..errors import GuardFailed, Said, in_danish
from ..process.datebounds import Anchor
from ..store import tables as t

if TYPE_CHECKING:
    from ..process.names import Names
    from .workflow import Workflow


class TxContext:
    def __init__(self, *, wf: Workflow, conn: Connection, row: Mapping[str, Any],
                 data: Mapping[str, Any], party: str | None, user_id: str, now: datetime,
                 spawn: Callable[[Connection, str, int, str, datetime], int]) -> None:
        self.wf = wf
        self.names = wf.names
        self.conn = conn
        self.app_id: int = row["id"]
        self.kind: str = row["kind"]
        self.round: int | None = row["round"]
        self.state: str = row["state"]
        self.entered_version: int = row["entered_version"]
        self.app_data: dict[str, Any] = dict(row["data"] or {})
        self.data = data
        self.party = party
        self.parties: list[str] = list(row["parties"] or [])
        self.arg: Any = None
        self.user_id = user_id
        self.now = now
        self._spawn = spawn
        self._claimed: list[str] | None = None
        self._acts: dict[str, dict[str, dict[str, Any]]] = {}
        self.spawned: list[int] = []

    # ------------------------------------------------------------------ reading
    def kind_areas(self) -> list[str] | None:
        kind = self.wf.definition.process_for_kind(self.kind).kinds[self.kind]
        return list(kind.areas) if kind.areas is not None else None

    def area_ids(self) -> list[str]:
        return list(self.wf.areas)

    def claimed_areas(self) -> list[str]:
        if self._claimed is None:
            rows = self.conn.execute(
                select(t.application_area.c.area_id)
                .where(t.application_area.c.application_id == self.app_id,
                       t.application_area.c.live)
                .order_by(t.application_area.c.id))
            self._claimed = [r[0] for r in rows]
        return list(self._claimed)

    def unavailable_areas(self) -> dict[str, Said]:
        return unavailable_areas(self.conn, exclude=self.app_id)

    def has_round_one(self) -> bool:
        a = t.application
        row = self.conn.execute(
            select(a.c.id).where(a.c.kind == "dispensation", a.c.round == 1,
                                 a.c.state != "withdrawn", a.c.id != self.app_id).limit(1))
        return row.first() is not None

    def acts(self, name: str) -> dict[str, dict[str, Any]]:
        """The current acts under ``name``, latest per municipality."""
        if name not in self._acts:
            self._acts[name] = current_acts(self.conn, self.app_id, self.entered_version, name)
        return self._acts[name]

    def today(self) -> date:
        """The transition's day, in Danish time."""
        return self.wf.local_date(self.now)

    def others_who_acted(self) -> list[str]:
        """The other parties that have taken a step in the case (in the audit trail)."""
        ae = t.audit_entry
        acted = {r[0] for r in self.conn.execute(
            select(ae.c.municipality).distinct().where(ae.c.application_id == self.app_id))}
        return [p for p in self.parties if p in acted and p != self.party]

    def anchor(self, name: str) -> Anchor | None:
        """The day a date bound names (see :mod:`workflow.process.datebounds`), or None if the
        case has no such day yet."""
        a, ae, pa = t.application, t.audit_entry, t.party_act
        if name == "today":
            return Anchor(self.today(), Said("today", "i dag"))
        if name == "opened":
            at = self.conn.execute(select(a.c.created_at).where(a.c.id == self.app_id)) \
                .scalar_one()
            return Anchor(self.wf.local_date(at), Said("the case was opened",
                                                       "da sagen blev oprettet"))
        if name.startswith("entered:"):
            state = name.removeprefix("entered:")
            at = self.conn.execute(select(func.min(ae.c.at)).where(
                ae.c.application_id == self.app_id, ae.c.to_state == state,
                ae.c.from_state.is_distinct_from(state))).scalar()
            label = self.names.state(state)
            return None if at is None else Anchor(self.wf.local_date(at), Said(
                f"the case entered {state}", f"da sagen kom i tilstanden {label}"))
        if name.startswith("act:"):
            act = name.removeprefix("act:")
            at = self.conn.execute(select(func.max(pa.c.at)).where(
                pa.c.application_id == self.app_id, pa.c.name == act,
                pa.c.municipality == self.party, pa.c.void.is_(False))).scalar()
            trigger = self.names.act_trigger(act)
            return None if at is None else Anchor(self.wf.local_date(at), Said(
                f"{trigger} was recorded", f"da {self.names.action(trigger)} blev registreret"))
        value = self.data.get(name, self.app_data.get(name))
        if isinstance(value, str):
            try:
                value = date.fromisoformat(value)
            except ValueError:
                return None
        if not isinstance(value, date):
            return None
        return Anchor(value, Said(name, self.names.field(name).lower()))

    def deadline_due(self) -> tuple[date, str] | None:
        """The current state's open deadline for the acting party (or the case): due, why."""
        d = t.deadline
        rows = self.conn.execute(
            select(d.c.due, d.c.derivation, d.c.party)
            .where(d.c.application_id == self.app_id, d.c.state == self.state, d.c.active)
            .order_by(d.c.due)).all()
        mine = [r for r in rows if r.party in (None, self.party)] or rows
        return (mine[0].due, mine[0].derivation) if mine else None

    # ------------------------------------------------------------------ writing
    def claim_areas(self, areas: list[str]) -> None:
        aa = t.application_area
        self.conn.execute(delete(aa).where(aa.c.application_id == self.app_id))
        insert_claims(self.conn, self.app_id, areas, self.names)
        self._claimed = list(areas)

    def set_area_outcomes(self, granted: list[str], refused: list[str]) -> None:
        aa = t.application_area
        mine = aa.c.application_id == self.app_id
        if granted:
            self.conn.execute(update(aa).where(mine, aa.c.area_id.in_(granted))
                              .values(outcome="granted"))
        if refused:
            self.conn.execute(update(aa).where(mine, aa.c.area_id.in_(refused))
                              .values(outcome="refused", live=False))
        self._claimed = None

    def release_claims(self) -> None:
        aa = t.application_area
        self.conn.execute(update(aa).where(aa.c.application_id == self.app_id)
                          .values(live=False))
        self._claimed = None

    def release_granted_areas(self, on: date) -> None:
        aa, ar = t.application_area, t.area
        granted = [r[0] for r in self.conn.execute(
            select(aa.c.area_id).where(aa.c.application_id == self.app_id,
                                       aa.c.outcome == "granted"))]
        if granted:
            self.conn.execute(update(ar).where(ar.c.id.in_(granted))
                              .values(released_on=on, released_by=self.app_id))
        self.release_claims()

    def spawn(self, kind: str) -> int:
        new_id = self._spawn(self.conn, kind, self.app_id, self.user_id, self.now)
        self.spawned.append(new_id)
        return new_id


def insert_claims(conn: Connection, app_id: int, areas: list[str], names: Names) -> None:
    """Claim areas for an application; a claim another transaction won is a GuardFailed.

    Claims are inserted in a fixed (sorted) order, so two transactions claiming
    overlapping areas wait for each other instead of deadlocking.
    """
    if not areas:
        return
    aa = t.application_area
    try:
        with conn.begin_nested():
            conn.execute(insert(aa), [{"application_id": app_id, "area_id": a, "live": True,
                                       "outcome": None} for a in sorted(areas)])
    except IntegrityError:
        taken = unavailable_areas(conn, exclude=app_id)
        raise GuardFailed(Said(
            "another application claimed the same area at the same time: "
            + ", ".join(f"{a} ({taken.get(a, '?')})" for a in areas),
            "en anden ansøgning har netop fået samme område: "
            + join_and(f"{names.area(a)} {in_danish(taken[a])}" for a in areas if a in taken)
            )) from None


def unavailable_areas(conn: Connection, *, exclude: int | None = None) -> dict[str, Said]:
    """Areas that cannot go into a new application, and why."""
    out = {r.id: Said(f"released on {r.released_on.isoformat()}",
                      f"er frigivet den {long_date(r.released_on)}")
           for r in conn.execute(select(t.area.c.id, t.area.c.released_on)
                                 .where(t.area.c.released_on.is_not(None)))}
    aa, a = t.application_area, t.application
    q = (select(aa.c.area_id, a.c.case_number).join(a, a.c.id == aa.c.application_id)
         .where(aa.c.live))
    if exclude is not None:
        q = q.where(aa.c.application_id != exclude)
    for area_id, case_number in conn.execute(q):   # a case is named by its case number
        out.setdefault(area_id, Said(f"in case {case_number}",
                                     f"indgår i sag {case_number}"))
    return out


def current_acts(conn: Connection, app_id: int, entered_version: int,
                 name: str | None = None) -> dict[str, Any]:
    """Non-void acts recorded since the state was entered: {municipality: data}, or with
    ``name=None`` {name: {municipality: data}}; the latest act wins."""
    return acts_of(conn, {app_id: entered_version}, name)[app_id]


def acts_of(conn: Connection, entered: Mapping[int, int],
            name: str | None = None, *, voided: bool = False) -> dict[int, dict[str, Any]]:
    """:func:`current_acts` of several applications in one statement, by application id
    (``entered``: each one's version on entering its state). With ``voided`` the acts
    that a later step set aside count too, each marked ``"void"``: what a case page shows
    of what happened, as opposed to what still holds."""
    pa = t.party_act
    conds: list[ColumnElement[bool]] = [pa.c.application_id.in_(list(entered))]
    if not voided:
        conds.append(pa.c.void.is_(False))
    if name is not None:
        conds.append(pa.c.name == name)
    rows = conn.execute(select(pa.c.application_id, pa.c.name, pa.c.municipality, pa.c.data,
                               pa.c.user_id, pa.c.at, pa.c.version, pa.c.void)
                        .where(and_(*conds)).order_by(pa.c.version))
    out: dict[int, dict[str, dict[str, Any]]] = {app_id: {} for app_id in entered}
    for r in rows:
        if r.version <= entered[r.application_id]:
            continue
        entry = {**(r.data or {}), "user": r.user_id, "at": r.at.isoformat(),
                 "version": r.version}
        if voided:
            entry["void"] = bool(r.void)
        out[r.application_id].setdefault(r.name, {})[r.municipality] = entry
    if name is not None:
        return {app_id: acts.get(name, {}) for app_id, acts in out.items()}
    return dict(out)
