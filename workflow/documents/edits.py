"""Drafts edited by hand: an uploaded .docx checked by its content, stored as the
draft's next version, and its text compared with the version it was edited from.

:func:`check_docx` accepts only what is a Word document by its bytes: a zip (no larger
than :data:`MAX_DOCX`, no more than :data:`MAX_ENTRIES` entries, no entry that unpacks to
more than :data:`MAX_UNPACKED` in all or more than :data:`MAX_RATIO` times its packed size:
no zip bomb) with ``[Content_Types].xml`` and ``word/document.xml``, no macros, whose main
part is a Word document's, and that python-docx opens. Anything else is refused with a
clear message (InvalidData); the name a file came with is never looked at.
"""

from __future__ import annotations

import difflib
import hashlib
import io
import zipfile
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection

from ..errors import InvalidData, Said
from ..store import chain, journal, keyset
from ..store import tables as t
from ..store.keyset import Entry, Position

MAX_DOCX = 20 * 1024 * 1024        # bytes of an uploaded .docx
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
MAX_UNPACKED = 200 * 1024 * 1024   # bytes its entries unpack to, in all
MAX_ENTRIES = 2000
MAX_RATIO = 200                    # unpacked / packed, for an entry over 1 MB unpacked

_MAIN = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"


def _refuse(en: str, da: str) -> InvalidData:
    return InvalidData(Said(f"not a Word document (.docx): {en}",
                            f"filen er ikke et Word-dokument (.docx): {da}"))


def check_docx(data: bytes) -> None:
    """Refuse ``data`` (InvalidData) unless it is a .docx by its content (see above)."""
    if len(data) > MAX_DOCX:
        raise InvalidData(Said(
            f"the file is {len(data):,} bytes; at most {MAX_DOCX:,} are allowed",
            f"filen fylder {len(data):,} bytes; højst {MAX_DOCX:,} er tilladt"
            .replace(",", ".")))
    if not data.startswith(b"PK\x03\x04"):
        kind = "a PDF" if data.startswith(b"%PDF") else \
            "HTML" if data.lstrip()[:15].lower().startswith((b"<!doctype", b"<html")) else \
            "an old Word document (.doc)" if data.startswith(b"\xd0\xcf\x11\xe0") else \
            "an executable" if data.startswith((b"MZ", b"\x7fELF")) else "no zip file"
        raise _refuse(f"it is {kind}", f"det er {_DA.get(kind, 'ikke en zip-fil')}")
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise _refuse(f"a damaged zip file ({exc})", "en beskadiget zip-fil") from None
    if len(infos) > MAX_ENTRIES:
        raise _refuse(f"{len(infos)} entries in the zip", f"{len(infos)} dele i zip-filen")
    total = 0
    for info in infos:
        total += info.file_size
        if info.file_size > 1 << 20 and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise _refuse(f"{info.filename} unpacks {info.file_size // max(info.compress_size, 1)}"
                          f" times larger than it is packed (a zip bomb)",
                          "den pakker sig ud til langt mere, end den fylder (en zip-bombe)")
        if info.filename.startswith(("/", "\\")) or ".." in info.filename.split("/"):
            raise _refuse(f"an entry named {info.filename!r}", "en del med et ugyldigt navn")
    if total > MAX_UNPACKED:
        raise _refuse(f"it unpacks to {total:,} bytes (a zip bomb)",
                      "den pakker sig ud til alt for meget (en zip-bombe)")
    names = {i.filename for i in infos}
    if not {"[Content_Types].xml", "word/document.xml"} <= names:
        raise _refuse("no word/document.xml in the zip", "zip-filen har ingen word/document.xml")
    if any(n.lower().endswith("vbaproject.bin") for n in names):
        raise _refuse("it holds macros (.docm)", "den indeholder makroer (.docm)")
    try:
        types = zf.read("[Content_Types].xml")
        bad = zf.testzip()
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise _refuse(f"a damaged zip file ({exc})", "en beskadiget zip-fil") from None
    if bad is not None:
        raise _refuse(f"the entry {bad!r} is damaged", "en del af filen er beskadiget")
    if _MAIN.encode() not in types:
        raise _refuse("its main part is not a Word document's (a template, macros?)",
                      "hoveddelen er ikke et Word-dokuments")
    try:
        paragraphs(data)
    except Exception as exc:  # noqa: BLE001 - whatever python-docx cannot open is refused
        raise _refuse(f"Word cannot read it ({type(exc).__name__})",
                      "den kan ikke læses som et Word-dokument") from None


_DA = {"a PDF": "en PDF-fil", "HTML": "en HTML-fil",
       "an old Word document (.doc)": "et gammelt Word-dokument (.doc)",
       "an executable": "et program"}


def paragraphs(data: bytes) -> list[str]:
    """The text of a .docx, a paragraph a line (tables' cells too, row by row)."""
    import docx

    document = docx.Document(io.BytesIO(data))
    out = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            out.append(" | ".join(c.text for c in row.cells))
    return out


def text_diff(old: bytes, new: bytes, *, old_label: str, new_label: str) -> list[str]:
    """The paragraphs of ``new`` against those of ``old``, as a unified diff (no header)."""
    lines = difflib.unified_diff(paragraphs(old), paragraphs(new), fromfile=old_label,
                                 tofile=new_label, lineterm="", n=1)
    return [ln for ln in lines if not ln.startswith(("---", "+++"))]


def add_edited_version(conn: Connection, document_id: int, base: Any, content: bytes, *,
                       user: str, now: datetime, app: Any, note: str) -> tuple[int, str]:
    """Store ``content`` as the document's next version, edited by hand from ``base`` (a
    version row), the others marked stale; its number and sha256. What a council approves
    of it is exactly its bytes."""
    dv = t.document_version
    last = conn.execute(select(dv.c.number).where(dv.c.document_id == document_id)
                        .order_by(dv.c.number.desc()).limit(1)).scalar_one()
    sha = hashlib.sha256(content).hexdigest()
    conn.execute(update(dv).where(dv.c.document_id == document_id, dv.c.stale.is_(False))
                 .values(stale=True, stale_at=now))
    version_id = conn.execute(insert(dv).values(
        document_id=document_id, number=last + 1, created_at=now, created_by=user,
        trigger="file_edited", audit_version=app["version"], state=app["state"],
        letter_date=base.letter_date, template=base.template,
        template_sha256=base.template_sha256, input_sha256=base.input_sha256,
        input=base.input, approval_sha256=hashlib.sha256(b"edited:" + content).hexdigest(),
        sha256=sha, size=len(content), content=content, stale=False, origin="edited",
        edited_from=base.number, note=note).returning(dv.c.id)).scalar_one()
    chain.append(conn, app["id"], "document_version", version_id)
    name, party = conn.execute(select(t.document.c.name, t.document.c.party).where(
        t.document.c.id == document_id)).one()
    journal.add(conn, application_id=app["id"], registered_at=now, registered_by=user,
                dated=base.letter_date,
                kind="generated", direction="internal", doc_type="draft",
                description=name, party=party or "", media_type=DOCX, sha256=sha,
                size=len(content), document_version_id=version_id)
    return last + 1, sha


def for_history(conn: Connection, app_id: int, *, after: Position | None = None,
                limit: int | None = None, newest: bool = False) -> list[Entry]:
    """The drafts of a case filed edited by hand, or made again from the template over
    one, as history entries with their keys, by time (those after ``after``, at most
    ``limit``)."""
    d, dv = t.document, t.document_version
    rows = conn.execute(
        select(dv.c.id.label("row_id"), d.c.id, d.c.name, d.c.party, dv.c.number,
               dv.c.created_at, dv.c.created_by, dv.c.trigger, dv.c.edited_from, dv.c.sha256,
               dv.c.note)
        .join(dv, dv.c.document_id == d.c.id)
        .where(d.c.application_id == app_id, dv.c.trigger.in_(["file_edited", "regenerate"]),
               keyset.after(dv.c.created_at, dv.c.id, after))
        .order_by(*keyset.order(dv.c.created_at, dv.c.id, newest)).limit(limit))
    return [((r.created_at, keyset.EDITS, r.row_id),
             {"version": None, "trigger": r.trigger, "from": None, "to": None,
              "user": r.created_by, "role": None, "municipality": None,
              "at": r.created_at.isoformat(), "comment": r.note,
              "data": {"document": r.id, "name": r.name, "party": r.party or None,
                       "number": r.number, "edited_from": r.edited_from,
                       "sha256": r.sha256}}) for r in rows]
