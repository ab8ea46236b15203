"""The JSON API under ``/api``: everything the command line does, for integrations.

Authentication is an OAuth2 bearer token (``POST /api/token`` with user name and
password, or a token an admin issued). Ids in paths are integers, validated before any
handler runs: nothing from a request ever becomes a file path.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response
from fastapi.security import OAuth2PasswordBearer, OAuth2PasswordRequestForm
from pydantic import BaseModel, Field

from .. import accounts, agreements, queries
from ..engine import Workflow

router = APIRouter(prefix="/api")
# Ids are positive 32-bit integers (what every supported database stores); anything else
# is a 422 before a handler runs.
Id = Annotated[int, Path(ge=1, le=2_147_483_647)]
NAME = "^[a-z][a-z0-9_]{0,59}$"  # a state or kind id as states.yaml spells them
oauth2 = OAuth2PasswordBearer(tokenUrl="/api/token", auto_error=False)


async def get_wf(request: Request) -> Workflow:
    # async: FastAPI would run a plain function in the thread pool, a hop per request
    wf: Workflow = request.app.state.wf
    return wf


WfDep = Annotated[Workflow, Depends(get_wf)]


def current_user(wf: WfDep, token: Annotated[str | None, Depends(oauth2)]) -> str:
    from ..errors import AuthError

    if not token:
        raise AuthError("not logged in: send an Authorization: Bearer token")
    return accounts.user_for_token(wf.engine, token, now=wf.clock())


UserDep = Annotated[str, Depends(current_user)]


class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"


class NewApplication(BaseModel):
    kind: str = Field(examples=["dispensation"])
    round: int | None = Field(default=None, examples=[1])
    title: str = Field(examples=["Første dispensationsansøgning"])
    data: dict[str, str | list[str]] = Field(
        default_factory=dict, description="what the kind needs (a BUM agreement: provider, "
                                           "purchaser, area, service)",
        examples=[{"provider": "ishoj", "purchaser": "vallensbaek", "area": "rehabilitation",
                   "service": "Genoptræning efter sundhedslovens § 140"}])
    source: int | None = Field(default=None, ge=1, le=2_147_483_647,
                               description="open it from this case (a BUM agreement from "
                                           "a granted application)")


class TransitionIn(BaseModel):
    trigger: str = Field(examples=["propose_areas"])
    data: dict[str, str | list[str]] = Field(default_factory=dict,
                                             examples=[{"areas": "rehabilitation,social"}])
    version: int = Field(description="the version you saw; a newer one gives 409")
    comment: str = ""


@router.post("/token", response_model=Token, tags=["auth"])
def login(request: Request, wf: WfDep,
          form: Annotated[OAuth2PasswordRequestForm, Depends()]) -> Token:
    """Exchange a user name and password for a bearer token (valid 12 hours)."""
    from datetime import timedelta

    now = wf.clock()
    user = accounts.authenticate(wf.engine, form.username, form.password,
                                 client=request.client.host if request.client else "",
                                 now=now)
    issued = accounts.issue_token(wf.engine, user, created_by=user, now=now,
                                  label="login", ttl=timedelta(hours=12))
    return Token(access_token=issued.token)


@router.get("/me", tags=["auth"])
def me(wf: WfDep, user: UserDep) -> dict[str, Any]:
    """The logged-in user."""
    from .. import store

    with store.read(wf.engine) as conn:
        actor = wf.actor(conn, user)
    return {"id": actor.id, "name": actor.name, "role": actor.role,
            "municipality": actor.municipality}


@router.get("/applications", tags=["applications"])
def read_applications(wf: WfDep, user: UserDep,
                      state: Annotated[str | None, Query(pattern=NAME)] = None,
                      kind: Annotated[str | None, Query(pattern=NAME)] = None,
                      ) -> list[dict[str, Any]]:
    """The applications this user may see."""
    return queries.list_applications(wf, user=user, state=state, kind=kind)


@router.post("/applications", status_code=201, tags=["applications"])
def create_application(wf: WfDep, user: UserDep, body: NewApplication) -> dict[str, Any]:
    """Open an application or a BUM agreement (project leads)."""
    app_id = wf.create(kind=body.kind, round=body.round, title=body.title, user=user,
                       data=body.data, source=body.source)
    return queries.get_application(wf, app_id, user=user)


@router.get("/applications/{app_id}", tags=["applications"])
def read_application(wf: WfDep, user: UserDep, app_id: Id) -> dict[str, Any]:
    """One application: state, areas, acts, deadlines, links, documents."""
    return queries.get_application(wf, app_id, user=user)


@router.get("/applications/{app_id}/triggers", tags=["applications"])
def read_triggers(wf: WfDep, user: UserDep, app_id: Id) -> list[dict[str, Any]]:
    """What this user may do now, with the data each trigger takes; for the rest why not."""
    return queries.triggers(wf, app_id, user=user)


@router.post("/applications/{app_id}/transitions", tags=["applications"])
def fire_transition(wf: WfDep, user: UserDep, app_id: Id,
                    body: TransitionIn) -> dict[str, Any]:
    """Fire a trigger; 409 if the application is no longer at ``version``."""
    out = wf.fire(app_id, body.trigger, user=user, data=body.data, comment=body.comment,
                  expected_version=body.version)
    return {"application": queries.get_application(wf, app_id, user=user),
            "transition": {"trigger": out.trigger, "from": out.from_state,
                           "to": out.to_state, "version": out.version,
                           "waiting_for": list(out.waiting_for),
                           "spawned": list(out.spawned),
                           "documents": [{"document": m.document_id, "name": m.name,
                                          "party": m.party or None, "number": m.number}
                                         for m in out.documents]}}


@router.get("/applications/{app_id}/history", tags=["applications"])
def read_history(wf: WfDep, user: UserDep, app_id: Id) -> list[dict[str, Any]]:
    """Every step, download and reminder of an application."""
    return queries.history(wf, app_id, user=user)


@router.get("/applications/{app_id}/documents", tags=["documents"])
def read_documents(wf: WfDep, user: UserDep, app_id: Id) -> list[dict[str, Any]]:
    """The application's Word drafts with every version and approval check."""
    return queries.documents(wf, app_id, user=user)


@router.get("/documents/{document_id}/versions/{number}", tags=["documents"],
            response_class=Response,
            responses={200: {"content": {"application/octet-stream": {}}}})
def download_version(wf: WfDep, user: UserDep, document_id: Id, number: Id,
                     format: Annotated[str, Query(pattern="^(docx|pdf)$")] = "docx",
                     ) -> Response:
    """The exact stored bytes of a version (or a PDF of them); logged."""
    got = wf.download(document_id, user=user, number=number, pdf=format == "pdf")
    media = "application/pdf" if got.format == "pdf" else \
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    return Response(got.content, media_type=media,
                    headers={"Content-Disposition": content_disposition(got.filename),
                             "X-Content-SHA256-Stored": got.sha256})


def content_disposition(filename: str) -> str:
    """RFC 6266 with an ASCII fallback and the UTF-8 name (æøå safe)."""
    plain = filename.replace("/", "_").replace("\\", "_")
    ascii_name = plain.encode("ascii", "replace").decode().replace("?", "_").replace('"', "_")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"


@router.get("/deadlines", tags=["deadlines"])
def read_deadlines(wf: WfDep, user: UserDep, overdue: bool = False,
                   mine: bool = False) -> list[dict[str, Any]]:
    """Open deadlines of the applications this user may see."""
    return queries.deadlines(wf, user=user, overdue=overdue, mine=mine)


@router.get("/reminders", tags=["deadlines"])
def read_reminders(wf: WfDep, user: UserDep,
                   status: Annotated[str | None, Query(
                       pattern="^(pending|sending|sent|failed|cancelled)$")] = None,
                   ) -> list[dict[str, Any]]:
    """The reminder ledger for the applications this user may see."""
    return queries.reminders(wf, user=user, status=status)


@router.get("/municipalities/{municipality_id}/bum", tags=["agreements"])
def read_bum(wf: WfDep, user: UserDep,
             municipality_id: Annotated[str, Path(pattern=NAME)],
             year: Annotated[int | None, Query(ge=2000, le=2100)] = None) -> dict[str, Any]:
    """What a municipality buys and sells under BUM agreements: per agreement the
    counterparty, area, state, the year's price and a-conto, the latest true-up and the
    next open deadline; the year's totals. Amounts are exact decimal strings. Your own
    municipality only (an administrator: any)."""
    return dict(agreements.jsonable(
        agreements.municipality_view(wf, municipality_id, user=user, year=year)))


@router.get("/areas", tags=["applications"])
def read_areas(wf: WfDep, user: UserDep) -> list[dict[str, Any]]:
    """The five areas and whether each is free to apply for."""
    return queries.areas(wf)
