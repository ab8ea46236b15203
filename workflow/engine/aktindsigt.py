"""Aktindsigt in a case: legal staff mark what is exempt, and export the case file.

:func:`exempt` records that a journal entry (or one field of its line in the aktliste:
the description, the sender or recipient, a note's text) is withheld on a ground of
``documents.exemptions`` in states.yaml, with the reason; a ground of ``None`` lifts it.
Exemptions are never changed, only followed by newer ones, so the case keeps who decided
what and when. :func:`export` writes the zip of :mod:`workflow.documents.aktindsigt`.

Only the roles of :data:`AKTINDSIGT_ROLES` of the case's own municipalities may do either.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import IO, Any, NamedTuple

from sqlalchemy import and_, insert, select
from sqlalchemy.engine import Connection

from ..documents.aktindsigt import FIELDS, Withheld, Written, write_zip
from ..documents.listing import _may_not_download
from ..errors import InvalidData, NotFound, PermissionDenied, Said
from ..process.values import check_text
from ..store import chain
from ..store import database as store
from ..store import tables as t
from ..store.files import FileStore
from . import journal
from .queries import history_entries, user_names_on
from .rights import check_case_role
from .workflow import Actor, Workflow

AKTINDSIGT_ROLES = ("legal",)
MAX_REASON = 1000


def _may(wf: Workflow, conn: Connection, app_id: int, user: str | None, *,
         lock: bool = False) -> tuple[Actor, Any]:
    """The acting user, if legal staff of the case; ``lock``: hold the case's row (on
    PostgreSQL; SQLite has one writer), as whatever joins its chain must."""
    actor = wf.actor(conn, user)
    a = t.application
    query = select(a.c.id, a.c.parties, a.c.case_number, a.c.title, a.c.kind) \
        .where(a.c.id == app_id)
    if lock and conn.dialect.name != "sqlite":
        query = query.with_for_update()
    app = conn.execute(query).first()
    if app is None:
        raise NotFound.application(app_id)
    check_case_role(wf, actor, app_id, app.parties, app.case_number, AKTINDSIGT_ROLES,
                    may_not="decide or export an aktindsigt",
                    done_da="Aktindsigt afgøres og udleveres")
    return actor, app


def exempt(wf: Workflow, app_id: int, number: int, *, ground: str | None, reason: str = "",
           field: str = "", user: str | None) -> Withheld | None:
    """Withhold journal entry ``number`` (or ``field`` of its line) on ``ground``, or lift
    that with ``ground=None``; what is in force for it now."""
    grounds = wf.definition.exemptions
    if field and field not in FIELDS:
        raise InvalidData(Said(f"field must be one of {', '.join(FIELDS)} or none (the whole "
                               f"document), not {field!r}",
                               "Vælg hele dokumentet eller et af felterne "
                               + ", ".join(FIELDS.values())))
    if ground is not None and ground not in grounds:
        raise InvalidData(Said(
            f"unknown ground {ground!r}; the grounds are {', '.join(grounds) or 'none'} "
            f"(documents.exemptions in states.yaml)",
            "Vælg en af hjemlerne: " + "; ".join(f"{g.cite} ({g.label.da})"
                                                 for g in grounds.values())))
    reason = _reason(reason, needed=ground is not None)
    now = wf.clock()
    with store.write(wf.engine) as conn:
        actor, _ = _may(wf, conn, app_id, user, lock=True)
        je = t.journal_entry
        row = conn.execute(select(je.c.kind).where(je.c.application_id == app_id,
                                                   je.c.number == number)).first()
        if row is None:
            raise NotFound(Said(f"case {app_id} has no journal entry {number}",
                                f"sagen har ingen akt nr. {number}"))
        if field == "text" and row.kind != "note":
            raise InvalidData(Said(f"entry {number} is no note: it has no text to withhold",
                                   f"Akt nr. {number} er ikke et notat"))
        row_id = conn.execute(insert(t.journal_exemption).values(
            application_id=app_id, number=number, field=field, ground=ground, reason=reason,
            decided_by=actor.id, decided_at=now).returning(t.journal_exemption.c.id)
        ).scalar_one()
        chain.append(conn, app_id, "journal_exemption", row_id)
        return withheld_of(wf, conn, app_id).get((number, field))


def _reason(text: str, *, needed: bool) -> str:
    body = " ".join(text.split())
    if needed and not body:
        raise InvalidData(Said("say why it is exempt (the reason the requester is given)",
                               "Skriv begrundelsen for undtagelsen"))
    if len(body) > MAX_REASON:
        raise InvalidData(Said(f"the reason: at most {MAX_REASON} characters, not {len(body)}",
                               f"Begrundelsen: højst {MAX_REASON} tegn, ikke {len(body)}"))
    check_text(text, "the reason", "Begrundelsen")
    return body


def withheld_of(wf: Workflow, conn: Connection, app_id: int) -> dict[tuple[int, str], Withheld]:
    """What is withheld in the case now: the newest decision per entry and field."""
    ex = t.journal_exemption
    newest: dict[tuple[int, str], Any] = {}
    for r in conn.execute(select(ex).where(ex.c.application_id == app_id).order_by(ex.c.id)):
        newest[(r.number, r.field)] = r
    grounds = wf.definition.exemptions
    out = {}
    for key, r in sorted(newest.items()):
        if r.ground is None:
            continue
        g = grounds.get(r.ground)
        out[key] = Withheld(r.number, r.field, r.ground, g.cite if g else r.ground,
                            g.label.da if g else r.ground, r.reason, r.decided_by,
                            r.decided_at.isoformat())
    return out


def withheld(wf: Workflow, app_id: int, *, user: str | None) -> list[Withheld]:
    """What is withheld in the case now (for legal staff of its municipalities)."""
    with store.read(wf.engine) as conn:
        _may(wf, conn, app_id, user)
        return list(withheld_of(wf, conn, app_id).values())


def overview(wf: Workflow, app_id: int, *, user: str | None) -> dict[str, Any]:
    """The case's journal beside what is withheld of it (for legal staff)."""
    with store.read(wf.engine) as conn:
        _, app = _may(wf, conn, app_id, user)
        return {"id": app.id, "case_number": app.case_number, "title": app.title,
                "entries": journal.entries_of(conn, wf.definition, app_id,
                                              names=wf.names.party,
                                              case_number=app.case_number),
                "held": withheld_of(wf, conn, app_id)}


def export(wf: Workflow, files: FileStore, app_id: int, out: IO[bytes], *,
           user: str | None) -> Written:
    """Write the aktindsigt of the case to ``out`` (a file open for writing): one read
    transaction on one snapshot, so the zip is one consistent view of the case (what is
    filed, edited or decided while it is written is in the next export, in none of its
    parts); the documents' bytes come from one query streamed into the zip as it is
    written (:class:`_Stream`)."""
    with store.read(wf.engine, snapshot=True) as conn:
        actor, app = _may(wf, conn, app_id, user)
        entries = journal.entries_of(conn, wf.definition, app_id, names=wf.names.party,
                                     case_number=app.case_number)
        kept = withheld_of(wf, conn, app_id)
        history = history_entries(conn, app_id)
        case = {"id": app.id, "case_number": app.case_number, "title": app.title,
                "kind": app.kind, "parties": [wf.names.party(p) for p in app.parties]}
        people = user_names_on(conn, [e["registered_by"] for e in entries if e["kind"] == "note"]
                               + [w.decided_by for w in kept.values()]
                               + [h.get("user") for h in history])
        history = [_in_danish(wf, h, people) for h in history]
        left_out = sorted({n for (n, f) in kept if not f})
        stream = _Stream(wf, conn, files, actor, app_id, app.case_number, left_out)
        try:
            return write_zip(out, case=case, entries=entries, withheld=list(kept.values()),
                             history=history, open_bytes=stream.open, now=wf.clock(),
                             today=wf.today(), exported_by=actor.name, people=people)
        finally:
            stream.result.close()    # a stream left unread is cancelled


def _in_danish(wf: Workflow, entry: dict[str, Any], people: dict[str, str]) -> dict[str, Any]:
    """A history entry as the requester reads it: beside its codes, what happened, the
    state it led to, who did it and for which municipality, in Danish and by name."""
    said = {"hændelse": wf.names.history_label(str(entry.get("trigger") or ""))}
    if entry.get("to"):
        said["til_tilstand"] = wf.names.state_label(entry["to"])
    if entry.get("user"):
        said["af"] = people.get(entry["user"], entry["user"])
    if entry.get("municipality"):
        said["kommune"] = wf.names.party(entry["municipality"])
    return {**said, **entry}


class _Row(NamedTuple):
    """A row of :class:`_Stream`'s query: an entry's file, or one chunk of it."""

    number: int
    kind: str
    filename: str | None
    sha256: str
    place: str | None
    data: bytes | None
    content: bytes | None
    version: int | None
    name: str | None
    party: str | None


class _Stream:
    """Every stored byte of a case's documents in one query, in journal order and chunk
    order (an upload's chunks from ``stored_file_chunk``, or its file in the folder; a
    generated version's content), read as the zip is written, on the transaction's own
    driver connection (:func:`_driver_rows`). ``open`` is asked for the entries in
    journal order, each read to its end before the next."""

    def __init__(self, wf: Workflow, conn: Connection, files: FileStore, actor: Actor,
                 app_id: int, case_number: str, left_out: list[int]) -> None:
        je, sf, c = t.journal_entry, t.stored_file, t.stored_file_chunk
        dv, d = t.document_version, t.document
        generated = je.c.kind == "generated"
        query = (select(je.c.number, je.c.kind, je.c.filename, je.c.sha256, sf.c.place,
                        c.c.data, dv.c.content, dv.c.number.label("version"),
                        d.c.name, d.c.party)
                 .outerjoin(sf, and_(sf.c.sha256 == je.c.sha256, ~generated))
                 .outerjoin(c, and_(c.c.sha256 == sf.c.sha256, sf.c.place == "database"))
                 .outerjoin(dv, and_(dv.c.id == je.c.document_version_id, generated))
                 .outerjoin(d, d.c.id == dv.c.document_id)
                 .where(je.c.application_id == app_id, je.c.sha256.is_not(None),
                        je.c.kind != "note")
                 .order_by(je.c.number, c.c.seq))
        if left_out:
            query = query.where(je.c.number.not_in(left_out))
        self.wf, self.files, self.actor, self.case_number = wf, files, actor, case_number
        self.result: Any = _driver_rows(conn, query)
        self.rows: Iterator[_Row] = map(_Row._make, self.result)
        self.ahead: _Row | None = next(self.rows, None)

    def open(self, number: int) -> tuple[str, Iterable[bytes]]:
        """Entry ``number``'s file name and its stored bytes (the zip checks them against
        the entry's sha256)."""
        while self.ahead is not None and self.ahead.number < number:
            self.ahead = next(self.rows, None)
        row = self.ahead
        if row is None or row.number != number or (row.kind != "generated"
                                                   and row.place is None):
            raise NotFound(Said(f"case has no stored document number {number}",
                                f"sagen har intet dokument nr. {number}"))
        if row.kind == "generated":
            self.ahead = next(self.rows, None)
            if not self.wf.definition.may_download(self.actor.role, self.actor.municipality,
                                                   row.name or "", row.party or None):
                en, da = _may_not_download(self.wf.definition, self.actor, row.name or "")
                raise PermissionDenied(Said(en, da))
            name = f"{number}-{self.case_number}-{row.name}" + \
                (f"-{row.party}" if row.party else "") + f"-v{row.version}.docx"
            return name, [bytes(row.content or b"")]
        name = f"{number}-{row.filename}"
        if row.place != "database":
            self.ahead = next(self.rows, None)
            return name, self.files.open_folder(row.sha256)
        return name, self._chunks(number)

    def _chunks(self, number: int) -> Iterator[bytes]:
        while self.ahead is not None and self.ahead.number == number:
            if self.ahead.data is not None:
                yield bytes(self.ahead.data)
            self.ahead = next(self.rows, None)


def _driver_rows(conn: Connection, query: Any) -> Any:
    """``query``'s rows as plain tuples from the driver's own cursor, inside ``conn``'s
    transaction (no SQLAlchemy row a chunk). On PostgreSQL streamed in psycopg's
    single-row mode and the binary format (bytea as they are, not as hex text: half the
    time): the server sends the rows as the client reads them, so there is no round trip
    per batch (a server-side cursor's FETCH: 40 ms more over a case's thousand
    documents), and the client holds one row at a time. On SQLite the cursor steps as it
    is read. ``close()`` before the end cancels the query and drains what has come."""
    compiled = query.compile(dialect=conn.dialect,
                             compile_kwargs={"render_postcompile": True})
    raw: Any = conn.connection.driver_connection
    if conn.dialect.name == "sqlite":
        return raw.execute(compiled.string,
                           [compiled.params[name] for name in compiled.positiontup])
    return raw.cursor().stream(compiled.string, compiled.params, binary=True)
