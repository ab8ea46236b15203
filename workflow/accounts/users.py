"""User administration, shared by the administration page and ``workflow users``: add a
user, change their role and municipality, (de)activate them, reset their password, end
their sessions and tokens, and who may do so (:func:`may_administer`: the one place the
administrator's reach is decided).

Each change is one transaction; a refusal (an unknown role or municipality, a user id
taken, an administrator about to lock themselves out) is an error in English and Danish,
and nothing is written. A new password, a deactivation or a revocation ends every session
of the user and revokes every API token (:mod:`.logins`). A user who signs in by single
sign-on gets their role and municipality from their directory groups at every sign-in
(:mod:`.directory`), so a change here holds until then.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import ColumnElement, Connection, Engine, and_, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from ..errors import InvalidData, NotFound, PermissionDenied, Said
from ..store import database as store
from ..store import tables as t
from . import logins
from .logins import Ended

USER_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,79}")
ADMIN = "admin"


class ActorLike(Protocol):
    """Who acts (the engine's ``Actor``)."""

    @property
    def id(self) -> str: ...
    @property
    def role(self) -> str: ...
    @property
    def municipality(self) -> str | None: ...


NOT_ADMIN = Said("only an administrator may manage users and tokens",
                 "kun en administrator kan administrere brugere og nøgler")


def may_administer(actor: ActorLike, target: Mapping[str, Any] | None = None, *,
                   conn: Connection | None = None, municipality: str | None = None) -> bool:
    """Whether ``actor`` may manage users: ``target`` (a user's row), a user of
    ``municipality``, or (neither given) users in general: the page, the list. An
    administrator limited to one cooperation (``user.cooperation_id``) manages only the
    users :func:`managed_by` names; that is read through ``conn``."""
    if actor.role != ADMIN:
        return False
    scope = getattr(actor, "cooperation", None)
    if scope is None or (target is None and municipality is None):
        return True
    if conn is None:
        return False   # a limited administrator's reach cannot be judged without the members
    cm = t.cooperation_member
    if municipality is not None and conn.execute(select(cm.c.municipality_id).where(
            cm.c.cooperation_id == scope, cm.c.municipality_id == municipality)).first() is None:
        return False
    if target is not None:   # the one rule, as the lists apply it
        return conn.execute(select(t.user.c.id).where(
            t.user.c.id == target["id"], managed_by(scope))).first() is not None
    return True


def managed_by(scope: str) -> ColumnElement[bool]:
    """The users an administrator limited to cooperation ``scope`` manages, as a filter on
    ``user``: those of its member municipalities, and its own administrators."""
    u, cm = t.user, t.cooperation_member
    members = select(cm.c.municipality_id).where(cm.c.cooperation_id == scope)
    return or_(u.c.municipality.in_(members),
               and_(u.c.municipality.is_(None), u.c.cooperation_id == scope))


def require_admin(actor: ActorLike, target: Mapping[str, Any] | None = None, *,
                  conn: Connection | None = None, municipality: str | None = None) -> None:
    if actor.role != ADMIN:
        raise PermissionDenied(NOT_ADMIN)
    if not may_administer(actor, target, conn=conn, municipality=municipality):
        raise PermissionDenied(Said(
            f"{actor.id} manages the users of {getattr(actor, 'cooperation', None)} only",
            "du administrerer kun brugerne i dit eget samarbejde"))


def _target(conn: Connection, actor: ActorLike, user_id: str) -> dict[str, Any]:
    row = conn.execute(select(t.user).where(t.user.c.id == user_id)).first()
    if row is None:
        raise NotFound.user(user_id)
    target = dict(row._mapping)
    require_admin(actor, target, conn=conn)
    return target


def _check(conn: Connection, role: str, municipality: str | None,
           roles: Collection[str]) -> None:
    if role not in roles:
        raise InvalidData(Said(f"unknown role {role!r}; known: {', '.join(roles)}",
                               f"rollen »{role}« findes ikke"))
    if municipality is not None and conn.execute(select(t.municipality.c.id).where(
            t.municipality.c.id == municipality)).first() is None:
        raise InvalidData(Said(f"unknown municipality {municipality!r}",
                               f"kommunen »{municipality}« findes ikke"))


def add_user(engine: Engine, actor: ActorLike, user_id: str, *, name: str, role: str,
             municipality: str | None, email: str = "", roles: Collection[str]) -> None:
    """A new user, with no password until one is set (or single sign-on links none:
    a user signing in by SSO is made at their first sign-in)."""
    require_admin(actor)
    user_id, name, email = user_id.strip(), name.strip(), email.strip()
    if not USER_ID.fullmatch(user_id):
        raise InvalidData(Said(
            f"a user id is 1-80 letters, digits and . _ @ -, not {user_id!r}",
            "et brugernavn er 1-80 bogstaver (a-z), tal og . _ @ -, uden mellemrum"))
    if not name or len(name) > 200 or len(email) > 200:
        raise InvalidData(Said("a user needs a name (at most 200 characters)",
                               "en bruger skal have et navn (højst 200 tegn)"))
    try:
        with store.write(engine) as conn:
            _check(conn, role, municipality or None, roles)
            require_admin(actor, conn=conn, municipality=municipality or None)
            conn.execute(insert(t.user).values(id=user_id, name=name, role=role,
                                               municipality=municipality or None,
                                               # a limited administrator's users: its own
                                               cooperation_id=getattr(actor, "cooperation",
                                                                      None),
                                               email=email))
    except IntegrityError:
        raise InvalidData(Said(f"there is already a user {user_id!r}",
                               f"der er allerede en bruger »{user_id}«")) from None


def change_user(engine: Engine, actor: ActorLike, user_id: str, *, role: str,
                municipality: str | None, roles: Collection[str]) -> None:
    """A user's role and municipality (an administrator keeps their own role)."""
    with store.write(engine) as conn:
        _target(conn, actor, user_id)
        _check(conn, role, municipality or None, roles)
        require_admin(actor, conn=conn, municipality=municipality or None)
        if user_id == actor.id and role != actor.role:
            raise InvalidData(Said("you cannot change your own role",
                                   "du kan ikke ændre din egen rolle"))
        conn.execute(update(t.user).where(t.user.c.id == user_id)
                     .values(role=role, municipality=municipality or None))


def set_active(engine: Engine, actor: ActorLike, user_id: str, active: bool, *,
               now: datetime) -> Ended:
    """(De)activate a user; never oneself."""
    with store.read(engine) as conn:
        _target(conn, actor, user_id)
    if user_id == actor.id and not active:
        raise InvalidData(Said("you cannot deactivate yourself",
                               "du kan ikke deaktivere dig selv"))
    return logins.set_active(engine, user_id, active, now=now)


def reset_password(engine: Engine, actor: ActorLike, user_id: str, password: str | None, *,
                   now: datetime, keep_session: str | None = None) -> tuple[str | None, Ended]:
    """Set the password typed, or (None) a new one-time password, returned to be shown
    this once, which the user must change at their next login; the user's sessions end
    (but ``keep_session``) and tokens are revoked."""
    with store.read(engine) as conn:
        _target(conn, actor, user_id)
    made = None if password else secrets.token_urlsafe(12)
    ended = logins.set_password(engine, user_id, password or str(made), now=now,
                                keep_session=keep_session, one_time=made is not None)
    return made, ended


def revoke_all(engine: Engine, actor: ActorLike, user_id: str, *, now: datetime,
               keep_session: str | None = None) -> Ended:
    """End every session of the user (but ``keep_session``) and revoke every API token."""
    with store.write(engine) as conn:
        _target(conn, actor, user_id)
        return logins.end_credentials(conn, user_id, now, keep=keep_session)
