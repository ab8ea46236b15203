"""The API of the case's own text and of drafts edited by hand, under ``/api``.

``GET``/``PUT /api/applications/{id}/sections[/{name}]`` read and write the sections of a
case's letter (Markdown; a preview renders it as the pages do). ``POST
/api/documents/{id}/versions`` files an edited .docx (multipart, at most 20 MiB, checked
by its content) as a draft's next version; ``.../versions/{n}/diff`` compares it with the
version it was edited from; ``.../regenerate`` makes the draft again from its template.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Path, UploadFile
from pydantic import BaseModel, BeforeValidator, Field, StrictBool

from ..documents.edits import MAX_DOCX
from ..engine import casetext, edited
from ..errors import InvalidData, Said
from .api import CHANGE, READ, Id, Refused, UserDep, WfDep, _error, errors
from .bodies import CheckedBody, UploadBody

router = APIRouter(prefix="/api", route_class=CheckedBody, responses=errors(401, 503))
uploads = APIRouter(prefix="/api", route_class=UploadBody, responses=errors(401, 503))

SectionName = Annotated[str, Path(pattern="^[a-z][a-z_]{0,39}$",
                                  description="reasons, citizens, transition, staff, economy")]


class SectionIn(BaseModel):
    text: str = Field(description="Markdown; at most 20,000 characters, no control "
                                  "characters", examples=["**Særlige forhold.** …"])
    based_on: int | None = Field(default=None, ge=0, le=2_147_483_647,
                                 description="the version you started from (0: the "
                                             "template's text); a newer one gives 409")


class PreviewIn(BaseModel):
    text: str


class RegenerateIn(BaseModel):
    confirm: StrictBool = Field(default=False, description="replace a version edited by hand")
    note: str = Field(default="", description="why (needed with confirm)")


@router.get("/applications/{app_id}/sections", tags=["documents"], responses=READ)
def read_sections(wf: WfDep, user: UserDep, app_id: Id) -> dict[str, Any]:
    """The sections of the case's letter: its own text (newest version) or the template's."""
    return casetext.sections(wf, app_id, user=user)


@router.get("/applications/{app_id}/sections/{name}/versions", tags=["documents"],
            responses=READ)
def read_section_versions(wf: WfDep, user: UserDep, app_id: Id,
                          name: SectionName) -> list[dict[str, Any]]:
    """Every version of one section, oldest first."""
    return casetext.section_versions(wf, app_id, name, user=user)


@router.put("/applications/{app_id}/sections/{name}", tags=["documents"], responses=CHANGE)
def write_section(wf: WfDep, user: UserDep, app_id: Id, name: SectionName,
                  body: SectionIn) -> dict[str, Any]:
    """Save a section's next version (project leads and legal staff of the case's
    municipalities, while the letter is drafted); the live drafts are made again."""
    number, made = casetext.save_section(wf, app_id, name, body.text, user=user,
                                         based_on=body.based_on)
    return {"name": name, "number": number,
            "documents": [{"document": m.document_id, "name": m.name,
                           "party": m.party or None, "number": m.number} for m in made]}


@router.post("/applications/{app_id}/sections/{name}/preview", tags=["documents"],
             responses=READ)
def preview_section(wf: WfDep, user: UserDep, app_id: Id, name: SectionName,
                    body: PreviewIn) -> dict[str, str]:
    """The text as HTML, as the page shows it (raw HTML in it stays text); nothing saved."""
    from ..documents.sections import check_name

    check_name(name)
    return {"html": casetext.preview(wf, app_id, body.text, user=user)}


VersionNumber = Annotated[int, Field(ge=1, le=2_147_483_647)]


def _no_number(value: Any) -> Any:
    """A form's empty field, or JSON's ``null`` as a form writes it: no number given."""
    return None if value in ("", "null") else value


@uploads.post("/documents/{document_id}/versions", status_code=201, tags=["documents"],
              responses={**CHANGE, **errors(400), 413: _error(
                  "The request body is larger than 21 MiB", model=Refused)})
async def file_edited_version(wf: WfDep, user: UserDep, document_id: Id,
                              file: Annotated[UploadFile, File(description="the .docx")],
                              note: Annotated[str, Form()] = "",
                              from_number: Annotated[VersionNumber | None,
                                                     BeforeValidator(_no_number), Form()] = None
                              ) -> dict[str, Any]:
    """File a .docx edited by hand as the draft's next version (legal staff); it names the
    version it was edited from (``from_number``, default the newest)."""
    content = await file.read(MAX_DOCX + 1)
    await file.close()
    if len(content) > MAX_DOCX:
        raise InvalidData(Said(f"the file is larger than {MAX_DOCX:,} bytes",
                               "filen er for stor"))
    made, base = edited.file_edited(wf, document_id, content, user=user,
                                    from_number=from_number, note=note)
    return {"document": document_id, "number": made.number, "edited_from": base,
            "sha256": made.sha256, "origin": "edited"}


@router.get("/documents/{document_id}/versions/{number}/diff", tags=["documents"],
            responses=READ)
def read_diff(wf: WfDep, user: UserDep, document_id: Id, number: Id) -> dict[str, Any]:
    """A version edited by hand against the version it was edited from: the paragraphs
    as a unified diff (``lines``)."""
    return edited.diff(wf, document_id, number, user=user)


@router.post("/documents/{document_id}/regenerate", tags=["documents"], responses=CHANGE)
def regenerate(wf: WfDep, user: UserDep, document_id: Id,
               body: RegenerateIn) -> dict[str, Any]:
    """Make the draft again from its template; over a version edited by hand only with
    ``confirm`` and a ``note`` (else 422, saying so)."""
    made = edited.regenerate(wf, document_id, user=user, confirm=body.confirm,
                             note=body.note)
    return {"document": document_id, "made": None if made is None else
            {"number": made.number, "sha256": made.sha256}}


