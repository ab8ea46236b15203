"""Operations: /healthz, /readyz, /metrics, request ids and log lines, the PDF queue.

In-process (TestClient) on SQLite and PostgreSQL: liveness without a single SQL
statement, readiness with a schema behind and an unreachable server, the allow-list of
/metrics, what it counts (transitions, refusals, conflicts, drafts, requests by route
template) and what it reads from the reminder ledger at scrape time; two PDF downloads with
a limit of one never run LibreOffice at the same time (watched in /proc). As shipped
(``workflow serve`` in a subprocess): JSON and text log lines with the request id, and
two workers whose counts add up in prometheus-client's multiprocess mode.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import event, func, select, text

from tests.conftest import SQLITE_ONLY, Clock
from tests.factories import make_application
from tests.web.test_api import prepare
from workflow.config import Settings
from workflow.documents import pdf
from workflow.errors import SetupError
from workflow.installation import demo
from workflow.store import database as store
from workflow.store import tables as t
from workflow.web import ops
from workflow.web.app import create_app

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", "Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

LOCAL = ("127.0.0.1", 50000)      # a client on this machine: /metrics is open to it
UNREACHABLE = "postgresql+psycopg://postgres:s3cret@127.0.0.1:1/test"  # nothing listens
WORKFLOW = str(Path(sys.executable).with_name("workflow"))
HEX_ID = re.compile(r"[0-9a-f]{32}")


@pytest.fixture
def app_settings(settings: Settings) -> Settings:
    prepare(settings)
    return settings


@pytest.fixture
def local(app_settings: Settings, clock: Clock) -> Iterator[TestClient]:
    """The app, seen from this machine."""
    with TestClient(create_app(app_settings, clock=clock), client=LOCAL) as c:
        yield c


Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(client: TestClient) -> Samples:
    r = client.get("/metrics")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain; version=0.0.4")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(r.text) for s in family.samples}


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


@contextmanager
def unreachable_database(client: TestClient) -> Iterator[None]:
    """The app's database swapped for a server that is not there (a real refused
    connection), then put back."""
    wf = client.app.state.wf  # type: ignore[attr-defined]
    real, wf.engine = wf.engine, store.make_engine(UNREACHABLE)
    try:
        yield
    finally:
        wf.engine.dispose()
        wf.engine = real


# ------------------------------------------------------------------ /healthz
def test_healthz_answers_without_touching_the_database(local: TestClient) -> None:
    statements: list[str] = []
    engine = local.app.state.wf.engine  # type: ignore[attr-defined]
    event.listen(engine, "before_cursor_execute",
                 lambda conn, cursor, sql, *args: statements.append(sql))
    r = local.get("/healthz")
    assert (r.status_code, r.json()) == (200, {"status": "ok"})
    assert statements == []
    local.get("/readyz")
    assert statements, "the listener sees the statements /readyz makes"
    with unreachable_database(local):
        r = local.get("/healthz")
        assert (r.status_code, r.json()) == (200, {"status": "ok"})


# ------------------------------------------------------------------- /readyz
def test_readyz_says_why_it_is_not_ready(local: TestClient, app_settings: Settings) -> None:
    dialect = "sqlite" if app_settings.database_url.startswith("sqlite") else "postgresql"
    r = local.get("/readyz")
    assert (r.status_code, r.json()) == (200, {"status": "ready", "database": dialect,
                                               "revision": store.HEAD_REVISION})
    engine = local.app.state.wf.engine  # type: ignore[attr-defined]
    behind = f"{int(store.HEAD_REVISION) - 1:04d}"
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": behind})
    try:
        r = local.get("/readyz")
    finally:
        with engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = :v"),
                         {"v": store.HEAD_REVISION})
    assert (r.status_code, r.json()) == (503, {
        "status": "unavailable", "revision": behind, "expected_revision": store.HEAD_REVISION,
        "reason": f"the database is at schema {behind}, this version needs "
                  f"{store.HEAD_REVISION}: run `workflow init`"})
    with unreachable_database(local):
        r = local.get("/readyz")
    assert (r.status_code, r.json()) == (503, {
        "status": "unavailable", "reason": "the database cannot be reached",
        "revision": None, "expected_revision": None})
    assert "s3cret" not in r.text and "5432" not in r.text and ":1" not in r.text
    assert local.get("/readyz").status_code == 200  # and back


# ----------------------------------------------------------------- request ids
@SQLITE_ONLY
def test_a_sane_request_id_is_kept_and_any_other_replaced(local: TestClient) -> None:
    sane = "req-2027.03.03:abc/DEF+1=@x_" + "7" * 99   # 128 characters
    assert local.get("/healthz", headers={"X-Request-ID": sane}).headers["x-request-id"] \
        == sane
    for insane in ("a" * 129, "two words", "æblegrød".encode(), "", "a;b", "<script>"):
        got = local.get("/healthz", headers={"X-Request-ID": insane}).headers["x-request-id"]
        assert HEX_ID.fullmatch(got), (insane, got)
    first, second = (local.get("/login").headers["x-request-id"] for _ in range(2))
    assert HEX_ID.fullmatch(first) and HEX_ID.fullmatch(second) and first != second
    # on errors too: an unknown API case, and a cross-site form refused before routing
    assert local.get("/api/applications/1").headers["x-request-id"]
    refused = local.post("/login", headers={"Origin": "https://evil.example",
                                            "X-Request-ID": "x-1"})
    assert (refused.status_code, refused.headers["x-request-id"]) == (403, "x-1")


@SQLITE_ONLY
def test_an_unhandled_error_is_logged_with_its_request_id(
        app_settings: Settings, clock: Clock, caplog: pytest.LogCaptureFixture) -> None:
    app = create_app(app_settings, clock=clock)

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("kaput")

    caplog.handler.addFilter(ops.RequestIdFilter())   # as log_config puts it on its handler
    with caplog.at_level(logging.INFO, logger="workflow.request"), \
            TestClient(app, client=LOCAL, raise_server_exceptions=False) as client:
        before = scrape(client)
        r = client.get("/boom", headers={"X-Request-ID": "b-1"})
        after = scrape(client)
    assert r.status_code == 500
    [line] = [rec for rec in caplog.records if getattr(rec, "route", None) == "/boom"]
    assert (line.levelname, line.getMessage()[:14], line.status) == ("ERROR", "GET /boom 500 ",
                                                                    500)
    assert line.request_id == "b-1"
    assert line.exc_info is not None and str(line.exc_info[1]) == "kaput"
    labels = {"route": "/boom", "method": "GET", "status": "500"}
    assert value(after, "workflow_http_requests_total", **labels) - \
        value(before, "workflow_http_requests_total", **labels) == 1


# ----------------------------------------------------------------- /metrics
@SQLITE_ONLY
def test_metrics_are_for_the_allowed_addresses_only(app_settings: Settings,
                                                    clock: Clock) -> None:
    app = create_app(app_settings, clock=clock)
    for client, code in [(LOCAL, 200), (("::1", 1), 200), (("::ffff:127.0.0.1", 1), 200),
                         (("10.1.2.3", 1), 403), (("testclient", 1), 403)]:
        with TestClient(app, client=client) as c:
            r = c.get("/metrics")
        assert r.status_code == code, client
    assert r.json() == {"detail": "/metrics is not open to testclient; see "
                                  "WORKFLOW_METRICS_ALLOW", "error": "PermissionDenied",
                        "detail_da": "/metrics er ikke åben for testclient"}
    app = create_app(replace(app_settings, metrics_allow=("10.0.0.0/8",)), clock=clock)
    for client, code in [(("10.1.2.3", 1), 200), (LOCAL, 403)]:
        with TestClient(app, client=client) as c:
            assert c.get("/metrics").status_code == code, client


def test_metrics_count_steps_refusals_conflicts_drafts_and_requests(
        local: TestClient) -> None:
    def login(user: str) -> dict[str, str]:
        r = local.post("/api/token", data={"username": user, "password": demo.DEMO_PASSWORD})
        return {"Authorization": f"Bearer {r.json()['access_token']}"}

    ishoj, vallensbaek, sec = login("pl-ishoj"), login("pl-vallensbaek"), login("sec-ishoj")
    before = scrape(local)
    r = local.post("/api/applications", headers=ishoj,
                   json={"kind": "dispensation", "round": 1, "title": "Måling"})
    app_id = r.json()["id"]
    path = f"/api/applications/{app_id}/transitions"

    def fire(headers: dict[str, str], trigger: str, version: int, **data: str) -> int:
        r = local.post(path, headers=headers,
                       json={"trigger": trigger, "version": version, "data": data})
        return r.status_code

    assert fire(ishoj, "propose_areas", 1, areas="rehabilitation,social,employment,"
                                                  "nature_environment") == 422  # 4 areas
    assert fire(ishoj, "propose_areas", 1, areas="rehabilitation,social") == 200
    assert fire(sec, "confirm_areas", 2) == 403                         # wrong role
    assert fire(ishoj, "submit_for_review", 2) == 409                   # not in this state
    assert fire(ishoj, "confirm_areas", 2) == 200
    assert fire(vallensbaek, "confirm_areas", 2) == 409                 # stale version
    assert fire(vallensbaek, "confirm_areas", 3) == 200                 # -> drafting
    assert local.post(f"/api/applications/{app_id + 1000}/transitions", headers=ishoj,
                      json={"trigger": "withdraw", "version": 1}).status_code == 404
    for i in (app_id, app_id + 1000):
        local.get(f"/api/applications/{i}", headers=ishoj)
    after = scrape(local)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    steps = "workflow_transitions_total"
    assert grew(steps, process="application", trigger="propose_areas") == 1
    assert grew(steps, process="application", trigger="confirm_areas") == 2
    assert grew(steps, process="application", trigger="submit_for_review") == 0
    refusals = "workflow_refusals_total"
    assert [grew(refusals, kind=k) for k in ("GuardFailed", "PermissionDenied",
                                             "InvalidTransition", "NotFound")] == [1, 1, 1, 1]
    assert grew("workflow_conflicts_total") == 1
    assert grew("workflow_refusals_total", kind="ConflictError") == 0
    made = grew("workflow_document_render_seconds_count", document="application_letter")
    assert made == 1 and grew("workflow_document_render_seconds_sum",
                              document="application_letter") > 0
    route = "/api/applications/{app_id}/transitions"
    requests = "workflow_http_requests_total"
    assert [grew(requests, route=route, method="POST", status=s)
            for s in ("200", "403", "404", "409", "422")] == [3, 1, 1, 2, 1]
    assert grew("workflow_http_request_duration_seconds_count", route=route,
                method="POST") == 8
    assert [grew(requests, route="/api/applications/{app_id}", method="GET", status=s)
            for s in ("200", "404")] == [1, 1]
    assert not [labels for _, labels in after
                if any(v.startswith(f"/api/applications/{app_id}") for _, v in labels)]


def test_metrics_read_the_reminder_ledger_at_scrape_time(local: TestClient,
                                                         clock: Clock) -> None:
    wf = local.app.state.wf  # type: ignore[attr-defined]
    with wf.engine.begin() as conn:   # the deadline reminders alone (no your-turn notices)
        conn.execute(t.user.update().values(turn_notices=False))
    make_application(wf, state="council_approval", areas=["rehabilitation", "social"])
    r, d = t.reminder, t.deadline
    with wf.engine.connect() as conn:
        counts = dict(conn.execute(select(r.c.status, func.count()).group_by(r.c.status))
                      .all())
        first = conn.execute(select(func.min(r.c.due_at)).join(d, d.c.id == r.c.deadline_id)
                             .where(r.c.status == "pending", d.c.active)).scalar_one()
    assert counts.get("pending", 0) >= 2
    clock.now = first - timedelta(minutes=1)
    got = scrape(local)
    assert {s: value(got, "workflow_reminders", status=s) for s in
            ("pending", "sending", "sent", "failed", "cancelled")} == {
        s: counts.get(s, 0) for s in ("pending", "sending", "sent", "failed", "cancelled")}
    assert value(got, "workflow_reminder_lag_seconds") == 0
    assert value(got, "workflow_database_up") == 1
    clock.now = first + timedelta(minutes=90)
    assert value(scrape(local), "workflow_reminder_lag_seconds") == 5400
    with wf.engine.begin() as conn:  # sent: no longer waiting; the next one is not due yet
        conn.execute(r.update().where(r.c.due_at == first).values(status="sent"))
        later = conn.execute(select(func.min(r.c.due_at)).where(r.c.status == "pending")
                             ).scalar_one()
    got = scrape(local)
    expected = max(0, (clock.now - later).total_seconds())
    assert value(got, "workflow_reminder_lag_seconds") == expected
    assert value(got, "workflow_reminders", status="sent") >= 1
    with unreachable_database(local):
        got = scrape(local)
    assert value(got, "workflow_database_up") == 0
    assert not [name for name, _ in got if name.startswith("workflow_reminder")]


# ------------------------------------------------------------------ 405 Allow
@SQLITE_ONLY
def test_a_405_names_every_method_of_the_path(local: TestClient) -> None:
    """Allow names the methods that work, from every route of the path (Starlette's own
    named only the first route's: GET of /api/applications, not POST)."""
    methods = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
    for path, expected in [("/api/applications", {"GET", "POST"}), ("/healthz", {"GET"}),
                           ("/login", {"GET", "POST"})]:
        r = local.request("TRACE", path)
        assert r.status_code == 405
        allow = set(r.headers["allow"].split(", "))
        assert allow == expected, path
        for method in methods:
            answer = local.request(method, path, headers={"Origin": "http://testserver"})
            assert (answer.status_code != 405) == (method in allow), (path, method)
    assert "Siden kan ikke bruges sådan" in local.request("TRACE", "/healthz").text


# ------------------------------------------------------------------ settings
def test_the_settings_of_operations() -> None:
    assert (Settings.from_env({}).pdf_workers, Settings.from_env({}).log_format) == (2, "json")
    got = Settings.from_env({"WORKFLOW_PDF_WORKERS": " 1 ", "WORKFLOW_LOG_FORMAT": "TEXT",
                             "WORKFLOW_METRICS_ALLOW": "10.0.0.5, 192.168.1.7/24,::1,"})
    assert (got.pdf_workers, got.log_format, got.metrics_allow) == (
        1, "text", ("10.0.0.5/32", "192.168.1.0/24", "::1/128"))
    assert Settings.from_env({"WORKFLOW_METRICS_ALLOW": "none"}).metrics_allow == ()
    for key, bad, says in [("PDF_WORKERS", "0", "at least 1"), ("PDF_WORKERS", "two", "two"),
                           ("LOG_FORMAT", "xml", "json or text"),
                           ("METRICS_ALLOW", "10.0.0.5,prometheus", "'prometheus'")]:
        with pytest.raises(SetupError, match=re.escape(says)):
            Settings.from_env({f"WORKFLOW_{key}": bad})


# ------------------------------------------------------------------ PDF queue
def require_libreoffice() -> None:
    if shutil.which("soffice") is None:
        (pytest.fail if os.environ.get("CI") else pytest.skip)(
            "LibreOffice is not installed (apt-get install libreoffice-writer-nogui)")


class SofficeWatch:
    """Which conversions have a LibreOffice process running, polled in /proc: each runs
    in its own temporary folder (``workflow-pdf-…``), named on its command line."""

    def __init__(self) -> None:
        self.most = 0
        self.seen: set[str] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def __enter__(self) -> SofficeWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _poll(self) -> None:
        while not self._stop.is_set():
            now: set[str] = set()
            for proc in Path("/proc").iterdir():
                try:
                    cmd = (proc / "cmdline").read_bytes().decode(errors="replace")
                except OSError:
                    continue
                found = re.search(r"workflow-pdf-[^/\x00]+", cmd)
                if found and "soffice" in cmd:
                    now.add(found.group())
            self.seen |= now
            self.most = max(self.most, len(now))
            time.sleep(0.02)


@pytest.mark.slow
@SQLITE_ONLY
@pytest.mark.parametrize("limit", [1, 2])
def test_pdf_conversions_wait_for_a_free_slot(app_settings: Settings, clock: Clock,
                                              limit: int) -> None:
    require_libreoffice()
    app = create_app(replace(app_settings, pdf_workers=limit), clock=clock)
    try:
        with TestClient(app, client=LOCAL) as client:
            wf = app.state.wf
            make_application(wf, state="drafting")
            doc = wf.engine.connect().execute(select(t.document.c.id)).scalar_one()
            r = client.post("/api/token", data={"username": "pl-ishoj",
                                                "password": demo.DEMO_PASSWORD})
            headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
            before = scrape(client)
            answers: list[httpx.Response] = []

            def download() -> None:
                answers.append(client.get(f"/api/documents/{doc}/versions/1?format=pdf",
                                          headers=headers))

            with SofficeWatch() as watch:
                threads = [threading.Thread(target=download) for _ in range(2)]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join()
            after = scrape(client)
    finally:
        pdf.PDF_QUEUE.set_limit(Settings().pdf_workers)
    assert [(a.status_code, a.headers["content-type"], a.content[:5]) for a in answers] == \
        [(200, "application/pdf", b"%PDF-")] * 2
    assert len(watch.seen) == 2, "both conversions were seen running"
    assert watch.most == limit   # 1: never two at once; 2: the watch does see two at once

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("workflow_pdf_conversion_seconds_count", outcome="ok") == 2
    assert grew("workflow_pdf_wait_seconds_count") == 2
    waited = grew("workflow_pdf_wait_seconds_sum")
    assert waited > 0.3 if limit == 1 else waited < 0.3  # the second waited for the first


def test_a_serving_app_freezes_its_start_up_heap(app_settings: Settings, clock: Clock) -> None:
    """``workflow serve``'s app (``freeze_heap``) moves what start-up made out of the
    collector's reach, so a full collection in a request scans only the request's
    objects; an app made otherwise (the tests', an embedding) leaves the collector be."""
    import gc

    gc.unfreeze()
    with TestClient(create_app(app_settings, clock=clock), client=LOCAL):
        assert gc.get_freeze_count() == 0
    try:
        with TestClient(create_app(app_settings, clock=clock, freeze_heap=True),
                        client=LOCAL) as c:
            assert gc.get_freeze_count() > 10_000    # the libraries, the definition, …
            assert c.get("/healthz").status_code == 200
    finally:
        gc.unfreeze()


# ------------------------------------------------------- as shipped: workflow serve
@dataclass
class Server:
    url: str
    proc: subprocess.Popen[bytes]
    log: Path

    def lines(self) -> list[str]:
        return self.log.read_text(encoding="utf-8").splitlines()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def served(tmp_path: Path, db_url: str, *, workers: int = 1,
           env: dict[str, str] | None = None) -> Iterator[Server]:
    """``workflow serve`` on a free loopback port, its stderr to a file; stopped at the end
    (SIGTERM, as systemd does). Ready when each worker has started."""
    port = free_port()
    log = tmp_path / f"serve-{port}.log"
    environ = {**os.environ, "WORKFLOW_DATABASE_URL": db_url, **(env or {})}
    with log.open("wb") as err:
        proc = subprocess.Popen([WORKFLOW, "serve", "--port", str(port),
                                 "--workers", str(workers)], env=environ, cwd=tmp_path,
                                stdout=subprocess.DEVNULL, stderr=err)
    server = Server(f"http://127.0.0.1:{port}", proc, log)
    try:
        deadline = time.monotonic() + 120
        while sum("Application startup complete" in line for line in server.lines()) \
                < workers:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError("workflow serve did not start:\n" + log.read_text())
            time.sleep(0.2)
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.mark.slow
@SQLITE_ONLY
def test_serve_logs_one_json_line_per_request_with_its_id(tmp_path: Path,
                                                         app_settings: Settings) -> None:
    env = {"WORKFLOW_METRICS_ALLOW": "10.0.0.0/8", "WORKFLOW_NOW": "2027-03-03T10:00"}
    with served(tmp_path, app_settings.database_url, env=env) as server:
        httpx.get(server.url + "/healthz", headers={"X-Request-ID": "t-1"})
        httpx.get(server.url + "/applications/7", headers={"X-Request-ID": "t-2"})
        refused = httpx.get(server.url + "/metrics", headers={"X-Request-ID": "t-3"})
    assert refused.status_code == 403
    records = [json.loads(line) for line in server.lines()]   # every line is JSON
    by_id = {(r["request_id"], r["logger"]): r for r in records}
    health = by_id["t-1", "workflow.request"]
    assert health.pop("duration_ms") > 0 and health.pop("time").endswith("+00:00")
    assert health == {"level": "INFO", "logger": "workflow.request", "request_id": "t-1",
                      "message": health["message"], "method": "GET", "route": "/healthz",
                      "path": "/healthz", "status": 200, "client": "127.0.0.1"}
    assert re.fullmatch(r"GET /healthz 200 \d+\.\d ms", health["message"])
    page = by_id["t-2", "workflow.request"]
    assert (page["route"], page["path"], page["status"]) == (
        "/applications/{app_id}", "/applications/7", 303)   # to the login
    warning = by_id["t-3", "workflow.web"]
    assert (warning["level"], warning["message"]) == ("WARNING",
                                                      "/metrics refused to 127.0.0.1")
    assert not [r for r in records if r["logger"] == "uvicorn.access"]
    assert {r["request_id"] for r in records if r["logger"] == "uvicorn.error"} == {"-"}

    with served(tmp_path, app_settings.database_url,
                env={**env, "WORKFLOW_LOG_FORMAT": "text"}) as server:
        httpx.get(server.url + "/healthz", headers={"X-Request-ID": "t-4"})
    assert [line for line in server.lines() if re.fullmatch(
        r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO workflow\.request \[t-4\] "
        r"GET /healthz 200 \d+\.\d ms", line)]


@pytest.mark.slow
def test_serve_workers_add_up_their_metrics(tmp_path: Path, app_settings: Settings) -> None:
    folder = tmp_path / "prometheus"
    folder.mkdir()
    (folder / "counter_1.db").write_bytes(b"left by an earlier run")
    env = {"PROMETHEUS_MULTIPROC_DIR": str(folder), "WORKFLOW_NOW": "2027-03-03T10:00"}
    with served(tmp_path, app_settings.database_url, workers=2, env=env) as server:
        assert not (folder / "counter_1.db").exists()
        for _ in range(40):   # a new connection each: the workers take turns
            assert httpx.get(server.url + "/healthz").status_code == 200
        r = httpx.get(server.url + "/metrics")
    assert r.status_code == 200, r.text
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for family in text_string_to_metric_families(r.text) for s in family.samples}
    assert value(samples, "workflow_http_requests_total", route="/healthz", method="GET",
                 status="200") == 40
    assert value(samples, "workflow_database_up") == 1
    pids = {m.group(1) for p in folder.iterdir()
            if (m := re.fullmatch(r"counter_(\d+)\.db", p.name))}
    assert len(pids) == 2, f"both workers counted: {sorted(pids)}"
