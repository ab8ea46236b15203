"""The web application's guard: the security headers and the check that a form comes
from this site; :func:`install` puts it and the sessions (:mod:`.sessions`) around the app.

Every answer has a Content-Security-Policy (this origin only: no inline
script or style, no frames, no plug-ins; ``/docs`` may also run its own inline script,
allowed by its hash), ``X-Frame-Options: DENY``, ``X-Content-Type-Options: nosniff``,
``Referrer-Policy: same-origin`` and, unless it says otherwise, ``Cache-Control:
no-store`` (its static files excepted). A request that may change something (not GET,
HEAD or OPTIONS) whose ``Origin`` is another site, or, without ``Origin``, whose
``Sec-Fetch-Site`` says it is not from this origin, is refused with 403 before it reaches
a route: a Danish page, or JSON for the API. A client that sends neither (a script) is
let through; its form still needs the CSRF token, its API call a bearer token.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import re
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..accounts import logins as accounts
from ..errors import Said

if TYPE_CHECKING:
    from fastapi import FastAPI

    from ..config import Settings

from .sessions import STATIC, Sessions, relative_path

# paths that never use a session: no lookup, no cookie
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

CSP = ("default-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
       "frame-ancestors 'none'")
DOCS_PAGES = ("/docs", "/docs/oauth2-redirect")  # Swagger UI: its own inline script
HEADERS = {"x-content-type-options": "nosniff", "x-frame-options": "DENY",
           "referrer-policy": "same-origin", "cross-origin-opener-policy": "same-origin"}
STORED = (STATIC + "/", "/docs/assets/")  # files the browser may keep

CROSS_SITE = Said("the request comes from another site (its Origin or Sec-Fetch-Site "
                  "header says so), so it is refused",
                  "Formularen blev sendt fra et andet websted og er derfor afvist. Gå til "
                  "siden her på webstedet, og send formularen derfra")

log = logging.getLogger("workflow.web")


def install(app: FastAPI, settings: Settings, *, secret: str) -> None:
    """Serve the pages' static files and put the guard and the sessions around the app
    (the sessions outermost: the guard's refusal page uses the session)."""
    from fastapi.staticfiles import StaticFiles

    app.mount(STATIC, StaticFiles(directory=str(settings.templates_dir / "static"),
                                  check_dir=False), name="static")
    app.state.session_clock = accounts.wall_clock
    app.add_middleware(Guard, https=settings.secure_cookies)
    app.add_middleware(Sessions, secret=secret, https_only=settings.secure_cookies)


# ------------------------------------------------------------------------ guard
def same_origin(headers: Headers) -> bool:
    """Whether a request that changes something may come from where it says it does:
    its ``Origin`` is this host (as the ``Host`` or a proxy's ``X-Forwarded-Host`` names
    it), or without one, ``Sec-Fetch-Site`` is ``same-origin`` or ``none`` (typed by the
    user), or the client sends neither (not a browser)."""
    origin = headers.get("origin")
    if origin is not None:
        parts = urlsplit(origin.strip())
        hosts = {h.strip().lower() for h in (headers.get("host", ""),
                                              headers.get("x-forwarded-host", "").split(",")[0])
                 if h.strip()}
        return parts.scheme in ("http", "https") and parts.netloc.lower() in hosts
    site = headers.get("sec-fetch-site")
    return site is None or site.strip().lower() in ("same-origin", "none")


_INLINE_SCRIPT = re.compile(rb"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.S | re.I)


def docs_csp(body: bytes) -> str:
    """The policy for a Swagger UI page: this origin, and its own inline script by hash
    (a hash, not 'unsafe-inline': no other script runs); its images are data: URLs."""
    hashes = " ".join("'sha256-" + base64.b64encode(hashlib.sha256(s).digest()).decode() + "'"
                      for s in _INLINE_SCRIPT.findall(body))
    return (f"default-src 'self'; script-src 'self' {hashes}; img-src 'self' data:; "
            "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


class Guard:
    """ASGI middleware: the security headers on every answer, and no cross-site change."""

    def __init__(self, app: ASGIApp, *, https: bool = False) -> None:
        self.app = app
        self.headers = {**HEADERS, **({"strict-transport-security": "max-age=31536000"}
                                      if https else {})}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = relative_path(scope)
        if scope["method"] not in SAFE_METHODS and not same_origin(Headers(scope=scope)):
            refusal = _refusal(scope, receive, path)
            await refusal(scope, receive, self._headed(send, path, CSP))
            return
        if path in DOCS_PAGES:
            await self.app(scope, receive, self._docs(send, path))
            return
        await self.app(scope, receive, self._headed(send, path, CSP))

    def _add(self, message: Message, path: str, csp: str) -> None:
        headers = MutableHeaders(scope=message)
        for name, value in {**self.headers, "content-security-policy": csp}.items():
            if name not in headers:
                headers[name] = value
        if "cache-control" not in headers and not path.startswith(STORED):
            headers["cache-control"] = "no-store"

    def _headed(self, send: Send, path: str, csp: str) -> Send:
        async def headed(message: Message) -> None:
            if message["type"] == "http.response.start":
                self._add(message, path, csp)
            await send(message)

        return headed

    def _docs(self, send: Send, path: str) -> Send:
        """The answer held until its body is complete, for the hashes of its scripts."""
        start: Message | None = None
        body = bytearray()

        async def buffered(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                return
            if message["type"] != "http.response.body" or start is None:
                await send(message)
                return
            body.extend(message.get("body", b""))
            if message.get("more_body", False):
                return
            self._add(start, path, docs_csp(bytes(body)))
            await send(start)
            await send({"type": "http.response.body", "body": bytes(body)})

        return buffered


def _refusal(scope: Scope, receive: Receive, path: str) -> Response:
    log.warning("cross-site request refused: %s %s (Origin %s, Sec-Fetch-Site %s)",
                scope["method"], path, Headers(scope=scope).get("origin"),
                Headers(scope=scope).get("sec-fetch-site"))
    if path.startswith("/api"):
        return JSONResponse({"detail": str(CROSS_SITE), "detail_da": CROSS_SITE.da,
                             "error": "PermissionDenied"}, status_code=403)
    from .pagekit import render

    return render(Request(scope, receive), "error.html", status=403, code=403, me=False,
                  message=CROSS_SITE.da + ".")
