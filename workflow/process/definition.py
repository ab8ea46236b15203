"""Load and validate ``states.yaml``: the processes, declared, with every problem located.

The YAML is composed into nodes first so that each value keeps its line; validation then
collects *all* problems (file, line, key, message) before raising one
:class:`~workflow.errors.DefinitionError`. The result is a tree of immutable records
(:mod:`workflow.process.spec`) that the engine turns into one ``transitions`` machine per process.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
from datetime import date, time
from types import MappingProxyType
from typing import Any

from ..errors import DefinitionError, Problem
from . import (
    rulesets,  # noqa: F401  (registers every rule set before a definition names one)
)
from .located import Checker, LocatedYaml, Path_
from .processes import read_label, read_process
from .spec import (
    HAPPENED,
    HAPPENED_FIELD_LABEL,
    Citation,
    DeadlineSpec,
    Definition,
    DraftSpec,
    Exemption,
    FieldSpec,
    Figure,
    KindSpec,
    Label,
    Ministry,
    ProcessSpec,
    ReminderPolicy,
    ReminderStep,
    Rule,
    StateSpec,
    TransitionSpec,
    TriggerInfo,
)

__all__ = [
    "DeadlineSpec",
    "Definition",
    "FIELD_TYPES",
    "FieldSpec",
    "KindSpec",
    "Label",
    "Ministry",
    "DraftSpec",
    "ProcessSpec",
    "Rule",
    "StateSpec",
    "TransitionSpec",
    "TriggerInfo",
    "load",
    "loads",
]


FIELD_TYPES = ("text", "texts", "date", "choice", "areas", "area", "municipality", "committee",
               "integer", "money", "percent")


def load(path: str | os.PathLike[str]) -> Definition:
    """Read and validate a definition file; raise DefinitionError listing every problem."""
    file = os.fspath(path)
    try:
        with open(file, encoding="utf-8") as f:
            text = f.read()
    except OSError as exc:
        raise DefinitionError([Problem(file, None, "(file)", exc.strerror or str(exc))]) \
            from None
    except UnicodeDecodeError as exc:
        raise DefinitionError([Problem(file, None, "(file)",
                                       f"not UTF-8 text ({exc.reason} at byte {exc.start})")]) \
            from None
    return loads(text, file=file)


def loads(text: str, *, file: str = "states.yaml") -> Definition:
    doc = LocatedYaml(file, text)
    v = Checker(doc)
    root = v.mapping(doc.root, ())
    v.keys(root, (), {"schema", "calendar", "roles", "fields", "documents", "reminders",
                      "processes"},
           {"schema", "roles", "fields", "processes"})
    if root.get("schema") not in (None, 1):
        v.error(("schema",), "only schema 1 is known")

    cal = v.mapping(root.get("calendar"), ("calendar",), required=False)
    v.keys(cal, ("calendar",), {"holidays", "closure_days"})
    country = str(cal.get("holidays", DEFAULT_COUNTRY))
    if country != DEFAULT_COUNTRY and country not in _supported_countries():
        v.error(("calendar", "holidays"), f"no public-holiday calendar for {country!r} "
                                          f"(a country code such as DK)")
    closure: list[tuple[int, int]] = []
    raw_closure = cal.get("closure_days") or []
    if not isinstance(raw_closure, list):
        v.error(("calendar", "closure_days"), "expected a list of MM-DD days")
        raw_closure = []
    for i, d in enumerate(raw_closure):
        m = re.match(r"^(\d\d)-(\d\d)$", str(d))
        try:
            if not m:
                raise ValueError
            date(2024, int(m[1]), int(m[2]))  # a leap year: 02-29 is a possible day
        except ValueError:
            v.error(("calendar", "closure_days", i), f"expected MM-DD, got {d!r}")
            continue
        closure.append((int(m[1]), int(m[2])))

    roles = {name: read_label(v, lbl, ("roles", name))
             for name, lbl in v.mapping(root.get("roles"), ("roles",)).items()}
    fields = _fields(v, root.get("fields"))

    docs = v.mapping(root.get("documents"), ("documents",), required=False)
    v.keys(docs, ("documents",), {"download_roles", "ministries", "law", "population",
                                  "drafts", "exemptions"})
    download_roles = v.names(docs.get("download_roles", []), ("documents", "download_roles"))
    for r in download_roles:
        if r not in roles:
            v.error(("documents", "download_roles"), f"unknown role {r!r}")
    ministries = _ministries(v, docs.get("ministries", []))
    laws = [Citation(since, str(m.get("cite", ""))) for since, m in
            _dated(v, docs.get("law", []), ("documents", "law"), "from", {"cite"})]
    population = {}
    for muni, raw in v.mapping(docs.get("population", {}), ("documents", "population"),
                               required=False).items():
        path: Path_ = ("documents", "population", muni)
        figures = []
        for i, (on, entry) in enumerate(_dated(v, raw, path, "on", {"inhabitants"})):
            count = entry.get("inhabitants")
            if not isinstance(count, int) or isinstance(count, bool) or count <= 0:
                v.error(path + (i, "inhabitants"), "expected a number of inhabitants")
                continue
            figures.append(Figure(on, count))
        population[str(muni)] = tuple(figures)

    exemptions = _exemptions(v, docs.get("exemptions", {}))

    processes = {}
    for name, body in v.mapping(root.get("processes"), ("processes",)).items():
        processes[name] = read_process(v, name, body, roles, fields)
    kinds_seen: dict[str, str] = {}
    for p in processes.values():
        for k in p.kinds:
            if k in kinds_seen:
                v.error(("processes", p.name, "kinds", k),
                        f"kind {k!r} is already declared by process {kinds_seen[k]!r}")
            kinds_seen[k] = p.name

    drafts = _drafts(v, docs.get("drafts"), processes, fields, roles)
    reminders = _reminders(v, root.get("reminders"), roles)
    for p in processes.values():
        for s in p.states.values():
            d = s.deadline
            for key in (d.remind or ()) if d else ():
                if reminders is None or key not in reminders.steps:
                    v.error(("processes", p.name, "states", s.name, "deadline", "remind"),
                            f"unknown reminder step {key!r}")
            for r in (d.notify or ()) if d else ():
                if r not in roles:
                    v.error(("processes", p.name, "states", s.name, "deadline", "notify"),
                            f"unknown role {r!r}")
    for p in processes.values():
        for t in p.transitions:
            for key in ("documents", "approves"):
                for name in getattr(t, key):
                    if name not in drafts:
                        v.error(("processes", p.name, "transitions", t.position, key),
                                f"unknown draft {name!r}; known: {', '.join(drafts) or 'none'}")

    if v.problems:
        raise DefinitionError(v.problems)
    return Definition(
        file=file, source=text, hash=hashlib.sha256(text.encode()).hexdigest(),
        closure_days=tuple(closure), holidays=country,
        roles=roles, fields=fields, processes=processes,
        download_roles=tuple(download_roles), drafts=drafts, ministries=tuple(ministries),
        reminders=reminders, laws=tuple(laws), population=population,
        exemptions=MappingProxyType(exemptions))


def _exemptions(v: Checker, raw: Any) -> dict[str, Exemption]:
    path: Path_ = ("documents", "exemptions")
    out = {}
    for key, body in v.mapping(raw, path, required=False).items():
        m = v.mapping(body, path + (key,))
        v.keys(m, path + (key,), {"cite", "da", "en"}, {"cite", "da", "en"})
        out[str(key)] = Exemption(str(key), str(m.get("cite", "")),
                                  read_label(v, m, path + (key,)))
    return out


def _reminders(v: Checker, raw: Any, roles: dict[str, Label]) -> ReminderPolicy | None:
    if raw is None:
        return None
    path: Path_ = ("reminders",)
    m = v.mapping(raw, path)
    v.keys(m, path, {"send_at", "steps", "default", "turn_notices"}, {"steps"})
    turn = m.get("turn_notices", True)
    if not isinstance(turn, bool):
        v.error(path + ("turn_notices",), f"expected true or false, got {turn!r}")
        turn = True
    try:
        send_at = time.fromisoformat(str(m.get("send_at", "08:00")))
    except ValueError:
        v.error(path + ("send_at",), f"expected a time HH:MM, got {m.get('send_at')!r}")
        send_at = time(8)
    steps = {}
    for key, body in v.mapping(m.get("steps"), path + ("steps",)).items():
        sp: Path_ = path + ("steps", key)
        s = v.mapping(body, sp)
        v.keys(s, sp, {"offset", "da", "en", "to", "escalation"}, {"offset", "da", "en"})
        offset = s.get("offset")
        if not isinstance(offset, int) or offset == 0 or abs(offset) > 60:
            v.error(sp + ("offset",), "expected a number of working days, -60 to 60, not 0")
            offset = 1
        to = v.names(s["to"], sp + ("to",)) if "to" in s else None
        for r in to or ():
            if r not in roles:
                v.error(sp + ("to",), f"unknown role {r!r}")
        steps[key] = ReminderStep(key, offset, read_label(v, s, sp), tuple(to) if to else None,
                                  bool(s.get("escalation", False)))
    default = v.names(m.get("default", list(steps)), path + ("default",))
    for key in default:
        if key not in steps:
            v.error(path + ("default",), f"unknown reminder step {key!r}")
    return ReminderPolicy(send_at, steps, tuple(default), turn)


def _ministries(v: Checker, raw: Any) -> list[Ministry]:
    return [Ministry(since, str(m.get("name", "")), str(m.get("address", "")))
            for since, m in _dated(v, raw, ("documents", "ministries"), "from",
                                   {"name"}, {"address"})]


def _dated(v: Checker, raw: Any, path: Path_, key: str, required: set[str],
           optional: set[str] | None = None) -> list[tuple[date, dict[str, Any]]]:
    """A list of entries dated by ``key`` (YYYY-MM-DD), oldest first, no date twice."""
    if not isinstance(raw, list):
        v.error(path, f"expected a list of {{{key}: YYYY-MM-DD, {', '.join(sorted(required))}"
                      f": …}}, oldest first")
        return []
    out: list[tuple[date, dict[str, Any]]] = []
    for i, item in enumerate(raw):
        m = v.mapping(item, path + (i,))
        v.keys(m, path + (i,), {key} | required | (optional or set()), {key} | required)
        try:
            day = date.fromisoformat(str(m.get(key)))
        except ValueError:
            v.error(path + (i, key), f"expected a date YYYY-MM-DD, got {m.get(key)!r}")
            continue
        if out and day <= out[-1][0]:
            v.error(path + (i, key), f"{day} is not after the entry before it "
                                     f"({out[-1][0]}): the list goes oldest first")
            continue
        out.append((day, m))
    return out


# The municipality columns that may name a council's own template for a draft
OWN_TEMPLATES = ("agenda_template",)


def _drafts(v: Checker, raw: Any, processes: dict[str, ProcessSpec],
            fields: dict[str, FieldSpec], roles: dict[str, Label]) -> dict[str, DraftSpec]:
    states = {s for p in processes.values() for s in p.states}
    kinds = {k for p in processes.values() for k in p.kinds}
    out = {}
    for name, body in v.mapping(raw, ("documents", "drafts"), required=False).items():
        path: Path_ = ("documents", "drafts", name)
        m = v.mapping(body, path)
        v.keys(m, path, {"da", "en", "template", "letterhead", "applies_to", "live_in", "per",
                         "facts_on", "readers", "own_template"},
               {"da", "en", "template", "letterhead", "applies_to"})
        facts_on = m.get("facts_on")
        if facts_on is not None and (facts_on not in fields or fields[facts_on].type != "date"):
            v.error(path + ("facts_on",), f"{facts_on!r} is not a date field (the day whose "
                                          f"ministry and law the draft names)")
        applies = v.names(m.get("applies_to", []), path + ("applies_to",))
        for k in applies:
            if k not in kinds:
                v.error(path + ("applies_to",), f"unknown kind {k!r}")
        live = v.names(m.get("live_in", []), path + ("live_in",))
        for s in live:
            if s not in states:
                v.error(path + ("live_in",), f"unknown state {s!r}")
        per = m.get("per")
        if per not in (None, "party"):
            v.error(path + ("per",), "per must be 'party' (one document per municipality)")
        template, letterhead = str(m.get("template", "")), str(m.get("letterhead", ""))
        for key, text in (("template", template), ("letterhead", letterhead)):
            if "{party}" in text and per != "party":
                v.error(path + (key,), "{party} needs `per: party`")
            for name_ in re.findall(r"\{([^}]*)\}", text):
                if name_ != "party" and (key == "template" or name_ not in fields
                                         or fields[name_].type != "municipality"):
                    v.error(path + (key,), f"{{{name_}}}: only {{party}}"
                            + (" or a municipality field" if key == "letterhead" else "")
                            + " can be filled in here")
            if not re.fullmatch(r"[A-Za-z0-9_.{}-]+", text) or ".." in text:
                v.error(path + (key,), "a plain file name is expected")
        own = m.get("own_template")
        if own is not None and (own not in OWN_TEMPLATES or per != "party"):
            v.error(path + ("own_template",), f"{own!r}: a council's own template is named "
                    f"by {', '.join(OWN_TEMPLATES)} (with `per: party`)")
        readers = v.names(m.get("readers", []), path + ("readers",))
        for r in readers:
            if r not in roles:
                v.error(path + ("readers",), f"unknown role {r!r}")
        out[name] = DraftSpec(name, read_label(v, m, path), template, letterhead, tuple(applies),
                              tuple(live), per == "party",
                              str(facts_on) if facts_on is not None else None,
                              tuple(readers), str(own) if own is not None else None)
    return out


# Denmark is the calendar this engine is made for (and tested with): checking it needs no
# look-up, and the look-up (importing ``holidays``, ~40 ms) is what a command that needs no
# database would otherwise spend most of its start-up on.
DEFAULT_COUNTRY = "DK"


@functools.cache
def _supported_countries() -> frozenset[str]:
    from holidays.registry import COUNTRIES  # names only: no country module is imported

    return frozenset(code for names in COUNTRIES.values() for code in names[1:3])


def _fields(v: Checker, raw: Any) -> dict[str, FieldSpec]:
    out = {}
    for name, body in v.mapping(raw, ("fields",)).items():
        path: Path_ = ("fields", name)
        m = v.mapping(body, path)
        v.keys(m, path, {"type", "choices", "labels", "da", "en"}, {"type", "da", "en"})
        ftype = m.get("type")
        if ftype not in FIELD_TYPES:
            v.error(path + ("type",), f"unknown field type {ftype!r}; "
                                      f"known: {', '.join(FIELD_TYPES)}")
        choices = tuple(v.names(m.get("choices", []), path + ("choices",)))
        if ftype == "choice" and not choices:
            v.error(path, "a choice field needs choices")
        labels = v.mapping(m.get("labels", {}), path + ("labels",))
        for key in labels:
            if key not in choices:
                v.error(path + ("labels", key), f"{key!r} is not one of the choices")
        out[name] = FieldSpec(name, str(ftype), Label(str(m.get("da", "")), str(m.get("en", ""))),
                              choices, {str(k): str(x) for k, x in labels.items()})
    if HAPPENED in out:
        v.error(("fields", HAPPENED), f"{HAPPENED!r} is built in (the day a step happened); "
                                      "name the field otherwise")
    out[HAPPENED] = FieldSpec(HAPPENED, "date", Label(*HAPPENED_FIELD_LABEL))
    return out
