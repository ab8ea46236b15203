"""One ``transitions`` machine per process, shared by every application of it.

The machine holds the graph (``auto_transitions`` off: only what ``states.yaml`` declares
exists) and picks which declared transition a trigger takes: the first whose ``when``
matches the data and whose guards pass. Applications are not registered with the
machine; each trigger runs on a short-lived :class:`Step` that carries the state and the
rule context, so one machine serves any number of applications and threads.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

from transitions import EventData, Machine, MachineError

from ..errors import InvalidData, Said
from ..rules import registry as rules
from .definition import ProcessSpec, TransitionSpec


@dataclass(frozen=True)
class Choice:
    spec: TransitionSpec
    completes: bool = True   # False: a joint step that still waits for other parties


@dataclass
class Step:
    """The model object for one trigger: state in, chosen transition and reasons out."""

    state: str
    ctx: rules.Context
    attrs: dict[str, Any]
    chosen: Choice | None = None
    reasons: list[str] = field(default_factory=list)

    def matches(self, spec: TransitionSpec) -> bool:
        role = self.attrs.get("role")
        if role is not None and role not in spec.roles:  # a branch for other roles
            return False
        for key, expected in spec.when:
            actual = self.attrs[key] if key in self.attrs else self.ctx.data.get(key)
            if actual != expected:
                return False
        return True

    def guards_pass(self, spec: TransitionSpec) -> bool:
        ok = True
        for rule in spec.guards:
            self.ctx.arg = rule.arg
            reason = rules.GUARDS[rule.name].func(self.ctx)
            if reason:
                self.reasons.append(reason if isinstance(reason, str) else str(reason))
                ok = False
        return ok


def _condition(spec: TransitionSpec) -> Callable[[EventData], bool]:
    def check(event: EventData) -> bool:
        step = cast(Step, event.model)
        if not step.matches(spec):
            return False
        missing = [f for f in spec.requires if f not in step.ctx.data]
        if missing:  # this branch applies, but the data for it is incomplete
            names = step.ctx.names
            raise InvalidData(Said(
                f"{spec.trigger} ({spec.source} → {spec.dest}) needs {', '.join(missing)}",
                f"{names.action(spec.trigger)} kræver her også {names.fields(missing)}"))
        return step.guards_pass(spec)
    return check


def _joint_complete(spec: TransitionSpec) -> Callable[[EventData], bool]:
    def check(event: EventData) -> bool:
        step = cast(Step, event.model)
        done = step.ctx.acts(str(spec.joint))
        return all(p in done or p == step.ctx.party for p in step.ctx.parties)
    return check


def _choose(choice: Choice) -> Callable[[EventData], None]:
    def before(event: EventData) -> None:
        cast(Step, event.model).chosen = choice
    return before


def build(process: ProcessSpec) -> Machine:
    """The machine for one process (validated definitions only)."""
    transitions: list[dict[str, Any]] = []
    for spec in process.transitions:
        base = {"trigger": spec.trigger, "source": spec.source}
        if spec.joint:
            transitions.append({**base, "dest": spec.dest,
                                "conditions": [_condition(spec), _joint_complete(spec)],
                                "before": [_choose(Choice(spec, True))]})
            transitions.append({**base, "dest": spec.source, "conditions": [_condition(spec)],
                                "before": [_choose(Choice(spec, False))]})
        else:  # a step with nothing to check has no condition for the machine to call
            checks = [_condition(spec)] if spec.when or spec.requires or spec.guards else []
            transitions.append({**base, "dest": spec.dest, "conditions": checks,
                                "before": [_choose(Choice(spec))]})
    initial = next(iter(process.kinds.values())).initial
    return Machine(model=None, states=list(process.states), transitions=transitions,
                   initial=initial, auto_transitions=False, send_event=True,
                   ignore_invalid_triggers=False)


def run(machine: Machine, step: Step, trigger: str) -> bool:
    """Fire ``trigger`` on ``step``; False when no declared transition's conditions held."""
    try:
        return bool(machine.events[trigger].trigger(step))
    except (KeyError, MachineError):
        return False
