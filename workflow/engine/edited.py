"""Drafts edited by hand, engine side: file an uploaded .docx as a draft's next version,
compare it with the version it was edited from, and regenerate from the template.

Legal staff of the case's municipalities file an edited draft while the draft is being
worked on (a state it is live in). The version is marked edited by hand and names the
version it was edited from; it is then the draft's current version: a council approval
binds to its bytes, and the step that sends the draft sends it. A step never replaces it
with one made from the template; :func:`regenerate` does, but only when confirmed with
a note saying why.
"""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from ..documents.drafts import Made
from ..documents.edits import add_edited_version, check_docx, text_diff
from ..errors import GuardFailed, InvalidData, NotFound, PermissionDenied, Said
from ..process.values import check_text
from ..store import database as store
from ..store import tables as t
from ..store.statements import cursor
from .workflow import Actor, Workflow

FILERS = ("legal",)                        # who files an edited draft
REGENERATORS = ("legal", "project_lead")   # who has a draft made again from its template
MAX_NOTE = 2000


def _document(conn: Connection, document_id: int) -> Any:
    d = t.document
    doc = conn.execute(select(d.c.id, d.c.name, d.c.party, d.c.application_id)
                       .where(d.c.id == document_id)).first()
    if doc is None:
        raise NotFound(Said(f"no document {document_id}", f"dokument {document_id} findes ikke"))
    return doc


def _version(conn: Connection, document_id: int, number: int | None) -> Any:
    dv = t.document_version
    q = select(dv).where(dv.c.document_id == document_id)
    q = q.where(dv.c.number == number) if number is not None else \
        q.order_by(dv.c.number.desc()).limit(1)
    got = conn.execute(q).first()
    if got is None:
        raise NotFound(Said(f"document {document_id} has no version {number}",
                            f"dokument {document_id} har ingen version {number}"))
    return got


def _check_note(note: str) -> str:
    check_text(note, "the note", "noten")
    if len(note) > MAX_NOTE:
        raise InvalidData(Said(f"the note is longer than {MAX_NOTE} characters",
                               f"noten er længere end {MAX_NOTE} tegn"))
    return note.strip()


def _locked(wf: Workflow, conn: Connection, document_id: int, user: str | None,
            roles: tuple[str, ...], doing: tuple[str, str]) -> tuple[Any, Actor, dict[str, Any]]:
    """The document, the acting user and its case (locked), checked: the user is of a
    party and has one of ``roles``; the draft is being worked on."""
    doc = _document(conn, document_id)
    actor, row, _head = wf._load(cursor(conn), conn, doc.application_id, user)
    wf.check_party(actor, row["id"], row["parties"], row["case_number"])
    if actor.role not in roles:
        raise PermissionDenied(Said(
            f"{actor.id} ({actor.role}) may not {doing[0]}; that takes {' or '.join(roles)}",
            f"kun {wf.names.roles(roles)} kan {doing[1]}; du har rollen "
            f"{wf.names.role(actor.role)}"))
    spec = wf.definition.drafts.get(doc.name)
    if spec is None or row["state"] not in spec.live_in:
        raise GuardFailed(Said(
            f"document {document_id} ({doc.name}) is not being worked on in state "
            f"{row['state']!r}; it can no longer be changed",
            f"dokumentet kan ikke længere ændres ({wf.names.state(row['state'])})"))
    return doc, actor, row


def file_edited(wf: Workflow, document_id: int, content: bytes, *, user: str | None,
                from_number: int | None = None, note: str = "") -> tuple[Made, int]:
    """File ``content`` (a .docx, checked by :func:`check_docx`) as the draft's next
    version, edited by hand from version ``from_number`` (default: the newest); the version
    made and the number it was edited from."""
    check_docx(content)
    note = _check_note(note)
    with wf._write() as conn:
        doc, actor, row = _locked(wf, conn, document_id, user, FILERS,
                                  ("file an edited draft", "indsætte en redigeret version"))
        now = wf.clock()
        base = _version(conn, document_id, from_number)
        if hashlib.sha256(content).hexdigest() == base.sha256:
            raise InvalidData(Said(
                f"the file is exactly version {base.number}: nothing was edited",
                f"filen er præcis version {base.number}: intet er ændret"))
        number, sha = add_edited_version(conn, document_id, base, content, user=actor.id,
                                         now=now, app=row, note=note)
    return Made(document_id, doc.name, doc.party or "", number, sha), int(base.number)


def regenerate(wf: Workflow, document_id: int, *, user: str | None, confirm: bool = False,
               note: str = "") -> Made | None:
    """Make the draft again from its template, if its data or template changed; over a
    version edited by hand only when ``confirm``-ed with a ``note`` (else GuardFailed,
    saying so). None: nothing to make."""
    note = _check_note(note)
    if wf.drafts is None:
        raise GuardFailed(Said("this installation makes no drafts (no templates)",
                               "denne installation laver ingen udkast (ingen skabeloner)"))
    with wf._write() as conn:
        doc, actor, row = _locked(wf, conn, document_id, user, REGENERATORS,
                                  ("regenerate a draft", "danne dokumentet igen"))
        now = wf.clock()
        latest = _version(conn, document_id, None)
        edited = latest.origin == "edited"
        if edited and not (confirm and note):
            raise GuardFailed(Said(
                f"version {latest.number} of document {document_id} was edited by hand by "
                f"{latest.created_by} (from version {latest.edited_from}); making it again "
                f"from the template replaces it: confirm (--confirm) and say why (--note)",
                f"version {latest.number} er redigeret i hånden af {latest.created_by} (ud "
                f"fra version {latest.edited_from}); dannes dokumentet igen fra skabelonen, "
                f"erstattes den: bekræft og skriv en note om hvorfor"))
        made = wf.drafts.renew(conn, row, [wf.definition.drafts[doc.name]],
                               actor=(actor.id, actor.name), now=now, trigger="regenerate",
                               document_id=document_id, note=note if edited else None)
    return made[0] if made else None


def diff(wf: Workflow, document_id: int, number: int, *, user: str | None) -> dict[str, Any]:
    """The text of version ``number`` (edited by hand) against the version it was edited
    from: ``lines`` of a unified diff of their paragraphs."""
    a = t.application
    with store.read(wf.engine) as conn:
        actor = wf.actor(conn, user)
        doc = _document(conn, document_id)
        case = conn.execute(select(a.c.parties, a.c.case_number)
                            .where(a.c.id == doc.application_id)).one()
        wf.check_party(actor, doc.application_id, case.parties, case.case_number)
        if not wf.definition.may_download(actor.role, actor.municipality, doc.name,
                                          doc.party or None):
            raise PermissionDenied(Said(f"{actor.id} may not read document {document_id}",
                                        "du kan ikke læse dette dokument"))
        version = _version(conn, document_id, number)
        if version.origin != "edited" or version.edited_from is None:
            raise InvalidData(Said(f"version {number} was not edited by hand",
                                   f"version {number} er ikke redigeret i hånden"))
        base = _version(conn, document_id, version.edited_from)
    lines = text_diff(bytes(base.content), bytes(version.content),
                      old_label=f"v{base.number}", new_label=f"v{number}")
    return {"document": document_id, "number": number, "from": int(base.number),
            "note": version.note, "created_by": version.created_by, "lines": lines}
