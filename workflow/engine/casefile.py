"""The case file: documents received or sent put into a case, and case notes.

:meth:`CaseFile.attach` takes an upload's bytes (a :class:`~workflow.store.files.Spool`,
filled by the web or the command line within the size limit), checks what it is
(:mod:`workflow.documents.incoming`), scans it when WORKFLOW_CLAMD is set, and in one
transaction stores the bytes under their sha256 and registers the journal entry. Only
the roles of :data:`FILING_ROLES` of the case's own municipalities may; the rights are
checked before a byte of the upload is read (:meth:`CaseFile.may_file`). The date it was
received or sent is checked as a step's day is: not in the future, not before the case
was opened.

:meth:`CaseFile.add_note` registers a journalnotat: dated, authored and never changed;
a correction is a new note naming the number of the one it corrects.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import IO

from sqlalchemy import select
from sqlalchemy.engine import Connection, RowMapping

from ..config import Settings
from ..danish import long_date
from ..documents import incoming, virusscan
from ..errors import InvalidData, NotFound, Said
from ..process.values import check_text, text_problem
from ..store import database as store
from ..store import journal
from ..store import tables as t
from ..store.files import FileStore, Spool, read_chunks
from .rights import check_case_role
from .when import happened_day
from .workflow import Actor, Workflow

FILING_ROLES = ("project_lead", "legal", "council_secretary")

DOC_TYPES = {
    "ministry_request": "Ministeriets anmodning",
    "ministry_decision": "Ministeriets afgørelse",
    "economy_note": "Bilag: økonominotat",
    "timeline": "Bilag: tidsplan",
    "attachment": "Bilag",
    "signed_letter": "Underskrevet brev",
    "application_sent": "Ansøgning som sendt",
    "letter": "Brev",
    "other": "Andet",
}
DIRECTIONS = {"received": "Modtaget", "sent": "Sendt"}
MAX_NOTE = 20_000  # characters
MAX_NUMBER = 2**31 - 1   # no journal number is larger (an int4 column)


@dataclass(frozen=True)
class Filing:
    """What is recorded with an upload."""

    direction: str    # received | sent
    dated: date       # the day it was received or sent
    party: str        # the sender or the recipient
    description: str  # a short description of its content
    doc_type: str     # a key of DOC_TYPES


class CaseFile:
    """Filing documents and notes in the cases of one workflow."""

    def __init__(self, wf: Workflow, *, files: str = "database",
                 max_bytes: int = 50 * 1024 * 1024, clamd: str | None = None) -> None:
        self.wf = wf
        self.store = FileStore(files)
        self.max_bytes = max_bytes
        self.clamd = clamd

    @classmethod
    def from_settings(cls, wf: Workflow, settings: Settings) -> CaseFile:
        return cls(wf, files=settings.files, max_bytes=settings.upload_max_bytes,
                   clamd=settings.clamd)

    # ---------------------------------------------------------------- rights
    def may_file(self, app_id: int, user: str | None) -> Actor:
        """The acting user, if they may file documents and notes in the case; else a
        PermissionDenied (or NotFound) before anything is read or stored."""
        with store.read(self.wf.engine) as conn:
            actor = self.wf.actor(conn, user)
            app = _case(conn, app_id)
        self._check(actor, app)
        return actor

    def _check(self, actor: Actor, app: RowMapping) -> None:
        check_case_role(self.wf, actor, app["id"], app["parties"], app["case_number"],
                        FILING_ROLES, may_not="file documents or notes in a case",
                        done_da="Dokumenter og notater i sagen registreres")

    # ---------------------------------------------------------------- upload
    def spool(self) -> Spool:
        """An empty spool for an upload, within this installation's size limit."""
        return Spool(self.max_bytes)

    def attach(self, app_id: int, spool: Spool, filename: str, filing: Filing, *,
               user: str | None) -> int:
        """File the spooled upload in the case; its journal number."""
        self.may_file(app_id, user)
        _check_filing(filing)
        found = incoming.examine(spool.head(), spool.file, spool.size, filename)
        if self.clamd:
            virusscan.scan(self.clamd, spool.chunks(), found.filename)
        now = self.wf.clock()
        with store.write(self.wf.engine) as conn:
            actor = self.wf.actor(conn, user)
            app = _case(conn, app_id, lock=True)
            self._check(actor, app)
            self._check_day(app, filing.dated)
            self.store.put(conn, spool, now)
            return journal.add(
                conn, application_id=app_id, registered_at=now, registered_by=actor.id,
                dated=filing.dated, kind="upload", direction=filing.direction,
                doc_type=filing.doc_type, party=filing.party.strip(),
                description=filing.description.strip(), filename=found.filename,
                media_type=found.media_type, sha256=spool.sha256, size=spool.size)

    def attach_file(self, app_id: int, source: IO[bytes], filename: str, filing: Filing, *,
                    user: str | None) -> int:
        """:meth:`attach` of an open file (the command line), read a chunk at a time."""
        self.may_file(app_id, user)
        _check_filing(filing)
        with self.spool() as spool:
            spool.fill(read_chunks(source))
            return self.attach(app_id, spool, filename, filing, user=user)

    def _check_day(self, app: RowMapping, day: date) -> None:
        today = self.wf.today()
        if day > today:
            raise InvalidData(Said(
                f"date: {day.isoformat()} is in the future (today is {today.isoformat()})",
                f"Dato: {long_date(day)} ligger i fremtiden (i dag er {long_date(today)})"))
        opened: date = app["opened_on"] or happened_day(self.wf, None, app["created_at"])
        if day < opened:
            raise InvalidData(Said(
                f"date: {day.isoformat()} is before the case was opened ({opened})",
                f"Dato: {long_date(day)} ligger før sagen blev oprettet "
                f"({long_date(opened)})"))

    # ----------------------------------------------------------------- notes
    def add_note(self, app_id: int, text: str, *, user: str | None,
                 corrects: int | None = None) -> int:
        """Register a note (journalnotat) in the case; its journal number. A note is never
        changed: ``corrects`` names the number of an earlier note this one corrects."""
        body = _note_text(text)
        now = self.wf.clock()
        with store.write(self.wf.engine) as conn:
            actor = self.wf.actor(conn, user)
            app = _case(conn, app_id, lock=True)
            self._check(actor, app)
            if corrects is not None:
                if not 1 <= corrects <= MAX_NUMBER:
                    raise InvalidData(Said(
                        f"corrects: {corrects} is no journal number (1 to {MAX_NUMBER})",
                        f"Retter: {corrects} er ikke et aktnummer"))
                je = t.journal_entry
                kind = conn.execute(select(je.c.kind).where(
                    je.c.application_id == app_id, je.c.number == corrects)).scalar()
                if kind != "note":
                    raise InvalidData(Said(
                        f"corrects: case {app['case_number']} has no note number {corrects}",
                        f"Retter: sag {app['case_number']} har intet notat nr. {corrects}"))
            first = body.splitlines()[0]
            return journal.add(
                conn, application_id=app_id, registered_at=now, registered_by=actor.id,
                dated=self.wf.local_date(now), kind="note", direction="internal",
                doc_type="note", description=first[:120] + ("…" if len(first) > 120 else ""),
                text=body, corrects=corrects)


def _case(conn: Connection, app_id: int, *, lock: bool = False) -> RowMapping:
    a = t.application
    q = select(a.c.id, a.c.parties, a.c.case_number, a.c.opened_on, a.c.created_at).where(
        a.c.id == app_id)
    if lock and conn.dialect.name != "sqlite":
        q = q.with_for_update()
    row = conn.execute(q).mappings().first()
    if row is None:
        raise NotFound.application(app_id)
    return row


def _check_filing(filing: Filing) -> None:
    problems = []
    if filing.direction not in DIRECTIONS:
        problems.append((f"direction must be {' or '.join(DIRECTIONS)}, not "
                         f"{filing.direction!r}", "Retning skal være modtaget eller sendt"))
    if filing.doc_type not in DOC_TYPES:
        problems.append((f"type must be one of {', '.join(DOC_TYPES)}, not "
                         f"{filing.doc_type!r}", "Vælg en dokumenttype"))
    for value, en, da, most in ((filing.party, "party (sender or recipient)",
                                 "Afsender eller modtager", 200),
                                (filing.description, "description", "Beskrivelse", 500)):
        problem = text_problem(value, one_line=True)
        if not value.strip():
            problems.append((f"{en}: missing", f"{da} mangler"))
        elif len(value) > most:
            problems.append((f"{en}: at most {most} characters, not {len(value)}",
                             f"{da}: højst {most} tegn, ikke {len(value)}"))
        elif problem is not None:
            problems.append((f"{en} {problem}", f"{da} {problem.da}"))
    if problems:
        raise InvalidData(Said("; ".join(p[0] for p in problems),
                               "; ".join(p[1] for p in problems)))


def _note_text(text: str) -> str:
    body = text.strip().replace("\r\n", "\n")
    if not body:
        raise InvalidData(Said("the note is empty", "Notatet er tomt"))
    if len(body) > MAX_NOTE:
        raise InvalidData(Said(f"the note is longer than {MAX_NOTE:,} characters",
                               f"Notatet er længere end {MAX_NOTE} tegn"))
    check_text(body, "the note", "Notatet")
    return body
