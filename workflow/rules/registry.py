"""The rule registry: what a guard or an effect is, and the decorators that name one.

Guards and effects are the named business rules that ``states.yaml`` refers to.

A guard returns ``None`` when the transition may happen, or a short reason why not, in
English and Danish (a :class:`~workflow.errors.Said`: the pages show the Danish). A
guard that judges submitted data returns ``None`` when that data is absent: "what may I do
now" is asked without data, and a missing required value is refused before any guard.
An effect changes data inside the transition's database transaction. Both receive a
:class:`Context`, which the engine implements over the open transaction; this module
imports nothing heavy, so ``workflow check`` can validate names without a database.

The registry imports no rule set: each registers itself when imported
(:mod:`workflow.rules.dispensation`, :mod:`workflow.bum.rules`), and
:mod:`workflow.process.rulesets` imports them all.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from ..errors import Said

if TYPE_CHECKING:
    from ..process.names import Names


class Context(Protocol):
    """What a rule may see and do during one transition."""

    app_id: int
    kind: str
    round: int | None
    app_data: dict[str, Any]        # the application's stored data (mutable)
    data: Mapping[str, Any]         # this transition's validated data
    party: str | None               # the acting user's municipality
    parties: list[str]
    arg: Any                        # the rule's argument from states.yaml, if any
    spawned: list[int]              # applications opened by this transition
    names: Names                    # what things are called in Danish, for the reasons

    def kind_areas(self) -> list[str] | None: ...
    def area_ids(self) -> list[str]: ...
    def claimed_areas(self) -> list[str]: ...
    def area_parts(self) -> dict[str, list[str]]: ...
    def area_count(self) -> tuple[int, int] | None: ...
    def unavailable_areas(self) -> dict[str, Said]: ...
    def has_round_one(self) -> bool: ...
    def acts(self, name: str) -> dict[str, dict[str, Any]]: ...
    def acts_in_case(self, name: str) -> dict[str, dict[str, Any]]: ...
    def claim_areas(self, areas: list[str]) -> None: ...
    def set_area_outcomes(self, granted: list[str], refused: list[str]) -> None: ...
    def release_claims(self) -> None: ...
    def release_granted_areas(self, on: date) -> None: ...
    def spawn(self, kind: str) -> int: ...
    def today(self) -> date: ...
    def deadline_due(self) -> tuple[date, str] | None: ...
    def others_who_acted(self) -> list[str]: ...
    def committees(self, party: str) -> list[str]: ...


Rule = Callable[[Context], Any]


class RuleSpec(NamedTuple):
    func: Rule
    arg: str | None     # None: takes no argument; else a description of the argument


GUARDS: dict[str, RuleSpec] = {}
EFFECTS: dict[str, RuleSpec] = {}


def guard(name: str, *, arg: str | None = None) -> Callable[[Rule], Rule]:
    def register(func: Rule) -> Rule:
        GUARDS[name] = RuleSpec(func, arg)
        return func
    return register


def effect(name: str, *, arg: str | None = None) -> Callable[[Rule], Rule]:
    def register(func: Rule) -> Rule:
        EFFECTS[name] = RuleSpec(func, arg)
        return func
    return register


def catalogue() -> dict[str, dict[str, str]]:
    """Every guard and effect that ``states.yaml`` may name, with its first doc line."""
    return {"guards": describe(GUARDS), "effects": describe(EFFECTS)}


def describe(registry: Mapping[str, RuleSpec]) -> dict[str, str]:
    return {name: (spec.func.__doc__ or "").strip().split("\n")[0]
            for name, spec in sorted(registry.items())}
