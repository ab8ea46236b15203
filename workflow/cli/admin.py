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
    from ..engine.workflow import Actor, Workflow

def _require_admin(user: str | None, *, target: str | None = None,
                   municipality: str | None = None) -> Workflow:
    return _admin(user, target=target, municipality=municipality)[0]


def _admin(user: str | None, *, target: str | None = None,
           municipality: str | None = None) -> tuple[Workflow, Actor]:
    """The workflow and the administrator ``user``, if it may manage ``target`` (a user) or
    a user of ``municipality`` (``accounts.users.may_administer``)."""
    from sqlalchemy import select

    from ..accounts.users import require_admin
    from ..store import database as store
    from ..store import tables as t

    wf = open_workflow()
    with store.read(wf.engine) as conn:
        actor = wf.actor(conn, user)
        row = None if target is None else conn.execute(
            select(t.user).where(t.user.c.id == target)).first()
        require_admin(actor, None if row is None else dict(row._mapping), conn=conn,
                      municipality=municipality)
    return wf, actor


@click.group()
def users() -> None:
    """Users, roles and passwords (administrators)."""


@users.command("list")
@as_option
@json_option
def users_list(user: str | None, as_json: bool) -> None:
    """List the users with their role and municipality."""
    from sqlalchemy import select

    from ..accounts.users import managed_by
    from ..store import database as store
    from ..store import tables as t

    wf = _require_admin(user)
    u = t.user
    with store.read(wf.engine) as conn:
        scope = wf.actor(conn, user).cooperation
        mine = None if scope is None else managed_by(scope)
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
    from ..accounts.users import add_user

    wf, actor = _admin(user)
    add_user(wf.engine, actor, user_id, name=name, role=role, municipality=municipality,
             email=email, roles=wf.definition.roles)
    click.echo(f"Added {user_id} ({role}); set a password with "
               f"`workflow users set-password {user_id} --as {user}`.")


@users.command("change")
@click.argument("user_id")
@click.option("--role", required=True)
@click.option("--municipality", default=None, help="None given: no municipality.")
@as_option
def users_change(user_id: str, role: str, municipality: str | None, user: str | None) -> None:
    """Change a user's role and municipality."""
    from ..accounts.users import change_user

    wf, actor = _admin(user)
    change_user(wf.engine, actor, user_id, role=role, municipality=municipality,
                roles=wf.definition.roles)
    click.echo(f"{user_id} is now {role}, {municipality or 'no municipality'}.")


@users.command("revoke")
@click.argument("user_id")
@as_option
def users_revoke(user_id: str, user: str | None) -> None:
    """End every web session of a user and revoke every API token of theirs."""
    from ..accounts.users import revoke_all

    wf, actor = _admin(user)
    click.echo(f"{user_id}: {_ended(revoke_all(wf.engine, actor, user_id, now=wf.clock()))}.")


@users.command("set-password")
@click.argument("user_id")
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin.")
@as_option
def users_set_password(user_id: str, password_stdin: bool, user: str | None) -> None:
    """Set a user's password (asked for twice, or read from stdin; an empty line there:
    a new one is made and shown once)."""
    from ..accounts.users import reset_password

    wf, actor = _admin(user)
    password = sys.stdin.readline().rstrip("\n") if password_stdin else click.prompt(
        "New password", hide_input=True, confirmation_prompt=True)
    made, ended = reset_password(wf.engine, actor, user_id, password, now=wf.clock())
    if made:  # none given (an empty line on stdin): one was made
        click.echo(f"New password for {user_id} (shown only now): {made}")
        click.echo("It is a one-time password: they choose their own at their next login.")
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
    from ..accounts.users import set_active

    wf, actor = _admin(user)
    ended = set_active(wf.engine, actor, user_id, active, now=wf.clock())
    if as_json:
        emit_json({"user": user_id, "active": active, "sessions_ended": ended.sessions,
                   "tokens_revoked": ended.tokens})
        return
    click.echo(f"{user_id} is {'active' if active else 'deactivated'}"
               + ("." if active else f"; {_ended(ended)}."))


@users.command("groups")
@as_option
@json_option
def users_groups(user: str | None, as_json: bool) -> None:
    """The directory groups single sign-on maps to roles and municipalities (set by the
    installation file's directory: groups:)."""
    from ..accounts.directory import list_groups
    from ..store import database as store

    wf = _require_admin(user)
    with store.read(wf.engine) as conn:
        rows = list_groups(conn)
    if as_json:
        emit_json(rows)
        return
    table([[r["group"], r["role"], r["municipality"] or "-", r["cooperation"] or "-"]
           for r in rows], ["group", "role", "municipality", "cooperation"])


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
