"""Aktindsigt on the web: legal staff mark journal entries (or fields of them) exempt on a
ground of offentlighedsloven, and download the case's aktindsigt as one zip.

The zip is written to a temporary file first (spooled in memory up to a few MB), then sent
as an attachment with ``X-Content-Type-Options: nosniff``; a failure halfway sends nothing.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from dataclasses import asdict
from typing import IO, Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse
from pydantic import BaseModel, Field

from ..engine import aktindsigt
from ..engine.casefile import CaseFile
from ..errors import WorkflowError
from .api import CHANGE, READ, Id, UserDep, WfDep, content_disposition, errors
from .bodies import CheckedBody, CheckedForm
from .casefile import FilesDep
from .messages import refusal
from .pagekit import back, check_csrf, flash, render, session_user

api = APIRouter(prefix="/api", route_class=CheckedBody, responses=errors(401, 503),
                tags=["case file"])
pages = APIRouter(include_in_schema=False, route_class=CheckedForm)
SPOOL = 4 * 1024 * 1024
ZIP: dict[int | str, dict[str, Any]] = {200: {
    "description": "The aktindsigt as a zip: aktliste.csv, the documents' exact bytes, "
                   "historik.json and manifest.json",
    "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}}}}


class ExemptionIn(BaseModel):
    ground: str | None = Field(description="a ground of documents.exemptions, or null to "
                                           "lift the exemption", max_length=40)
    reason: str = Field(default="", max_length=1000,
                        description="why, as the requester is told")
    field: str = Field(default="", max_length=20,
                       description="'' (the whole document), description, party or text")


@api.post("/applications/{app_id}/journal/{number}/exemption", responses=CHANGE)
def exempt(wf: WfDep, user: UserDep, app_id: Id, number: Id,
           body: ExemptionIn) -> dict[str, Any]:
    """Withhold journal entry ``number`` (or a field of it) from aktindsigt, or lift that."""
    now = aktindsigt.exempt(wf, app_id, number, ground=body.ground, reason=body.reason,
                            field=body.field, user=user)
    return {"number": number, "field": body.field or None,
            "withheld": asdict(now) if now else None}


@api.get("/applications/{app_id}/exemptions", responses=READ)
def exemptions(wf: WfDep, user: UserDep, app_id: Id) -> list[dict[str, Any]]:
    """What is withheld from aktindsigt in the case now, with its ground."""
    return [asdict(w) for w in aktindsigt.withheld(wf, app_id, user=user)]


@api.get("/applications/{app_id}/aktindsigt", response_class=Response,
         responses={**ZIP, **READ})
def export(wf: WfDep, cf: FilesDep, user: UserDep, app_id: Id) -> Response:
    """The case's aktindsigt as a zip (legal staff of its municipalities)."""
    return _zip(cf, app_id, user)


def _zip(cf: CaseFile, app_id: int, user: str) -> Response:
    out: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=SPOOL)
    try:
        written = aktindsigt.export(cf.wf, cf.store, app_id, out, user=user)
        size = out.tell()
        out.seek(0)
    except BaseException:
        out.close()
        raise
    name = f"aktindsigt-{written.case_number or app_id}.zip"
    return StreamingResponse(_chunks(out), media_type="application/zip", headers={
        "Content-Disposition": content_disposition(name),
        "Content-Length": str(size), "X-Content-Type-Options": "nosniff"})


def _chunks(out: IO[bytes]) -> Iterator[bytes]:
    try:
        while data := out.read(1 << 20):
            yield data
    finally:
        out.close()


# ----------------------------------------------------------------------- pages
@pages.get("/applications/{app_id}/aktindsigt", response_class=HTMLResponse)
def aktindsigt_page(request: Request, cf: FilesDep, app_id: Id) -> Response:
    """The journal with what is withheld, the forms to withhold or lift, the download."""
    case = aktindsigt.overview(cf.wf, app_id, user=session_user(request))
    return render(request, "aktindsigt.html", case=case, grounds=cf.wf.definition.exemptions,
                  fields={"": "Hele dokumentet", "description": "Beskrivelsen",
                          "party": "Afsender/modtager", "text": "Notatets tekst"})


@pages.post("/applications/{app_id}/aktindsigt/exemptions")
def exempt_page(request: Request, cf: FilesDep, app_id: Id, csrf: Annotated[str, Form()],
                number: Annotated[int, Form(ge=1, le=2_147_483_647)],
                ground: Annotated[str, Form(max_length=40)] = "",
                reason: Annotated[str, Form(max_length=1000)] = "",
                field: Annotated[str, Form(max_length=20)] = "") -> Response:
    check_csrf(request, csrf)
    user = session_user(request)
    try:
        now = aktindsigt.exempt(cf.wf, app_id, number, ground=ground or None, reason=reason,
                                field=field, user=user)
    except WorkflowError as exc:
        flash(request, "error", refusal(cf.wf, exc))
        return back(f"/applications/{app_id}/aktindsigt")
    flash(request, "ok", f"Akt nr. {number} er undtaget, jf. {now.cite}." if now else
          f"Undtagelsen af akt nr. {number} er ophævet.")
    return back(f"/applications/{app_id}/aktindsigt#akt-{number}")


@pages.get("/applications/{app_id}/aktindsigt.zip")
def export_page(request: Request, cf: FilesDep, app_id: Id) -> Response:
    return _zip(cf, app_id, session_user(request))
