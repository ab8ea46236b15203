"""Accounts: passwords (argon2), rate-limited logins, and API tokens (stored as sha256).

Used by the web layer and the CLI alike. A token is shown once, when it is issued; the
database keeps only its hash, so a leaked database does not leak working tokens.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import Engine, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from . import store
from . import tables as t
from .errors import AuthError, InvalidData, NotFound, RateLimited, Said

FAILED_LIMIT = 5                       # failed logins per user ...
FAILED_WINDOW = timedelta(minutes=15)  # ... within this window, then wait


@cache
def _hasher() -> Any:
    from argon2 import PasswordHasher

    return PasswordHasher()


def hash_password(password: str) -> str:
    if len(password) < 4:
        raise InvalidData(Said("a password needs at least 4 characters",
                               "en adgangskode skal have mindst 4 tegn"))
    return str(_hasher().hash(password))


def _verify(stored: str | None, password: str) -> bool:
    from argon2.exceptions import InvalidHashError, VerificationError

    if not stored:
        _hasher().hash(password)  # same time whether or not the user has a password
        return False
    try:
        return bool(_hasher().verify(stored, password))
    except (VerificationError, InvalidHashError):
        return False


def set_password(engine: Engine, user_id: str, password: str) -> None:
    with store.write(engine) as conn:
        res = conn.execute(update(t.user).where(t.user.c.id == user_id)
                           .values(password_hash=hash_password(password)))
        if res.rowcount != 1:
            raise NotFound.user(user_id)


def authenticate(engine: Engine, username: str, password: str, *, client: str,
                 now: datetime) -> str:
    """The user id for a correct password; AuthError or RateLimited otherwise.

    Every attempt is logged; an attempt made while locked out is logged as such and does
    not extend the lock-out.
    """
    if not username or len(username) > 80 or not username.isprintable():
        raise AuthError("wrong user name or password")  # no such user can exist
    client = "".join(ch for ch in client if ch.isprintable())[:100]
    la, u = t.login_attempt, t.user
    locked: RateLimited | None = None
    with store.write(engine, shown=False) as conn:  # the attempts are on no page
        failed = conn.execute(select(func.count(), func.min(la.c.at)).where(
            la.c.username == username, la.c.ok.is_(False), la.c.locked.is_(False),
            la.c.at > now - FAILED_WINDOW)).one()
        ok = False
        if failed[0] >= FAILED_LIMIT:
            wait = failed[1] + FAILED_WINDOW - now
            locked = RateLimited(f"too many failed logins for {username!r}; try again in "
                                 f"{max(1, int(wait.total_seconds() // 60) + 1)} minutes",
                                 retry_after=int(wait.total_seconds()) + 1)
        else:
            row = conn.execute(select(u.c.password_hash, u.c.active)
                               .where(u.c.id == username)).first()
            ok = row is not None and row.active and _verify(row.password_hash, password)
        conn.execute(insert(la).values(username=username, client=client, at=now, ok=ok,
                                       locked=locked is not None))
    if locked is not None:
        raise locked
    if not ok:
        raise AuthError("wrong user name or password")
    return username


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Issued:
    id: int
    token: str
    expires_at: datetime | None


def issue_token(engine: Engine, user_id: str, *, created_by: str, now: datetime,
                label: str = "", ttl: timedelta | None = None) -> Issued:
    token = "wf_" + secrets.token_urlsafe(32)
    expires = now + ttl if ttl else None
    with store.write(engine) as conn:
        if conn.execute(select(t.user.c.id).where(t.user.c.id == user_id)).first() is None:
            raise NotFound.user(user_id)
        token_id = conn.execute(insert(t.api_token).values(
            user_id=user_id, token_sha256=_digest(token), label=label, created_at=now,
            created_by=created_by, expires_at=expires).returning(t.api_token.c.id)).scalar_one()
    return Issued(int(token_id), token, expires)


def user_for_token(engine: Engine, token: str, *, now: datetime) -> str:
    """The user a live token belongs to; AuthError for an unknown, expired or revoked one."""
    at, u = t.api_token, t.user
    with store.read(engine) as conn:
        row = conn.execute(select(at.c.id, at.c.user_id, at.c.expires_at, at.c.revoked_at,
                                  u.c.active).join(u, u.c.id == at.c.user_id)
                           .where(at.c.token_sha256 == _digest(token))).first()
    if row is None or row.revoked_at is not None or not row.active or (
            row.expires_at and row.expires_at <= now):
        raise AuthError("the token is unknown, expired or revoked, or its user is inactive")
    return str(row.user_id)


def revoke_token(engine: Engine, token_id: int, *, now: datetime) -> None:
    at = t.api_token
    with store.write(engine) as conn:
        res = conn.execute(update(at).where(at.c.id == token_id, at.c.revoked_at.is_(None))
                           .values(revoked_at=now))
        if res.rowcount != 1:
            raise NotFound(Said(f"no live token {token_id}",
                                f"nøgle {token_id} findes ikke eller er spærret"))


def list_tokens(engine: Engine, user_id: str | None = None) -> list[dict[str, Any]]:
    at = t.api_token
    q = select(at.c.id, at.c.user_id, at.c.label, at.c.created_at, at.c.created_by,
               at.c.expires_at, at.c.revoked_at).order_by(at.c.id)
    if user_id:
        q = q.where(at.c.user_id == user_id)
    with store.read(engine) as conn:
        return [{k: (v.isoformat() if isinstance(v, datetime) else v)
                 for k, v in r._mapping.items()} for r in conn.execute(q)]


def session_secret(engine: Engine) -> str:
    """The key that signs session cookies: made once per installation, kept in the
    database (so every worker and restart shares it), never in the repository."""
    st = t.setting
    with store.write(engine) as conn:
        value = conn.execute(select(st.c.value).where(st.c.key == "session_secret")).scalar()
        if value is None:
            value = secrets.token_urlsafe(48)
            try:
                with conn.begin_nested():
                    conn.execute(insert(st).values(key="session_secret", value=value))
            except IntegrityError:  # another worker made it a moment ago: use theirs
                value = conn.execute(select(st.c.value)
                                     .where(st.c.key == "session_secret")).scalar_one()
    return str(value)
