"""`workflow templates check`: every draft tried as a step would make it, for every
municipality of the installation.

The municipalities are read from the installation's database (:func:`installation_
municipalities`: each party to the cooperation or to a BUM agreement). For each one the
checker looks at what a step would fail on: its logo (a PNG or JPEG by content), its
agenda layout, its own agenda template (it must exist), and every draft's template as
that municipality's drafts use it (syntax, unknown names, errors when rendering, leftover
placeholder text, a template that renders to nothing), tried on samples of its own
process (``samples.py``) with the municipality's own data, and the letterhead each draft
is written on. A problem names the template (or ``municipality ID``), the line, and the
municipality it was found for.
"""

from __future__ import annotations

import string
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, select

from .. import danish
from ..errors import DocumentError, SetupError
from ..process.spec import DraftSpec
from ..store import database as store
from ..store import tables as t
from .context import AGENDA_LAYOUTS, build_context
from .letterhead import letterhead_spec, logo_problem, logos_of
from .rendering import TemplateProblem, check_template

if TYPE_CHECKING:
    from .drafts import Drafts

Rows = Sequence[Mapping[str, Any]]


def installation_municipalities(engine: Engine) -> tuple[list[dict[str, Any]],
                                                         list[dict[str, Any]]] | None:
    """The municipality rows of the cooperation and those of everyone to check (also the
    parties to BUM agreements); none if the database has no schema yet."""
    if store._missing_file(engine) is not None:
        return None
    revision = store.current_revision(engine)
    if revision is None:
        return None
    if revision != store.HEAD_REVISION:
        raise SetupError(f"the database is at schema revision {revision}, this program needs "
                         f"{store.HEAD_REVISION}: run `workflow init` to upgrade it")
    m, a = t.municipality, t.application
    with store.read(engine) as conn:
        rows = {r.id: dict(r._mapping) for r in conn.execute(select(m).order_by(m.c.id))}
        bum = {p for parties in conn.execute(select(a.c.parties).where(
            a.c.process == "bum_agreement")).scalars() for p in parties or []}
    members = [r for r in rows.values() if r["cooperation"]]
    return members, [r for k, r in rows.items() if r["cooperation"] or k in bum]


def municipality_problems(drafts: Drafts, row: Mapping[str, Any]) -> list[TemplateProblem]:
    """What is wrong with one municipality's own settings."""
    where, who = f"municipality {row['id']}", f"{row['name']} ({row['id']})"
    out = []
    logo = logo_problem(row.get("logo"), row.get("logo_type"))
    if logo:
        out.append(TemplateProblem(where, None, f"{who}: {logo}; its letterheads cannot be "
                                                f"made"))
    layout = row.get("agenda_layout") or "standard"
    if layout not in AGENDA_LAYOUTS:
        out.append(TemplateProblem(where, None, f"{who}: unknown agenda_layout {layout!r} "
                                                f"(known: {', '.join(AGENDA_LAYOUTS)})"))
    own = row.get("agenda_template")
    if own and not _plain_name(str(own)):
        out.append(TemplateProblem(where, None, f"{who}: agenda_template {own!r} is not a "
                                                f"plain file name under templates/documents/"))
    return out


def _plain_name(name: str) -> bool:
    return bool(name) and "/" not in name and "\\" not in name and ".." not in name \
        and name.endswith(".md.j2")


def check_drafts(drafts: Drafts, members: Rows | None, everyone: Rows | None
                 ) -> list[TemplateProblem]:
    """Every problem of every draft's template and letterhead, for every municipality."""
    from .samples import _demo_rows, sample_inputs

    demo = _demo_rows()
    members = list(members) if members is not None else [m for m in demo if m["cooperation"]]
    everyone = list(everyone) if everyone is not None else demo
    rows = {m["id"]: dict(m) for m in [*everyone, *members]}
    problems: list[TemplateProblem] = []
    unusable = set()
    for row in rows.values():
        wrong = municipality_problems(drafts, row)
        problems.extend(wrong)
        if wrong:
            unusable.add(row["id"])
    found_for: dict[tuple[str, int | None, str], list[str]] = {}

    def found(problem: TemplateProblem, who: str) -> None:
        whos = found_for.setdefault((problem.file, problem.line, problem.message), [])
        if who:
            whos.append(who)

    used: set[str] = set()
    today = datetime.now(drafts.tz).date()
    parties = [m["id"] for m in members]
    for draft in drafts.definition.drafts.values():
        process = drafts._process_of(draft)
        inputs = {label: sample_inputs(full, process, members=members, everyone=everyone)
                  for label, full in (("full", True), ("early", False))}
        for party in (parties if draft.per_party else [None]):
            if party in unusable:
                continue
            who = rows[party]["name"] if party else ""
            try:
                name = drafts.template_name(draft, party, rows)
            except DocumentError:   # a council's own template that is not there
                name = str(rows[party][str(draft.own_template)])
            used.add(name)
            if not _plain_name(name) or not (drafts.dir / "documents" / name).is_file():
                own = name != draft.template_for(party)
                why = (f"the agenda_template of {who} ({party}) names this template, so "
                       f"its {draft.name} cannot be made") if own else \
                    f"draft {draft.name!r} needs this template"
                found(TemplateProblem(name, None, f"missing: {why}"), "" if own else who)
                continue
            for chosen, why in _letterheads(draft, party, list(rows)):
                if chosen in unusable:
                    continue
                try:
                    spec = letterhead_spec(chosen, parties, rows)
                    drafts.letterheads.make(spec, logos_of(rows, spec))
                except DocumentError as exc:
                    found(TemplateProblem(name, None, f"letterhead: {exc}{why}"), who)
            samples = {label: build_context(
                inp, letter_date=today, facts=drafts.facts(draft, inp, today), party=party)
                for label, inp in inputs.items()}
            files = [name] + [f"sections/{p.name}" for p in drafts.section_files(
                (drafts.dir / "documents" / name).read_bytes())]
            for file in files:
                used.add(file)
                for p in check_template(drafts.env, file, samples):
                    found(p, who)
    for (file, line, message), whos in found_for.items():
        names = list(dict.fromkeys(whos))
        problems.append(TemplateProblem(file, line, message + (
            f" (for {danish.join_and(names)})" if names else "")))
    for path in sorted((drafts.dir / "documents").glob("*.md.j2")):
        if path.name not in used:
            problems.append(TemplateProblem(
                path.name, None, "not used by any draft in the definition"))
    return problems


def _letterheads(draft: DraftSpec, party: str | None,
                 municipalities: Sequence[str]) -> list[tuple[str, str]]:
    """The letterheads a draft may use, each with why (for one named after a case field,
    the municipality that would need it)."""
    fields = sorted({f for _, f, _, _ in string.Formatter().parse(draft.letterhead)
                     if f and f != "party"})
    if not fields:
        return [(draft.letterhead_for(party), "")]
    out: dict[str, str] = {}
    for m in municipalities:
        name = draft.letterhead_for(party, dict.fromkeys(fields, m))
        out.setdefault(name, f" ({draft.letterhead} when the {' and '.join(fields)} is {m})")
    return list(out.items())
