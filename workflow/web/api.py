"""The JSON API under ``/api``: everything the command line does, for integrations.

Authentication is an OAuth2 bearer token (``POST /api/token`` with user name and
password, or a token an admin issued). Ids in paths are integers, validated before any
handler runs: nothing from a request ever becomes a file path. A body is at most 1 MiB,
and a JSON body is checked before it is validated (:class:`CheckedBody`).
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response
from fastapi.security import OAuth2PasswordBearer, OAuth2PasswordRequestForm
from pydantic import BaseModel, ConfigDict, Field

from ..accounts import logins as accounts
from ..engine import agreements, queries, tasks
from ..engine import history as timeline
from ..engine.workflow import Workflow
from ..errors import PasswordChangeRequired
from .bodies import CheckedBody
from .sessions import ONE_TIME


class Error(BaseModel):
    """The application's own error (``error_body`` in answers.py): ``detail`` in English,
    ``detail_da`` in Danish where it was worded in both, and the error's own fields."""

    detail: str
    error: str = Field(description="the kind: NotFound, PermissionDenied, GuardFailed, "
                                   "InvalidData, InvalidTransition, ConflictError, ...",
                       examples=["GuardFailed"])
    detail_da: str | None = None
    state: str | None = Field(default=None, description="InvalidTransition: the state")
    trigger: str | None = Field(default=None, description="InvalidTransition: the trigger")
    allowed: list[str] | None = Field(default=None,
                                      description="InvalidTransition: the triggers allowed")
    changed_by: str | None = Field(default=None, description="ConflictError: who changed "
                                                             "the case first")
    version: int | None = Field(default=None, description="ConflictError: its version now")
    reasons: list[str] | None = Field(default=None, description="GuardFailed: each rule's "
                                                                "reason")
    reasons_da: list[str] | None = None


class FieldProblem(BaseModel):
    loc: list[str | int]
    msg: str
    type: str
    input: Any = None
    ctx: dict[str, Any] | None = None


class Invalid(BaseModel):
    """The request does not fit this description (FastAPI's request validation)."""

    detail: list[FieldProblem]


class Refused(BaseModel):
    """A request refused before its route ran (a body too large, a form unreadable)."""

    detail: str


def _error(description: str, model: Any = Error,
           headers: dict[str, str] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"model": model, "description": description}
    if headers:
        out["headers"] = {name: {"description": text, "required": True,
                                 "schema": {"type": "string"}}
                          for name, text in headers.items()}
    return out


# The answers a route may give besides its own, by status: ``errors(404, 409)`` where they
# occur (401 and 503 on every route of the API: see ``router``).
ERRORS: dict[int, dict[str, Any]] = {
    400: _error("The form could not be read", model=Refused),
    401: _error("Not logged in: no, a wrong, an expired or a revoked token",
                headers={"WWW-Authenticate": "Bearer"}),
    403: _error("Not allowed: the user's role or municipality may not do this, or the "
                "request came from another site (Origin, Sec-Fetch-Site)"),
    404: _error("No such case, document, version, user or municipality (or not visible "
                "to this user)"),
    409: _error("The case was changed by someone else first (``changed_by``, "
                "``version``), or the trigger is not allowed in its state (``allowed``)"),
    413: _error("The request body is larger than 1 MiB (an upload: than "
                "WORKFLOW_UPLOAD_MAX_BYTES)", model=Refused),
    415: _error("An upload refused for what it is: its content is not an accepted type, "
                "does not match its name, is an executable, a zip bomb or a virus"),
    422: {"description": "The request does not fit this description (``detail`` a list, "
                         "each naming its field), or the engine refused the data or a "
                         "rule refused the step (the application's error: ``detail`` a "
                         "text, ``error`` InvalidData or GuardFailed, ``reasons``)",
          "model": Invalid | Error},
    429: _error("Too many failed logins from this address or for this user; wait",
                headers={"Retry-After": "seconds to wait"}),
    503: _error("The database (or LibreOffice, for a PDF) is not available right now; try "
                "again shortly"),
}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI ``responses`` for these statuses."""
    return {code: ERRORS[code] for code in codes}


READ = errors(403, 404, 422)              # a case's own page of data


CHANGE = errors(403, 404, 409, 413, 422)  # a POST that changes a case


DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


router = APIRouter(prefix="/api", route_class=CheckedBody, responses=errors(401, 503))


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
    # whole bodies as examples: a kind's round and data go together (each field's own
    # example, combined, was a dispensation with a BUM agreement's data: refused)
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"kind": "dispensation", "round": 1, "title": "Første dispensationsansøgning"},
        {"kind": "bum_agreement", "title": "Delaftale om genoptræning",
         "data": {"provider": "ishoj", "purchaser": "vallensbaek", "area": "rehabilitation",
                  "service": "Genoptræning efter sundhedslovens § 140"}}]})

    kind: str = Field(description="dispensation, jobcentre, satellite or bum_agreement")
    round: int | None = Field(default=None, description="a dispensation's round: 1 or 2")
    title: str
    data: dict[str, str | list[str]] = Field(
        default_factory=dict, description="what the kind needs (a BUM agreement: provider, "
                                           "purchaser, area, service)")
    source: int | None = Field(default=None, ge=1, le=2_147_483_647,
                               description="open it from this case (a BUM agreement from "
                                           "a granted application)")


class TransitionIn(BaseModel):
    trigger: str = Field(examples=["propose_areas"])
    data: dict[str, str | list[str]] = Field(default_factory=dict,
                                             examples=[{"areas": "rehabilitation,social"}])
    version: int = Field(description="the version you saw; a newer one gives 409")
    comment: str = ""


@router.post("/token", response_model=Token, tags=["auth"],
             responses=errors(400, 403, 413, 422, 429))
def login(request: Request, wf: WfDep,
          form: Annotated[OAuth2PasswordRequestForm, Depends()]) -> Token:
    """Exchange a user name and password for a bearer token (valid 12 hours); a one-time
    password an administrator gave is refused (403) until the user has chosen their own
    on the web (Profil)."""
    from datetime import timedelta

    now = wf.clock()
    user = accounts.authenticate(wf.engine, form.username, form.password,
                                 client=request.client.host if request.client else "",
                                 now=now)
    if accounts.must_change_password(wf.engine, user):
        raise PasswordChangeRequired(ONE_TIME)
    issued = accounts.issue_token(wf.engine, user, created_by=user, now=now,
                                  label="login", ttl=timedelta(hours=12))
    return Token(access_token=issued.token)


@router.get("/me", tags=["auth"])
def me(wf: WfDep, user: UserDep) -> dict[str, Any]:
    """The logged-in user."""
    from ..store import database as store

    with store.read(wf.engine) as conn:
        actor = wf.actor(conn, user)
    return {"id": actor.id, "name": actor.name, "role": actor.role,
            "municipality": actor.municipality}


@router.post("/applications", status_code=201, tags=["applications"], responses=CHANGE)
def create_application(wf: WfDep, user: UserDep, body: NewApplication) -> dict[str, Any]:
    """Open an application or a BUM agreement (project leads)."""
    app_id = wf.create(kind=body.kind, round=body.round, title=body.title, user=user,
                       data=body.data, source=body.source)
    return queries.get_application(wf, app_id, user=user)


@router.get("/applications/{app_id}", tags=["applications"], responses=READ)
def read_application(wf: WfDep, user: UserDep, app_id: Id) -> dict[str, Any]:
    """One application: state, areas, acts, deadlines, links, documents."""
    return queries.get_application(wf, app_id, user=user)


@router.get("/applications/{app_id}/triggers", tags=["applications"], responses=READ)
def read_triggers(wf: WfDep, user: UserDep, app_id: Id) -> list[dict[str, Any]]:
    """What this user may do now, with the data each trigger takes; for the rest why not."""
    return tasks.triggers(wf, app_id, user=user)


@router.post("/applications/{app_id}/transitions", tags=["applications"],
             responses=CHANGE)
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


@router.get("/applications/{app_id}/history", tags=["applications"], responses=READ)
def read_history(request: Request, response: Response, wf: WfDep, user: UserDep, app_id: Id,
                 limit: Annotated[int, Query(ge=1, le=timeline.MAX_PAGE)] = timeline.PAGE,
                 cursor: Annotated[str | None, Query(max_length=400)] = None,
                 ) -> list[dict[str, Any]]:
    """An application's history: every step, download, reminder, notice, section edit and
    edited draft, oldest first, ``limit`` at a time (100 unless asked). When there is
    more, the ``X-Next-Cursor`` header (and a ``Link: <…>; rel="next"``) holds the cursor
    of the next page, to pass as ``cursor`` unchanged; an altered cursor, or one of
    another list or case, is a 422."""
    page = queries.history_page(wf, app_id, user=user, cursor=cursor, limit=limit)
    if page.next is not None:
        response.headers["X-Next-Cursor"] = page.next
        following = request.url.replace_query_params(limit=limit, cursor=page.next)
        response.headers["Link"] = f'<{following.path}?{following.query}>; rel="next"'
    return page.rows


@router.get("/applications/{app_id}/documents", tags=["documents"], responses=READ)
def read_documents(wf: WfDep, user: UserDep, app_id: Id) -> list[dict[str, Any]]:
    """The application's Word drafts with every version and approval check."""
    return queries.documents(wf, app_id, user=user)


@router.get("/documents/{document_id}/versions/{number}", tags=["documents"],
            response_class=Response, responses={
                200: {"description": "The version's bytes: Word (``format=docx``, the "
                                     "default) or PDF (``format=pdf``)",
                      "content": {DOCX: {"schema": {"type": "string", "format": "binary"}},
                                  "application/pdf": {"schema": {"type": "string",
                                                                 "format": "binary"}}}},
                **READ})
def download_version(wf: WfDep, user: UserDep, document_id: Id, number: Id,
                     format: Annotated[str, Query(pattern="^(docx|pdf)$")] = "docx",
                     ) -> Response:
    """The exact stored bytes of a version (or a PDF of them); logged."""
    got = wf.download(document_id, user=user, number=number, pdf=format == "pdf")
    media = "application/pdf" if got.format == "pdf" else DOCX
    return Response(got.content, media_type=media,
                    headers={"Content-Disposition": content_disposition(got.filename),
                             "X-Content-SHA256-Stored": got.sha256})


def content_disposition(filename: str) -> str:
    """RFC 6266 with an ASCII fallback and the UTF-8 name (æøå safe)."""
    plain = filename.replace("/", "_").replace("\\", "_")
    ascii_name = plain.encode("ascii", "replace").decode().replace("?", "_").replace('"', "_")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"


@router.get("/municipalities/{municipality_id}/bum", tags=["agreements"], responses=READ)
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
    """The areas of the user's cooperations and whether each is free to apply for."""
    from ..engine.cooperations import visible
    from ..store import database as store

    with store.read(wf.engine) as conn:
        actor = wf.actor(conn, user)
    return queries.areas(wf, visible(wf, actor))
