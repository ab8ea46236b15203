"""One process of ``states.yaml`` read and checked: its states, transitions (roles, guards,
effects, fields, dates), deadlines, and the graph (every state reachable, every live
state with a way on). Every problem is collected with its line."""

from __future__ import annotations

import re
from typing import Any

from ..calendar import expressions as deadlines
from ..rules import registry as rules
from . import (
    datebounds,
    rulesets,  # noqa: F401  (registers every rule set before a definition names one)
)
from .located import Checker, Path_
from .spec import (
    MATCHABLE_ATTRIBUTES,
    DeadlineSpec,
    FieldSpec,
    KindSpec,
    Label,
    ProcessSpec,
    Rule,
    StateSpec,
    TransitionSpec,
    trigger_table,
)

IDENT = re.compile(r"^[a-z][a-z0-9_]*$")


SAME = "same"   # a transition's dest: it stays in its source state (one per source)


# ----------------------------------------------------------------------- loading
def read_label(v: Checker, value: Any, path: Path_) -> Label:
    return Label(*v.texts(value, path, ("da", "en")))


def _rules(v: Checker, value: Any, path: Path_,
       registry: dict[str, rules.RuleSpec], what: str) -> tuple[Rule, ...]:
    out = []
    items = value if isinstance(value, list) else [value]
    if value is None:
        return ()
    for i, item in enumerate(items):
        p = path + (i,) if isinstance(value, list) else path
        if isinstance(item, dict) and len(item) == 1:
            name, arg = next(iter(item.items()))
        elif isinstance(item, str):
            name, arg = item, None
        else:
            v.error(p, f"expected a {what} name or {{name: argument}}")
            continue
        if arg is not None and not isinstance(arg, str | int):
            v.error(p, f"the argument of {what} {name!r} must be a single name")
            continue
        spec = registry.get(name)
        if spec is None:
            v.error(p, f"unknown {what} {name!r}; known: {', '.join(sorted(registry))}")
            continue
        if spec.arg and arg is None:
            v.error(p, f"{what} {name!r} needs an argument: {spec.arg}")
        elif not spec.arg and arg is not None:
            v.error(p, f"{what} {name!r} takes no argument")
        out.append(Rule(name, arg))
    return tuple(out)


def _area_count(v: Checker, raw: Any, path: Path_,
                rounds: tuple[int, ...]) -> dict[int, tuple[int, int]]:
    """``{1: {min: 2, max: 3}}``: how many areas an application of each round names."""
    out: dict[int, tuple[int, int]] = {}
    for key, bounds in v.mapping(raw, path, required=False).items():
        p: Path_ = path + (key,)
        if not key.isdigit() or int(key) not in rounds:
            v.error(p, f"a round of the kind ({', '.join(map(str, rounds)) or 'none'})")
            continue
        b = v.mapping(bounds, p)
        v.keys(b, p, {"min", "max"}, {"min", "max"})
        low, high = b.get("min"), b.get("max")
        bad = [k for k, n in (("min", low), ("max", high))
               if k in b and (isinstance(n, bool) or not isinstance(n, int) or n < 1)]
        for k in bad:
            v.error(p + (k,), "expected a whole number of areas, 1 or more")
        if bad or not isinstance(low, int) or not isinstance(high, int):
            continue
        if low > high:
            v.error(p, f"min {low} is more than max {high}")
            continue
        out[int(key)] = (low, high)
    return out


def read_process(v: Checker, name: str, body: Any, roles: dict[str, Label],
             fields: dict[str, FieldSpec]) -> ProcessSpec:
    base: Path_ = ("processes", name)
    m = v.mapping(body, base)
    v.keys(m, base, {"da", "en", "case_number", "create_roles", "kinds", "states",
                     "transitions"}, {"da", "en", "kinds", "states", "transitions"})
    create_roles = v.names(m.get("create_roles", []), base + ("create_roles",))
    for r in create_roles:
        if r not in roles:
            v.error(base + ("create_roles",), f"unknown role {r!r}")
    label = Label(str(m.get("da", "")), str(m.get("en", "")))

    states: dict[str, StateSpec] = {}
    for sname, sbody in v.mapping(m.get("states"), base + ("states",)).items():
        sp: Path_ = base + ("states", sname)
        if not IDENT.match(sname):
            v.error(sp, "a state id is lower_snake_case")
        elif sname == SAME:
            v.error(sp, f"{SAME!r} is reserved: `dest: {SAME}` means a transition stays put")
        sm = v.mapping(sbody, sp)
        v.keys(sm, sp, {"da", "en", "final", "deadline"}, {"da", "en"})
        state_label = read_label(v, {"da": sm.get("da"), "en": sm.get("en")}, sp)
        states[sname] = StateSpec(sname, state_label,
                                  bool(sm.get("final", False)),
                                  _deadline(v, sm.get("deadline"), sp + ("deadline",), fields))

    kinds = {}
    for kname, kbody in v.mapping(m.get("kinds"), base + ("kinds",)).items():
        kp: Path_ = base + ("kinds", kname)
        km = v.mapping(kbody, kp)
        v.keys(km, kp, {"da", "en", "initial", "rounds", "areas", "area_count", "parties",
                        "requires", "optional", "opens_from"}, {"da", "en", "initial"})
        initial = str(km.get("initial"))
        if initial not in states:
            v.error(kp + ("initial",), f"unknown state {initial!r}")
        rounds = km.get("rounds", [])
        if not isinstance(rounds, list) or not all(isinstance(r, int) for r in rounds):
            v.error(kp + ("rounds",), "expected a list of round numbers")
            rounds = []
        areas = km.get("areas")
        kreq = _field_names(v, km, kp, "requires", fields)
        kopt = _field_names(v, km, kp, "optional", fields)
        kparties = v.names(km.get("parties", []), kp + ("parties",))
        for f in kparties:
            if f not in kreq or f not in fields or fields[f].type != "municipality":
                v.error(kp + ("parties",), f"{f!r} must be a required municipality field")
        opens_from = v.mapping(km.get("opens_from", {}), kp + ("opens_from",))
        v.keys(opens_from, kp + ("opens_from",), {"process", "states", "area"})
        kinds[kname] = KindSpec(
            kname, Label(str(km.get("da", "")), str(km.get("en", ""))), initial,
            tuple(rounds), tuple(v.names(areas, kp + ("areas",))) if areas else None,
            parties=tuple(kparties), requires=tuple(kreq), optional=tuple(kopt),
            opens_from=(str(opens_from.get("process", "")),
                        tuple(v.names(opens_from.get("states", []),
                                      kp + ("opens_from", "states"))),
                        str(opens_from.get("area", ""))) if opens_from else None,
            area_count=_area_count(v, km.get("area_count"), kp + ("area_count",),
                                   tuple(rounds)))

    transitions = []
    raw_ts = m.get("transitions")
    if not isinstance(raw_ts, list):
        v.error(base + ("transitions",), "expected a list of transitions")
        raw_ts = []
    for i, tbody in enumerate(raw_ts):
        transitions.extend(_transition(v, base + ("transitions", i), tbody, states, roles,
                                       fields))

    ts = tuple(transitions)
    acts = {a for t in ts for a in (t.record, t.joint) if a}
    date_fields = {f for f, spec in fields.items() if spec.type == "date"}
    for t in {t.position: t for t in ts}.values():   # one per declared transition
        for fname, bounds in t.dates.items():
            for key in ("not_before", "not_after"):
                for anchor in getattr(bounds, key):
                    problem = datebounds.anchor_problem(anchor, states=states, acts=acts,
                                                        date_fields=date_fields)
                    if problem:
                        v.error(base + ("transitions", t.position, "dates", fname, key),
                                problem)
    spec = ProcessSpec(name, label, str(m.get("case_number", "{id}")), kinds, states, ts,
                       tuple(create_roles), trigger_table(ts))
    _check_graph(v, base, spec)
    return spec


def _deadline(v: Checker, raw: Any, path: Path_,
              fields: dict[str, FieldSpec]) -> DeadlineSpec | None:
    if raw is None:
        return None
    m = raw if isinstance(raw, dict) else {"due": raw}
    v.keys(m, path, {"due", "per", "for", "met_by", "remind", "notify"}, {"due"})
    try:
        expr = deadlines.parse(str(m.get("due") or ""))
    except deadlines.DeadlineSyntaxError as exc:
        v.error(path, f"bad deadline expression: {exc}")
        return None
    for term in expr.terms:
        for f in term.fields():
            wanted = ("date", "integer") if term.month_day else ("date",)
            if f not in fields or fields[f].type not in wanted:
                v.error(path, f"deadline refers to {f!r}, which is not a "
                              f"{' or '.join(wanted)} field")
    per = m.get("per")
    if per not in (None, "party"):
        v.error(path + ("per",), "per must be 'party' (one deadline per municipality)")
    party_field = m.get("for")
    if party_field is not None and (per or fields.get(str(party_field)) is None
                                    or fields[str(party_field)].type != "municipality"):
        v.error(path + ("for",), "for names a municipality field (the party the deadline "
                                 "concerns); it cannot be combined with per")
    remind = tuple(v.names(m["remind"], path + ("remind",))) if "remind" in m else None
    notify = tuple(v.names(m["notify"], path + ("notify",))) if "notify" in m else None
    return DeadlineSpec(expr, per == "party", m.get("met_by"), remind, notify,
                        str(party_field) if party_field else None)


def _transition(v: Checker, path: Path_, raw: Any, states: dict[str, StateSpec],
                roles: dict[str, Label], fields: dict[str, FieldSpec]) -> list[TransitionSpec]:
    m = v.mapping(raw, path)
    v.keys(m, path, {"trigger", "source", "dest", "da", "en", "roles", "when", "guards",
                     "effects", "requires", "optional", "record", "joint", "resets",
                     "documents", "approves", "side", "dates", "on", "patch"},
           {"trigger", "source", "dest", "roles"})
    trigger = str(m.get("trigger", ""))
    if not IDENT.match(trigger):
        v.error(path + ("trigger",), "a trigger id is lower_snake_case")
    sources = v.names(m.get("source", []), path + ("source",))
    for s in sources:
        if s not in states:
            v.error(path + ("source",), f"unknown state {s!r}")
    dest = str(m.get("dest", ""))
    if dest not in states and dest != SAME:
        v.error(path + ("dest",), f"unknown state {dest!r}")
    troles = v.names(m.get("roles", []), path + ("roles",))
    for r in troles:
        if r not in roles:
            v.error(path + ("roles",), f"unknown role {r!r}; known: {', '.join(roles)}")
    requires = _field_names(v, m, path, "requires", fields)
    optional = _field_names(v, m, path, "optional", fields)
    when = v.mapping(m.get("when", {}), path + ("when",))
    for k, val in list(when.items()):
        if not isinstance(val, str | int | bool):
            v.error(path + ("when", k), "expected a single value")
            del when[k]
            continue
        if k in MATCHABLE_ATTRIBUTES:
            continue
        if k not in fields:
            v.error(path + ("when", k), f"unknown field {k!r}")
        elif fields[k].choices and val not in fields[k].choices:
            v.error(path + ("when", k), f"{val!r} is not one of {', '.join(fields[k].choices)}")
        elif k not in requires:
            v.error(path + ("when", k), f"a transition that matches on {k!r} must require it")
    record, joint = m.get("record"), m.get("joint")
    if record and joint:
        v.error(path, "use either record or joint, not both")
    resets = v.names(m.get("resets", []), path + ("resets",))
    label = (read_label(v, {"da": m["da"], "en": m["en"]}, path) if "da" in m or "en" in m
             else Label(trigger, trigger))
    guards = _rules(v, m.get("guards"), path + ("guards",), rules.GUARDS, "guard")
    effects = _rules(v, m.get("effects"), path + ("effects",), rules.EFFECTS, "effect")
    dates = {}
    for fname, body in v.mapping(m.get("dates", {}), path + ("dates",)).items():
        dp: Path_ = path + ("dates", fname)
        if fname not in requires and fname not in optional:
            v.error(dp, f"{fname!r} is not a field this transition takes")
        elif fname not in fields or fields[fname].type != "date":
            v.error(dp, f"{fname!r} is not a date field")
        bm = v.mapping(body, dp)
        v.keys(bm, dp, {"not_before", "not_after"}, set())
        dates[str(fname)] = datebounds.Bounds(*(
            tuple(v.names(bm.get(key, []), dp + (key,))) for key in ("not_before", "not_after")))
    on = m.get("on")
    if on is not None:
        if on not in requires:
            v.error(path + ("on",), f"{on!r} must be a field this transition requires")
        elif fields[str(on)].type != "date":
            v.error(path + ("on",), f"{on!r} is not a date field")
    return [TransitionSpec(
        trigger=trigger, source=s, dest=s if dest == SAME else dest, label=label,
        roles=tuple(troles),
        when=tuple(sorted((str(k), val) for k, val in when.items())), guards=guards,
        effects=effects, requires=tuple(requires), optional=tuple(optional),
        record=str(record) if record else None, joint=str(joint) if joint else None,
        resets=tuple(resets), line=v.doc.line(path), position=int(path[-1]),
        documents=tuple(v.names(m.get("documents", []), path + ("documents",))),
        approves=tuple(v.names(m.get("approves", []), path + ("approves",))),
        side=_flag(v, m, path, "side"), dates=dates, on=str(on) if on else None,
        patch=_flag(v, m, path, "patch"))
        for s in sources]


def _flag(v: Checker, m: dict[str, Any], path: Path_, key: str) -> bool:
    """A yes/no key (absent: no)."""
    value = m.get(key, False)
    if not isinstance(value, bool):
        v.error(path + (key,), "expected true or false")
        return False
    return value


def _field_names(v: Checker, m: dict[str, Any], path: Path_, key: str,
                 fields: dict[str, FieldSpec]) -> list[str]:
    """The data field names listed under ``key`` (requires, optional), each declared."""
    names = v.names(m.get(key, []), path + (key,))
    for f in names:
        if f not in fields:
            v.error(path + (key,), f"unknown field {f!r}")
    return names


def _check_graph(v: Checker, base: Path_, spec: ProcessSpec) -> None:
    # the same trigger from the same state is one transition more than once only if a
    # branch tells them apart: its `when`, its guards, who takes it, or a joint step
    seen: dict[tuple[Any, ...], int] = {}
    for t in spec.transitions:
        key = (t.source, t.trigger, t.when, t.guards, frozenset(t.roles), t.joint)
        i = t.position
        if key in seen:
            v.error(base + ("transitions", i, "trigger"),
                    f"duplicate trigger {t.trigger!r} from state {t.source!r} "
                    f"(same conditions as transition #{seen[key] + 1})")
        else:
            seen[key] = i

    for sname, s in spec.states.items():
        outgoing = [t for t in spec.transitions if t.source == sname]
        sp = base + ("states", sname)
        if s.final and outgoing:
            v.error(sp, f"final state {sname!r} has outgoing transitions")
        if not s.final and not outgoing:
            v.error(sp, f"state {sname!r} is not final but has no way out")

    reachable: set[str] = set()
    frontier = [k.initial for k in spec.kinds.values() if k.initial in spec.states]
    while frontier:
        name = frontier.pop()
        if name in reachable:
            continue
        reachable.add(name)
        frontier.extend(t.dest for t in spec.transitions if t.source == name)
    for sname in spec.states:
        if sname not in reachable:
            v.error(base + ("states", sname),
                    f"state {sname!r} is unreachable from any kind's initial state")
