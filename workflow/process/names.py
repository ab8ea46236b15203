"""What things are called in Danish: areas, municipalities, roles, actions, fields and
their choices, for the messages a page shows (see :class:`workflow.errors.Said`).

Built once per :class:`~workflow.engine.workflow.Workflow` from its definition and the areas and
municipalities in the database; an id it does not know is said as the id itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from ..danish import join_and, join_or, long_date
from .definition import Definition


def _parts(row: Any) -> list[dict[str, Any]] | None:
    try:
        return row["parts"]  # type: ignore[no-any-return]
    except (KeyError, TypeError):
        return getattr(row, "parts", None)


# the history's entries that are no trigger of the process, in Danish
HISTORY_LABELS = {"create": "Oprettet", "download": "Hentet dokument",
                  "reminder": "Påmindelse sendt", "notice": "Besked sendt: din tur",
                  "edit_section": "Sagens tekst ændret",
                  "file_edited": "Redigeret version indsat",
                  "regenerate": "Dokument dannet igen fra skabelonen"}


class Names:
    def __init__(self, definition: Definition, areas: Mapping[str, Any],
                 municipalities: Mapping[str, Any]) -> None:
        self._areas: dict[str, str] = {a: str(row.name_da) for a, row in areas.items()}
        self._parts: dict[str, str] = {
            f"{a}:{p['id']}": str(p.get("name_da") or p["id"])
            for a, row in areas.items() for p in (_parts(row) or [])}
        self._parties: dict[str, str] = {m: str(row.name) for m, row in municipalities.items()}
        self._roles = {r: label.da for r, label in definition.roles.items()}
        self._fields = {f: spec.label.da for f, spec in definition.fields.items()}
        self._choices = {f: dict(spec.choice_labels) for f, spec in definition.fields.items()}
        self.triggers = {t.trigger: t.label.da for p in definition.processes.values()
                         for t in p.transitions}
        self._states = {name: st.label.da for p in definition.processes.values()
                        for name, st in p.states.items()}
        # the trigger that records each act (record: or joint:), the first declared
        self._act_triggers: dict[str, str] = {}
        for p in definition.processes.values():
            for t in p.transitions:
                for act in (t.record, t.joint):
                    if act:
                        self._act_triggers.setdefault(act, t.trigger)

    def area(self, area_id: str) -> str:
        """An area, or a part of one: ``Det sociale område: Serviceloven § 82``."""
        if area_id in self._parts:
            area = area_id.partition(":")[0]
            return f"{self._areas.get(area, area)}: {self._parts[area_id]}"
        return self._areas.get(area_id, area_id)

    def part(self, token: str) -> str:
        """A part by its own name (``Serviceloven § 82``); an area by its name."""
        return self._parts.get(token) or self.area(token)

    def areas(self, ids: Iterable[str]) -> str:
        """``Genoptræning, Specialundervisning og »Natur og miljø«``: names holding "og"
        are quoted, so the list reads unambiguously; none: ``ingen``."""
        names = [self.area(a) for a in ids]
        return join_and(f"»{n}«" if " og " in n else n for n in names) or "ingen"

    def party(self, municipality: str | None) -> str:
        if municipality is None:
            return "ingen kommune"
        return self._parties.get(municipality, municipality)

    def parties(self, ids: Iterable[str | None]) -> str:
        return join_and(self.party(m) for m in ids)

    def role(self, role: str) -> str:
        """``»Projektleder«``: a role is named as the pages label it."""
        return f"»{self._roles.get(role, role)}«"

    def roles(self, roles: Iterable[str]) -> str:
        """``»Jurist« eller »Projektleder«``."""
        return join_or(self.role(r) for r in sorted(roles))

    def act_trigger(self, act: str) -> str:
        """The trigger that records the act ``act`` (``meeting``: schedule_council_meeting)."""
        return self._act_triggers.get(act, act)

    def action(self, trigger: str) -> str:
        """An action as a sentence names it: ``»Send til juridisk gennemsyn«``."""
        return f"»{self.triggers.get(trigger, trigger)}«"

    def state(self, state: str) -> str:
        return f"»{self._states.get(state, state)}«"

    def state_label(self, state: str) -> str:
        """A state's Danish label, unquoted."""
        return self._states.get(state, state)

    def history_label(self, trigger: str) -> str:
        """What a history entry records, in Danish: its trigger's label, or the other
        entries' (:data:`HISTORY_LABELS`)."""
        return HISTORY_LABELS.get(trigger) or self.triggers.get(trigger, trigger)

    def field(self, name: str) -> str:
        """A field's label, as it leads a message: ``Mødedato``."""
        return self._fields.get(name, name)

    def fields(self, names: Iterable[str]) -> str:
        """Fields named in running text: ``mødedato og dagsordenspunkt``."""
        return join_and(self.field(n)[:1].lower() + self.field(n)[1:] for n in names)

    def choice(self, field: str, value: Any) -> str:
        return self._choices.get(field, {}).get(value, str(value))

    def choices(self, field: str, values: Iterable[Any]) -> str:
        """``Godkendt eller Ikke godkendt``."""
        return join_or(self.choice(field, v) for v in values)

    @staticmethod
    def day(value: date | str | None) -> str:
        """``19. juni 2017`` (an ISO text as well as a date)."""
        if value is None:
            return "—"
        if isinstance(value, date):
            return long_date(value)
        try:
            return long_date(date.fromisoformat(value))
        except ValueError:
            return value
