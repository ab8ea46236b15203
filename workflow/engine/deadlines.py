"""Deadline rows: set when a state is entered, moved when its data change, closed on leaving.

A state's ``deadline`` expression (:mod:`workflow.calendar.expressions`) is evaluated against the
application's data and, for ``per: party`` deadlines, each municipality's acts in the
current state (a council meeting date, say). The due date and its derivation are stored;
a changed input moves the row, the ``met_by`` act meets it, leaving the state closes it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection, RowMapping

from ..calendar import expressions as dl
from ..calendar.workdays import WorkCalendar
from ..process import values
from ..process.acts import current_acts
from ..process.spec import Definition, ProcessSpec
from ..reminders.ledger import ReminderLedger
from ..store import tables as t


class DeadlineKeeper:
    def __init__(self, definition: Definition, calendar: WorkCalendar, tz: ZoneInfo,
                 municipalities: Mapping[str, RowMapping]) -> None:
        self.definition = definition
        self.calendar = calendar
        self.tz = tz
        self.municipalities = municipalities
        self.ledger = ReminderLedger(definition.reminders, calendar, tz) \
            if definition.reminders is not None else None

    def sync(self, conn: Connection, process: ProcessSpec, row: Mapping[str, Any], *,
             old_state: str | None, version: int, now: datetime,
             acts_by_party: dict[str, dict[str, Any]] | None = None) -> None:
        """Close the old state's deadlines; set, move or meet the current state's."""
        d = t.deadline
        state = process.states[row["state"]]
        changed = old_state != row["state"]
        if changed and old_state is not None and process.states[old_state].deadline:
            conn.execute(update(d).where(d.c.application_id == row["id"], d.c.active)
                         .values(active=False, met_at=now))
            if self.ledger:
                self.ledger.cancel(conn, app_id=row["id"], deadline_ids=None, now=now,
                                   reason=f"the case left {old_state}")
        spec = state.deadline
        if spec is None:
            return
        base = values.from_json(row["data"] or {}, self.definition.fields)
        entered = row.get("entered_on") or row["entered_at"].astimezone(self.tz).date()
        parties: list[str | None] = list(row["parties"]) if spec.per_party else [None]
        if spec.party_field:  # the deadline concerns one party, named in the data
            parties = [str(base[spec.party_field])] if base.get(spec.party_field) else [None]
        if acts_by_party is None and (spec.per_party or spec.met_by):
            acts_by_party = _acts_by_party(conn, row["id"], row["entered_version"])
        acts_by_party = acts_by_party or {}
        existing = {} if changed else {
            r.party: r for r in conn.execute(select(d).where(
                d.c.application_id == row["id"], d.c.state == state.name, d.c.active))}
        label = self.field_label
        for party in parties:
            mine = acts_by_party.get(party, {}) if party else {}
            met = bool(spec.met_by and spec.met_by in mine)
            ctx_values = {**base, **values.from_json(_merge(mine), self.definition.fields)}
            due = dl.evaluate(spec.expr, entered=entered, values=ctx_values,
                              calendar=self.calendar, label=label)
            old = existing.get(party)
            if due is None:
                continue
            if party:
                name = self.municipalities[party].name if party in self.municipalities else party
                due = dl.Due(due.due, f"{due.derivation} ({name})")
            deadline_id = None
            if old is None:
                if not met:
                    deadline_id = conn.execute(insert(d).values(
                        application_id=row["id"], state=state.name, party=party, due=due.due,
                        derivation=due.derivation, active=True, met_at=None, version=version)
                        .returning(d.c.id)).scalar_one()
            elif met:
                conn.execute(update(d).where(d.c.id == old.id).values(active=False, met_at=now))
                if self.ledger:
                    self.ledger.cancel(conn, app_id=row["id"], deadline_ids=[old.id], now=now,
                                       reason="the deadline was met")
            elif (old.due, old.derivation) != (due.due, due.derivation):
                conn.execute(update(d).where(d.c.id == old.id).values(
                    due=due.due, derivation=due.derivation, version=version))
                deadline_id = old.id
            if deadline_id is not None and self.ledger:
                self.ledger.plan(conn, process, app_id=row["id"], deadline_id=deadline_id,
                                 state=state.name, due=due.due, party=party,
                                 parties=list(row["parties"]), now=now)

    def field_label(self, name: str) -> str:
        spec = self.definition.fields.get(name)
        return spec.label.da if spec else name


def _acts_by_party(conn: Connection, app_id: int, entered_version: int
                   ) -> dict[str, dict[str, Any]]:
    """{municipality: {act name: data}} for the current stay."""
    out: dict[str, dict[str, Any]] = {}
    for name, by_party in current_acts(conn, app_id, entered_version).items():
        for party, data in by_party.items():
            out.setdefault(party, {})[name] = data
    return out


def _merge(acts: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """One party's acts' data, the later overriding the earlier."""
    merged: dict[str, Any] = {}
    for data in sorted(acts.values(), key=lambda d: d.get("version", 0)):
        merged.update({k: v for k, v in data.items() if k not in ("user", "at", "version")})
    return merged
