"""The administration page: users, their passwords and API tokens (for the ``admin``
role), in Danish, from templates."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response

from ..accounts import logins as accounts
from ..engine.workflow import Workflow
from ..errors import (
    PermissionDenied,
    Said,
    WorkflowError,
)
from ..store import database as store
from . import messages, sessions
from .api import Id, get_wf
from .pagekit import back, check_csrf, flash, render, session_user

router = APIRouter(include_in_schema=False)
WfDep = Annotated[Workflow, Depends(get_wf)]


def _admin(request: Request, wf: Workflow, target: str | None = None) -> str:
    """The admin logged in, who may manage ``target`` (a user; an admin limited to one
    cooperation manages only its users)."""
    from ..engine.cooperations import check_manages

    user = session_user(request)
    with store.read(wf.engine) as conn:
        actor = wf.actor(conn, user)
        if actor.role != "admin":
            raise PermissionDenied(Said("only an administrator may see this page",
                                        "kun en administrator kan se denne side"))
        if target is not None:
            check_manages(wf, conn, actor, target=target)
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

    from ..engine.cooperations import managed_users
    from ..store import tables as t

    with store.read(wf.engine) as conn:
        mine = managed_users(wf, wf.actor(conn, session_user(request)))
        q = select(t.user.c.id, t.user.c.name, t.user.c.role, t.user.c.municipality,
                   t.user.c.email, t.user.c.active,
                   (t.user.c.password_hash.is_not(None)).label("has_password"))
        users = [dict(r._mapping) for r in conn.execute(
            (q if mine is None else q.where(mine))
            .order_by(t.user.c.municipality, t.user.c.role, t.user.c.id))]
    return render(request, "admin.html", users=users, tokens=accounts.list_tokens(wf.engine),
                  roles=wf.definition.roles, new_token=new_token,
                  people={u["id"]: u["name"] for u in users})


@router.post("/admin/users/{user_id}/password")
def admin_password(request: Request, wf: WfDep, user_id: str,
                   password: Annotated[str, Form()], csrf: Annotated[str, Form()]) -> Response:
    check_csrf(request, csrf)
    admin_id = _admin(request, wf, target=user_id)
    try:  # the user's sessions end and tokens go; an admin's own session here stays
        ended = accounts.set_password(
            wf.engine, user_id, password, now=wf.clock(),
            keep_session=sessions.session_id(request) if user_id == admin_id else None)
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
    admin_id = _admin(request, wf, target=user_id)
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
