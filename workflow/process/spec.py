"""The process model: what a validated ``states.yaml`` turns into (immutable records).

:mod:`workflow.process.definition` builds these; the engine, the machine and the read side use
them. ``ProcessSpec.trigger_table`` holds per (state, trigger) what does not depend on the
case, so that firing a trigger looks nothing up twice.

The records are ``NamedTuple``s, not dataclasses, because ``workflow check`` and
``workflow diagram`` import this module and should start in well under 150 ms: defining a
frozen dataclass compiles its methods, about half a millisecond each here, and importing
:mod:`dataclasses` pulls in :mod:`inspect`. A ``NamedTuple`` is defined in microseconds.
Being tuples, they must not be compared with, or taken for, plain tuples.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, time
from types import MappingProxyType
from typing import Any, NamedTuple

from ..calendar import expressions as deadlines
from .datebounds import Bounds

# Application attributes a transition may match on, besides data fields.
MATCHABLE_ATTRIBUTES = ("kind", "round")

# The day a step happened, when it is not today and the step has no date of its own
# (``on:``): every step takes it. It is stored beside the moment the step was recorded.
HAPPENED = "happened_on"
HAPPENED_FIELD_LABEL = ("Dato for hændelsen", "The day it happened")

EMPTY: Mapping[str, Any] = MappingProxyType({})  # the default of the mapping fields


class Label(NamedTuple):
    da: str
    en: str

    def __str__(self) -> str:
        return self.da


class FieldSpec(NamedTuple):
    name: str
    type: str
    label: Label
    choices: tuple[str, ...] = ()
    choice_labels: Mapping[str, str] = EMPTY  # Danish, for the pages


class DeadlineSpec(NamedTuple):
    expr: deadlines.DeadlineExpr
    per_party: bool = False
    met_by: str | None = None
    remind: tuple[str, ...] | None = None   # reminder steps; None: the default ones
    notify: tuple[str, ...] | None = None   # responsible roles; None: who can move on
    party_field: str | None = None          # the municipality field naming whom it concerns


class ReminderStep(NamedTuple):
    key: str
    offset: int                              # working days from the due date
    label: Label
    to: tuple[str, ...] | None = None        # roles; None: the deadline's responsible ones
    escalation: bool = False


class ReminderPolicy(NamedTuple):
    send_at: time
    steps: dict[str, ReminderStep]
    default: tuple[str, ...]
    turn_notices: bool = True   # e-mail the people a step makes it the turn of, at once


class StateSpec(NamedTuple):
    name: str
    label: Label
    final: bool = False
    deadline: DeadlineSpec | None = None


class Rule(NamedTuple):
    name: str
    arg: Any = None


class TransitionSpec(NamedTuple):
    trigger: str
    source: str
    dest: str
    label: Label
    roles: tuple[str, ...]
    when: tuple[tuple[str, Any], ...] = ()
    guards: tuple[Rule, ...] = ()
    effects: tuple[Rule, ...] = ()
    requires: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    record: str | None = None     # store this party's act under this name
    joint: str | None = None      # as record, and move on only when every party has
    resets: tuple[str, ...] = ()  # void earlier acts under these names
    line: int | None = None
    position: int = 0             # where it is in the process's transitions list
    documents: tuple[str, ...] = ()  # drafts this transition makes (or brings up to date)
    approves: tuple[str, ...] = ()   # drafts whose current version this act approves
    side: bool = False               # always possible, never awaited (not a task: withdraw)
    dates: Mapping[str, Bounds] = EMPTY  # date field -> the range it must lie in
    on: str | None = None            # the date field that is the day the step happened
    patch: bool = False              # only the fields given change (others keep their value)

    @property
    def fields(self) -> tuple[str, ...]:
        return self.requires + tuple(f for f in self.optional if f not in self.requires)


class TriggerInfo(NamedTuple):
    """Everything about one trigger from one state that does not depend on the case."""

    candidates: tuple[TransitionSpec, ...]
    roles: frozenset[str]
    fields: tuple[str, ...]          # every data key the trigger takes
    branch_fields: tuple[str, ...]   # data keys whose value picks the branch (`when`)
    joint: str | None
    acts: bool                       # some branch records a party's act (record or joint)


class KindSpec(NamedTuple):
    name: str
    label: Label
    initial: str
    rounds: tuple[int, ...] = ()
    areas: tuple[str, ...] | None = None
    parties: tuple[str, ...] = ()    # municipality fields naming the parties; () = cooperation
    requires: tuple[str, ...] = ()   # data a new case of this kind needs
    optional: tuple[str, ...] = ()
    # (process, states, area field): a case of this kind may be opened from a case of that
    # process in one of those states, for an area it was granted
    opens_from: tuple[str, tuple[str, ...], str] | None = None
    # {round: (min, max)}: how many areas an application of the round names (an area
    # asked in part counts as one); a setting of the process, from the local strategy
    area_count: dict[int, tuple[int, int]] = {}  # noqa: RUF012  (never mutated)

    @property
    def fields(self) -> tuple[str, ...]:
        return self.requires + tuple(f for f in self.optional if f not in self.requires)


class ProcessSpec(NamedTuple):
    name: str
    label: Label
    case_number: str
    kinds: dict[str, KindSpec]
    states: dict[str, StateSpec]
    transitions: tuple[TransitionSpec, ...]
    create_roles: tuple[str, ...]
    # (state, trigger) -> TriggerInfo, for every declared pair: trigger_table(transitions),
    # so a spec with other transitions is built anew, never _replace()d
    trigger_table: Mapping[tuple[str, str], TriggerInfo]

    def triggers_from(self, state: str) -> list[str]:
        seen: dict[str, None] = {}
        for t in self.transitions:
            if t.source == state:
                seen.setdefault(t.trigger)
        return list(seen)

    def candidates(self, state: str, trigger: str) -> list[TransitionSpec]:
        return [t for t in self.transitions if t.source == state and t.trigger == trigger]

    def responsible_roles(self, state: str) -> tuple[str, ...]:
        """Who can move a case on from ``state``: its deadline's default recipients (a side
        action such as withdrawing moves nothing on)."""
        spec = self.states[state].deadline
        if spec is not None and spec.notify is not None:
            return spec.notify
        moving = [t for t in self.transitions if t.source == state and not t.side]
        return tuple(sorted({r for t in moving if t.dest != state for r in t.roles}
                            | {r for t in moving if t.record or t.joint for r in t.roles}))

    @property
    def final_states(self) -> list[str]:
        return [s.name for s in self.states.values() if s.final]


class DraftSpec(NamedTuple):
    """A Word draft: its template and letterhead, the kinds it is for, when it is kept current."""

    name: str
    label: Label
    template: str                 # may hold {party}
    letterhead: str               # "joint" (all parties) or a municipality id; may hold {party}
    applies_to: tuple[str, ...]
    live_in: tuple[str, ...]
    per_party: bool = False
    facts_on: str | None = None   # a date field: the ministry and the law as on that day
    readers: tuple[str, ...] = ()  # roles that may download it besides documents.download_roles
                                   # (of a draft per party: their own municipality's only)
    own_template: str | None = None  # a municipality column naming a council's own template


    def template_for(self, party: str | None) -> str:
        return self.template.format(party=party or "")

    def letterhead_for(self, party: str | None, data: Mapping[str, Any] | None = None) -> str:
        """The letterhead's name; ``{party}`` or ``{<municipality field>}`` (e.g. the BUM
        provider's own letterhead) are filled in from the party and the case's data."""
        fill = {k: v for k, v in (data or {}).items() if isinstance(v, str)}
        return self.letterhead.format_map({**fill, "party": party or ""})


class Ministry(NamedTuple):
    since: date
    name: str
    address: str = ""


class Citation(NamedTuple):
    """How a letter cites the law from ``since``: the consolidation then in force."""

    since: date
    cite: str          # "lov om forpligtende kommunale samarbejder, jf. lovbekendtgørelse …"


class Exemption(NamedTuple):
    """A ground for withholding a document or a field from aktindsigt: how it is cited
    ("offentlighedsloven § 30, nr. 1") and what it is called."""

    key: str
    cite: str
    label: Label


class Figure(NamedTuple):
    """A municipality's population on a day (a letter prints it only with that day)."""

    on: date
    inhabitants: int


class Facts(NamedTuple):
    """What a letter dated on a day says of the world: the ministry, the law, populations."""

    day: date
    ministry: Ministry | None = None
    law: Citation | None = None
    population: Mapping[str, Figure] = EMPTY     # municipality id -> its newest figure


def latest(entries: tuple[Any, ...], day: date, key: str = "since") -> Any:
    """The newest of dated ``entries`` (sorted by ``key``) that began by ``day``, or None."""
    found = None
    for entry in entries:
        if getattr(entry, key) > day:
            break
        found = entry
    return found


class Definition(NamedTuple):
    file: str
    source: str
    hash: str
    closure_days: tuple[tuple[int, int], ...]
    holidays: str
    roles: dict[str, Label]
    fields: dict[str, FieldSpec]
    processes: dict[str, ProcessSpec]
    download_roles: tuple[str, ...] = ()
    drafts: Mapping[str, DraftSpec] = EMPTY
    ministries: tuple[Ministry, ...] = ()
    reminders: ReminderPolicy | None = None
    laws: tuple[Citation, ...] = ()
    population: Mapping[str, tuple[Figure, ...]] = EMPTY
    exemptions: Mapping[str, Exemption] = EMPTY

    def ministry_on(self, day: date) -> Ministry | None:
        """The ministry's name valid on ``day`` (the newest entry that began by then)."""
        found: Ministry | None = latest(self.ministries, day)
        return found

    def law_on(self, day: date) -> Citation | None:
        """How the law is cited on ``day``: the consolidation in force then."""
        found: Citation | None = latest(self.laws, day)
        return found

    def population_on(self, municipality: str, day: date) -> Figure | None:
        """The municipality's newest population figure dated ``day`` or earlier."""
        found: Figure | None = latest(self.population.get(municipality, ()), day, "on")
        return found

    def may_download(self, role: str, municipality: str | None, draft: str,
                     party: str | None) -> bool:
        """Whether a user of ``role`` in ``municipality`` may download a version of
        ``draft`` (for ``party``, a per-party draft): every draft for the roles of
        ``download_roles``, and a draft's own ``readers`` (a per-party draft: their own
        municipality's)."""
        if role in self.download_roles:
            return True
        spec = self.drafts.get(draft)
        if spec is None or role not in spec.readers:
            return False
        return not spec.per_party or party == municipality

    def facts_on(self, day: date) -> Facts:
        """The dated facts as they stood on ``day``."""
        figures = {m: f for m in self.population
                   if (f := self.population_on(m, day)) is not None}
        return Facts(day, self.ministry_on(day), self.law_on(day), MappingProxyType(figures))

    def process_for_kind(self, kind: str) -> ProcessSpec:
        for p in self.processes.values():
            if kind in p.kinds:
                return p
        raise KeyError(kind)

    @property
    def kinds(self) -> list[str]:
        return [k for p in self.processes.values() for k in p.kinds]


def trigger_table(transitions: tuple[TransitionSpec, ...]
                  ) -> Mapping[tuple[str, str], TriggerInfo]:
    """(state, trigger) -> TriggerInfo, for every declared pair (``ProcessSpec.trigger_table``)."""
    out: dict[tuple[str, str], TriggerInfo] = {}
    for t in transitions:
        key = (t.source, t.trigger)
        if key in out:
            continue
        cands = tuple(c for c in transitions if (c.source, c.trigger) == key)
        out[key] = TriggerInfo(
            candidates=cands, roles=frozenset(r for c in cands for r in c.roles),
            fields=tuple(dict.fromkeys(f for c in cands for f in c.fields))
            + (() if any(c.on for c in cands) else (HAPPENED,)),
            branch_fields=tuple(dict.fromkeys(
                k for c in cands for k, _ in c.when if k not in MATCHABLE_ATTRIBUTES)),
            joint=next((c.joint for c in cands if c.joint), None),
            acts=any(c.record or c.joint for c in cands))
    return MappingProxyType(out)
