"""Single sign-on on the pages: "Log ind med …" sends the browser to the organisation's
OpenID Connect provider (:mod:`workflow.accounts.oidc`), and its answer at
``/login/oidc/callback`` logs the user in with the same server-side session as the
password login (:mod:`.sessions`), their role and municipality from their directory groups
(:mod:`workflow.accounts.directory`).

Between the two, the browser keeps what the callback checks (state, nonce, PKCE verifier)
in a cookie of its own, ``workflow_oidc``: signed with the session key, HttpOnly,
SameSite=Lax, for ``/login/oidc`` alone, valid for :data:`PENDING_TTL`, and gone once used.
An answer whose state is not that cookie's (begun in another browser, or tampered with) is
refused. Configured by ``WORKFLOW_OIDC_*``; without an issuer there is no such route.
``WORKFLOW_LOCAL_LOGIN=false`` leaves single sign-on as the only login.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer

from ..accounts import directory, oidc
from ..engine.workflow import Workflow
from ..errors import AuthError, NotFound, PermissionDenied, Said, SetupError
from . import sessions
from .api import get_wf
from .bodies import CheckedForm
from .pagekit import render

if TYPE_CHECKING:
    from fastapi import FastAPI

    from ..config import Settings

COOKIE = "workflow_oidc"
PENDING_TTL = 600  # seconds from "Log ind med …" to the provider's answer
PATH = "/login/oidc"
log = logging.getLogger("workflow.web")
router = APIRouter(include_in_schema=False, route_class=CheckedForm)
WfDep = Annotated[Workflow, Depends(get_wf)]


class SingleSignOn:
    """The provider (its discovery fetched at the first sign-in, not at start) and the
    signer of the pending cookie."""

    def __init__(self, settings: Settings, secret: str) -> None:
        if not (settings.oidc_client_id and settings.oidc_client_secret):
            raise SetupError("WORKFLOW_OIDC_ISSUER is set: WORKFLOW_OIDC_CLIENT_ID and "
                             "WORKFLOW_OIDC_CLIENT_SECRET are needed too")
        self.provider = oidc.Provider(oidc.ProviderSettings(
            issuer=str(settings.oidc_issuer), client_id=settings.oidc_client_id,
            client_secret=settings.oidc_client_secret,
            groups_claim=settings.oidc_groups_claim))
        self.redirect_uri = settings.oidc_redirect_uri
        self.signer = URLSafeTimedSerializer(secret, salt="workflow.oidc")
        self.flags = "httponly; samesite=lax" + ("; secure" if settings.secure_cookies else "")


def install(app: FastAPI, settings: Settings, *, secret: str) -> None:
    """Single sign-on's routes when an issuer is configured; the login page's button and
    whether it shows the password form."""
    env = app.state.pages.env
    env.globals["local_login"] = settings.local_login
    env.globals["sso_label"] = settings.oidc_label if settings.oidc_issuer else None
    app.state.sso = SingleSignOn(settings, secret) if settings.oidc_issuer else None
    if settings.oidc_issuer:
        app.include_router(router)


def _sso(request: Request) -> SingleSignOn:
    found: SingleSignOn | None = getattr(request.app.state, "sso", None)
    if found is None:
        raise NotFound(Said("single sign-on is not set up", "siden findes ikke"))
    return found


def _cookie(request: Request, sso: SingleSignOn, value: str, max_age: int) -> str:
    path = str(request.scope.get("root_path", "")).rstrip("/") + PATH
    return f"{COOKIE}={value}; Max-Age={max_age}; path={path}; {sso.flags}"


@router.get(PATH)
def begin(request: Request) -> Response:
    """To the provider, with a new state, nonce and PKCE challenge."""
    sso = _sso(request)
    redirect_uri = sso.redirect_uri or str(request.url_for("oidc_callback"))
    url, pending = sso.provider.begin(redirect_uri)
    answer = RedirectResponse(url, status_code=303)
    kept = sso.signer.dumps(pending.as_dict())
    answer.headers.append("set-cookie", _cookie(request, sso, kept, PENDING_TTL))
    return answer


@router.get(PATH + "/callback", name="oidc_callback", response_class=HTMLResponse)
def callback(request: Request, wf: WfDep) -> Response:
    """The provider's answer: the user logged in, or the login page saying why not."""
    sso = _sso(request)
    client = request.client.host if request.client else ""
    pending: oidc.Pending | None = None
    kept = request.cookies.get(COOKIE)
    if kept:
        try:
            pending = oidc.Pending.from_dict(sso.signer.loads(kept, max_age=PENDING_TTL))
        except (BadSignature, json.JSONDecodeError, UnicodeDecodeError):
            pending = None
    now = sessions.session_clock(request.app)()
    try:
        who = sso.provider.finish(pending, dict(request.query_params),
                                  now=now.timestamp())
        user = directory.sign_in(wf.engine, who, now=now, client=client)
    except (AuthError, PermissionDenied) as exc:
        log.warning("single sign-on refused from %s: %s", client or "-", exc)
        status = 403 if isinstance(exc, PermissionDenied) else 401
        answer: Response = render(request, "login.html", status=status, messages=[
            {"kind": "error", "text": _sentence(exc.da or str(exc))}])
    else:
        sessions.begin_session(request, user, client=client)
        answer = RedirectResponse("/", status_code=303)
    answer.headers.append("set-cookie", _cookie(request, sso, "", 0))  # used: gone
    return answer


def _sentence(text: str) -> str:
    text = text.strip()
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")
