"""The case's own text, engine side: read, preview and save the sections of its letter.

The sections (reasons, citizens, transition plan, staff, economy: ``documents/sections``)
are written by the project leads and legal staff of the case's municipalities, while the
letter is being drafted (the kind's first state and the states its letter is live in).
Saving a section stores a new version and, in the same transaction, makes a new version
of the live drafts that print it; the earlier draft goes stale, and a council approval
of it shows as no longer matching, as after any change of a draft's substance.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Connection

from ..documents import sections as sec
from ..documents.context import build_context, gather
from ..documents.drafts import Made
from ..errors import ConflictError, GuardFailed, PermissionDenied, Said
from ..process.spec import DraftSpec
from ..store import database as store
from ..store.statements import cursor
from .queries import load_case
from .workflow import Actor, Workflow

EDITORS = ("project_lead", "legal")   # who writes a case's own text


def section_drafts(wf: Workflow, kind: str) -> list[DraftSpec]:
    return wf.drafts.section_drafts(kind) if wf.drafts is not None else []


def editable_in(wf: Workflow, app: dict[str, Any]) -> bool:
    """Whether the case's sections may be written now: it has a letter that prints them,
    and the letter is not yet sent (the kind's first state, or a state it is live in)."""
    drafts = section_drafts(wf, app["kind"])
    if not drafts:
        return False
    initial = wf.definition.processes[app["process"]].kinds[app["kind"]].initial
    return app["state"] == initial or any(app["state"] in d.live_in for d in drafts)


def may_edit(actor: Actor) -> bool:
    return actor.role in EDITORS


def sections(wf: Workflow, app_id: int, *, user: str | None) -> dict[str, Any]:
    """The case's sections: each with its current text (the case's newest version, or
    the template's), the template's text, who wrote the newest version and when, and how
    many versions there are; whether this user may write them now."""
    with store.read(wf.engine) as conn:
        actor = wf.actor(conn, user)
        app = load_case(conn, app_id)
        wf.check_party(actor, app_id, app["parties"], app["case_number"])
        stored = sec.latest(conn, app_id)
        every = sec.versions(conn, app_id)
        defaults = _defaults(wf, conn, app) if section_drafts(wf, app["kind"]) else {}
    out = []
    for name, (label, label_en) in sec.SECTIONS.items():
        newest = stored.get(name)
        text = newest["body"] if newest else defaults.get(name, "")
        out.append({"name": name, "label": label, "label_en": label_en, "text": text,
                    "default": defaults.get(name, ""), "written": newest is not None,
                    "number": newest["number"] if newest else None,
                    "created_by": newest["created_by"] if newest else None,
                    "created_at": newest["created_at"] if newest else None,
                    "versions": sum(1 for v in every if v["name"] == name)})
    return {"application": app_id, "case_number": app["case_number"],
            "uses_sections": bool(defaults), "editable": editable_in(wf, app),
            "may_edit": may_edit(actor) and editable_in(wf, app), "sections": out}


def section_versions(wf: Workflow, app_id: int, name: str, *,
                     user: str | None) -> list[dict[str, Any]]:
    """Every version of one section, oldest first."""
    sec.check_name(name)
    with store.read(wf.engine) as conn:
        actor = wf.actor(conn, user)
        app = load_case(conn, app_id)
        wf.check_party(actor, app_id, app["parties"], app["case_number"])
        return sec.versions(conn, app_id, name)


def preview(wf: Workflow, app_id: int, body: str, *, user: str | None) -> str:
    """The text as the page shows it (HTML; checked as a save checks it, nothing stored)."""
    text = sec.clean_text(body)
    with store.read(wf.engine) as conn:
        actor = wf.actor(conn, user)
        app = load_case(conn, app_id)
        wf.check_party(actor, app_id, app["parties"], app["case_number"])
    return sec.preview_html(text)


def save_section(wf: Workflow, app_id: int, name: str, body: str, *, user: str | None,
                 based_on: int | None = None) -> tuple[int, list[Made]]:
    """Store ``body`` as the section's next version and renew the live drafts that print
    it, in one transaction; the version's number and the drafts made. ``based_on``: the
    version the writer started from (0: the template's text); a newer one is a conflict.
    Saving the text as it already is stores nothing."""
    sec.check_name(name)
    text = sec.clean_text(body)
    with wf._write(app_id) as conn:
        actor, row, _head = wf._load(cursor(conn), conn, app_id, user)
        now = wf.clock()
        wf.check_party(actor, app_id, row["parties"], row["case_number"],
                       row.get("cooperation_id"))
        if not may_edit(actor):
            raise PermissionDenied(Said(
                f"{actor.id} ({actor.role}) may not write the case's text; that takes "
                f"{' or '.join(EDITORS)}",
                f"sagens tekst skrives af {wf.names.roles(EDITORS)}; du har rollen "
                f"{wf.names.role(actor.role)}"))
        if not editable_in(wf, row):
            raise GuardFailed(Said(
                f"the text of case {row['case_number']} cannot be changed in state "
                f"{row['state']!r}: its letter is not being drafted",
                f"sagens tekst kan ikke ændres nu ({wf.names.state(row['state'])}): "
                f"ansøgningen er ikke under udarbejdelse"))
        newest = sec.latest(conn, app_id).get(name)
        if based_on is not None and (newest["number"] if newest else 0) != based_on:
            assert newest is not None
            raise ConflictError(Said(
                f"{name} was changed by {newest['created_by']} (version {newest['number']}) "
                f"since version {based_on} that you started from",
                f"afsnittet er ændret af {_name(conn, newest['created_by'])} "
                f"(version {newest['number']}), efter at du begyndte; din tekst står "
                f"herunder: se ændringen, og gem igen"),
                application_id=app_id, changed_by=newest["created_by"],
                version=newest["number"])
        if newest is not None and newest["body"] == text:
            return newest["number"], []
        number = sec.add_version(conn, app_id, name, text, user=actor.id, now=now)
        made: list[Made] = []
        if wf.drafts is not None:
            live = [d for d in section_drafts(wf, row["kind"]) if row["state"] in d.live_in]
            made = wf.drafts.renew(conn, row, live, actor=(actor.id, actor.name), now=now,
                                   trigger="edit_section")
        return number, made


def _name(conn: Connection, user_id: str) -> str:
    from sqlalchemy import select

    from ..store import tables as t

    got = conn.execute(select(t.user.c.name).where(t.user.c.id == user_id)).scalar()
    return str(got or user_id)


def _defaults(wf: Workflow, conn: Connection, app: dict[str, Any]) -> dict[str, str]:
    """The template's text of every section for this case, as of today."""
    assert wf.drafts is not None
    draft = section_drafts(wf, app["kind"])[0]
    inputs = gather(conn, wf.definition, app, wf.tz)
    today = wf.today()
    ctx = build_context(inputs, letter_date=today, facts=wf.drafts.facts(draft, inputs, today))
    folder = wf.drafts.dir / "documents"
    return {name: sec.default_text(folder, name, ctx) for name in sec.SECTIONS}
