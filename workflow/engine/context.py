"""The rule context: what guards and effects see and change, over the open transaction.

Implements :class:`workflow.rules.registry.Context` with SQLAlchemy Core statements on the
connection of the transition's transaction, so everything a rule does commits or rolls
back together with the state change and its audit entry.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Connection

from ..errors import Said
from ..process.acts import (
    area_parts,
    claim_rows,
    claimed_tokens,
    current_acts,
    insert_claims,
    unavailable_areas,
)
from ..process.datebounds import Anchor
from ..rules.parts import parts_of
from ..store import tables as t
from .when import happened_day

if TYPE_CHECKING:
    from .workflow import Workflow


class TxContext:
    def __init__(self, *, wf: Workflow, conn: Connection, row: Mapping[str, Any],
                 data: Mapping[str, Any], party: str | None, user_id: str, now: datetime,
                 spawn: Callable[[Connection, str, int, str, datetime, date], int],
                 day: date | None = None, day_given: bool = False,
                 acts: Mapping[str, dict[str, dict[str, Any]]] | None = None) -> None:
        """``acts``: the case's current acts, all of them, when the caller has read them
        already (a list of cases reads every case's in one statement)."""
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
        self.cooperation: str = row["cooperation_id"]
        self.areas = wf.areas_of(self.cooperation)
        self.arg: Any = None
        self.user_id = user_id
        self.now = now
        self.day = day or wf.local_date(now)   # the day the step happened
        self.day_given = day_given             # given as happened_on (not its own field)
        self._spawn = spawn
        self._claimed: list[str] | None = None
        self._acts: dict[str, dict[str, dict[str, Any]]] = dict(acts or {})
        self._acts_read = acts is not None
        self.spawned: list[int] = []

    # ------------------------------------------------------------------ reading
    def kind_areas(self) -> list[str] | None:
        kind = self.wf.definition.process_for_kind(self.kind).kinds[self.kind]
        return list(kind.areas) if kind.areas is not None else None

    def area_ids(self) -> list[str]:
        return list(self.areas)

    def claimed_areas(self) -> list[str]:
        if self._claimed is None:
            self._claimed = claimed_tokens(self.conn, self.app_id)
        return list(self._claimed)

    def area_parts(self) -> dict[str, list[str]]:
        """Each area's declared part ids (an area without parts: [])."""
        return parts_of(self.areas)

    def area_count(self) -> tuple[int, int] | None:
        """The bounds the process sets on the number of areas in this case's round."""
        kind = self.wf.definition.process_for_kind(self.kind).kinds[self.kind]
        if self.round is None:
            return None
        local = (self.wf.cooperations[self.cooperation].settings or {}).get("area_count", {})
        if str(self.round) in local:   # the cooperation's own strategy (installation file)
            return int(local[str(self.round)]["min"]), int(local[str(self.round)]["max"])
        return kind.area_count.get(self.round)

    def unavailable_areas(self) -> dict[str, Said]:
        return unavailable_areas(self.conn, self.cooperation, exclude=self.app_id)

    def has_round_one(self) -> bool:
        a = t.application
        row = self.conn.execute(
            select(a.c.id).where(a.c.kind == "dispensation", a.c.round == 1,
                                 a.c.cooperation_id == self.cooperation,
                                 a.c.state != "withdrawn", a.c.id != self.app_id).limit(1))
        return row.first() is not None

    def acts(self, name: str) -> dict[str, dict[str, Any]]:
        """The current acts under ``name``, latest per municipality."""
        if name not in self._acts:
            self._acts[name] = {} if self._acts_read else \
                current_acts(self.conn, self.app_id, self.entered_version, name)
        return self._acts[name]

    def acts_in_case(self, name: str) -> dict[str, dict[str, Any]]:
        """The acts under ``name`` in any state of the case (not set aside), latest per
        municipality: conditions accepted before the decision still hold after it."""
        return current_acts(self.conn, self.app_id, 0, name)

    def today(self) -> date:
        """The day the step happened (by default the day it is recorded), Danish time."""
        return self.day

    def others_who_acted(self) -> list[str]:
        """The other parties that have taken a step in the case (in the audit trail)."""
        ae = t.audit_entry
        acted = {r[0] for r in self.conn.execute(
            select(ae.c.municipality).distinct().where(ae.c.application_id == self.app_id))}
        return [p for p in self.parties if p in acted and p != self.party]

    def committees(self, party: str) -> list[str]:
        """The committees ``party``'s council decisions pass through first, in order."""
        m = t.municipality
        got = self.conn.execute(select(m.c.committees).where(m.c.id == party)).scalar()
        return list(got or [])

    def anchor(self, name: str) -> Anchor | None:
        """The day a date bound names (see :mod:`workflow.process.datebounds`), or None if the
        case has no such day yet."""
        a, ae, pa = t.application, t.audit_entry, t.party_act
        if name == "today":
            if self.day_given:  # the step was back-dated: nothing of it may be later
                return Anchor(self.day, Said("the day of this step", "dagen for dette skridt"))
            return Anchor(self.wf.local_date(self.now), Said("today", "i dag"))
        if name == "opened":
            opened = self.conn.execute(select(a.c.opened_on, a.c.created_at)
                                       .where(a.c.id == self.app_id)).one()
            return Anchor(self._day(opened), Said("the case was opened",
                                                  "da sagen blev oprettet"))
        if name.startswith("entered:"):
            state = name.removeprefix("entered:")
            got = self.conn.execute(select(ae.c.happened_on, ae.c.at).where(
                ae.c.application_id == self.app_id, ae.c.to_state == state,
                ae.c.from_state.is_distinct_from(state)).order_by(ae.c.version).limit(1)).first()
            label = self.names.state(state)
            return None if got is None else Anchor(self._day(got), Said(
                f"the case entered {state}", f"da sagen kom i tilstanden {label}"))
        if name.startswith("act:"):
            act = name.removeprefix("act:")
            got = self.conn.execute(select(pa.c.happened_on, pa.c.at).where(
                pa.c.application_id == self.app_id, pa.c.name == act,
                pa.c.municipality == self.party, pa.c.void.is_(False))
                .order_by(pa.c.version.desc()).limit(1)).first()
            trigger = self.names.act_trigger(act)
            return None if got is None else Anchor(self._day(got), Said(
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

    def _day(self, got: Any) -> date:
        """A row's (happened_on, recorded moment) as the day it happened."""
        return happened_day(self.wf, got[0], got[1])

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
        """Granted areas and parts stay claimed; the rest of the claim is refused and
        released (an area asked whole and granted in part: its '' row and other parts)."""
        aa = t.application_area
        mine = aa.c.application_id == self.app_id
        parts, _ = area_parts(self.conn, self.cooperation)
        keep = set(claim_rows(granted, parts))
        rows = self.conn.execute(select(aa.c.id, aa.c.area_id, aa.c.part_id)
                                 .where(mine, aa.c.live)).all()
        won = [r.id for r in rows if (r.area_id, r.part_id) in keep]
        lost = [r.id for r in rows if (r.area_id, r.part_id) not in keep]
        if won:
            self.conn.execute(update(aa).where(aa.c.id.in_(won)).values(outcome="granted"))
        if lost:
            self.conn.execute(update(aa).where(aa.c.id.in_(lost))
                              .values(outcome="refused", live=False))
        self._claimed = None

    def release_claims(self) -> None:
        aa = t.application_area
        self.conn.execute(update(aa).where(aa.c.application_id == self.app_id)
                          .values(live=False))
        self._claimed = None

    def release_granted_areas(self, on: date) -> None:
        """An area granted whole is released; a part granted alone is released as a part."""
        aa, ar, rel = t.application_area, t.area, t.area_part_release
        rows = self.conn.execute(select(aa.c.area_id, aa.c.part_id).where(
            aa.c.application_id == self.app_id, aa.c.outcome == "granted")).all()
        whole = sorted({r.area_id for r in rows if r.part_id == ""})
        if whole:
            self.conn.execute(update(ar).where(ar.c.id.in_(whole),
                                              ar.c.cooperation_id == self.cooperation)
                              .values(released_on=on, released_by=self.app_id))
        alone = sorted((r.area_id, r.part_id) for r in rows
                       if r.part_id and r.area_id not in whole)
        if alone:
            self.conn.execute(insert(rel), [{"cooperation_id": self.cooperation, "area_id": a,
                                             "part_id": p, "released_on": on,
                                             "released_by": self.app_id} for a, p in alone])
        self.release_claims()

    def spawn(self, kind: str) -> int:
        new_id = self._spawn(self.conn, kind, self.app_id, self.user_id, self.now, self.day)
        self.spawned.append(new_id)
        return new_id
