"""The pages: login, the dashboard, an application, the BUM agreements and the user's
profile, in Danish, from templates.

Pages use a session kept on the server, its id in a signed cookie (HttpOnly,
SameSite=Lax: see :mod:`.security`); every form carries the session's CSRF token, checked
before anything else. All reading and acting goes through
the same queries and engine calls as the API and the CLI.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response

from ..accounts import logins as accounts
from ..engine import agreements, overview, queries
from ..engine import history as timeline
from ..engine import tasks as what_now
from ..engine.aktindsigt import AKTINDSIGT_ROLES
from ..engine.casefile import DIRECTIONS, DOC_TYPES, FILING_ROLES
from ..engine.workflow import Actor, Workflow
from ..errors import (
    AuthError,
    InvalidData,
    RateLimited,
    Said,
    WorkflowError,
    in_danish,
)
from ..store import database as store
from . import case_pages, messages, pagecache, sessions
from .api import Id, content_disposition, get_wf
from .bodies import CheckedForm
from .pagekit import back, check_csrf, csrf_token, flash, render, session_user
from .svg import state_svg

router = APIRouter(include_in_schema=False, route_class=CheckedForm)
CASE_PAGE_JOURNAL = 50      # the newest journal entries the case page shows
WfDep = Annotated[Workflow, Depends(get_wf)]


# ------------------------------------------------------------------------ login
@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request) -> HTMLResponse:
    return render(request, "login.html")


@router.post("/login")
def login(request: Request, wf: WfDep, username: Annotated[str, Form()],
          password: Annotated[str, Form()], csrf: Annotated[str, Form()]) -> Response:
    """Log in: a new session on the server; a refusal is the login form again, saying
    why (401, or 429 with Retry-After while this address must wait)."""
    if not request.app.state.pages.env.globals.get("local_login", True):  # nothing to check
        return render(request, "login.html", status=403, messages=[{"kind": "error", "text": (
            "Log ind med adgangskode er slået fra her. Brug knappen ovenfor.")}])
    check_csrf(request, csrf)
    client = request.client.host if request.client else ""
    try:
        user = accounts.authenticate(wf.engine, username.strip(), password, client=client,
                                     now=wf.clock())
    except RateLimited as exc:
        minutes = max(1, (exc.retry_after + 59) // 60)
        page = render(request, "login.html", status=429, username=username.strip(),
                      messages=[{"kind": "error", "text": (
                          "For mange forkerte forsøg herfra. Prøv igen om "
                          f"{minutes} {'minut' if minutes == 1 else 'minutter'}.")}])
        page.headers["Retry-After"] = str(exc.retry_after)
        return page
    except AuthError:
        return render(request, "login.html", status=401, username=username.strip(),
                      messages=[{"kind": "error",
                                 "text": "Forkert brugernavn eller adgangskode."}])
    sessions.begin_session(request, user, client=client)
    if accounts.must_change_password(wf.engine, user):   # a one-time password: their own first
        request.session["must_change_password"] = True
        flash(request, "error", sessions.ONE_TIME.da)
        return back("/profile#adgangskode")
    return back("/")


@router.post("/logout")
def logout(request: Request, csrf: Annotated[str, Form()]) -> Response:
    """Log out: the session ends on the server, so no copy of its cookie works again."""
    check_csrf(request, csrf)
    sessions.end_session(request)
    return back("/login")


# -------------------------------------------------------------------- dashboard
@router.get("/", response_class=HTMLResponse)
async def dashboard(request: Request, wf: WfDep) -> Response:
    user = session_user(request)
    return await pagecache.serve(request, user, csrf_token, lambda: _dashboard(request, wf, user))


def _filters(request: Request) -> overview.Filters:
    """The case list's filters from the query string (``q``, ``state``, ``kind``,
    ``due``, ``sort``, ``cursor``, ``limit``); a value that cannot be one is refused."""
    got = request.query_params
    due = got.get("due", "").strip()
    try:
        due_before = date.fromisoformat(due) if due else None
    except ValueError:
        raise InvalidData(Said(f"due must be a date (YYYY-MM-DD), not {due[:20]!r}",
                               "fristen skal være en dato (ÅÅÅÅ-MM-DD)")) from None
    return overview.Filters(q=got.get("q", "").strip(), state=got.get("state", "")[:60],
                            kind=got.get("kind", "")[:60], due_before=due_before,
                            sort=got.get("sort", "") or "updated",
                            cursor=got.get("cursor") or None,
                            limit=int(got["limit"]) if got.get("limit", "").isdigit()
                            and 1 <= int(got["limit"]) <= 100 else 50)


def _dashboard(request: Request, wf: Workflow, user: str, *,
               form: dict[str, str] | None = None, create_error: str | None = None,
               status: int = 200) -> HTMLResponse:
    """The dashboard; after a refused "Opret sag", with the form as it was typed
    (``form``) and the refusal (``create_error``). A case list asked for with a filter or
    cursor it cannot take is the first page again, saying why (422)."""
    processes = wf.definition.processes
    list_error = None
    try:
        filters = _filters(request)
        view = overview.dashboard(wf, user, filters)
    except InvalidData as exc:
        list_error, status, filters = messages.refusal(wf, exc), 422, overview.Filters()
        view = overview.dashboard(wf, user, filters)
    kinds = view["kinds"]
    # which kinds each of the form's fields is for: with JavaScript the others are hidden
    # (and not sent); without it the server takes only the chosen kind's (see `create`)
    used: dict[str, list[str]] = {}
    for k in kinds:
        for f in (*k.fields, *(["round"] if k.rounds else []),
                  *(["source"] if k.opens_from else [])):
            used.setdefault(f, []).append(k.name)
    states = {s.name: s.label.da for p in processes.values() for s in p.states.values()}
    all_kinds = {k.name: k.label.da for p in processes.values() for k in p.kinds.values()}
    return render(request, "dashboard.html", status=status, **view,
                  filters=filters, list_error=list_error, pager=_pager(request, view["page"]),
                  state_choices=states, kind_choices=all_kinds,
                  areas=wf.areas, area_name=wf.names.area,
                  municipalities=wf.municipalities, can_create=bool(kinds),
                  field_kinds={f: " ".join(ks) for f, ks in used.items()},
                  rounds=sorted({r for k in kinds for r in k.rounds}),
                  form=form or {}, create_error=create_error)


def _pager(request: Request, page: Any) -> dict[str, str | None]:
    """The links to the pages beside this one: the same filters, the other cursor."""
    kept = [(k, v) for k, v in request.query_params.multi_items() if k != "cursor"]

    def link(cursor: str | None) -> str | None:
        return "/?" + urlencode([*kept, ("cursor", cursor)]) if cursor else None

    return {"next": link(page.next), "prev": link(page.prev)}


@router.post("/applications")
async def create(request: Request, wf: WfDep) -> Response:
    form = await request.form()
    await form.close()  # a file sent in a field's place is no text: none is read
    check_csrf(request, str(form.get("csrf", "")))
    user = session_user(request)
    kind, title = _typed(form, "kind"), _typed(form, "title")
    round_ = _typed(form, "round").strip()
    try:
        spec = wf.definition.process_for_kind(kind).kinds.get(kind)
    except KeyError:
        spec = None
    # only the fields this kind takes: the form also shows the other kinds' fields
    data = {f: _typed(form, f).strip() for f in (spec.fields if spec else ())
            if _typed(form, f).strip()}
    source = _typed(form, "source").strip() if spec and spec.opens_from else ""
    try:
        app_id = wf.create(kind=kind, title=title, user=user, data=data,
                           round=int(round_) if round_.isdigit() and spec and spec.rounds
                           else None,
                           source=int(source) if source.isdigit() and len(source) < 10
                           else None)
    except WorkflowError as exc:  # the form again, as it was typed, with the refusal
        typed = {k: str(v) for k, v in form.items() if k != "csrf" and isinstance(v, str)}
        return _dashboard(request, wf, user, form=typed, status=422,
                          create_error=messages.refusal(wf, exc))
    flash(request, "ok", "Sagen er oprettet.")
    return back(f"/applications/{app_id}")


# ------------------------------------------------------------------ application
@router.get("/applications/{app_id}", response_class=HTMLResponse)
async def application(request: Request, wf: WfDep, app_id: Id) -> Response:
    user = session_user(request)
    return await pagecache.serve(request, user, csrf_token,
                                 lambda: _application(request, wf, app_id, user))


def _application(request: Request, wf: Workflow, app_id: int, user: str) -> HTMLResponse:
    view = what_now.case_view(wf, app_id, user=user, journal_limit=CASE_PAGE_JOURNAL)
    app, actor = view["application"], view["actor"]
    process = wf.definition.processes[app["process"]]
    linked = agreements.linked_cases(wf, (x["application"] for x in app["links"]), user=user)
    agreement = agreements.describe(wf, app["data"] or {}) \
        if app["process"] == agreements.PROCESS else None
    triggers = [{**trig, "reason": in_danish(trig["reason"]) if trig["reason"] else None}
                for trig in view["triggers"]]
    case_file = _case_file(request, wf, view)
    people = {"scheduler": "Systemet", **view["people"]}
    return render(request, "application.html", app=app, agreement=agreement, linked=linked,
                  diagram=state_svg(process, current=app["state"]),
                  triggers=triggers, history=view["history"],
                  history_more=view["history_more"],
                  documents=view["documents"], me=actor, people=people,
                  can_download={d["id"]: wf.definition.may_download(
                      actor.role, actor.municipality, d["name"], d["party"] or None)
                      for d in view["documents"]},
                  areas=wf.areas, municipalities=wf.municipalities,
                  area_name=wf.names.area,
                  states=process.states, prefill=_prefill(wf, app, actor),
                  required_when=lambda when: messages.required_when(wf, when),
                  confirmations=messages.confirmations(wf),
                  confirm_field=messages.CONFIRM_FIELD,
                  drafts=wf.definition.drafts, **case_file,
                  **case_pages.document_extras(wf, app, view["documents"], actor))


@router.get("/applications/{app_id}/historik", response_class=HTMLResponse)
def history_page(request: Request, wf: WfDep, app_id: Id, efter: str = "") -> HTMLResponse:
    """The whole history of a case, oldest first, a page at a time: ``?efter=``
    the cursor of the page before (a changed one is refused)."""
    user = session_user(request)
    page = queries.history_page(wf, app_id, user=user, cursor=efter or None,
                                limit=timeline.PAGE)
    app = queries.get_application(wf, app_id, user=user)
    people = {"scheduler": "Systemet",
              **queries.user_names(wf, {e["user"] for e in page.rows})}
    return render(request, "history.html", app=app, page=page, people=people,
                  first=not efter, size=timeline.PAGE, drafts=wf.definition.drafts,
                  states=wf.definition.processes[app["process"]].states,
                  section_labels=case_pages.section_labels())


def _case_file(request: Request, wf: Workflow, view: dict[str, Any]) -> dict[str, Any]:
    """The journal section's context: the entries, and the forms' choices."""
    cf = request.app.state.casefile
    app, actor = view["application"], view["actor"]
    return {"journal": view["journal"], "notes": view["notes"],
            "may_file": actor.role in FILING_ROLES and actor.municipality in app["parties"],
            "may_aktindsigt": actor.role in AKTINDSIGT_ROLES
            and actor.municipality in app["parties"],
            "doc_types": DOC_TYPES, "directions": DIRECTIONS,
            "today": wf.today().isoformat(), "max_mb": cf.max_bytes // (1024 * 1024)}


def _prefill(wf: Workflow, app: dict[str, Any], actor: Actor) -> dict[str, dict[str, Any]]:
    """What the action forms start with: a council meeting the user's municipality has
    put the case on (``record: meeting``) fills in the date and agenda of the steps that
    follow it, e.g. "Registrér politisk beslutning" (the secretary typed them once)."""
    meeting = (app["acts"].get("meeting") or {}).get(actor.municipality or "")
    if not meeting:
        return {}
    process = wf.definition.processes[app["process"]]
    out: dict[str, dict[str, Any]] = {}
    for trig in process.triggers_from(app["state"]):
        cands = process.candidates(app["state"], trig)
        if any(c.record == "meeting" or c.side for c in cands):
            continue  # the meeting's own step; a side step (a committee's) is not at it
        fields = {f for c in cands for f in c.fields
                  if wf.definition.fields[f].type in ("date", "text")}
        values = {f: meeting[f] for f in fields if meeting.get(f) not in (None, "")}
        if values:
            out[trig] = values
    return out


@router.post("/applications/{app_id}/fire")
async def fire(request: Request, wf: WfDep, app_id: Id) -> Response:
    form = await request.form()
    await form.close()  # a file sent in a field's place is no text: none is read
    check_csrf(request, str(form.get("csrf", "")))
    user = session_user(request)
    trigger = str(form.get("trigger", ""))
    if trigger in messages.confirmations(wf) and not form.get(messages.CONFIRM_FIELD):
        flash(request, "error", messages.not_confirmed(wf, trigger))  # nothing is done
        return back(f"/applications/{app_id}")
    data: dict[str, Any] = {}
    for key in form.keys():
        if key in ("csrf", "trigger", "version", "comment", messages.CONFIRM_FIELD):
            continue
        values = [v for v in form.getlist(key) if isinstance(v, str) and v.strip()]
        if values:
            data[key] = values if len(values) > 1 or key in _list_fields(wf) else values[0]
    version = str(form.get("version", ""))
    try:
        out = wf.fire(app_id, trigger, user=user, data=data,
                      comment=_typed(form, "comment"),
                      expected_version=int(version) if version.isdigit() else None)
    except WorkflowError as exc:
        flash(request, "error", messages.refusal(wf, exc))
        return back(f"/applications/{app_id}")
    flash(request, "ok", messages.done(wf, trigger, out.waiting_for))
    return back(f"/applications/{app_id}")


def _typed(form: Any, key: str) -> str:
    """What was typed in the form's field ``key``: its text, never a file sent in its
    place (the engine checks the text itself: one line for a title, no NUL, ...)."""
    value = form.get(key, "")
    return value if isinstance(value, str) else ""


def _list_fields(wf: Workflow) -> set[str]:
    return {n for n, f in wf.definition.fields.items() if f.type == "areas"}


@router.get("/documents/{document_id}/versions/{number}")
def download(request: Request, wf: WfDep, document_id: Id, number: Id,
             format: str = "docx") -> Response:
    user = session_user(request)
    got = wf.download(document_id, user=user, number=number, pdf=format == "pdf")
    media = "application/pdf" if got.format == "pdf" else \
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    return Response(got.content, media_type=media,
                    headers={"Content-Disposition": content_disposition(got.filename)})


# -------------------------------------------------------------------------- BUM
@router.get("/bum", response_class=HTMLResponse)
async def bum(request: Request, wf: WfDep, municipality: str = "", year: str = "") -> Response:
    """What the user's municipality buys and sells under BUM agreements (an administrator
    chooses the municipality)."""
    user = session_user(request)
    return await pagecache.serve(request, user, csrf_token,
                                 lambda: _bum(request, wf, user, municipality, year))


def _bum(request: Request, wf: Workflow, user: str, municipality: str,
         year: str) -> HTMLResponse:
    with store.read(wf.engine) as conn:
        actor = wf.actor(conn, user)
    chosen = municipality.strip() or actor.municipality
    wanted = int(year) if year.isdigit() and 2000 <= int(year) <= 2100 else None
    view = agreements.municipality_view(wf, chosen, user=user, year=wanted) \
        if chosen else None
    return render(request, "bum.html", view=view, chosen=chosen,
                  municipalities=wf.municipalities, is_admin=actor.role == "admin")
