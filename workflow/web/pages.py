"""The pages: login, dashboard, an application, administration — in Danish, from templates.

Pages use a session kept on the server, its id in a signed cookie (HttpOnly,
SameSite=Lax: see :mod:`.security`); every form carries the session's CSRF token, checked
before anything else. All reading and acting goes through
the same queries and engine calls as the API and the CLI.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from .. import danish
from ..accounts import logins as accounts
from ..engine import agreements, queries
from ..engine.workflow import Actor, Workflow
from ..errors import (
    AuthError,
    NotFound,
    PermissionDenied,
    RateLimited,
    Said,
    WorkflowError,
    in_danish,
)
from ..store import database as store
from . import messages, pagecache, security
from .api import Id, content_disposition, get_wf
from .svg import state_svg

router = APIRouter(include_in_schema=False)
WfDep = Annotated[Workflow, Depends(get_wf)]


def templates(request: Request) -> Jinja2Templates:
    t: Jinja2Templates = request.app.state.pages
    return t


def csrf_token(request: Request) -> str:
    return security.csrf_token(request)


def check_csrf(request: Request, token: str) -> None:
    # A visitor without a session yet accepts no form: an empty token matches nothing.
    if not security.csrf_ok(request, token or ""):
        raise PermissionDenied(Said(
            "the form is out of date or not from this site (CSRF); reload the page and try "
            "again", "formularen er forældet eller ikke fra dette websted; hent siden igen, "
            "og prøv så igen"))


def session_user(request: Request) -> str:
    """The user of the request's live session (looked up on the server this request)."""
    return security.session_user(request)


def flash(request: Request, kind: str, text: str) -> None:
    request.session.setdefault("flash", []).append({"kind": kind, "text": text})


def render(request: Request, name: str, status: int = 200, **ctx: Any) -> HTMLResponse:
    wf: Workflow = request.app.state.wf
    me = ctx.pop("me", None)  # a page that has looked the user up already passes it
    if me is None and request.session.get("user"):
        try:
            with store.read(wf.engine) as conn:
                me = wf.actor(conn, request.session["user"])
        except NotFound:  # deactivated since logging in: the session ends here
            request.session.clear()
    flashes = request.session.pop("flash", [])
    # a page for the cache carries a marker where the session's token goes (pagecache)
    csrf = getattr(request.state, "csrf_marker", None) or csrf_token(request)
    return templates(request).TemplateResponse(
        request, name, {"me": me, "csrf": csrf, "messages": flashes,
                        "today": wf.today(), "roles": wf.definition.roles,
                        "municipality_names": {k: m.name for k, m in wf.municipalities.items()},
                        "trigger_labels": messages.trigger_labels(wf), **ctx}, status_code=status)


def back(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


# ------------------------------------------------------------------------ login
@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request) -> HTMLResponse:
    return render(request, "login.html")


@router.post("/login")
def login(request: Request, wf: WfDep, username: Annotated[str, Form()],
          password: Annotated[str, Form()], csrf: Annotated[str, Form()]) -> Response:
    """Log in: a new session on the server; a refusal is the login form again, saying
    why (401, or 429 with Retry-After while this address must wait)."""
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
    security.begin_session(request, user, client=client)
    return back("/")


@router.post("/logout")
def logout(request: Request, csrf: Annotated[str, Form()]) -> Response:
    """Log out: the session ends on the server, so no copy of its cookie works again."""
    check_csrf(request, csrf)
    security.end_session(request)
    return back("/login")


# -------------------------------------------------------------------- dashboard
@router.get("/", response_class=HTMLResponse)
async def dashboard(request: Request, wf: WfDep) -> Response:
    user = session_user(request)
    return await pagecache.serve(request, user, csrf_token, lambda: _dashboard(request, wf, user))


def _dashboard(request: Request, wf: Workflow, user: str, *,
               form: dict[str, str] | None = None, create_error: str | None = None,
               status: int = 200) -> HTMLResponse:
    """The dashboard; after a refused "Opret sag", with the form as it was typed
    (``form``) and the refusal (``create_error``)."""
    apps = queries.list_applications(wf, user=user)
    tasks = queries.tasks(wf, apps, user=user)
    with store.read(wf.engine) as conn:
        actor = wf.actor(conn, user)
    processes = wf.definition.processes
    cases = [a for a in apps if a["process"] != agreements.PROCESS]
    by_state = [(s, [a for a in cases if a["state"] == s.name])
                for p in processes.values() if p.name != agreements.PROCESS
                for s in p.states.values()]
    kinds = [k for p in processes.values() if actor.role in p.create_roles
             for k in p.kinds.values()]
    sources = [a for a in cases if any(
        k.opens_from and a["process"] == k.opens_from[0] and a["state"] in k.opens_from[1]
        for k in kinds)]
    # which kinds each of the form's fields is for: with JavaScript the others are hidden
    # (and not sent); without it the server takes only the chosen kind's (see `create`)
    used: dict[str, list[str]] = {}
    for k in kinds:
        for f in (*k.fields, *(["round"] if k.rounds else []),
                  *(["source"] if k.opens_from else [])):
            used.setdefault(f, []).append(k.name)
    return render(request, "dashboard.html", status=status,
                  by_state=[x for x in by_state if x[1]],
                  tasks=tasks, deadlines=queries.deadlines(wf, user=user),
                  agreements=[a for a in apps if a["process"] == agreements.PROCESS],
                  kinds=kinds, sources=sources, areas=wf.areas,
                  municipalities=wf.municipalities, can_create=bool(kinds), me=actor,
                  field_kinds={f: " ".join(ks) for f, ks in used.items()},
                  rounds=sorted({r for k in kinds for r in k.rounds}),
                  form=form or {}, create_error=create_error)


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
    view = queries.case_view(wf, app_id, user=user)
    app, actor = view["application"], view["actor"]
    process = wf.definition.processes[app["process"]]
    linked = agreements.linked_cases(wf, (x["application"] for x in app["links"]), user=user)
    agreement = agreements.describe(wf, app["data"] or {}) \
        if app["process"] == agreements.PROCESS else None
    triggers = [{**trig, "reason": in_danish(trig["reason"]) if trig["reason"] else None}
                for trig in view["triggers"]]
    people = {"scheduler": "Systemet", **queries.user_names(wf, _people_of(view))}
    return render(request, "application.html", app=app, agreement=agreement, linked=linked,
                  diagram=state_svg(process, current=app["state"]),
                  triggers=triggers, history=view["history"],
                  documents=view["documents"], me=actor, people=people,
                  can_download={d["id"]: wf.definition.may_download(
                      actor.role, actor.municipality, d["name"], d["party"] or None)
                      for d in view["documents"]},
                  areas=wf.areas, municipalities=wf.municipalities,
                  states=process.states, prefill=_prefill(wf, app, actor),
                  required_when=lambda when: messages.required_when(wf, when),
                  confirmations=messages.confirmations(wf),
                  confirm_field=messages.CONFIRM_FIELD,
                  drafts=wf.definition.drafts)


def _people_of(view: dict[str, Any]) -> set[str]:
    """The users a case's page names: in its history, its documents and its acts."""
    ids = {e["user"] for e in view["history"]}
    ids |= {v.get("created_by") for doc in view["documents"] for v in doc.get("versions", ())}
    ids |= {act.get("user") for acts in view["application"]["acts"].values()
            for act in acts.values()}
    return {i for i in ids if isinstance(i, str)}


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
        if any(c.record == "meeting" for c in cands):
            continue  # the meeting's own step
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


# ------------------------------------------------------------------------ admin
def _admin(request: Request, wf: Workflow) -> str:
    user = session_user(request)
    with store.read(wf.engine) as conn:
        if wf.actor(conn, user).role != "admin":
            raise PermissionDenied(Said("only an administrator may see this page",
                                        "kun en administrator kan se denne side"))
    return user


@router.get("/admin", response_class=HTMLResponse)
def admin(request: Request, wf: WfDep) -> HTMLResponse:
    _admin(request, wf)
    return _admin_page(request, wf)


def _admin_page(request: Request, wf: Workflow,
                new_token: dict[str, str] | None = None) -> HTMLResponse:
    """The administration page; right after a token is issued, with the token (shown
    this once, in this answer alone: it is kept nowhere but in its hash)."""
    from sqlalchemy import select

    from ..store import tables as t

    with store.read(wf.engine) as conn:
        users = [dict(r._mapping) for r in conn.execute(
            select(t.user.c.id, t.user.c.name, t.user.c.role, t.user.c.municipality,
                   t.user.c.email, t.user.c.active,
                   (t.user.c.password_hash.is_not(None)).label("has_password"))
            .order_by(t.user.c.municipality, t.user.c.role, t.user.c.id))]
    return render(request, "admin.html", users=users, tokens=accounts.list_tokens(wf.engine),
                  roles=wf.definition.roles, new_token=new_token,
                  people={u["id"]: u["name"] for u in users})


@router.post("/admin/users/{user_id}/password")
def admin_password(request: Request, wf: WfDep, user_id: str,
                   password: Annotated[str, Form()], csrf: Annotated[str, Form()]) -> Response:
    check_csrf(request, csrf)
    admin_id = _admin(request, wf)
    try:  # the user's sessions end and tokens go; an admin's own session here stays
        ended = accounts.set_password(
            wf.engine, user_id, password, now=wf.clock(),
            keep_session=security.session_id(request) if user_id == admin_id else None)
        flash(request, "ok", f"Ny adgangskode for {user_id} er gemt. "
                             f"{_count(ended.sessions, 'session', 'sessioner')} er afsluttet, "
                             f"og {_count(ended.tokens, 'API-nøgle', 'API-nøgler')} er spærret.")
    except WorkflowError as exc:
        flash(request, "error", messages.refusal(wf, exc))
    return back("/admin")


@router.post("/admin/tokens")
def admin_issue_token(request: Request, wf: WfDep, user_id: Annotated[str, Form()],
                      csrf: Annotated[str, Form()], label: Annotated[str, Form()] = "",
                      ) -> Response:
    check_csrf(request, csrf)
    admin_id = _admin(request, wf)
    try:
        issued = accounts.issue_token(wf.engine, user_id, created_by=admin_id, now=wf.clock(),
                                      label=label.strip())
    except WorkflowError as exc:
        flash(request, "error", messages.refusal(wf, exc))
        return back("/admin")
    # the token is in this answer only (not in the session, not in a redirect), and the
    # browser is told to keep no copy of it
    page = _admin_page(request, wf, new_token={"user": user_id, "token": issued.token})
    page.headers["Cache-Control"] = "no-store"
    return page


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


@router.post("/admin/tokens/{token_id}/revoke")
def admin_revoke_token(request: Request, wf: WfDep, token_id: Id,
                       csrf: Annotated[str, Form()]) -> Response:
    check_csrf(request, csrf)
    _admin(request, wf)
    try:
        accounts.revoke_token(wf.engine, token_id, now=wf.clock())
        flash(request, "ok", f"Nøgle {token_id} er spærret.")
    except WorkflowError as exc:
        flash(request, "error", messages.refusal(wf, exc))
    return back("/admin")


def warm_up(t: Jinja2Templates) -> None:
    """Compile every page template now, at the worker's start, not in its first requests
    (a page's first compile takes tens of milliseconds, and the requests queue behind it)."""
    for name in t.env.list_templates():
        t.env.get_template(name)


def install_filters(t: Jinja2Templates) -> None:
    env = t.env
    env.filters["long_date"] = lambda v: danish.long_date(
        v if isinstance(v, date) else date.fromisoformat(str(v)[:10])) if v else ""
    env.filters["local_time"] = lambda v: _local(v)
    env.filters["amount"] = _amount
    env.filters["number"] = _number
    env.filters["da"] = in_danish  # a reason given in English and Danish: the Danish


def _amount(value: Any) -> str:
    """``1.234.567,50 kr.``; nothing known: a dash."""
    if value is None or value == "":
        return "–"
    try:
        return danish.amount(Decimal(str(value)))
    except (ArithmeticError, ValueError):  # not a number (InvalidOperation): shown as it is
        return str(value)


def _number(value: Any) -> str:
    """A number as a Dane writes it, decimals as given: ``1.234.567,5``, ``7,5``, ``420``."""
    if value is None or value == "":
        return ""
    try:
        number = Decimal(str(value))
    except ArithmeticError:
        return str(value)
    return danish.number(number, decimals=None) if number.is_finite() else str(value)


def _local(value: Any) -> str:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    if not value:
        return ""
    moment = datetime.fromisoformat(str(value)).astimezone(ZoneInfo("Europe/Copenhagen"))
    return f"{danish.long_date(moment.date())} kl. {moment:%H.%M}"
