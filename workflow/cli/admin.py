"""Command line: users, passwords and API tokens, for administrators (and each user's
own your-turn e-mails).

A new password, or a deactivation, ends every web session of the user and revokes every
API token of theirs (see :mod:`workflow.accounts.logins`).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from .common import as_option, json_option, open_workflow, table
from .plain import emit_json

if TYPE_CHECKING:
    from ..accounts.logins import Ended
    from ..engine.workflow import Workflow

def _require_admin(user: str | None, *, target: str | None = None,
                   municipality: str | None = None) -> Workflow:
    """The workflow, if ``user`` is an administrator who may manage ``target`` (a user)
    or a user of ``municipality`` (``engine.cooperations.check_manages``)."""
    from ..engine.cooperations import check_manages
    from ..store import database as store

    wf = open_workflow()
    with store.read(wf.engine) as conn:
        check_manages(wf, conn, wf.actor(conn, user), target=target,
                      municipality=municipality)
    return wf


@click.group()
def users() -> None:
    """Users, roles and passwords (administrators)."""


@users.command("list")
@as_option
@json_option
def users_list(user: str | None, as_json: bool) -> None:
    """List the users with their role and municipality."""
    from sqlalchemy import select

    from ..engine.cooperations import managed_users
    from ..store import database as store
    from ..store import tables as t

    wf = _require_admin(user)
    u = t.user
    with store.read(wf.engine) as conn:
        mine = managed_users(wf, wf.actor(conn, user))
        q = select(u.c.id, u.c.name, u.c.role, u.c.municipality, u.c.email, u.c.active,
                   u.c.password_hash.is_not(None).label("has_password")).order_by(u.c.id)
        if mine is not None:   # an admin of one cooperation: its members' users
            q = q.where(mine)
        rows = [dict(r._mapping) for r in conn.execute(q)]
    if as_json:
        emit_json(rows)
        return
    table([[r["id"], r["name"], r["role"], r["municipality"] or "-",
            "yes" if r["has_password"] else "no"] for r in rows],
          ["id", "name", "role", "municipality", "password"])


@users.command("add")
@click.argument("user_id")
@click.option("--name", required=True)
@click.option("--role", required=True)
@click.option("--municipality", default=None)
@click.option("--email", default="")
@as_option
def users_add(user_id: str, name: str, role: str, municipality: str | None, email: str,
              user: str | None) -> None:
    """Add a user (no password until one is set)."""
    from sqlalchemy import insert
    from sqlalchemy.exc import IntegrityError

    from ..errors import InvalidData
    from ..store import database as store
    from ..store import tables as t

    wf = _require_admin(user, municipality=municipality)
    if role not in wf.definition.roles:
        raise InvalidData(f"unknown role {role!r}; known: {', '.join(wf.definition.roles)}")
    if municipality is not None and municipality not in wf.municipalities:
        raise InvalidData(f"unknown municipality {municipality!r}")
    try:
        with store.write(wf.engine) as conn:
            coop = wf.actor(conn, user).cooperation   # a limited admin's admins: limited too
            conn.execute(insert(t.user).values(id=user_id, name=name, role=role,
                                               municipality=municipality, email=email,
                                               cooperation_id=coop))
    except IntegrityError:
        raise InvalidData(f"there is already a user {user_id!r}") from None
    click.echo(f"Added {user_id} ({role}); set a password with "
               f"`workflow users set-password {user_id} --as {user}`.")


@users.command("set-password")
@click.argument("user_id")
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin.")
@as_option
def users_set_password(user_id: str, password_stdin: bool, user: str | None) -> None:
    """Set a user's password (asked for twice, or read from stdin)."""
    from ..accounts.logins import set_password

    wf = _require_admin(user, target=user_id)
    password = sys.stdin.readline().rstrip("\n") if password_stdin else click.prompt(
        "New password", hide_input=True, confirmation_prompt=True)
    ended = set_password(wf.engine, user_id, password, now=wf.clock())
    click.echo(f"Password set for {user_id}; {_ended(ended)}.")


def _ended(ended: Ended) -> str:
    return (f"{ended.sessions} web session{'' if ended.sessions == 1 else 's'} ended, "
            f"{ended.tokens} API token{'' if ended.tokens == 1 else 's'} revoked")


@users.command("deactivate")
@click.argument("user_id")
@as_option
@json_option
def users_deactivate(user_id: str, user: str | None, as_json: bool) -> None:
    """Deactivate a user: no login; every web session ends, every API token is revoked."""
    _set_active(user_id, False, user, as_json)


@users.command("activate")
@click.argument("user_id")
@as_option
@json_option
def users_activate(user_id: str, user: str | None, as_json: bool) -> None:
    """Let a deactivated user log in again (no session or token of before comes back)."""
    _set_active(user_id, True, user, as_json)


def _set_active(user_id: str, active: bool, user: str | None, as_json: bool) -> None:
    from ..accounts.logins import set_active

    wf = _require_admin(user, target=user_id)
    ended = set_active(wf.engine, user_id, active, now=wf.clock())
    if as_json:
        emit_json({"user": user_id, "active": active, "sessions_ended": ended.sessions,
                   "tokens_revoked": ended.tokens})
        return
    click.echo(f"{user_id} is {'active' if active else 'deactivated'}"
               + ("." if active else f"; {_ended(ended)}."))


@users.command("notices")
@click.argument("user_id")
@click.argument("setting", type=click.Choice(["on", "off"]))
@as_option
def users_notices(user_id: str, setting: str, user: str | None) -> None:
    """Turn a user's your-turn e-mails on or off (an administrator, or the user)."""
    from ..accounts.logins import set_turn_notices
    from ..errors import PermissionDenied
    from ..store import database as store

    wf = open_workflow()
    with store.read(wf.engine) as conn:
        actor = wf.actor(conn, user)
    if actor.role != "admin" and actor.id != user_id:
        raise PermissionDenied(f"only an administrator or {user_id} may change that")
    set_turn_notices(wf.engine, user_id, setting == "on")
    click.echo(f"{user_id}: your-turn e-mails {setting}.")


@click.group()
def tokens() -> None:
    """API tokens for integrations (administrators)."""


@tokens.command("issue")
@click.argument("user_id")
@click.option("--label", default="", help="What the token is for.")
@click.option("--days", type=int, default=None, help="Valid for this many days.")
@as_option
def tokens_issue(user_id: str, label: str, days: int | None, user: str | None) -> None:
    """Issue a token for USER_ID; it is shown once."""
    from datetime import timedelta

    from ..accounts.logins import issue_token

    wf = _require_admin(user, target=user_id)
    issued = issue_token(wf.engine, user_id, created_by=str(user), now=wf.clock(), label=label,
                         ttl=timedelta(days=days) if days else None)
    click.echo(f"Token {issued.id} for {user_id} (shown only now): {issued.token}")


@tokens.command("list")
@as_option
@json_option
def tokens_list(user: str | None, as_json: bool) -> None:
    """List the tokens (never their value)."""
    from ..accounts.logins import list_tokens

    items = list_tokens(_require_admin(user).engine)
    if as_json:
        emit_json(items)
        return
    table([[str(x["id"]), x["user_id"], x["label"], x["created_at"][:16],
            "revoked" if x["revoked_at"] else "live"] for x in items],
          ["id", "user", "label", "issued", "status"])


@tokens.command("revoke")
@click.argument("token_id", type=int)
@as_option
def tokens_revoke(token_id: int, user: str | None) -> None:
    """Revoke a token at once."""
    from ..accounts.logins import revoke_token

    wf = _require_admin(user)
    revoke_token(wf.engine, token_id, now=wf.clock())
    click.echo(f"Token {token_id} is revoked.")


COMMANDS = (users, tokens)
