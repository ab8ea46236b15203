"""Operations: ``/healthz``, ``/readyz``, ``/metrics``, and one log line per request.

``/healthz`` says the process answers (it touches no database); ``/readyz`` says whether
the database answers and is at this version's schema (503, saying why, when not). Neither
needs a login or says anything secret. ``/metrics`` (Prometheus text, see
:mod:`workflow.operations.metrics`) is for the addresses in ``WORKFLOW_METRICS_ALLOW`` only
(default: this machine), as uvicorn sees them: behind a proxy on this machine, the client address it
forwards (``X-Forwarded-For``), so the proxy must set it and should keep ``/metrics`` to
itself too.

:class:`RequestLog` (outermost middleware) gives every request an id (the client's
``X-Request-ID`` when it is a plain token of at most 128 characters, else a new one),
returns it as ``X-Request-ID``, counts the request by route template, method and status,
and logs one line: JSON (``WORKFLOW_LOG_FORMAT=json``) or text, with ``request_id`` on
every other line logged while the request runs. :func:`log_config` is the logging set-up
``workflow serve`` hands uvicorn.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import secrets
import time
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from starlette.datastructures import MutableHeaders
from starlette.routing import BaseRoute, Match, Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..documents import pdf
from ..errors import PermissionDenied, Said
from ..operations import metrics
from ..store import database as store
from .answers import error_body
from .api import Error

if TYPE_CHECKING:
    from fastapi import FastAPI

    from ..config import Settings

log = logging.getLogger("workflow.request")
REQUEST_ID: ContextVar[str] = ContextVar("request_id", default="-")
SANE_ID = re.compile(r"[A-Za-z0-9._:@/+=-]{1,128}")
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNROUTED = "(none)"  # the route of a request no route took (a 404, a refused cross-site post)

router = APIRouter(tags=["operations"])


class Health(BaseModel):
    status: Literal["ok"] = "ok"


class Ready(BaseModel):
    status: Literal["ready"] = "ready"
    database: str      # sqlite or postgresql
    revision: str      # the schema's Alembic revision


class NotReady(BaseModel):
    status: Literal["unavailable"] = "unavailable"
    reason: str
    revision: str | None = None           # the database's schema, when it could be read
    expected_revision: str | None = None  # this version's


@router.get("/healthz", response_model=Health)
async def healthz() -> Health:
    """Liveness: the process answers. Touches no database."""
    return Health()


@router.get("/readyz", response_model=Ready,
            responses={503: {"model": NotReady, "description": "Not ready, and why"}})
def readyz(request: Request) -> Response:
    """Readiness: the database answers and its schema is this version's."""
    wf = getattr(request.app.state, "wf", None)
    if wf is None:
        return _not_ready("the application is starting")
    try:
        revision = store.current_revision(wf.engine)
    except Exception as exc:  # noqa: BLE001 - any failure to read it: not ready, and why
        logging.getLogger("workflow.web").warning("not ready: %s", store.reason(exc))
        return _not_ready("the database cannot be reached")
    if revision != store.HEAD_REVISION:
        return _not_ready(f"the database is at schema {revision or 'none'}, this version "
                          f"needs {store.HEAD_REVISION}: run `workflow init`",
                          revision=revision, expected_revision=store.HEAD_REVISION)
    return JSONResponse(Ready(database=wf.engine.dialect.name, revision=revision)
                        .model_dump())


def _not_ready(reason: str, *, revision: str | None = None,
               expected_revision: str | None = None) -> JSONResponse:
    return JSONResponse(NotReady(reason=reason, revision=revision,
                                 expected_revision=expected_revision).model_dump(),
                        status_code=503)


@router.get("/metrics", response_class=Response, responses={
    200: {"content": {"text/plain": {"schema": {"type": "string"}},
                      "application/openmetrics-text": {"schema": {"type": "string"}}},
          "description": "Prometheus text exposition"},
    403: {"model": Error,
          "description": "The client's address is not in WORKFLOW_METRICS_ALLOW"}})
def read_metrics(request: Request) -> Response:
    """Prometheus metrics, for the addresses in ``WORKFLOW_METRICS_ALLOW`` only."""
    client = request.client.host if request.client else ""
    if not allowed(client, request.app.state.metrics_allow):
        logging.getLogger("workflow.web").warning("/metrics refused to %s", client or "?")
        refused = PermissionDenied(Said(
            f"/metrics is not open to {client or 'this client'}; see WORKFLOW_METRICS_ALLOW",
            f"/metrics er ikke åben for {client or 'denne klient'}"))
        return JSONResponse(error_body(refused), status_code=403)
    extra = []
    wf = getattr(request.app.state, "wf", None)
    if wf is not None:
        extra.append(metrics.LedgerCollector(wf.engine, wf.clock))
    body, content_type = metrics.exposition(*extra, accept=request.headers.get("accept"))
    return Response(body, media_type=content_type)


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def allowed(host: str, networks: list[Network]) -> bool:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return any(address in n for n in networks)


# ------------------------------------------------------------------ requests
class RequestLog:
    """ASGI middleware: a request id, the request's metrics and its log line."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        rid = request_id(scope)
        token = REQUEST_ID.set(rid)
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message).append("x-request-id", rid)
            await send(message)

        failed: Exception | None = None
        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:  # a 500 (Starlette answers it): logged here with its id
            failed = exc
            raise
        finally:
            took = time.perf_counter() - start
            method = scope["method"] if scope["method"] in METHODS else "other"
            route = route_of(scope)
            m = metrics.active()
            if m is not None:
                m.requests.labels(route, method, str(status)).inc()
                m.latency.labels(route, method).observe(took)
            level = logging.INFO if failed is None else logging.ERROR
            if log.isEnabledFor(level):
                path = scope.get("path", "")
                shown = path if path.isprintable() else path.encode("unicode_escape").decode()
                log.log(level, "%s %s %s %.1f ms", scope["method"], shown, status,
                        took * 1000, exc_info=failed, extra={
                            "method": scope["method"], "route": route, "path": shown,
                            "status": status, "duration_ms": round(took * 1000, 3),
                            "client": (scope.get("client") or ("",))[0]})
            REQUEST_ID.reset(token)


def request_id(scope: Scope) -> str:
    """The client's X-Request-ID when it is a sane token, else a new random one."""
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            text: str = value.decode("latin-1")
            if SANE_ID.fullmatch(text):
                return text
            break
    return secrets.token_hex(16)


def route_of(scope: Scope) -> str:
    """The template of the route that took the request (``/api/applications/{app_id}``),
    never the raw path: a label per id would be a metric per case."""
    route = scope.get("route")
    path: object = getattr(route, "path", None)
    if not isinstance(path, str):
        return UNROUTED
    return path.rstrip("/") + "/{path}" if isinstance(route, Mount) else path


def allowed_methods(request: Request) -> str:
    """The ``Allow`` header of a 405: the methods of every route of the request's path
    (Starlette names only the first route's: ``GET`` where ``POST`` is there too)."""
    scope = request.scope
    found = []
    for method in sorted(METHODS):  # asked afresh: the scope carries the routing's state
        probe = {"type": "http", "method": method, "path": scope["path"],
                 "root_path": scope.get("root_path", ""), "headers": [], "query_string": b""}
        if any(route.matches(probe)[0] == Match.FULL for route in request.app.router.routes
               if isinstance(route, BaseRoute)):
            found.append(method)
    return ", ".join(found)


class RequestIdFilter(logging.Filter):
    """Puts the current request's id on every log record (``-`` outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = REQUEST_ID.get()
        return True


def log_config(fmt: str) -> dict[str, Any]:
    """The logging set-up (``logging.config.dictConfig``) of the web application, for
    uvicorn's ``log_config``: every line to stderr (journald), as JSON or text; uvicorn's
    own access log off, as :class:`RequestLog` logs each request."""
    from pythonjsonlogger.core import RESERVED_ATTRS

    formatter: dict[str, Any] = {
        "()": "pythonjsonlogger.json.JsonFormatter",
        "fmt": "%(levelname)s %(name)s %(message)s %(request_id)s",
        "rename_fields": {"levelname": "level", "name": "logger"},
        "timestamp": "time", "json_ensure_ascii": False,
        # uvicorn's copy of its message with terminal colours
        "reserved_attrs": [*RESERVED_ATTRS, "color_message"],
    } if fmt == "json" else {
        "format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"}
    return {
        "version": 1, "disable_existing_loggers": False,
        "filters": {"request_id": {"()": "workflow.web.ops.RequestIdFilter"}},
        "formatters": {"default": formatter},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "default",
                                "filters": ["request_id"], "stream": "ext://sys.stderr"}},
        "root": {"handlers": ["stderr"], "level": "INFO"},
        "loggers": {name: {"handlers": [], "level": "INFO", "propagate": True}
                    for name in ("uvicorn", "uvicorn.error", "workflow")}
        | {"uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False}},
    }


def install(app: FastAPI, settings: Settings) -> None:
    """The operations routes, metrics on, the PDF limit, and :class:`RequestLog`
    outermost (added last: it times and logs everything the other middleware does)."""
    metrics.enable()
    pdf.PDF_QUEUE.set_limit(settings.pdf_workers)
    app.state.metrics_allow = [ipaddress.ip_network(n) for n in settings.metrics_allow]
    app.include_router(router)
    app.add_middleware(RequestLog)
