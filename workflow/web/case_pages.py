"""The pages of the case's own text and of drafts edited by hand.

``/applications/{id}/sections`` shows a form per section of the letter (Markdown,
starting from the template's text): "Forhåndsvis" shows it as it will read, rendered on
the server with raw HTML kept as text; "Gem" saves a new version. On the case page, legal
staff file an edited .docx as a draft's next version (``/documents/{id}/edited``), each
edited version shows its text diff against the version it came from, and a draft is made
again from its template (``/documents/{id}/regenerate``) over an edited version only when
confirmed with a note.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from ..documents.edits import MAX_DOCX
from ..documents.sections import MAX_CHARS, SECTIONS
from ..engine import casetext, edited, queries
from ..engine.workflow import Actor, Workflow
from ..errors import ConflictError, NotFound, PermissionDenied, WorkflowError
from . import messages
from .api import Id, WfDep
from .bodies import CheckedForm, _read_body, _replayed
from .pagekit import back, check_csrf, flash, render, session_user

router = APIRouter(include_in_schema=False, route_class=CheckedForm)

FORM_LIMIT = MAX_CHARS * 4 + 4096     # bytes of a section's form (UTF-8, URL-encoded)


async def _form(request: Request, limit: int) -> Any:
    """The request's form, its body read at most ``limit`` bytes far (more: 413)."""
    body = await _read_body(request, limit)
    form = await _replayed(request, body).form()
    return form


def _text(form: Any, key: str) -> str:
    value = form.get(key, "")
    return value if isinstance(value, str) else ""


# ------------------------------------------------------------------ sections
@router.get("/applications/{app_id}/sections", response_class=HTMLResponse)
def sections_page(request: Request, wf: WfDep, app_id: Id) -> HTMLResponse:
    user = session_user(request)
    return _sections(request, wf, app_id, user)


def _sections(request: Request, wf: Workflow, app_id: int, user: str, *,
              typed: dict[str, str] | None = None, preview: dict[str, str] | None = None,
              error: tuple[str, str] | None = None, status: int = 200) -> HTMLResponse:
    """The sections page; after a preview or a refusal, the section as it was typed."""
    got = casetext.sections(wf, app_id, user=user)
    for s in got["sections"]:
        if typed and s["name"] in typed:
            s["text"] = typed[s["name"]]
    people = queries.user_names(wf, (s["created_by"] for s in got["sections"]))
    return render(request, "sections.html", status=status, view=got, preview=preview or {},
                  error=error, typed=typed or {}, max_chars=MAX_CHARS, people=people)


@router.post("/applications/{app_id}/sections/{name}")
async def save_section(request: Request, wf: WfDep, app_id: Id, name: str) -> Response:
    form = await _form(request, FORM_LIMIT)
    check_csrf(request, _text(form, "csrf"))
    user = session_user(request)
    text, action = _text(form, "text"), _text(form, "action")
    based = _text(form, "based_on")
    if name not in SECTIONS:
        return _sections(request, wf, app_id, user, status=404,
                         error=(name, "Afsnittet findes ikke."))
    try:
        if action == "preview":
            html = casetext.preview(wf, app_id, text, user=user)
            return _sections(request, wf, app_id, user, typed={name: text},
                             preview={name: html})
        number, made = casetext.save_section(
            wf, app_id, name, text, user=user,
            based_on=int(based) if based.isdigit() and len(based) < 10 else None)
    except WorkflowError as exc:  # a section saved meanwhile is the section's own news
        said = exc.da if isinstance(exc, ConflictError) and exc.da else \
            messages.refusal(wf, exc)
        return _sections(request, wf, app_id, user, typed={name: text},
                         error=(name, said[:1].upper() + said[1:]), status=_status(exc))
    label = SECTIONS[name][0]
    flash(request, "ok", f"Afsnittet »{label}« er gemt som version {number}."
          + (" Udkastet er dannet igen." if made else ""))
    return back(f"/applications/{app_id}/sections#{name}")


def _status(exc: WorkflowError) -> int:
    """The status of a page that shows a refusal (as the API's, web/app.py)."""
    return 403 if isinstance(exc, PermissionDenied) else 404 if isinstance(exc, NotFound) \
        else 409 if isinstance(exc, ConflictError) else 422


# ------------------------------------------------------------- edited drafts
def document_extras(wf: Workflow, app: dict[str, Any], documents: list[dict[str, Any]],
                    actor: Actor) -> dict[str, Any]:
    """What the case page adds to its documents: the diff of each version edited by hand,
    and which drafts this user may file an edited version of (or make again)."""
    diffs: dict[tuple[int, int], list[str]] = {}
    for doc in documents:
        for v in doc["versions"]:
            if v.get("origin") == "edited" and wf.definition.may_download(
                    actor.role, actor.municipality, doc["name"], doc["party"]):
                try:
                    diffs[(doc["id"], v["number"])] = edited.diff(
                        wf, doc["id"], v["number"], user=actor.id)["lines"]
                except WorkflowError:
                    pass
    live = {doc["id"] for doc in documents if doc["name"] in wf.definition.drafts
            and app["state"] in wf.definition.drafts[doc["name"]].live_in}
    return {"diffs": diffs,
            "may_file_edited": live if actor.role in edited.FILERS else set(),
            "may_regenerate": live if actor.role in edited.REGENERATORS else set(),
            "uses_sections": bool(casetext.section_drafts(wf, app["kind"])),
            "section_labels": section_labels(),
            "max_docx_mb": MAX_DOCX // (1 << 20)}


async def _document_form(request: Request, limit: int) -> tuple[Any, str]:
    form = await _form(request, limit)
    check_csrf(request, _text(form, "csrf"))
    return form, session_user(request)


def _case_of(wf: Workflow, document_id: int) -> int | None:
    from sqlalchemy import select

    from ..store import database as store
    from ..store import tables as t

    with store.read(wf.engine) as conn:
        return conn.execute(select(t.document.c.application_id)
                            .where(t.document.c.id == document_id)).scalar()


@router.post("/documents/{document_id}/edited")
async def file_edited(request: Request, wf: WfDep, document_id: Id) -> Response:
    form, user = await _document_form(request, MAX_DOCX + 65536)
    upload = form.get("file")
    app_id = _case_of(wf, document_id)
    where = f"/applications/{app_id}#documents" if app_id else "/"
    if upload is None or isinstance(upload, str):
        await form.close()
        flash(request, "error", "Vælg den redigerede Word-fil (.docx).")
        return back(where)
    content = await upload.read(MAX_DOCX + 1)
    await form.close()
    based = _text(form, "from_number")
    try:
        made, base = edited.file_edited(
            wf, document_id, content, user=user, note=_text(form, "note"),
            from_number=int(based) if based.isdigit() and len(based) < 10 else None)
    except WorkflowError as exc:
        flash(request, "error", messages.refusal(wf, exc))
        return back(where)
    flash(request, "ok", f"Den redigerede fil er gemt som version {made.number} (redigeret "
                         f"ud fra version {base}).")
    return back(where)


@router.post("/documents/{document_id}/regenerate")
async def regenerate(request: Request, wf: WfDep, document_id: Id) -> Response:
    form, user = await _document_form(request, 16384)
    app_id = _case_of(wf, document_id)
    where = f"/applications/{app_id}#documents" if app_id else "/"
    try:
        made = edited.regenerate(wf, document_id, user=user,
                                 confirm=_text(form, "confirm") == "yes",
                                 note=_text(form, "note"))
    except WorkflowError as exc:
        flash(request, "error", messages.refusal(wf, exc))
        return back(where)
    flash(request, "ok", "Dokumentet er ikke ændret: der er intet nyt at danne." if made is None
          else f"Dokumentet er dannet igen fra skabelonen som version {made.number}.")
    return back(where)


def section_labels() -> dict[str, str]:
    """The case text's sections by their Danish labels."""
    return {name: label for name, (label, _) in SECTIONS.items()}
