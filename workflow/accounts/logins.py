"""Accounts: passwords (argon2), rate-limited logins, web sessions and API tokens (both
stored as sha256).

Used by the web layer and the CLI alike. A token is shown once, when it is issued; the
database keeps only its hash, so a leaked database does not leak working tokens. A web
session is a random id in a signed cookie; the database keeps its hash, whose it is and
whether it still holds, so a session ends on the server: at logout, and for all of a
user's sessions at a password change or deactivation (which also revoke all the user's API
tokens, issued ones included: a credential made while the old password held is not trusted
after it).

Logins are limited by address: an address that has failed :data:`FAILED_LIMIT` times for an
account within :data:`FAILED_WINDOW` waits before it may try that account again, and one that
has failed :data:`ADDRESS_LIMIT` times, for any accounts, waits before it may try any, so a
stranger cannot lock a user out. The check, the count and the attempt's record are one
atomic step: on PostgreSQL the attempts of one address take turns on an advisory lock, on
SQLite on the write lock. Every check costs one argon2 verification, whether or not the
user exists.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import Connection, Engine, delete, insert, or_, select, text, update
from sqlalchemy.exc import IntegrityError

from ..errors import AuthError, InvalidData, NotFound, RateLimited, Said
from ..store import database as store
from ..store import tables as t

FAILED_LIMIT = 5                       # failed logins for an account from one address ...
FAILED_WINDOW = timedelta(minutes=15)  # ... within this window, then wait
ADDRESS_LIMIT = 20                     # failed logins from one address, for any accounts
SESSION_TTL = timedelta(hours=8)       # a web session lasts a working day from its login
KEEP = timedelta(days=30)  # login attempts, and tokens after they ended, are kept this long


@cache
def _hasher() -> Any:
    from argon2 import PasswordHasher

    return PasswordHasher()


MAX_PASSWORD = 200   # characters of a password one sets


@cache
def _dummy_hash() -> str:
    """A hash of no one's password, made as a real one is: what a login for a user who
    does not exist (or has no password, or is inactive) is checked against, so that it
    takes as long as a wrong password for one who does."""
    return str(_hasher().hash(secrets.token_urlsafe(16)))


def hash_password(password: str) -> str:
    if len(password) < 4:
        raise InvalidData(Said("a password needs at least 4 characters",
                               "en adgangskode skal have mindst 4 tegn"))
    if len(password) > MAX_PASSWORD or not password.isprintable():
        raise InvalidData(Said(f"a password is at most {MAX_PASSWORD} characters that can be "
                               f"typed (no control characters)",
                               f"en adgangskode er højst {MAX_PASSWORD} tegn, der kan skrives "
                               f"(ingen kontroltegn)"))
    return str(_hasher().hash(password))


def _verify(stored: str | None, password: str) -> bool:
    """Whether ``password`` is the one ``stored`` is a hash of; the same argon2 work when
    there is no stored hash (it checks against :func:`_dummy_hash`, and says no)."""
    from argon2.exceptions import InvalidHashError, VerificationError

    try:
        ok = bool(_hasher().verify(stored or _dummy_hash(), password))
    except (VerificationError, InvalidHashError):
        return False
    return ok and stored is not None


@dataclass(frozen=True)
class Ended:
    """What a password change or a deactivation ended."""

    sessions: int
    tokens: int


def set_password(engine: Engine, user_id: str, password: str, *, now: datetime | None = None,
                 keep_session: str | None = None, one_time: bool = False) -> Ended:
    """Set a user's password (``one_time``: one made for them, which they must change at
    their next login); every session of the user ends (but ``keep_session``, the session
    id of whoever changed their own password) and every API token is revoked."""
    now = now or datetime.now(UTC)
    digest = hash_password(password)
    with store.write(engine) as conn:
        res = conn.execute(update(t.user).where(t.user.c.id == user_id)
                           .values(password_hash=digest, must_change_password=one_time or None))
        if res.rowcount != 1:
            raise NotFound.user(user_id)
        return _end_credentials(conn, user_id, now, keep=keep_session)


def must_change_password(engine: Engine, user_id: str) -> bool:
    """Whether the user's password is a one-time one they must change."""
    with store.read(engine) as conn:
        got = conn.execute(select(t.user.c.must_change_password)
                           .where(t.user.c.id == user_id)).scalar()
    return got is True


def change_own_password(engine: Engine, user_id: str, current: str, new: str, *,
                        client: str, now: datetime, keep_session: str | None) -> Ended:
    """The user's own new password, for the one they give (checked as a login is, and
    counted as one: a wrong one is an AuthError, too many a RateLimited); it must differ
    from it. Their other sessions end and their API tokens are revoked."""
    authenticate(engine, user_id, current, client=client, now=now)
    if new == current:
        raise InvalidData(Said("the new password must differ from the one it replaces",
                               "den nye adgangskode skal være en anden end den gamle"))
    return set_password(engine, user_id, new, now=now, keep_session=keep_session)


def set_active(engine: Engine, user_id: str, active: bool, *,
               now: datetime | None = None) -> Ended:
    """(De)activate a user; deactivation ends every session and revokes every API token
    of the user (activating again brings none of them back)."""
    now = now or datetime.now(UTC)
    with store.write(engine) as conn:
        res = conn.execute(update(t.user).where(t.user.c.id == user_id).values(active=active))
        if res.rowcount != 1:
            raise NotFound.user(user_id)
        return Ended(0, 0) if active else _end_credentials(conn, user_id, now)


def set_turn_notices(engine: Engine, user_id: str, on: bool) -> None:
    """Whether the user gets an e-mail when a step makes it their turn (the default: yes)."""
    with store.write(engine) as conn:
        res = conn.execute(update(t.user).where(t.user.c.id == user_id)
                           .values(turn_notices=on))
        if res.rowcount != 1:
            raise NotFound.user(user_id)


def turn_notices(engine: Engine, user_id: str) -> bool:
    """Whether the user gets the your-turn e-mails."""
    with store.read(engine) as conn:
        got = conn.execute(select(t.user.c.turn_notices).where(t.user.c.id == user_id)).first()
    if got is None:
        raise NotFound.user(user_id)
    return got[0] is not False


def end_credentials(conn: Connection, user_id: str, now: datetime, *,
                    keep: str | None = None) -> Ended:
    """End every session of the user (but ``keep``, a session id) and revoke every API
    token, in the caller's transaction."""
    return _end_credentials(conn, user_id, now, keep=keep)


def _end_credentials(conn: Connection, user_id: str, now: datetime, *,
                     keep: str | None = None) -> Ended:
    ws, at = t.web_session, t.api_token
    live = [ws.c.user_id == user_id, ws.c.revoked_at.is_(None)]  # (expired: pruned soon)
    if keep:
        live.append(ws.c.id != _digest(keep))
    sessions = conn.execute(update(ws).where(*live).values(revoked_at=now)).rowcount
    tokens = conn.execute(update(at).where(at.c.user_id == user_id, at.c.revoked_at.is_(None))
                          .values(revoked_at=now)).rowcount
    return Ended(int(sessions), int(tokens))


def _client(client: str) -> str:
    return "".join(ch for ch in client if ch.isprintable())[:100]


def authenticate(engine: Engine, username: str, password: str, *, client: str,
                 now: datetime) -> str:
    """The user id for a correct password; AuthError or RateLimited otherwise.

    Every attempt is logged, before its password is checked (as a failure, until it is
    found right), so that parallel attempts count each other; an attempt made while locked
    out is logged as such and does not extend the lock-out. A successful login prunes
    what is no longer needed (:func:`prune`).
    """
    if not username or len(username) > 80 or not username.isprintable():
        raise AuthError("wrong user name or password")  # no such user can exist
    client = _client(client)
    _dummy_hash()  # made before the first check, not in it
    attempt, stored = _attempt(engine, username, client, now)
    if not _verify(stored, password):
        raise AuthError("wrong user name or password")
    la = t.login_attempt
    with store.write(engine, shown=False) as conn:  # the attempts are on no page
        conn.execute(update(la).where(la.c.id == attempt).values(ok=True))
        _prune(conn, now)
    return username


def _attempt(engine: Engine, username: str, client: str, now: datetime
             ) -> tuple[int, str | None]:
    """Log an attempt, and the stored hash to check it against (None: the user has no
    password, is inactive or does not exist); RateLimited (logged) when locked out."""
    la, u = t.login_attempt, t.user
    failed = [la.c.ok.is_(False), la.c.locked.is_(False), la.c.at > now - FAILED_WINDOW,
              la.c.client == client]
    locked: RateLimited | None = None
    stored: str | None = None
    with store.write(engine, shown=False) as conn:  # the attempts are on no page
        if not store.is_sqlite(engine):  # SQLite: the write lock is held from BEGIN on
            conn.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
                         {"key": "workflow.login " + client})
        for where, limit, whom in (([la.c.username == username], FAILED_LIMIT,
                                    f"for {username!r}"),
                                   ([], ADDRESS_LIMIT, "from this address")):
            recent = conn.execute(select(la.c.at).where(*failed, *where)
                                  .order_by(la.c.at.desc()).limit(limit)).scalars().all()
            if len(recent) < limit:
                continue
            wait = recent[-1] + FAILED_WINDOW - now  # until the oldest of them has left
            seconds = int(wait.total_seconds()) + 1
            if locked is None or seconds > locked.retry_after:
                locked = RateLimited(f"too many failed logins {whom}; try again in "
                                     f"{max(1, int(wait.total_seconds() // 60) + 1)} minutes",
                                     retry_after=seconds)
        if locked is None:
            row = conn.execute(select(u.c.password_hash, u.c.active)
                               .where(u.c.id == username)).first()
            stored = row.password_hash if row is not None and row.active else None
        attempt = conn.execute(insert(la).values(
            username=username, client=client, at=now, ok=False, locked=locked is not None)
            .returning(la.c.id)).scalar_one()
    if locked is not None:
        raise locked
    return int(attempt), stored


def prune(engine: Engine, *, now: datetime) -> dict[str, int]:
    """Delete what is no longer needed: login attempts older than :data:`KEEP` and API
    tokens expired or revoked longer ago than that (web sessions past their expiry go
    whenever one begins: :func:`start_session`). How many of each went."""
    with store.write(engine, shown=False) as conn:
        return _prune(conn, now)


def _prune(conn: Connection, now: datetime) -> dict[str, int]:
    la, at = t.login_attempt, t.api_token
    old = now - KEEP
    attempts = conn.execute(delete(la).where(la.c.at < old)).rowcount
    tokens = conn.execute(delete(at).where(or_(at.c.expires_at < old,
                                               at.c.revoked_at < old))).rowcount
    return {"login_attempt": int(attempts), "api_token": int(tokens)}


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# ------------------------------------------------------------------ web sessions
# A session is timed by the real clock, not the cases' (which WORKFLOW_NOW may stop, or a
# test move by months): a clock stood still must keep no session alive for ever. ``now``
# below is that clock's (see security.session_clock).
def wall_clock() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Session:
    """A live web session: whose it is, what it carries, until when it holds."""

    user_id: str
    data: dict[str, Any]
    expires_at: datetime


def start_session(engine: Engine, user_id: str, *, now: datetime, client: str = "",
                  ending: str | None = None, ttl: timedelta = SESSION_TTL) -> str:
    """A new session for ``user_id``: its id, for the cookie (the database keeps only its
    hash); the session ``ending`` (the one logged in before, if any) ends with it, and the
    sessions past their expiry are deleted."""
    sid = secrets.token_urlsafe(32)
    ws = t.web_session
    with store.write(engine, shown=False) as conn:  # sessions are on no page
        conn.execute(delete(ws).where(ws.c.expires_at <= now))
        if ending:
            conn.execute(update(ws).where(ws.c.id == _digest(ending),
                                          ws.c.revoked_at.is_(None)).values(revoked_at=now))
        conn.execute(insert(ws).values(id=_digest(sid), user_id=user_id, client=_client(client),
                                       created_at=now, expires_at=now + ttl, data={}))
    return sid


def find_session(engine: Engine, sid: str, *, now: datetime) -> Session | None:
    """The live session ``sid`` is the id of; None for one unknown, ended or expired."""
    ws = t.web_session
    with store.read(engine) as conn:
        row = conn.execute(select(ws.c.user_id, ws.c.data, ws.c.expires_at).where(
            ws.c.id == _digest(sid), ws.c.revoked_at.is_(None), ws.c.expires_at > now)).first()
    if row is None:
        return None
    return Session(str(row.user_id), dict(row.data or {}), row.expires_at)


def save_session(engine: Engine, sid: str, data: dict[str, Any], *, now: datetime) -> None:
    """Keep what a live session carries (the messages it is to show)."""
    ws = t.web_session
    with store.write(engine, shown=False) as conn:  # shown only with the page that shows it
        conn.execute(update(ws).where(ws.c.id == _digest(sid), ws.c.revoked_at.is_(None),
                                      ws.c.expires_at > now).values(data=data))


def end_session(engine: Engine, sid: str, *, now: datetime) -> bool:
    """End a session (logout); whether it was live."""
    ws = t.web_session
    with store.write(engine, shown=False) as conn:
        res = conn.execute(update(ws).where(ws.c.id == _digest(sid), ws.c.revoked_at.is_(None))
                           .values(revoked_at=now))
    return bool(res.rowcount)


# -------------------------------------------------------------------- API tokens
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
