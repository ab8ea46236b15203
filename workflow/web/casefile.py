"""The case file on the web: uploads into a case (the API's multipart endpoint and the
case page's form), notes, the journal and the aktliste, and downloads by journal number.

An upload is checked for the user's rights before its body is read, then read as it
arrives (:mod:`.uploads`) within WORKFLOW_UPLOAD_MAX_BYTES. A download is always an
attachment with ``X-Content-Type-Options: nosniff``, found by the case and its journal
number, never by a path.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from ..documents.incoming import KINDS
from ..engine import journal
from ..engine.aktindsigt import AKTINDSIGT_ROLES
from ..engine.casefile import DIRECTIONS, DOC_TYPES, CaseFile, Filing
from ..engine.queries import user_names
from ..errors import InvalidData, Said, WorkflowError
from ..process import values
from . import cursors
from .api import CHANGE, DOCX, READ, Id, UserDep, WfDep, content_disposition, errors
from .bodies import CheckedBody, CheckedForm
from .messages import refusal
from .pagekit import back, check_csrf, flash, render, session_user
from .uploads import Upload, read_upload

api = APIRouter(prefix="/api", route_class=CheckedBody, responses=errors(401, 503),
                tags=["case file"])
uploads = APIRouter(prefix="/api", responses=errors(401, 503), tags=["case file"])
pages = APIRouter(include_in_schema=False, route_class=CheckedForm)
# what a download by journal number may be: an accepted upload's type, or a generated .docx
JOURNAL_PAGE = 100   # entries a page of the journal page shows
PAGE = 100   # journal entries an API page holds unless asked for fewer or more
STORED_TYPES = sorted({k.media_type for k in KINDS.values()} | {DOCX})


async def get_casefile(request: Request) -> CaseFile:
    cf: CaseFile = request.app.state.casefile
    return cf


FilesDep = Annotated[CaseFile, Depends(get_casefile)]


def filing_of(fields: dict[str, str]) -> Filing:
    """What the form says of the upload; a missing or unreadable date is refused."""
    given = fields.get("date", "").strip()
    try:
        day = values.iso_date(given)
    except ValueError:
        raise InvalidData(Said(f"date: {given!r} is not a date (YYYY-MM-DD)",
                               "Dato mangler eller er ikke en dato")) from None
    return Filing(direction=fields.get("direction", "").strip(), dated=day,
                  party=fields.get("party", ""), description=fields.get("description", ""),
                  doc_type=fields.get("type", "").strip())


async def _receive(request: Request, cf: CaseFile, app_id: int, user: str) -> Upload:
    await run_in_threadpool(cf.may_file, app_id, user)  # before a byte of the body
    return await read_upload(request, cf.spool)


async def _file(cf: CaseFile, app_id: int, upload: Upload, user: str) -> int:
    if upload.spool is None or upload.filename is None:
        raise InvalidData(Said("no file sent (the form field 'file')", "Vælg en fil"))
    return await run_in_threadpool(cf.attach, app_id, upload.spool, upload.filename,
                                   filing_of(upload.fields), user=user)


# ------------------------------------------------------------------------- API
@uploads.post("/applications/{app_id}/files", status_code=201,
              responses={**CHANGE, **errors(415)}, openapi_extra={"requestBody": {
                  "required": True, "content": {"multipart/form-data": {"schema": {
                      "type": "object", "required": ["file", "direction", "date", "party",
                                                     "description", "type"],
                      "properties": {
                          "file": {"type": "string", "format": "binary"},
                          "direction": {"type": "string", "enum": list(DIRECTIONS)},
                          "date": {"type": "string", "format": "date"},
                          "party": {"type": "string"}, "description": {"type": "string"},
                          "type": {"type": "string", "enum": list(DOC_TYPES)}}}}}}})
async def upload_file(request: Request, wf: WfDep, cf: FilesDep, user: UserDep,
                      app_id: Id) -> dict[str, Any]:
    """File a document received or sent in the case (multipart: the file and what it
    is); its journal entry."""
    upload = await _receive(request, cf, app_id, user)
    try:
        number = await _file(cf, app_id, upload, user)
    finally:
        upload.close()
    return _entry(wf, app_id, number, user)


def _entry(wf: Any, app_id: int, number: int, user: str) -> dict[str, Any]:
    return journal.page(wf, app_id, user=user, after=number - 1, limit=1).entries[0]


class NoteIn(BaseModel):
    text: str = Field(description="the note (journalnotat); it can never be changed")
    corrects: int | None = Field(default=None, ge=1, le=2_147_483_647,
                                 description="the journal number of the note it corrects")


@api.post("/applications/{app_id}/notes", status_code=201, responses=CHANGE)
def add_note(wf: WfDep, cf: FilesDep, user: UserDep, app_id: Id,
             body: NoteIn) -> dict[str, Any]:
    """Register a note in the case; its journal entry."""
    number = cf.add_note(app_id, body.text, user=user, corrects=body.corrects)
    return _entry(wf, app_id, number, user)


@api.get("/applications/{app_id}/journal", responses=READ)
def read_journal(request: Request, response: Response, wf: WfDep, user: UserDep, app_id: Id,
                 limit: Annotated[int, Query(ge=1, le=journal.MAX_PAGE)] = PAGE,
                 cursor: Annotated[str | None, Query(max_length=cursors.MAX_CURSOR)] = None,
                 ) -> list[dict[str, Any]]:
    """The case's journal (aktliste): every document and note, with its number, oldest
    first, ``limit`` at a time; when there is more, the ``X-Next-Cursor`` header (and a
    ``Link: <…>; rel="next"``) holds the cursor of the next page, to pass as ``cursor``
    unchanged (an altered one is a 422)."""
    key: bytes = request.app.state.cursor_key
    after = cursors.read(key, app_id, cursor) if cursor is not None else 0
    got = journal.page(wf, app_id, user=user, after=after, limit=limit)
    if got.has_later and got.last is not None:
        following = cursors.make(key, app_id, got.last)
        response.headers["X-Next-Cursor"] = following
        response.headers["Link"] = (f"</api/applications/{app_id}/journal?limit={limit}"
                                    f'&cursor={following}>; rel="next"')
    return got.entries


@api.get("/applications/{app_id}/journal/{number}/file", response_class=Response,
         responses={200: {"description": "The entry's exact stored bytes, as an attachment",
                          "content": {media: {"schema": {"type": "string", "format": "binary"}}
                                      for media in STORED_TYPES}}, **READ})
def download_entry(wf: WfDep, cf: FilesDep, user: UserDep, app_id: Id,
                   number: Id) -> Response:
    """The exact stored bytes of journal entry ``number``."""
    return _stream(wf, cf, app_id, number, user)


@api.get("/applications/{app_id}/aktliste", response_class=Response, responses={
    200: {"description": "The aktliste as CSV, PDF or Word", "content": {
        "text/csv": {"schema": {"type": "string"}},
        DOCX: {"schema": {"type": "string", "format": "binary"}},
        "application/pdf": {"schema": {"type": "string", "format": "binary"}}}}, **READ})
def export_aktliste(wf: WfDep, user: UserDep, app_id: Id,
                    format: Literal["csv", "pdf", "docx"] = "csv") -> Response:
    """The case's aktliste, as CSV, PDF or Word."""
    return _aktliste(wf, app_id, user, format)


def _stream(wf: Any, cf: CaseFile, app_id: int, number: int, user: str) -> Response:
    got = journal.open_entry(wf, cf.store, app_id, number, user=user)
    return StreamingResponse(got.chunks, media_type=got.media_type, headers={
        "Content-Disposition": content_disposition(got.filename),
        "Content-Length": str(got.size), "X-Content-Type-Options": "nosniff",
        "X-Content-SHA256-Stored": got.sha256})


def _aktliste(wf: Any, app_id: int, user: str, fmt: str) -> Response:
    name, content = journal.aktliste(wf, app_id, user=user, fmt=fmt)
    media = {"csv": "text/csv; charset=utf-8", "pdf": "application/pdf"}.get(fmt, DOCX)
    return Response(content, media_type=media, headers={
        "Content-Disposition": content_disposition(name), "X-Content-Type-Options": "nosniff"})


# ----------------------------------------------------------------------- pages
@pages.post("/applications/{app_id}/files")
async def upload_page(request: Request, cf: FilesDep, app_id: Id) -> Response:
    """The case page's upload form (drag-and-drop or the file picker)."""
    user = session_user(request)
    try:
        upload = await _receive(request, cf, app_id, user)
        try:
            check_csrf(request, upload.fields.get("csrf", ""))
            number = await _file(cf, app_id, upload, user)
        finally:
            upload.close()
    except WorkflowError as exc:
        flash(request, "error", refusal(cf.wf, exc))
        return back(f"/applications/{app_id}#journal")
    flash(request, "ok", f"Registreret som akt nr. {number}.")
    return back(f"/applications/{app_id}#journal")


@pages.post("/applications/{app_id}/notes")
def note_page(request: Request, cf: FilesDep, app_id: Id, csrf: Annotated[str, Form()],
              text: Annotated[str, Form()] = "", corrects: Annotated[str, Form()] = "",
              ) -> Response:
    check_csrf(request, csrf)
    user = session_user(request)
    try:
        number = cf.add_note(app_id, text, user=user, corrects=_corrects(corrects))
    except WorkflowError as exc:
        flash(request, "error", refusal(cf.wf, exc))
        return back(f"/applications/{app_id}#journal")
    flash(request, "ok", f"Notatet er registreret som akt nr. {number}.")
    return back(f"/applications/{app_id}#journal")


def _corrects(raw: str) -> int | None:
    """The form's "corrects" field: none, or the number of a note (ASCII digits)."""
    raw = raw.strip()
    if not raw:
        return None
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 10:
        raise InvalidData(Said(f"corrects: {values.shown(raw)!r} is no journal number",
                               f"Retter: »{values.shown(raw)}« er ikke et aktnummer"))
    return int(raw)


@pages.get("/applications/{app_id}/journal", response_class=HTMLResponse)
def journal_page(request: Request, cf: FilesDep, app_id: Id, efter: str = "",
                 foer: str = "") -> HTMLResponse:
    """The whole journal, JOURNAL_PAGE entries a page: ``?efter=N`` the page after entry
    N, ``?foer=N`` the page before it; neither, the first page."""
    user = session_user(request)
    after, before = _position(efter, "efter"), _position(foer, "foer")
    got = journal.page(cf.wf, app_id, user=user, limit=JOURNAL_PAGE,
                       after=after if after is not None or before is not None else 0,
                       before=before)
    people = user_names(cf.wf, {e["registered_by"] for e in got.entries})
    return render(request, "journal.html", app_id=app_id, page=got, people=people,
                  size=JOURNAL_PAGE, aktindsigt_roles=AKTINDSIGT_ROLES)


def _position(given: str, name: str) -> int | None:
    if not given:
        return None
    if not given.isdigit() or len(given) > 10:
        raise InvalidData(Said(f"{name}: a journal number, not {given[:20]!r}",
                               f"»{name}« skal være et aktnummer"))
    return int(given)


@pages.get("/applications/{app_id}/journal/{number}")
def download_page(request: Request, cf: FilesDep, app_id: Id, number: Id) -> Response:
    return _stream(cf.wf, cf, app_id, number, session_user(request))


@pages.get("/applications/{app_id}/aktliste.{fmt}")
def aktliste_page(request: Request, cf: FilesDep, app_id: Id, fmt: str) -> Response:
    if fmt not in ("csv", "pdf", "docx"):
        raise InvalidData(Said("the aktliste is .csv, .pdf or .docx",
                               "Aktlisten findes som CSV, PDF og Word"))
    return _aktliste(cf.wf, app_id, session_user(request), fmt)
