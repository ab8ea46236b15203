"""The web application's sessions: server-side sessions and CSRF tokens.

The session cookie (``workflow_session``: signed, HttpOnly, SameSite=Lax)
carries only a random session id. A logged-in session is a row of ``web_session`` (under
the id's sha256: see :mod:`workflow.accounts.logins`), looked up on every request that can use it
(expired, ended or unknown: the request is anonymous), so logging out, a password change
and a deactivation end it on the server, at once, for every copy of the cookie. A session
lasts :data:`~workflow.accounts.logins.SESSION_TTL` from its login by the real clock, not by the
cases' (which ``WORKFLOW_NOW`` may stop). What a
session carries (the messages to show after a form) is kept in that row, never in the
cookie. A visitor who is not logged in gets an id too (for the login form's CSRF token)
but no row. The CSRF token is derived from the session id (an HMAC), so it is new with
every session and needs no storage.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import secrets
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from itsdangerous import BadSignature, TimestampSigner
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..accounts import logins as accounts
from ..errors import AuthError, PasswordChangeRequired, Said

if TYPE_CHECKING:

    from ..engine.workflow import Workflow

COOKIE = "workflow_session"
STATIC = "/static"  # the pages' style sheet and script (templates/static)
SESSIONLESS = ("/api/", "/docs/", STATIC + "/")
log = logging.getLogger("workflow.web")


class ServerSession(dict[str, Any]):
    """``request.session``: what the session carries, with ``"user"`` (read only: the
    user is the session row's) when logged in. ``clear()`` ends a logged-in session."""

    def __init__(self, sid: str | None, csrf_key: bytes) -> None:
        super().__init__()
        self.sid = sid                 # the id in the cookie (None: no cookie yet)
        self.user: str | None = None   # whose session it is, from its row
        self.csrf_key = csrf_key
        self.used = False              # a CSRF token was given out: the id needs a cookie
        self.ended = False             # ended in this request: the cookie goes
        self.pending_end: str | None = None  # a session to end when the answer goes
        self.error: BaseException | None = None  # the lookup failed: raised where used
        self._saved = "{}"

    def load(self, user: str, data: dict[str, Any]) -> None:
        super().update(data)
        self["user"] = self.user = user
        self._saved = self._dump()

    def begin(self, sid: str, user: str) -> None:
        super().clear()
        self.sid, self.user, self.used, self.ended = sid, user, True, False
        self["user"] = user
        self.pending_end = None
        self._saved = self._dump()

    def clear(self) -> None:
        """Forget everything; a logged-in session ends (when the answer goes)."""
        super().clear()
        if self.user is not None:
            self.pending_end, self.ended = self.sid, True
            self.user = self.sid = None

    def _dump(self) -> str:
        return json.dumps(self.data(), sort_keys=True, default=str)

    def data(self) -> dict[str, Any]:
        return {k: v for k, v in self.items() if k != "user"}

    @property
    def changed(self) -> bool:
        return self._dump() != self._saved


def session_clock(app: Any) -> Callable[[], datetime]:
    """The clock sessions are timed by: the real one (``app.state.session_clock``; a test
    may set its own), not the cases' clock."""
    state = getattr(app, "state", None)
    clock: Callable[[], datetime] = getattr(state, "session_clock", accounts.wall_clock)
    return clock


def session(request: Request) -> ServerSession:
    found = request.scope.get("session")
    if not isinstance(found, ServerSession):
        raise RuntimeError("the Sessions middleware is not installed")
    return found


ONE_TIME = Said("the password is a one-time one: choose your own first (Profil, on the web)",
                "Din adgangskode er en engangskode. Vælg din egen, før du går videre")
PASSWORD_PAGES = ("/profile", "/profile/password")   # what a one-time password reaches


def session_user(request: Request) -> str:
    """The logged-in user; AuthError for a request with no live session, and
    PasswordChangeRequired for one logged in with a one-time password, but on the pages
    where it is changed."""
    s = session(request)
    if s.error is not None:  # the database could not say (a 503, where it is handled)
        raise s.error
    if not s.user:
        raise AuthError("log in first")
    if s.get("must_change_password") and relative_path(request.scope) not in PASSWORD_PAGES:
        raise PasswordChangeRequired(ONE_TIME)
    return s.user


def csrf_token(request: Request) -> str:
    """The session's CSRF token (a session id is made for a visitor who has none)."""
    s = session(request)
    if s.sid is None:
        s.sid = secrets.token_urlsafe(32)
    s.used = True
    return _csrf(s.csrf_key, s.sid)


def csrf_ok(request: Request, token: str) -> bool:
    s = session(request)
    if s.error is not None:
        raise s.error
    # no session yet accepts no form: an empty token must not match anything
    return s.sid is not None and bool(token) and token.isascii() and hmac.compare_digest(
        _csrf(s.csrf_key, s.sid), token)


def _csrf(key: bytes, sid: str) -> str:
    digest = hmac.new(key, sid.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def session_id(request: Request) -> str | None:
    """The id of the request's logged-in session, or None."""
    s = session(request)
    return s.sid if s.user else None


def begin_session(request: Request, user: str, *, client: str = "") -> None:
    """Log ``user`` in: a new session (a new id, a new CSRF token); one logged in before
    on this browser ends."""
    s = session(request)
    wf: Workflow = request.app.state.wf
    sid = accounts.start_session(wf.engine, user, now=session_clock(request.app)(),
                                 client=client, ending=s.sid if s.user else None)
    s.begin(sid, user)


def end_session(request: Request) -> None:
    """Log out: the session ends on the server now, and its cookie goes."""
    s = session(request)
    wf: Workflow = request.app.state.wf
    if s.user and s.sid:
        accounts.end_session(wf.engine, s.sid, now=session_clock(request.app)())
    s.clear()
    s.pending_end = None  # ended already


class Sessions:
    """ASGI middleware: ``scope["session"]``, from the signed cookie and the database."""

    def __init__(self, app: ASGIApp, *, secret: str, https_only: bool = False) -> None:
        self.app = app
        self.max_age = int(accounts.SESSION_TTL.total_seconds())
        self.signer = TimestampSigner(secret, salt="workflow.session")
        self.csrf_key = hashlib.sha256(("workflow.csrf " + secret).encode()).digest()
        self.flags = "path=/; httponly; samesite=lax" + ("; secure" if https_only else "")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = self._sid(scope)
        s = ServerSession(incoming, self.csrf_key)
        scope["session"] = s
        app = scope.get("app")
        wf: Workflow | None = getattr(app.state, "wf", None) if app is not None else None
        clock = session_clock(app)
        path = relative_path(scope)
        if incoming is not None and wf is not None and not (
                path.startswith(SESSIONLESS) or path in ("/docs", "/openapi.json")):
            try:
                found = await run_in_threadpool(accounts.find_session, wf.engine, incoming,
                                                now=clock())
            except Exception as exc:  # noqa: BLE001 - raised again where the session is used
                s.error = exc
            else:
                if found is not None:
                    s.load(found.user_id, found.data)

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                if wf is not None:
                    await self._settle(wf, s, clock())
                cookie = self._cookie(s, incoming)
                if cookie:
                    MutableHeaders(scope=message).append("set-cookie", cookie)
            await send(message)

        await self.app(scope, receive, send_with_cookie)

    def _sid(self, scope: Scope) -> str | None:
        value = _cookies(Headers(scope=scope)).get(COOKIE)
        if not value:
            return None
        try:
            return self.signer.unsign(value, max_age=self.max_age).decode()
        except (BadSignature, UnicodeDecodeError):
            return None

    async def _settle(self, wf: Workflow, s: ServerSession, now: datetime) -> None:
        """End a session cleared in the request, or keep what it carries now."""
        try:
            if s.pending_end:
                await run_in_threadpool(accounts.end_session, wf.engine, s.pending_end,
                                        now=now)
                s.pending_end = None
            elif s.user and s.sid and s.changed:
                await run_in_threadpool(accounts.save_session, wf.engine, s.sid, s.data(),
                                        now=now)
        except Exception as exc:  # noqa: BLE001 - the answer goes on; a message may be lost
            log.warning("cannot keep the session: %s", exc)

    def _cookie(self, s: ServerSession, incoming: str | None) -> str | None:
        if s.sid == incoming:
            return None
        if s.sid is not None and (s.user or s.used):
            value = self.signer.sign(s.sid).decode()
            return f"{COOKIE}={value}; Max-Age={self.max_age}; {self.flags}"
        if s.ended:
            return f"{COOKIE}=; Max-Age=0; expires=Thu, 01 Jan 1970 00:00:00 GMT; {self.flags}"
        return None


def _cookies(headers: Headers) -> dict[str, str]:
    found: dict[str, str] = {}
    for header in headers.getlist("cookie"):
        for part in header.split(";"):
            name, sep, value = part.strip().partition("=")
            if sep and name not in found:
                found[name] = value
    return found


def relative_path(scope: Scope) -> str:
    path, root = str(scope.get("path", "")), str(scope.get("root_path", ""))
    return (path[len(root):] or "/") if root and path.startswith(root) else path
