"""The web application: FastAPI, one Workflow per process, one error mapping for all routes.

``create_app(settings)`` builds the app; ``workflow serve`` runs it with uvicorn. Every
route goes through the engine's own checks (role, municipality, state, version), and every
:class:`~workflow.errors.WorkflowError` becomes one HTTP status here and nowhere else.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import (
    http_exception_handler,
    request_validation_exception_handler,
)
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from .. import errors
from ..config import Settings
from ..engine.casefile import CaseFile
from ..engine.workflow import Workflow
from ..process import values
from .answers import error_body

STATUS: list[tuple[type[errors.WorkflowError], int]] = [
    (errors.RateLimited, 429),
    (errors.AuthError, 401),
    (errors.NotFound, 404),
    (errors.PermissionDenied, 403),
    (errors.ConflictError, 409),
    (errors.InvalidTransition, 409),
    (errors.GuardFailed, 422),
    (errors.TooLarge, 413),
    (errors.FileRefused, 415),
    (errors.InvalidData, 422),
    (errors.DocumentError, 500),
    (errors.SetupError, 503),
    (errors.DefinitionError, 500),
    (errors.WorkflowError, 400),
]


# What a page says when its request cannot be served, by status.
PAGE_ERRORS = {
    400: "Forespørgslen kunne ikke læses. Gå tilbage, og prøv igen",
    404: "Siden findes ikke",
    405: "Siden kan ikke bruges sådan",
}



# /docs with its script, style and favicon served from here, not a CDN: the app runs on
# intranets without internet. The files come with the fastapi-offline package. There is no
# /redoc: ReDoc's bundle always loads its logo from cdn.redoc.ly, which no intranet reaches.
DOCS_ASSETS = "/docs/assets"


def _page_error(request: Request, code: int, message: str | None = None) -> Response:
    """The Danish error page: the message given, or the status's own."""
    from .pagekit import render

    return render(request, "error.html", status=code, code=code,
                  message=message or PAGE_ERRORS[code])


FORM_FIELDS_DA = {"number": "Aktnummeret", "reason": "Begrundelsen", "ground": "Hjemlen",
                  "field": "Feltet", "text": "Teksten", "corrects": "Retter",
                  "csrf": "Formularens nøgle", "comment": "Kommentaren",
                  "username": "Brugernavnet", "password": "Adgangskoden"}
FORM_PROBLEMS_DA = {"missing": "mangler", "int_parsing": "er ikke et helt tal",
                    "int_from_float": "er ikke et helt tal",
                    "string_too_long": "har for mange tegn",
                    "string_too_short": "har for få tegn",
                    "greater_than_equal": "er mindre end tilladt",
                    "less_than_equal": "er større end tilladt"}


def _form_problems(errors: Sequence[Any]) -> str:
    """What a page's form got wrong, field by field, in Danish."""
    said = []
    for e in errors[:5]:
        name = str(tuple(e.get("loc") or ("", ""))[-1])
        what = FORM_FIELDS_DA.get(name, f"Feltet »{values.shown(name)[:40]}«")
        said.append(f"{what} {FORM_PROBLEMS_DA.get(e.get('type', ''), 'kan ikke læses')}")
    if not said:
        return PAGE_ERRORS[400]
    return f"Forespørgslen kunne ikke læses: {'; '.join(said)}. Gå tilbage, og prøv igen"


def _database_errors() -> list[type[Exception]]:
    """The errors a database can raise: SQLAlchemy's, and the drivers' own (raised on a
    driver cursor, see :mod:`workflow.store.statements`)."""
    import sqlite3

    from sqlalchemy.exc import DBAPIError

    found: list[type[Exception]] = [DBAPIError, sqlite3.Error]
    try:
        import psycopg
    except ImportError:  # pragma: no cover - installed with workflow
        return found
    return [*found, psycopg.Error]


def status_for(exc: errors.WorkflowError) -> int:
    return next(code for cls, code in STATUS if isinstance(exc, cls))


def _install_docs(app: FastAPI) -> None:
    """Swagger UI at ``/docs`` (and its OAuth2 redirect page), self-hosted."""
    from importlib.resources import files

    from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
    from fastapi.responses import HTMLResponse
    from fastapi.staticfiles import StaticFiles

    assets = files("fastapi_offline") / "static"
    app.mount(DOCS_ASSETS, StaticFiles(directory=str(assets)), name="docs-assets")
    redirect = "/docs/oauth2-redirect"

    def root(request: Request) -> str:
        return str(request.scope.get("root_path", "")).rstrip("/")

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        at = root(request)
        return get_swagger_ui_html(
            openapi_url=at + str(app.openapi_url), title=f"{app.title} - Swagger UI",
            oauth2_redirect_url=at + redirect,
            swagger_js_url=f"{at}{DOCS_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{at}{DOCS_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{at}{DOCS_ASSETS}/favicon.png",
            # No badge asking validator.swagger.io about the schema.
            swagger_ui_parameters={"validatorUrl": None})

    @app.get(redirect, include_in_schema=False)
    async def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()


def serve_app() -> FastAPI:
    """The app as ``workflow serve`` runs it in each worker process: :func:`create_app`
    with its start-up heap frozen (``freeze_heap``)."""
    return create_app(freeze_heap=True)


def create_app(settings: Settings | None = None, *,
               clock: Callable[[], datetime] | None = None,
               freeze_heap: bool = False) -> FastAPI:
    """The app. ``freeze_heap``: once started, move every object alive then (the
    libraries, the definition, the templates: some 150,000) out of the garbage
    collector's reach (``gc.freeze``), so that a full collection in a request scans only
    what requests made: it took ~70 ms, now under 1 ms (bench ``casefile``: the case page's
    p99 on PostgreSQL). For a serving process only: what is frozen is never freed."""
    settings = settings or Settings.from_env()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.wf = Workflow.open(settings, clock=clock)
        app.state.casefile = CaseFile.from_settings(app.state.wf, settings)
        pagekit.warm_up(app.state.pages)
        if freeze_heap:
            gc.collect()
            gc.freeze()
        try:
            yield
        finally:
            app.state.page_cache.close()
            app.state.wf.close()

    app = FastAPI(title="workflow", lifespan=lifespan, docs_url=None, redoc_url=None,
                  description="Dispensation applications of Ishøj and Vallensbæk: the JSON API "
                              "(the same checks as the command line and the pages).")
    _install_docs(app)

    @app.exception_handler(errors.WorkflowError)
    async def workflow_error(request: Request, exc: errors.WorkflowError) -> Response:
        code = status_for(exc)
        if not request.url.path.startswith("/api"):  # a page: Danish HTML, or the login
            if code == 401:
                return RedirectResponse("/login", status_code=303)
            if isinstance(exc, errors.PasswordChangeRequired):   # a one-time password
                request.session.setdefault("flash", []).append(
                    {"kind": "error", "text": exc.da or str(exc)})
                return RedirectResponse("/profile#adgangskode", status_code=303)
            from .messages import sentence

            return _page_error(request, code, sentence(exc.da or str(exc)))
        headers = {"WWW-Authenticate": "Bearer"} if code == 401 else {}
        if isinstance(exc, errors.RateLimited):
            headers["Retry-After"] = str(exc.retry_after)
        return JSONResponse(error_body(exc), status_code=code, headers=headers)

    # A database that cannot be reached or used now (down, restarting, the connection
    # lost, the disk full) is a 503 wherever it shows (a read, the token lookup, a page),
    # judged in one place (store.unavailable); the pool connects anew when it is back.
    async def database_error(request: Request, exc: Exception) -> Response:
        from ..store import database as store

        unavailable = store.unavailable(exc)
        if unavailable is None:
            raise exc
        logging.getLogger("workflow.web").warning("database unavailable: %s %s: %s",
                                                  request.method, request.url.path,
                                                  store.reason(exc))
        if request.url.path.startswith("/api"):
            return await workflow_error(request, unavailable)
        from .messages import sentence
        from .pagekit import render

        # me=False: the page names no user, as looking them up needs the database
        return render(request, "error.html", status=503, code=503, me=False,
                      message=sentence(unavailable.da or str(unavailable)))

    for driver_error in _database_errors():
        app.add_exception_handler(driver_error, database_error)

    # A page's URL or form that does not parse (/applications/abc, a POST without its
    # fields) and a path with no page get a Danish page; the API keeps FastAPI's JSON.
    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        if request.url.path.startswith("/api"):
            return await request_validation_exception_handler(request, exc)
        in_path = any(tuple(e.get("loc") or ("",))[0] == "path" for e in exc.errors())
        return _page_error(request, 404 if in_path else 400,
                           None if in_path else _form_problems(exc.errors()))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 405:  # Allow: the methods of every route of the path
            exc.headers = {**(exc.headers or {}), "Allow": ops.allowed_methods(request)}
        if request.url.path.startswith("/api") or exc.status_code not in PAGE_ERRORS:
            return await http_exception_handler(request, exc)
        page = _page_error(request, exc.status_code)
        page.headers.update(exc.headers or {})
        return page

    from ..accounts import logins as accounts
    from ..store import database as store
    from . import (
        admin_pages,
        aktindsigt,
        api,
        case_api,
        case_pages,
        casefile,
        cursors,
        list_api,
        ops,
        pagekit,
        pages,
        profile_pages,
        security,
        sso,
    )
    from .pagecache import PageCache

    engine = store.make_engine(settings.database_url)
    try:
        secret = accounts.session_secret(engine)
    finally:
        engine.dispose()
    # sessions kept on the server (the cookie: a signed id), security headers, no
    # cross-site form posts, the pages' static files: see security.py
    security.install(app, settings, secret=secret)
    app.state.cursor_key = cursors.key_of(secret)
    ops.install(app, settings)  # /healthz, /readyz, /metrics; request ids, logs, metrics
    app.state.pages = pagekit.page_templates(settings.templates_dir / "pages")
    sso.install(app, settings, secret=secret)  # "Log ind med …", when an issuer is set
    app.state.page_cache = PageCache()
    app.include_router(api.router)
    app.include_router(list_api.router)
    app.include_router(casefile.api)
    app.include_router(casefile.uploads)
    app.include_router(casefile.pages)
    app.include_router(aktindsigt.api)
    app.include_router(aktindsigt.pages)
    app.include_router(case_api.router)
    app.include_router(case_api.uploads)
    app.include_router(pages.router)
    app.include_router(case_pages.router)
    app.include_router(admin_pages.router)
    app.include_router(profile_pages.router)
    return app
