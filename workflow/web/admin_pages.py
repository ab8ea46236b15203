"""The administration page: users (add, role and municipality, deactivate and activate,
a new password, end their sessions and tokens) and API tokens, for administrators
(:func:`workflow.accounts.users.may_administer`), in Danish, from templates.

Every change goes through :mod:`workflow.accounts.users`, as ``workflow users`` does; a
refusal is said on the page. A password made here, like a token, is shown in that one
answer alone (not kept, not in a redirect, not cached).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response

from ..accounts import logins as accounts
from ..accounts import users
from ..accounts.logins import Ended
from ..engine.workflow import Actor, Workflow
from ..errors import PermissionDenied, Said, WorkflowError
from ..store import database as store
from . import messages, sessions
from .api import Id, get_wf
from .bodies import CheckedForm
from .pagekit import back, check_csrf, flash, render, session_user

router = APIRouter(include_in_schema=False, route_class=CheckedForm)
WfDep = Annotated[Workflow, Depends(get_wf)]
FormText = Annotated[str, Form()]


def _admin(request: Request, wf: Workflow, target: str | None = None) -> Actor:
    """The administrator logged in, if it may manage ``target`` (a user's id; an
    administrator limited to one cooperation manages only its users)."""
    from sqlalchemy import select

    from ..store import tables as t

    user = session_user(request)
    with store.read(wf.engine) as conn:
        actor = wf.actor(conn, user)
        if not users.may_administer(actor):
            raise PermissionDenied(Said("only an administrator may see this page",
                                        "kun en administrator kan se denne side"))
        row = None if target is None else conn.execute(
            select(t.user).where(t.user.c.id == target)).first()
        if row is not None:
            users.require_admin(actor, dict(row._mapping), conn=conn)
    return actor


@router.get("/admin", response_class=HTMLResponse)
def admin(request: Request, wf: WfDep) -> HTMLResponse:
    _admin(request, wf)
    return _admin_page(request, wf)


def _admin_page(request: Request, wf: Workflow, **shown: Any) -> HTMLResponse:
    """The administration page; right after a token is issued or a password made, with
    it (``new_token``, ``new_password``: in this answer alone, told not to be kept)."""
    from sqlalchemy import select

    from ..accounts.users import managed_by
    from ..store import tables as t

    u = t.user
    with store.read(wf.engine) as conn:
        scope = wf.actor(conn, session_user(request)).cooperation
        mine = None if scope is None else managed_by(scope)
        q = select(u.c.id, u.c.name, u.c.role, u.c.municipality, u.c.email, u.c.active,
                   u.c.oidc_subject.is_not(None).label("sso"),
                   (u.c.password_hash.is_not(None)).label("has_password"))
        rows = [dict(r._mapping) for r in conn.execute(
            (q if mine is None else q.where(mine)).order_by(u.c.municipality, u.c.role, u.c.id))]
    page = render(request, "admin.html", users=rows,
                  tokens=[tk for tk in accounts.list_tokens(wf.engine)
                          if mine is None or tk["user_id"] in {r["id"] for r in rows}],
                  roles=wf.definition.roles, people={r["id"]: r["name"] for r in rows},
                  new_token=shown.get("new_token"), new_password=shown.get("new_password"))
    if shown:
        page.headers["Cache-Control"] = "no-store"
    return page


def _ended(ended: Ended) -> str:
    return (f"{_count(ended.sessions, 'session', 'sessioner')} er afsluttet, og "
            f"{_count(ended.tokens, 'API-nøgle', 'API-nøgler')} er spærret.")


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _name(wf: Workflow, municipality: str | None) -> str:
    found = wf.municipalities.get(municipality or "")
    return found.name if found else "ingen kommune"


@router.post("/admin/users")
def admin_add_user(request: Request, wf: WfDep, csrf: FormText, user_id: FormText,
                   name: FormText, role: FormText, municipality: FormText = "",
                   email: FormText = "") -> Response:
    check_csrf(request, csrf)
    actor = _admin(request, wf)
    try:
        users.add_user(wf.engine, actor, user_id, name=name, role=role,
                       municipality=municipality or None, email=email,
                       roles=wf.definition.roles)
        flash(request, "ok", f"{name.strip()} ({user_id.strip()}) er oprettet. Giv brugeren "
                             "en adgangskode herunder, eller lad vedkommende logge ind med "
                             "organisationens login.")
    except WorkflowError as exc:
        flash(request, "error", messages.refusal(wf, exc))
    return back("/admin")


@router.post("/admin/users/{user_id}/role")
def admin_change_user(request: Request, wf: WfDep, user_id: str, csrf: FormText,
                      role: FormText, municipality: FormText = "") -> Response:
    check_csrf(request, csrf)
    actor = _admin(request, wf)
    try:
        users.change_user(wf.engine, actor, user_id, role=role,
                          municipality=municipality or None, roles=wf.definition.roles)
        label = wf.definition.roles[role].da
        flash(request, "ok", f"{user_id} er nu {label.lower()}, {_name(wf, municipality)}.")
    except WorkflowError as exc:
        flash(request, "error", messages.refusal(wf, exc))
    return back("/admin")


@router.post("/admin/users/{user_id}/active")
def admin_set_active(request: Request, wf: WfDep, user_id: str, csrf: FormText,
                     active: FormText) -> Response:
    check_csrf(request, csrf)
    actor = _admin(request, wf)
    on = active == "1"
    try:
        ended = users.set_active(wf.engine, actor, user_id, on, now=wf.clock())
        flash(request, "ok", f"{user_id} kan logge ind igen." if on else
              f"{user_id} er deaktiveret. {_ended(ended)}")
    except WorkflowError as exc:
        flash(request, "error", messages.refusal(wf, exc))
    return back("/admin")


@router.post("/admin/users/{user_id}/password")
def admin_password(request: Request, wf: WfDep, user_id: str, csrf: FormText,
                   password: FormText = "") -> Response:
    """The password typed, or (none typed) a new one made and shown this once."""
    check_csrf(request, csrf)
    actor = _admin(request, wf)
    try:  # the user's sessions end and tokens go; an admin's own session here stays
        made, ended = users.reset_password(
            wf.engine, actor, user_id, password or None, now=wf.clock(),
            keep_session=sessions.session_id(request) if user_id == actor.id else None)
    except WorkflowError as exc:
        flash(request, "error", messages.refusal(wf, exc))
        return back("/admin")
    if made is None:
        flash(request, "ok", f"Ny adgangskode for {user_id} er gemt. {_ended(ended)}")
        return back("/admin")
    flash(request, "ok", f"{_ended(ended)}")
    return _admin_page(request, wf, new_password={"user": user_id, "password": made})


@router.post("/admin/users/{user_id}/revoke")
def admin_revoke_user(request: Request, wf: WfDep, user_id: str, csrf: FormText) -> Response:
    check_csrf(request, csrf)
    actor = _admin(request, wf)
    try:
        ended = users.revoke_all(
            wf.engine, actor, user_id, now=wf.clock(),
            keep_session=sessions.session_id(request) if user_id == actor.id else None)
        flash(request, "ok", f"{user_id}: {_ended(ended)}")
    except WorkflowError as exc:
        flash(request, "error", messages.refusal(wf, exc))
    return back("/admin")


@router.post("/admin/tokens")
def admin_issue_token(request: Request, wf: WfDep, user_id: FormText, csrf: FormText,
                      label: FormText = "") -> Response:
    check_csrf(request, csrf)
    actor = _admin(request, wf, target=user_id)
    try:
        issued = accounts.issue_token(wf.engine, user_id, created_by=actor.id,
                                      now=wf.clock(), label=label.strip())
    except WorkflowError as exc:
        flash(request, "error", messages.refusal(wf, exc))
        return back("/admin")
    # the token is in this answer only (not in the session, not in a redirect), and the
    # browser is told to keep no copy of it
    return _admin_page(request, wf, new_token={"user": user_id, "token": issued.token})


@router.post("/admin/tokens/{token_id}/revoke")
def admin_revoke_token(request: Request, wf: WfDep, token_id: Id, csrf: FormText) -> Response:
    check_csrf(request, csrf)
    owner = next((tk["user_id"] for tk in accounts.list_tokens(wf.engine)
                  if tk["id"] == token_id), None)
    _admin(request, wf, target=owner)
    try:
        accounts.revoke_token(wf.engine, token_id, now=wf.clock())
        flash(request, "ok", f"Nøgle {token_id} er spærret.")
    except WorkflowError as exc:
        flash(request, "error", messages.refusal(wf, exc))
    return back("/admin")
