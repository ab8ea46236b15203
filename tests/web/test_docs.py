"""The API docs work without internet: Swagger UI comes from the app, not a CDN.

Over HTTP, ``/docs`` names only same-origin script, style, favicon and schema, and each
answers 200 with its content type; there is no ``/redoc`` (ReDoc's bundle always loads its
logo from its vendor's CDN). In headless Chromium (the real server, as in
``tests/web/test_e2e.py``) every request that is not to 127.0.0.1 is aborted, and
``/docs`` must still render the API's operations, ask nothing of any other host and log no
console error. Without Chromium or Playwright the browser test skips, saying why; under CI
it fails instead.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest

from tests.conftest import SQLITE_ONLY, Clock
from tests.web.test_api import TestClient, prepare
from tests.web.test_e2e import CHROMIUM_ARGS, VIEWPORT, Server, launched
from tests.web.test_e2e import server as server  # noqa: F401  (the real server, a fixture)
from workflow.config import Settings
from workflow.web.app import create_app

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, Request, Route

# Chromium itself may resolve no host name: whatever a page asks of another host fails
# even before Playwright's routing sees it.
OFFLINE_ARGS = [*CHROMIUM_ARGS, "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"]
CONTENT_TYPES = {".js": "javascript", ".css": "text/css", ".png": "image/png"}


@pytest.fixture
def client(settings: Settings, clock: Clock) -> Iterator[TestClient]:
    prepare(settings)
    with TestClient(create_app(settings, clock=clock)) as c:
        yield c


def asset_urls(html: str) -> list[str]:
    """Every URL a docs page loads: its src, href and spec-url attributes, the schema's url."""
    found = re.findall(r"""(?:src|href|spec-url)="([^"]*)"|url: '([^']*)'""", html)
    return [a or b for a, b in found]


@SQLITE_ONLY
def test_the_docs_name_only_same_origin_assets_and_they_answer(client: TestClient) -> None:
    r = client.get("/docs")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "http:" not in r.text and "https:" not in r.text, r.text
    urls = asset_urls(r.text)
    assert sorted(urls) == ["/docs/assets/favicon.png", "/docs/assets/swagger-ui-bundle.js",
                            "/docs/assets/swagger-ui.css", "/openapi.json"], urls
    for url in urls:
        got = client.get(url)
        assert got.status_code == 200, (url, got.status_code)
        want = CONTENT_TYPES.get(os.path.splitext(url)[1], "application/json")
        assert want in got.headers["content-type"], (url, got.headers["content-type"])
        assert len(got.content) > 1000, url
    assert "window.location.origin + '/docs/oauth2-redirect'" in r.text


@SQLITE_ONLY
def test_the_oauth2_redirect_page_is_served(client: TestClient) -> None:
    r = client.get("/docs/oauth2-redirect")
    assert r.status_code == 200 and "swaggerUIRedirectOauth2" in r.text
    assert "http:" not in r.text and "https:" not in r.text


@SQLITE_ONLY
def test_no_redoc_no_missing_asset_and_the_api_schema_leaves_the_docs_out(
        client: TestClient) -> None:
    redoc = client.get("/redoc")
    assert redoc.status_code == 404 and "Siden findes ikke" in redoc.text
    assert client.get("/docs/assets/nothing.js").status_code == 404
    paths = client.get("/openapi.json").json()["paths"]
    assert not [p for p in paths if p.startswith(("/docs", "/redoc"))], list(paths)


# ------------------------------------------------------------------ in a browser
@pytest.fixture
def browser() -> Iterator[Browser]:
    yield from launched(OFFLINE_ARGS)


def loopback(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("data", "blob") or (
        parts.scheme in ("http", "https", "ws") and parts.hostname == "127.0.0.1")


def open_offline(browser: Browser, server: Server, path: str,
                 check: Callable[[Page], None]) -> list[str]:
    """Open `path` with every non-loopback request aborted, run `check` on the page,
    and return the URLs it requested; the page must have asked nothing of another host
    and logged no console error."""
    context = browser.new_context(viewport=VIEWPORT, service_workers="block")
    requested: list[str] = []
    blocked: list[str] = []
    errors: list[str] = []

    def route(route: Route, request: Request) -> None:
        if loopback(request.url):
            route.continue_()
        else:
            blocked.append(request.url)
            route.abort("internetdisconnected")

    context.route("**/*", route)
    context.on("request", lambda request: requested.append(request.url))
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        page.goto(server.url + path)
        check(page)
        page.wait_for_load_state("networkidle")
    finally:
        context.close()
    assert not blocked, (blocked, errors)
    assert [u for u in requested if not loopback(u)] == []
    assert errors == [], errors
    return requested


@SQLITE_ONLY
@pytest.mark.slow
def test_swagger_ui_renders_the_operations_offline(browser: Browser, server: Server) -> None:
    from playwright.sync_api import expect

    def check(page: Page) -> None:
        expect(page.locator(".swagger-ui .info .title")).to_contain_text("workflow")
        ops = page.locator('.opblock-summary-path[data-path="/api/applications"]')
        expect(ops.first).to_be_visible()
        assert ops.count() >= 2  # GET (the list) and POST (a new one)
        expect(page.locator(".swagger-ui .btn.authorize")).to_be_visible()

    requested = open_offline(browser, server, "/docs", check)
    paths = {urlsplit(u).path for u in requested}
    assert {"/docs", "/openapi.json", "/docs/assets/swagger-ui-bundle.js",
            "/docs/assets/swagger-ui.css", "/docs/assets/favicon.png"} <= paths, paths


def test_loopback_is_only_127_0_0_1() -> None:
    assert loopback("http://127.0.0.1:8000/docs/assets/swagger-ui.css")
    assert loopback("data:image/svg+xml;base64,AA==")
    for url in ("https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/swagger-ui-bundle.js",
                "http://localhost.example/", "https://fonts.googleapis.com/css",
                "http://127.0.0.1.nip.io/"):
        assert not loopback(url), url
