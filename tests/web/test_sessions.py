"""Sessions, logins and the pages' guard, on SQLite and PostgreSQL.

A session lives on the server: logout, a new password and a deactivation end it for every
copy of its cookie (which carries only a signed random id), and no page, cached or not, is
served to it after; it lasts eight hours by the real clock. A new API token is shown in the
answer alone. Parallel wrong guesses (requests, and separate processes) are checked only
as often as the limit allows; a stranger's guesses lock out only the stranger's address;
an unknown user costs the same argon2 work as a wrong password. Every answer has the
security headers, the pages run no inline script or style (in Chromium too: no policy
violation), and a form posted from another site is refused in Danish. Old login attempts,
tokens and sessions are pruned.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import multiprocessing
import queue
import re
import statistics
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from sqlalchemy import func, insert, select

from tests.conftest import SQLITE_ONLY, Clock
from tests.factories import make_application
from tests.web.test_api import TestClient, prepare, token
from tests.web.test_bum import csrf_of, log_in
from tests.web.test_e2e import Server
from tests.web.test_e2e import browser as browser  # noqa: F401  (Chromium, a fixture)
from tests.web.test_e2e import server as server  # noqa: F401  (the real server, a fixture)
from tests.web.test_pagecache import cache_of, state_shown
from workflow.accounts import logins as accounts
from workflow.config import Settings
from workflow.engine import queries
from workflow.engine.workflow import Workflow
from workflow.errors import AuthError, RateLimited
from workflow.store import tables as t
from workflow.web.app import create_app

if TYPE_CHECKING:
    from playwright.sync_api import Browser

COOKIE = "workflow_session"
DANISH_REFUSAL = "Formularen blev sendt fra et andet websted og er derfor afvist"


@pytest.fixture
def wall() -> Clock:
    """The clock sessions are timed by (the real one in use), set to a fixed moment."""
    return Clock(datetime(2026, 3, 2, 8, 0, tzinfo=UTC))


@pytest.fixture
def client(settings: Settings, clock: Clock, wall: Clock) -> Iterator[TestClient]:
    prepare(settings)
    with TestClient(create_app(settings, clock=clock)) as c:
        c.app.state.session_clock = wall  # type: ignore[attr-defined]
        yield c


def browser_like(client: TestClient, **kw: Any) -> TestClient:
    """Another browser on the same (started) app."""
    return TestClient(client.app, **kw)


def log_in_with(client: TestClient, user: str, password: str) -> int:
    """A login through the form: its status (303 when it worked)."""
    client.cookies.clear()
    form = {"username": user, "password": password, "csrf": csrf_of(client.get("/login").text)}
    return client.post("/login", data=form, follow_redirects=False).status_code


def bearer(tok: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {tok}"}


def logged_out(c: TestClient, path: str = "/") -> bool:
    r = c.get(path, follow_redirects=False)
    return r.status_code == 303 and r.headers["location"] == "/login"


# -------------------------------------------------------------- 1. sessions end
def test_a_cookie_kept_from_before_logout_does_nothing_after_it(client: TestClient,
                                                                 wf: Workflow) -> None:
    app_id = make_application(wf, state="drafting")
    csrf = log_in(client, "pl-ishoj")
    page = f"/applications/{app_id}"
    assert state_shown(client.get(page).text) == "drafting"  # and the page is cached
    kept = dict(client.cookies)
    r = client.post("/logout", data={"csrf": csrf}, follow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (303, "/login")
    assert COOKIE not in client.cookies  # the browser is told to forget it
    thief = browser_like(client, cookies=kept)
    hits = cache_of(client).hits
    for path in ("/", page, "/bum", "/documents/1/versions/1"):
        assert logged_out(thief, path), path
    assert cache_of(client).hits == hits  # not even a cached page
    version = queries.get_application(wf, app_id, user="admin")["version"]
    r = thief.post(f"{page}/fire", follow_redirects=False, data={
        "csrf": csrf, "trigger": "submit_for_review", "version": str(version)})
    assert (r.status_code, r.headers["location"]) == (303, "/login")
    assert queries.get_application(wf, app_id, user="admin")["state"] == "drafting"


def test_a_new_password_ends_the_users_sessions_and_tokens(client: TestClient, clock: Clock,
                                                           wf: Workflow) -> None:
    """Set on the admin page: every session of the user ends and every token of theirs
    is revoked (login tokens and issued ones); others' sessions and the admin's hold."""
    lead, other = browser_like(client), browser_like(client)
    log_in(lead, "pl-ishoj")
    log_in(other, "pl-vallensbaek")
    login_token = token(client, "pl-ishoj")
    issued = accounts.issue_token(wf.engine, "pl-ishoj", created_by="admin", now=clock(),
                                  label="ESDH")
    csrf = log_in(client, "admin")
    r = client.post("/admin/users/pl-ishoj/password", data={"csrf": csrf, "password": "ny-kode"})
    assert r.status_code == 200
    assert "Ny adgangskode for pl-ishoj er gemt. 1 session er afsluttet, og 2 API-nøgler er " \
           "spærret." in r.text
    assert logged_out(lead)
    for tok in (login_token, issued.token):
        assert client.get("/api/me", headers=bearer(tok)).status_code == 401
    assert other.get("/", follow_redirects=False).status_code == 200
    assert client.get("/admin", follow_redirects=False).status_code == 200
    assert log_in_with(lead, "pl-ishoj", "demo") == 401
    assert log_in_with(lead, "pl-ishoj", "ny-kode") == 303


def test_an_admins_own_new_password_keeps_this_session_only(client: TestClient) -> None:
    elsewhere = browser_like(client)
    log_in(elsewhere, "admin")
    csrf = log_in(client, "admin")
    r = client.post("/admin/users/admin/password", data={"csrf": csrf, "password": "ny-kode"})
    assert r.status_code == 200 and "1 session er afsluttet" in r.text
    assert client.get("/admin", follow_redirects=False).status_code == 200
    assert logged_out(elsewhere)


def test_a_deactivated_users_sessions_end(client: TestClient, wf: Workflow) -> None:
    log_in(client, "sec-ishoj")
    tok = token(client, "sec-ishoj")
    ended = accounts.set_active(wf.engine, "sec-ishoj", False)
    assert ended == accounts.Ended(sessions=1, tokens=1)
    assert logged_out(client)
    assert client.get("/api/me", headers=bearer(tok)).status_code == 401
    assert log_in_with(client, "sec-ishoj", "demo") == 401
    accounts.set_active(wf.engine, "sec-ishoj", True)
    assert log_in_with(client, "sec-ishoj", "demo") == 303


def test_the_cookie_carries_a_signed_id_and_nothing_else(client: TestClient,
                                                         wf: Workflow) -> None:
    client.get("/login")
    before = client.cookies[COOKIE]  # a visitor has an id (for the form's token), no row
    log_in(client, "pl-ishoj")
    value = client.cookies[COOKIE]
    sid, stamp, signature = value.split(".")
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", sid), value
    assert before.split(".")[0] != sid  # a new id at login
    assert "pl-ishoj" not in base64.urlsafe_b64decode(sid + "=").decode("latin-1")
    ws = t.web_session
    with wf.engine.connect() as conn:
        rows = conn.execute(select(ws.c.id, ws.c.user_id, ws.c.revoked_at)).all()
    assert [tuple(r) for r in rows] == [(hashlib.sha256(sid.encode()).hexdigest(),
                                         "pl-ishoj", None)]
    # the id unsigned, signed for another id, or the id before login: logged out
    for forged in (sid, f"{'A' * 43}.{stamp}.{signature}", before):
        assert logged_out(browser_like(client, cookies={COOKIE: forged})), forged
    assert not logged_out(browser_like(client, cookies={COOKIE: value}))


def test_a_session_lasts_eight_hours_by_the_real_clock(client: TestClient, clock: Clock,
                                                       wall: Clock) -> None:
    log_in(client, "pl-ishoj")
    clock.at("2019-06-01T09:00")  # the cases' clock moves on (or stands still): no matter
    wall.advance(hours=7, minutes=59)
    assert client.get("/", follow_redirects=False).status_code == 200
    wall.advance(minutes=1)
    assert logged_out(client)


def test_a_message_after_a_form_is_kept_on_the_server(client: TestClient,
                                                      wf: Workflow) -> None:
    app_id = make_application(wf, state="drafting")
    csrf = log_in(client, "pl-ishoj")
    cookie = client.cookies[COOKIE]
    version = queries.get_application(wf, app_id, user="admin")["version"]
    r = client.post(f"/applications/{app_id}/fire", follow_redirects=False, data={
        "csrf": csrf, "trigger": "submit_for_review", "version": str(version)})
    assert r.status_code == 303 and "set-cookie" not in r.headers
    assert client.cookies[COOKIE] == cookie
    ws = t.web_session
    with wf.engine.connect() as conn:
        data = conn.execute(select(ws.c.data)).scalar_one()
    assert [m["text"] for m in data["flash"]] == ["Udført: Send til juridisk gennemsyn."]
    assert "Udført: Send til juridisk gennemsyn." in client.get(r.headers["location"]).text
    with wf.engine.connect() as conn:
        assert conn.execute(select(ws.c.data)).scalar_one() == {}


# --------------------------------------------------- 4. a new token, shown once
def test_a_new_token_is_in_the_answer_alone(client: TestClient, wf: Workflow) -> None:
    csrf = log_in(client, "admin")
    cookie = client.cookies[COOKIE]
    r = client.post("/admin/tokens", data={"csrf": csrf, "user_id": "legal-ishoj",
                                           "label": "ESDH"}, follow_redirects=False)
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    found = re.search(r"vises kun denne ene gang\): <code>(wf_[A-Za-z0-9_-]+)</code>", r.text)
    assert found, r.text
    new = found.group(1)
    assert "set-cookie" not in r.headers and client.cookies[COOKIE] == cookie
    assert new not in client.cookies[COOKIE]
    with wf.engine.connect() as conn:
        stored = repr([list(conn.execute(select(tbl))) for tbl in (t.web_session, t.api_token)])
    assert new not in stored and new[3:] not in stored
    assert new not in client.get("/admin").text  # shown once
    assert client.get("/api/me", headers=bearer(new)).json()["id"] == "legal-ishoj"


# ---------------------------------------------------------- 2. login lock-outs
def test_parallel_wrong_guesses_are_checked_only_as_often_as_the_limit(
        client: TestClient, wf: Workflow) -> None:
    """40 guesses at once (each request in its own thread and transaction)."""
    n = 40

    async def guesses() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=client.app, client=("192.0.2.7", 4711))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as ac:
            return await asyncio.gather(*(ac.post("/api/token", data={
                "username": "admin", "password": f"guess{i}"}) for i in range(n)))

    answers = client.portal.call(guesses)  # type: ignore[union-attr]
    assert Counter(r.status_code for r in answers) == {
        401: accounts.FAILED_LIMIT, 429: n - accounts.FAILED_LIMIT}
    la = t.login_attempt
    with wf.engine.connect() as conn:
        logged = Counter(tuple(r) for r in conn.execute(select(la.c.ok, la.c.locked)))
    assert logged == {(False, False): accounts.FAILED_LIMIT,
                      (False, True): n - accounts.FAILED_LIMIT}


CTX = multiprocessing.get_context("spawn")
TIMEOUT = 60.0


def _guesser(url: str, tries: int, barrier: Any, results: Any) -> None:
    """A separate process: ``tries`` wrong guesses for sec-ishoj, from the moment every
    guesser is ready."""
    from datetime import UTC, datetime

    from workflow.accounts import logins as accounts
    from workflow.errors import RateLimited
    from workflow.store import database as store

    engine = store.make_engine(url)
    store.require_schema(engine)
    barrier.wait(timeout=TIMEOUT)
    for i in range(tries):
        try:
            accounts.authenticate(engine, "sec-ishoj", f"guess{i}", client="198.51.100.9",
                                  now=datetime(2018, 1, 8, 9, 0, tzinfo=UTC))
            results.put("ok")
        except RateLimited:
            results.put("RateLimited")
        except Exception as exc:  # noqa: BLE001 - reported to the parent by name
            results.put(type(exc).__name__)
    engine.dispose()


@pytest.mark.slow
def test_guesses_from_parallel_processes_are_checked_only_as_often_as_the_limit(
        db_url: str, settings: Settings) -> None:
    prepare(settings)
    procs, tries = 4, 8
    barrier, results = CTX.Barrier(procs), CTX.Queue()
    racers = [CTX.Process(target=_guesser, args=(db_url, tries, barrier, results))
              for _ in range(procs)]
    for p in racers:
        p.start()
    try:
        got = Counter(results.get(timeout=TIMEOUT) for _ in range(procs * tries))
    except queue.Empty:
        pytest.fail("a guesser did not answer")
    finally:
        for p in racers:
            p.join(timeout=TIMEOUT)
    assert got == {"AuthError": accounts.FAILED_LIMIT,
                   "RateLimited": procs * tries - accounts.FAILED_LIMIT}


def test_a_stranger_cannot_lock_a_user_out(settings: Settings, wf: Workflow,
                                           clock: Clock) -> None:
    prepare(settings)
    stranger, admin = "203.0.113.66", "10.20.30.40"
    for i in range(accounts.FAILED_LIMIT):
        with pytest.raises(AuthError):
            accounts.authenticate(wf.engine, "admin", f"x{i}", client=stranger, now=clock())
    with pytest.raises(RateLimited, match="too many failed logins for 'admin'"):
        accounts.authenticate(wf.engine, "admin", "demo", client=stranger, now=clock())
    assert accounts.authenticate(wf.engine, "admin", "demo", client=admin, now=clock()) == \
        "admin"


def test_an_address_that_guesses_across_accounts_waits(settings: Settings, wf: Workflow,
                                                       clock: Clock) -> None:
    prepare(settings)
    users = ["pl-ishoj", "pl-vallensbaek", "sec-ishoj", "sec-vallensbaek", "legal-ishoj"]
    per_user = accounts.ADDRESS_LIMIT // len(users)
    assert per_user < accounts.FAILED_LIMIT  # no account is locked by this alone
    for user in users:
        for i in range(per_user):
            with pytest.raises(AuthError) as raised:
                accounts.authenticate(wf.engine, user, f"x{i}", client="203.0.113.5",
                                      now=clock())
            assert type(raised.value) is AuthError
        clock.advance(seconds=10)
    with pytest.raises(RateLimited, match="from this address") as limited:
        accounts.authenticate(wf.engine, "dir-ishoj", "demo", client="203.0.113.5",
                              now=clock())
    # (the first failure leaves the window then)
    assert limited.value.retry_after == 15 * 60 - len(users) * 10 + 1
    assert accounts.authenticate(wf.engine, "dir-ishoj", "demo", client="203.0.113.6",
                                 now=clock()) == "dir-ishoj"
    clock.advance(seconds=limited.value.retry_after)
    assert accounts.authenticate(wf.engine, "dir-ishoj", "demo", client="203.0.113.5",
                                 now=clock()) == "dir-ishoj"


def test_a_refused_login_page_says_why_in_danish(client: TestClient) -> None:
    csrf = csrf_of(client.get("/login").text)
    r = client.post("/login", data={"username": "pl-ishoj", "password": "forkert",
                                    "csrf": csrf})
    assert r.status_code == 401 and "Forkert brugernavn eller adgangskode." in r.text
    assert 'value="pl-ishoj"' in r.text
    for i in range(accounts.FAILED_LIMIT):
        client.post("/login", data={"username": "pl-ishoj", "password": f"x{i}", "csrf": csrf})
    r = client.post("/login", data={"username": "pl-ishoj", "password": "demo", "csrf": csrf})
    assert r.status_code == 429 and int(r.headers["retry-after"]) == 15 * 60 + 1
    assert "For mange forkerte forsøg herfra. Prøv igen om 16 minutter." in r.text


# ------------------------------------------------------------- 3. equal timing
class CountingHasher:
    """argon2's own hasher, counting its verifications."""

    def __init__(self) -> None:
        from argon2 import PasswordHasher

        self.hasher = PasswordHasher()
        self.verified = 0

    def hash(self, password: str) -> str:
        return str(self.hasher.hash(password))

    def verify(self, stored: str, password: str) -> bool:
        self.verified += 1
        return bool(self.hasher.verify(stored, password))


@SQLITE_ONLY
def test_an_unknown_user_costs_the_same_argon2_work_as_a_wrong_password(
        settings: Settings, wf: Workflow, clock: Clock, monkeypatch: pytest.MonkeyPatch) -> None:
    from sqlalchemy import update

    prepare(settings, quick_hashes=False)  # the demo's hashes, at argon2's default cost
    with wf.engine.begin() as conn:
        conn.execute(update(t.user).where(t.user.c.id == "dir-ishoj").values(active=False))
        conn.execute(update(t.user).where(t.user.c.id == "dir-vallensbaek")
                     .values(password_hash=None))
    counting = CountingHasher()
    monkeypatch.setattr(accounts, "_hasher", lambda: counting)
    accounts._dummy_hash.cache_clear()  # (made again, by the counting hasher)

    def took(user: str) -> float:
        times = []
        for i in range(5):
            clock.advance(minutes=16)  # never locked out
            counting.verified = 0
            start = time.perf_counter()
            with pytest.raises(AuthError):
                accounts.authenticate(wf.engine, user, f"wrong{i}", client="192.0.2.1",
                                      now=clock())
            times.append(time.perf_counter() - start)
            assert counting.verified == 1, user
        return statistics.median(times)

    took("nobody")  # (the first check makes the dummy hash)
    known = took("pl-ishoj")
    for user in ("nobody", "dir-ishoj", "dir-vallensbaek"):  # unknown, inactive, no password
        other = took(user)
        assert known / 3 < other < known * 3, (user, other, known)


# ---------------------------------------------------------- 5. headers, origin
PAGES = ("/login", "/", "/bum", "/admin", "/applications/{app}", "/applications/999")


def test_every_answer_carries_the_security_headers(client: TestClient, wf: Workflow) -> None:
    app_id = make_application(wf, state="council_approval")
    log_in(client, "admin")
    paths = [p.format(app=app_id) for p in PAGES]
    for path in (*paths, "/api/me", "/api/applications", "/docs", "/docs/oauth2-redirect",
                 "/openapi.json", "/static/pages.css", "/static/dashboard.js",
                 "/docs/assets/swagger-ui.css", "/no-such-page"):
        r = client.get(path)
        h = r.headers
        assert h["x-frame-options"] == "DENY", path
        assert h["x-content-type-options"] == "nosniff", path
        assert h["referrer-policy"] == "same-origin", path
        csp = h["content-security-policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp, path
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, path
        stored = path.startswith(("/static/", "/docs/assets/"))
        assert (h.get("cache-control") == "no-store") is not stored, path
    assert client.get("/static/pages.css").headers["content-type"].startswith("text/css")


def test_the_pages_have_no_inline_script_or_style(client: TestClient, wf: Workflow) -> None:
    app_id = make_application(wf, state="council_approval")
    for user in ("pl-ishoj", "admin"):
        log_in(client, user)
        for path in PAGES:
            html = client.get(path.format(app=app_id)).text
            assert not re.search(r"<script(?![^>]*\bsrc=)", html), (user, path)
            assert not re.search(r"<style|\sstyle=", html), (user, path)
            assert '<link rel="stylesheet" href="/static/pages.css">' in html


@SQLITE_ONLY
def test_the_docs_run_only_their_own_inline_script(client: TestClient) -> None:
    for path in ("/docs", "/docs/oauth2-redirect"):
        r = client.get(path)
        scripts = re.findall(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", r.text, re.S)
        assert scripts, path
        csp = r.headers["content-security-policy"]
        allowed = re.findall(r"'sha256-([A-Za-z0-9+/=]+)'", csp)
        assert sorted(allowed) == sorted(
            base64.b64encode(hashlib.sha256(s.encode()).digest()).decode() for s in scripts)


CROSS_SITE = [{"Origin": "https://evil.example"}, {"Origin": "null"},
              {"Origin": "http://testserver.evil.example"},
              {"Origin": "http://evil.example", "Host": "testserver", "Sec-Fetch-Site":
               "same-origin"},
              {"Sec-Fetch-Site": "cross-site"}, {"Sec-Fetch-Site": "same-site"}]


def test_a_form_posted_from_another_site_is_refused_in_danish(client: TestClient,
                                                              wf: Workflow) -> None:
    app_id = make_application(wf, state="drafting")
    csrf = log_in(client, "pl-ishoj")
    version = queries.get_application(wf, app_id, user="admin")["version"]
    form = {"csrf": csrf, "trigger": "submit_for_review", "version": str(version)}
    url = f"/applications/{app_id}/fire"
    for headers in CROSS_SITE:
        r = client.post(url, data=form, headers=headers, follow_redirects=False)
        assert r.status_code == 403, headers
        assert r.headers["content-type"].startswith("text/html")
        assert DANISH_REFUSAL in r.text and "Ingen adgang" in r.text, headers
        r = client.post("/logout", data={"csrf": csrf}, headers=headers)
        assert r.status_code == 403
    assert queries.get_application(wf, app_id, user="admin")["state"] == "drafting"
    assert not logged_out(client)  # the logout from elsewhere did nothing
    r = client.post("/api/token", data={"username": "pl-ishoj", "password": "demo"},
                    headers=CROSS_SITE[0])
    assert r.status_code == 403 and r.json()["error"] == "PermissionDenied"
    assert "another site" in r.json()["detail"] and DANISH_REFUSAL in r.json()["detail_da"]
    # from this site (a browser says so), and from a client that says nothing: done
    r = client.post(url, data=form, headers={"Origin": "http://testserver",
                                             "Sec-Fetch-Site": "same-origin"})
    assert r.status_code == 200 and state_shown(r.text) == "legal_review"
    assert token(client, "pl-ishoj")


@pytest.mark.slow
@SQLITE_ONLY
def test_the_pages_break_no_policy_in_chromium(browser: Browser, server: Server,
                                               wf: Workflow) -> None:
    from playwright.sync_api import expect

    from tests.web.test_e2e import log_in as browser_log_in

    app_id = make_application(wf, state="council_approval")
    page = browser_log_in(browser, server, "pl-ishoj")
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.add_init_script("document.addEventListener('securitypolicyviolation', e => "
                         "console.error('CSP: ' + e.violatedDirective + ' ' + e.blockedURI))")
    page.goto(server.url + "/")
    header = page.locator("header.top")
    assert header.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(15, 42, 74)"
    # the dashboard's script shows only the chosen kind's fields
    page.get_by_label("Type").select_option(label="Dispensation fra det forpligtende samarbejde")
    expect(page.get_by_label("Runde")).to_be_visible()
    expect(page.get_by_label("Udfører (leverer ydelsen)")).to_be_hidden()
    page.goto(f"{server.url}/applications/{app_id}")
    expect(page.locator(".badge").first).to_be_visible()
    page.get_by_role("button", name="Log ud").click()
    expect(page.get_by_role("heading", name="Log ind")).to_be_visible()
    assert problems == []


# ------------------------------------------------------------------- 6. pruning
def test_a_login_prunes_what_is_no_longer_needed(client: TestClient, wf: Workflow,
                                                 clock: Clock, wall: Clock) -> None:
    now, old, recent = clock(), clock() - timedelta(days=31), clock() - timedelta(days=1)
    la, at, ws = t.login_attempt, t.api_token, t.web_session
    with wf.engine.begin() as conn:
        conn.execute(insert(la), [{"username": "x", "client": "c", "at": at_, "ok": False,
                                   "locked": False} for at_ in (old, old, recent)])
    tokens = {name: accounts.issue_token(wf.engine, "pl-ishoj", created_by="admin",
                                         now=now - age, label=name, ttl=ttl).id
              for name, age, ttl in (("expired long ago", timedelta(days=40),
                                      timedelta(days=1)),
                                     ("expired lately", timedelta(days=2), timedelta(days=1)),
                                     ("revoked long ago", timedelta(days=40), None),
                                     ("live", timedelta(0), None))}
    accounts.revoke_token(wf.engine, tokens["revoked long ago"], now=old)
    accounts.start_session(wf.engine, "pl-vallensbaek", now=wall() - timedelta(hours=9))
    live = accounts.start_session(wf.engine, "pl-vallensbaek", now=wall() - timedelta(hours=7))
    with wf.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(ws)).scalar_one() == 2
    log_in(client, "pl-ishoj")
    with wf.engine.connect() as conn:
        assert sorted(r.at for r in conn.execute(select(la.c.at))) == [recent, now]
        assert sorted(conn.execute(select(at.c.label)).scalars()) == ["expired lately", "live"]
        assert sorted(conn.execute(select(ws.c.id)).scalars()) == sorted(
            [hashlib.sha256(live.encode()).hexdigest(),
             hashlib.sha256(client.cookies[COOKIE].split(".")[0].encode()).hexdigest()])
