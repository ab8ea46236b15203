"""A case's journal read back: every document and note in the order registered, each with
its number (aktnummer), and the stored bytes of any entry as a stream.

:func:`entries` is the aktliste of a case for a user of one of its municipalities;
:func:`open_entry` hands out the exact bytes of an entry (an upload's from the file store,
a generated version's from the database, checked against its sha256) a chunk at a time;
:func:`aktliste` exports the list as CSV or PDF. An aktindsigt export builds on these.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from ..danish import long_date
from ..documents import aktliste as lists
from ..documents.letterhead import JOINT, letterhead_spec, logos_of
from ..documents.listing import _may_not_download
from ..documents.pdf import convert_to_pdf
from ..errors import DocumentError, NotFound, PermissionDenied, Said
from ..process.spec import Definition
from ..store import database as store
from ..store import tables as t
from ..store.files import CHUNK, FileStore
from .casefile import DIRECTIONS, DOC_TYPES, MAX_NUMBER
from .workflow import Actor, Workflow

KIND_LABELS = {"generated": "Dannet dokument", "upload": "Dokument", "note": "Journalnotat"}
TYPE_LABELS = {**DOC_TYPES, "draft": "Udkast", "note": "Journalnotat"}
DIRECTION_LABELS = {**DIRECTIONS, "internal": "Internt"}


@dataclass(frozen=True)
class Opened:
    """An entry's stored bytes, as a stream of chunks."""

    number: int
    filename: str
    media_type: str
    size: int
    sha256: str
    chunks: Iterator[bytes]


def entries(wf: Workflow, app_id: int, *, user: str | None) -> list[dict[str, Any]]:
    """The journal of a case, oldest first, for a user of one of its municipalities."""
    with store.read(wf.engine) as conn:
        actor = wf.actor(conn, user)
        app = _case(wf, conn, app_id, actor)
        return entries_of(conn, wf.definition, app_id, names=wf.names.party,
                          case_number=app.case_number)


def entries_of(conn: Connection, definition: Definition, app_id: int, *,
               names: Any = str, case_number: str = "") -> list[dict[str, Any]]:
    """The journal of case ``app_id`` (no rights checked: the caller's business).

    Its rows are read one at a time, and an upload's or a note's entry holds only atomic
    values (``corrected_by`` is a tuple), so the garbage collector does not track it: a
    thousand-entry journal promotes nothing into the old generation, where each object
    would bring the next full collection over the whole process's heap nearer."""
    rows = conn.execute(_listed(app_id).order_by(t.journal_entry.c.number)).mappings()
    out = _described(rows, definition, {}, names, case_number)
    fixes = [(e["corrects"], e["number"]) for e in out if e["corrects"] is not None]
    if fixes:
        by_number = {e["number"]: e for e in out}
        for corrects, number in fixes:
            if corrects in by_number:
                by_number[corrects]["corrected_by"] += (number,)
    return out


@dataclass(frozen=True)
class Page:
    """A stretch of a case's journal in journal order, found by its keys (the numbers
    either side), never by an offset; where it lies in the whole."""

    entries: list[dict[str, Any]]
    total: int              # entries in the whole journal
    before: int             # entries before this stretch
    has_earlier: bool
    has_later: bool
    case_number: str = ""
    title: str = ""

    @property
    def first(self) -> int | None:
        return self.entries[0]["number"] if self.entries else None

    @property
    def last(self) -> int | None:
        return self.entries[-1]["number"] if self.entries else None


MAX_PAGE = 500


def page(wf: Workflow, app_id: int, *, user: str | None, after: int | None = None,
         before: int | None = None, limit: int = 50) -> Page:
    """``limit`` entries of the case's journal, for a user of one of its municipalities:
    the first ones after number ``after``, else the last ones before number ``before``,
    else the newest (``after=0``: the oldest). One indexed range query, so a page costs
    the same at the journal's start and its end."""
    with store.read(wf.engine) as conn:
        actor = wf.actor(conn, user)
        app = _case(wf, conn, app_id, actor)
        return page_on(wf, conn, app_id, app.case_number, app.title, after=after,
                       before=before, limit=limit)


def page_on(wf: Workflow, conn: Connection, app_id: int, case_number: str, title: str, *,
            after: int | None = None, before: int | None = None, limit: int = 50) -> Page:
    """:func:`page` in the caller's read transaction, the case's rights already checked."""
    limit = max(1, min(limit, MAX_PAGE))
    after, before = (None if n is None else max(0, min(n, MAX_NUMBER)) for n in (after, before))
    je = t.journal_entry
    query = _listed(app_id).limit(limit)
    if after is not None:
        query = query.where(je.c.number > after).order_by(je.c.number)
    else:
        if before is not None:
            query = query.where(je.c.number < before)
        query = query.order_by(je.c.number.desc())
    rows = list(conn.execute(query).mappings().all())
    if after is None:
        rows.reverse()
    numbers = [r["number"] for r in rows]
    corrected: dict[int, list[int]] = {}
    if numbers:
        for fix in conn.execute(select(je.c.corrects, je.c.number).where(
                je.c.application_id == app_id, je.c.corrects.in_(numbers))
                .order_by(je.c.number)):
            corrected.setdefault(fix.corrects, []).append(fix.number)
    first = numbers[0] if numbers else (after + 1 if after is not None else 0)
    total, low, high, earlier = conn.execute(
        select(func.count(), func.min(je.c.number), func.max(je.c.number),
               func.count().filter(je.c.number < first))
        .where(je.c.application_id == app_id)).one()
    listed = _described(rows, wf.definition, corrected, wf.names.party, case_number)
    return Page(listed, int(total), int(earlier), bool(numbers) and numbers[0] > low,
                bool(numbers) and numbers[-1] < high, case_number, title)


def note_choices(wf: Workflow, app_id: int) -> list[tuple[int, str]]:
    """The case's notes, as the form of a correcting note lists them (its number and its
    first line); no rights checked: for a page that has checked them."""
    with store.read(wf.engine) as conn:
        return note_choices_on(conn, app_id)


def note_choices_on(conn: Connection, app_id: int) -> list[tuple[int, str]]:
    """:func:`note_choices` in the caller's read transaction."""
    je = t.journal_entry
    return [(r.number, r.description) for r in conn.execute(
        select(je.c.number, je.c.description).where(
            je.c.application_id == app_id, je.c.kind == "note").order_by(je.c.number))]


def _listed(app_id: int) -> Any:
    je, dv, d = t.journal_entry, t.document_version, t.document
    cols = [c for c in je.c if c.name not in ("id", "application_id", "document_version_id")]
    return (select(*cols, dv.c.number.label("version"), dv.c.origin, dv.c.edited_from,
                   d.c.id.label("document_id"), d.c.name.label("document"))
            .outerjoin(dv, dv.c.id == je.c.document_version_id)
            .outerjoin(d, d.c.id == dv.c.document_id)
            .where(je.c.application_id == app_id))


def _described(rows: Any, definition: Definition, corrected: dict[int, list[int]],
               names: Any, case_number: str) -> list[dict[str, Any]]:
    days: dict[Any, tuple[str, str]] = {}
    out = []
    for r in rows:
        kind, dated = r["kind"], r["dated"]
        day = days.get(dated) or days.setdefault(dated, (dated.isoformat(), long_date(dated)))
        description, filename, document = r["description"], r["filename"], None
        if kind == "generated":
            spec = definition.drafts.get(r["document"] or "")
            description = f"{spec.label.da if spec else r['document']}, version " \
                f"{r['version']}" + (f" ({names(r['party'])})" if r["party"] else "") + \
                (f", redigeret i hånden fra version {r['edited_from']}"
                 if r["origin"] == "edited" else "")
            filename = filename or f"{case_number}-{r['document']}" + \
                (f"-{r['party']}" if r["party"] else "") + f"-v{r['version']}.docx"
            document = {"id": r["document_id"], "number": r["version"]}
        out.append({
            "number": r["number"], "dated": day[0], "dated_da": day[1],
            "registered_at": r["registered_at"].isoformat(),
            "registered_by": r["registered_by"], "kind": kind,
            "kind_da": KIND_LABELS.get(kind, kind), "direction": r["direction"],
            "direction_da": DIRECTION_LABELS.get(r["direction"], r["direction"]),
            "doc_type": r["doc_type"],
            "doc_type_da": TYPE_LABELS.get(r["doc_type"], r["doc_type"]),
            "party": r["party"] if kind == "upload" else "", "description": description,
            "filename": filename, "media_type": r["media_type"], "sha256": r["sha256"],
            "size": r["size"], "has_file": r["sha256"] is not None, "text": r["text"],
            "corrects": r["corrects"],
            "corrected_by": tuple(corrected.get(r["number"], ())),
            "document": document})
    return out


def open_entry(wf: Workflow, files: FileStore, app_id: int, number: int, *,
               user: str | None) -> Opened:
    """The exact stored bytes of journal entry ``number`` of the case, as a stream (read
    after this returns, a chunk per transaction)."""
    with store.read(wf.engine) as conn:
        actor = wf.actor(conn, user)
        _case(wf, conn, app_id, actor)
        return open_on(wf, conn, files, app_id, number, actor, within=False)


def open_on(wf: Workflow, conn: Connection, files: FileStore, app_id: int, number: int,
            actor: Actor, *, within: bool = True) -> Opened:
    """:func:`open_entry` on ``conn``, the case's rights already checked for ``actor``;
    ``within``: the stream is read on ``conn`` too, before it closes (an export of many
    entries in one transaction)."""
    je = t.journal_entry
    row = conn.execute(select(je).where(je.c.application_id == app_id,
                                        je.c.number == number)).first()
    if row is None or row.sha256 is None:
        raise NotFound(Said(f"case {app_id} has no document number {number}",
                            f"sagen har intet dokument nr. {number}"))
    if row.kind == "generated":
        return _generated(wf, conn, actor, row)
    chunks = files.open(wf.engine, row.sha256, conn=conn if within else None)
    return Opened(number, f"{number}-{row.filename}", row.media_type, int(row.size), row.sha256,
                  checked(chunks, row.sha256))


def _generated(wf: Workflow, conn: Connection, actor: Actor, row: Any) -> Opened:
    dv, d, a = t.document_version, t.document, t.application
    ver = conn.execute(select(dv.c.content, dv.c.number, d.c.name, d.c.party, a.c.case_number)
                       .join(d, d.c.id == dv.c.document_id)
                       .join(a, a.c.id == d.c.application_id)
                       .where(dv.c.id == row.document_version_id)).one()
    if not wf.definition.may_download(actor.role, actor.municipality, ver.name,
                                      ver.party or None):
        en, da = _may_not_download(wf.definition, actor, ver.name)
        raise PermissionDenied(Said(en, da))
    content = bytes(ver.content)
    name = f"{row.number}-{ver.case_number}-{ver.name}" + \
        (f"-{ver.party}" if ver.party else "") + f"-v{ver.number}.docx"
    return Opened(row.number, name, row.media_type, len(content), row.sha256,
                  checked(iter([content[i:i + CHUNK]
                                 for i in range(0, len(content), CHUNK)]), row.sha256))


def checked(chunks: Iterator[bytes], sha256: str) -> Iterator[bytes]:
    """The chunks, and at their end a DocumentError if they were not the bytes stored."""
    digest = hashlib.sha256()
    for data in chunks:
        digest.update(data)
        yield data
    if digest.hexdigest() != sha256:
        raise DocumentError(f"the stored bytes of {sha256} do not match their sha256")


def _case(wf: Workflow, conn: Connection, app_id: int, actor: Actor) -> Any:
    a = t.application
    app = conn.execute(select(a.c.id, a.c.parties, a.c.case_number, a.c.title)
                       .where(a.c.id == app_id)).first()
    if app is None:
        raise NotFound.application(app_id)
    wf.check_party(actor, app_id, list(app.parties), app.case_number)
    return app


def aktliste(wf: Workflow, app_id: int, *, user: str | None, fmt: str) -> tuple[str, bytes]:
    """The aktliste of the case as ``csv`` or ``pdf`` (or ``docx``): file name, bytes."""
    listed = entries(wf, app_id, user=user)
    with store.read(wf.engine) as conn:
        app = conn.execute(select(t.application.c.case_number, t.application.c.title,
                                  t.application.c.parties)
                           .where(t.application.c.id == app_id)).one()
        rows = {r.id: dict(r._mapping) for r in conn.execute(select(t.municipality))}
    stem = f"aktliste-{app.case_number or app_id}"
    if fmt == "csv":
        return f"{stem}.csv", lists.to_csv(listed)
    if wf.drafts is None:
        raise DocumentError("no templates folder: the aktliste PDF needs its letterhead")
    spec = letterhead_spec(JOINT, list(app.parties), rows)   # the parties' joint letterhead
    paper, _sha = wf.drafts.letterheads.make(spec, logos_of(rows, spec))
    docx = lists.to_docx(listed, case_number=app.case_number, title=app.title,
                         today=wf.today(), reference=paper, now=wf.clock())
    if fmt == "docx":
        return f"{stem}.docx", docx
    return f"{stem}.pdf", convert_to_pdf(docx)
