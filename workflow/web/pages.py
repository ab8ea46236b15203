"""The pages: login, dashboard, an application, administration — in Danish, from templates.

Pages use a signed session cookie (HttpOnly, SameSite=Lax); every form carries the
session's CSRF token, checked before anything else. All reading and acting goes through
the same queries and engine calls as the API and the CLI.
"""

from __future__ import annotations

import hmac
import secrets
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from .. import accounts, danish, queries, store
from ..engine import Workflow
from ..errors import AuthError, PermissionDenied, WorkflowError
from .api import Id, content_disposition, get_wf
from .svg import state_svg

router = APIRouter(include_in_schema=False)
WfDep = Annotated[Workflow, Depends(get_wf)]


def templates(request: Request) -> Jinja2Templates:
    t: Jinja2Templates = request.app.state.pages
    return t


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not token:
        token = request.session["csrf"] = secrets.token_urlsafe(32)
    return str(token)


def check_csrf(request: Request, token: str) -> None:
    if not hmac.compare_digest(str(request.session.get("csrf", "")), token or ""):
        raise PermissionDenied("the form is out of date or not from this site (CSRF); "
                               "reload the page and try again")


def session_user(request: Request) -> str:
    user = request.session.get("user")
    if not user:
        raise AuthError("log in first")
    return str(user)


def flash(request: Request, kind: str, text: str) -> None:
    request.session.setdefault("flash", []).append({"kind": kind, "text": text})


def render(request: Request, name: str, status: int = 200, **ctx: Any) -> HTMLResponse:
    wf: Workflow = request.app.state.wf
    me = None
    if request.session.get("user"):
        with store.read(wf.engine) as conn:
            me = wf.actor(conn, request.session["user"])
    messages = request.session.pop("flash", [])
    labels = {t.trigger: t.label.da for p in wf.definition.processes.values()
              for t in p.transitions} | {"create": "Oprettet", "download": "Hentet dokument",
                                         "reminder": "Påmindelse sendt"}
    return templates(request).TemplateResponse(
        request, name, {"me": me, "csrf": csrf_token(request), "messages": messages,
                        "today": wf.today(), "roles": wf.definition.roles,
                        "municipality_names": {k: m.name for k, m in wf.municipalities.items()},
                        "trigger_labels": labels, **ctx}, status_code=status)


def back(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


# ------------------------------------------------------------------------ login
@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request) -> HTMLResponse:
    return render(request, "login.html")


@router.post("/login")
def login(request: Request, wf: WfDep, username: Annotated[str, Form()],
          password: Annotated[str, Form()], csrf: Annotated[str, Form()]) -> Response:
    check_csrf(request, csrf)
    try:
        user = accounts.authenticate(wf.engine, username.strip(), password,
                                     client=request.client.host if request.client else "",
                                     now=wf.clock())
    except AuthError as exc:
        flash(request, "error", "Forkert brugernavn eller adgangskode." if type(exc) is AuthError
              else "For mange forkerte forsøg. Vent lidt, og prøv igen.")
        return back("/login")
    request.session.clear()
    request.session["user"] = user
    return back("/")


@router.post("/logout")
def logout(request: Request, csrf: Annotated[str, Form()]) -> Response:
    check_csrf(request, csrf)
    request.session.clear()
    return back("/login")


# -------------------------------------------------------------------- dashboard
@router.get("/", response_class=HTMLResponse)
def dashboard(request: Request, wf: WfDep) -> HTMLResponse:
    user = session_user(request)
    apps = queries.list_applications(wf, user=user)
    tasks = []
    for app in apps:
        if app["final"]:
            continue
        for trig in queries.triggers(wf, app["id"], user=user):
            if trig["allowed"]:
                tasks.append({"app": app, "trigger": trig})
    process = next(iter(wf.definition.processes.values()))
    by_state = [(s, [a for a in apps if a["state"] == s.name])
                for s in process.states.values()]
    return render(request, "dashboard.html", by_state=[x for x in by_state if x[1]],
                  tasks=tasks, deadlines=queries.deadlines(wf, user=user),
                  kinds=process.kinds, can_create=_can_create(wf, user))


def _can_create(wf: Workflow, user: str) -> bool:
    with store.read(wf.engine) as conn:
        actor = wf.actor(conn, user)
    return any(actor.role in p.create_roles for p in wf.definition.processes.values())


@router.post("/applications")
def create(request: Request, wf: WfDep, kind: Annotated[str, Form()],
           title: Annotated[str, Form()], csrf: Annotated[str, Form()],
           round: Annotated[str, Form()] = "") -> Response:
    check_csrf(request, csrf)
    user = session_user(request)
    try:
        app_id = wf.create(kind=kind, title=title, user=user,
                           round=int(round) if round.strip().isdigit() else None)
    except WorkflowError as exc:
        flash(request, "error", str(exc))
        return back("/")
    flash(request, "ok", "Sagen er oprettet.")
    return back(f"/applications/{app_id}")


# ------------------------------------------------------------------ application
@router.get("/applications/{app_id}", response_class=HTMLResponse)
def application(request: Request, wf: WfDep, app_id: Id) -> HTMLResponse:
    user = session_user(request)
    app = queries.get_application(wf, app_id, user=user)
    process = wf.definition.processes[app["process"]]
    with store.read(wf.engine) as conn:
        actor = wf.actor(conn, user)
    return render(request, "application.html", app=app,
                  diagram=state_svg(process, current=app["state"]),
                  triggers=queries.triggers(wf, app_id, user=user),
                  history=queries.history(wf, app_id, user=user),
                  documents=queries.documents(wf, app_id, user=user),
                  can_download=actor.role in wf.definition.download_roles,
                  areas=wf.areas, municipalities=wf.municipalities,
                  states=process.states)


@router.post("/applications/{app_id}/fire")
async def fire(request: Request, wf: WfDep, app_id: Id) -> Response:
    form = await request.form()
    check_csrf(request, str(form.get("csrf", "")))
    user = session_user(request)
    trigger = str(form.get("trigger", ""))
    data: dict[str, Any] = {}
    for key in form.keys():
        if key in ("csrf", "trigger", "version", "comment"):
            continue
        values = [str(v) for v in form.getlist(key) if str(v).strip()]
        if values:
            data[key] = values if len(values) > 1 or key in _list_fields(wf) else values[0]
    version = str(form.get("version", ""))
    try:
        out = wf.fire(app_id, trigger, user=user, data=data,
                      comment=str(form.get("comment", "")),
                      expected_version=int(version) if version.isdigit() else None)
    except WorkflowError as exc:
        flash(request, "error", str(exc))
        return back(f"/applications/{app_id}")
    msg = f"Udført: {trigger}."
    if out.waiting_for:
        msg += f" Afventer {', '.join(out.waiting_for)}."
    flash(request, "ok", msg)
    return back(f"/applications/{app_id}")


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


# ------------------------------------------------------------------------ admin
def _admin(request: Request, wf: Workflow) -> str:
    user = session_user(request)
    with store.read(wf.engine) as conn:
        if wf.actor(conn, user).role != "admin":
            raise PermissionDenied("only an administrator may see this page")
    return user


@router.get("/admin", response_class=HTMLResponse)
def admin(request: Request, wf: WfDep) -> HTMLResponse:
    _admin(request, wf)
    from sqlalchemy import select

    from .. import tables as t

    with store.read(wf.engine) as conn:
        users = [dict(r._mapping) for r in conn.execute(
            select(t.user.c.id, t.user.c.name, t.user.c.role, t.user.c.municipality,
                   t.user.c.email, t.user.c.active,
                   (t.user.c.password_hash.is_not(None)).label("has_password"))
            .order_by(t.user.c.municipality, t.user.c.role, t.user.c.id))]
    return render(request, "admin.html", users=users, tokens=accounts.list_tokens(wf.engine),
                  roles=wf.definition.roles, new_token=request.session.pop("new_token", None))


@router.post("/admin/users/{user_id}/password")
def admin_password(request: Request, wf: WfDep, user_id: str,
                   password: Annotated[str, Form()], csrf: Annotated[str, Form()]) -> Response:
    check_csrf(request, csrf)
    _admin(request, wf)
    try:
        accounts.set_password(wf.engine, user_id, password)
        flash(request, "ok", f"Ny adgangskode for {user_id} er gemt.")
    except WorkflowError as exc:
        flash(request, "error", str(exc))
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
        request.session["new_token"] = {"user": user_id, "token": issued.token}
    except WorkflowError as exc:
        flash(request, "error", str(exc))
    return back("/admin")


@router.post("/admin/tokens/{token_id}/revoke")
def admin_revoke_token(request: Request, wf: WfDep, token_id: Id,
                       csrf: Annotated[str, Form()]) -> Response:
    check_csrf(request, csrf)
    _admin(request, wf)
    try:
        accounts.revoke_token(wf.engine, token_id, now=wf.clock())
        flash(request, "ok", f"Nøgle {token_id} er spærret.")
    except WorkflowError as exc:
        flash(request, "error", str(exc))
    return back("/admin")


def install_filters(t: Jinja2Templates) -> None:
    env = t.env
    env.filters["long_date"] = lambda v: danish.long_date(
        v if isinstance(v, date) else date.fromisoformat(str(v)[:10])) if v else ""
    env.filters["local_time"] = lambda v: _local(v)


def _local(value: Any) -> str:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    if not value:
        return ""
    moment = datetime.fromisoformat(str(value)).astimezone(ZoneInfo("Europe/Copenhagen"))
    return f"{danish.long_date(moment.date())} kl. {moment:%H.%M}"
