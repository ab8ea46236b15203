"""The pages' cache, on SQLite and PostgreSQL: a page is served again only while nothing has
changed, to the same user, on the same day, with the session's own CSRF token.

Changes are made the ways they happen in production: by another worker (a second
Workflow on the same database, as the command line or the scheduler would be), through a
form on the pages, and by an administrator; the date moves with the test clock.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing

import httpx
import pytest
from sqlalchemy import text, update

from tests.conftest import SQLITE_ONLY, Clock
from tests.factories import make_application
from tests.reminders.test_reminders import TEMPLATES, SmtpServer
from tests.web.test_api import TestClient, prepare
from tests.web.test_bum import csrf_of, log_in
from workflow.config import Settings
from workflow.engine.workflow import Workflow
from workflow.reminders.mailer import Mailer
from workflow.reminders.service import ReminderService
from workflow.store import database as store
from workflow.store import tables as t
from workflow.web.app import create_app
from workflow.web.pagecache import PageCache


@pytest.fixture
def client(settings: Settings, clock: Clock) -> Iterator[TestClient]:
    prepare(settings)
    with TestClient(create_app(settings, clock=clock)) as c:
        yield c


@pytest.fixture
def mail() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    yield server
    server.stop()


def cache_of(client: TestClient) -> PageCache:
    cache: PageCache = client.app.state.page_cache  # type: ignore[attr-defined]
    return cache


def state_shown(html: str) -> str:
    found = re.search(r'data-state="([a-z_]+)"', html)
    assert found, html[:2000]
    return found.group(1)


@pytest.fixture
def counter(wf: Workflow) -> Iterator[store.ChangeCount]:
    reader = store.ChangeCount(wf.engine)
    yield reader
    reader.close()


def test_every_write_moves_the_change_count_and_a_failed_one_does_not(
        wf: Workflow, counter: store.ChangeCount) -> None:
    before = counter.read()
    assert before is not None and counter.read() == before  # nothing changed: it stays
    app_id = make_application(wf)
    after_create = counter.read()
    assert after_create is not None and after_create > before
    with pytest.raises(RuntimeError), store.write(wf.engine) as conn:
        conn.execute(update(t.application).where(t.application.c.id == app_id)
                     .values(title="rolled back"))
        raise RuntimeError("boom")
    assert counter.read() == after_create
    wf.fire(app_id, "propose_areas", user="pl-ishoj", data={"areas": "rehabilitation,social"})
    assert (counter.read() or 0) > after_create


@pytest.mark.usefixtures("deadline_reminders_only")  # counts the deadline reminders
def test_only_changes_count_not_a_scheduler_with_nothing_to_send_nor_a_new_worker(
        wf: Workflow, open_wf: Callable[..., Workflow], mail: SmtpServer,
        counter: store.ChangeCount) -> None:
    make_application(wf, state="council_approval")
    before = counter.read()
    service = ReminderService(wf, Mailer(mail.settings, timeout=10), templates_dir=TEMPLATES,
                              name="test-service")
    assert service.tick().sent == 0  # nothing is due yet
    open_wf().close()  # another worker starting on the same definition
    assert counter.read() == before


@SQLITE_ONLY
def test_on_sqlite_a_change_made_by_hand_moves_the_count_too(
        wf: Workflow, counter: store.ChangeCount) -> None:
    app_id = make_application(wf)
    before = counter.read()
    path = wf.engine.url.database
    assert path is not None
    with closing(sqlite3.connect(path)) as other, other:  # the sqlite3 shell, say
        other.execute("UPDATE application SET title = 'Rettet i hånden' WHERE id = ?", (app_id,))
    assert (counter.read() or 0) > (before or 0)


def test_a_page_is_served_again_until_another_worker_changes_something(
        client: TestClient, wf: Workflow) -> None:
    app_id = make_application(wf, state="drafting")
    token = log_in(client, "pl-ishoj")
    cache = cache_of(client)
    first = client.get(f"/applications/{app_id}")
    hits = cache.hits
    again = client.get(f"/applications/{app_id}")
    assert again.status_code == 200 and cache.hits == hits + 1
    assert again.text == first.text and state_shown(again.text) == "drafting"
    assert cache.marker not in again.text and csrf_of(again.text) == token

    wf.fire(app_id, "submit_for_review", user="pl-ishoj")  # another worker, same database
    moved = client.get(f"/applications/{app_id}")
    assert state_shown(moved.text) == "legal_review"
    assert "submit_for_review" not in triggers_of(moved.text)
    # and the dashboard lists it under its new state, not the old one
    dashboard = client.get("/")
    assert f"/applications/{app_id}" in dashboard.text
    assert cache.marker not in dashboard.text


def test_a_change_made_through_a_form_shows_with_its_message(
        client: TestClient, wf: Workflow) -> None:
    app_id = make_application(wf, state="drafting")
    token = log_in(client, "pl-ishoj")
    assert state_shown(client.get(f"/applications/{app_id}").text) == "drafting"
    version = re.search(r'name="version" value="(\d+)"', client.get(
        f"/applications/{app_id}").text)
    assert version
    r = client.post(f"/applications/{app_id}/fire",
                    data={"csrf": token, "trigger": "submit_for_review",
                          "version": version.group(1)})
    assert r.status_code == 200, r.text  # followed the redirect back to the page
    assert state_shown(r.text) == "legal_review"
    assert "Udført: Send til juridisk gennemsyn." in r.text
    # the message is shown once; the page after it comes from the cache without it
    plain = client.get(f"/applications/{app_id}")
    assert "Udført: Send til juridisk gennemsyn." not in plain.text
    assert state_shown(plain.text) == "legal_review"


def test_each_user_and_each_session_gets_its_own_page(
        client: TestClient, settings: Settings, clock: Clock, wf: Workflow) -> None:
    app_id = make_application(wf, state="council_approval")
    other = TestClient(client.app)  # a second browser, on the same worker (already started)
    third = TestClient(client.app)  # and a third
    # (all log in first: a login attempt is a change to SQLite's count)
    lead_token = log_in(client, "pl-ishoj")
    secretary_token = log_in(other, "sec-ishoj")
    third_token = log_in(third, "pl-ishoj")
    lead = client.get(f"/applications/{app_id}").text
    secretary = other.get(f"/applications/{app_id}").text
    assert secretary_token != lead_token and csrf_of(secretary) == secretary_token
    assert "record_council_decision" in triggers_of(secretary)
    assert "record_council_decision" not in triggers_of(lead)
    # the lead in the third browser: the cached page, with that session's own token
    hits = cache_of(client).hits
    page = third.get(f"/applications/{app_id}").text
    assert cache_of(client).hits == hits + 1
    assert third_token != lead_token and csrf_of(page) == third_token
    assert page.replace(third_token, "") == lead.replace(lead_token, "")


def triggers_of(html: str) -> list[str]:
    return re.findall(r'name="trigger" value="([a-z_]+)"', html)


def test_a_deactivated_user_is_not_served_a_cached_page(
        client: TestClient, wf: Workflow) -> None:
    log_in(client, "pl-ishoj")
    assert client.get("/").status_code == 200
    with store.write(wf.engine) as conn:
        conn.execute(update(t.user).where(t.user.c.id == "pl-ishoj").values(active=False))
    r = client.get("/", follow_redirects=False)
    assert r.status_code == 404 and "Brugeren »pl-ishoj« findes ikke" in r.text
    # and that was the end of the session
    r = client.get("/", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"


def test_the_date_is_part_of_the_key(client: TestClient, clock: Clock, wf: Workflow) -> None:
    app_id = make_application(wf, state="council_approval")
    log_in(client, "pl-ishoj")
    cache = cache_of(client)
    client.get(f"/applications/{app_id}")
    misses = cache.misses
    client.get(f"/applications/{app_id}")
    assert cache.misses == misses
    clock.advance(days=1)
    client.get(f"/applications/{app_id}")
    assert cache.misses == misses + 1


def test_errors_are_not_cached_and_carry_the_sessions_token(
        client: TestClient, wf: Workflow) -> None:
    token = log_in(client, "pl-ishoj")
    for _ in range(2):
        r = client.get("/applications/999999")
        assert r.status_code == 404
        assert cache_of(client).marker not in r.text
        assert csrf_of(r.text) == token


def test_requests_for_a_page_being_rendered_wait_for_that_rendering(
        client: TestClient, wf: Workflow) -> None:
    app_id = make_application(wf, state="council_approval")
    log_in(client, "pl-ishoj")
    cookies = dict(client.cookies)
    cache = cache_of(client)
    rendered = cache.rendered

    async def twelve() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=client.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver",
                                     cookies=cookies) as ac:
            return await asyncio.gather(*(ac.get(f"/applications/{app_id}")
                                          for _ in range(12)))

    pages = client.portal.call(twelve)  # type: ignore[union-attr]
    assert [p.status_code for p in pages] == [200] * 12
    assert len({p.text for p in pages}) == 1 and state_shown(pages[0].text) == \
        "council_approval"
    assert cache.rendered == rendered + 1


def test_the_cache_keeps_the_most_recently_used_pages() -> None:
    cache = PageCache(size=2)
    cache.put("a", b"A")
    cache.put("b", b"B")
    assert cache.get("a") == b"A"  # a is now the most recent
    cache.put("c", b"C")
    assert cache.get("b") is None and cache.get("a") == b"A" and cache.get("c") == b"C"
    assert PageCache().marker != PageCache().marker


def test_the_counter_reader_reconnects_when_its_connection_is_gone(wf: Workflow) -> None:
    counter = store.ChangeCount(wf.engine)
    try:
        first = counter.read()
        assert first is not None
        raw = counter._raw
        if store.is_sqlite(wf.engine):
            raw.close()
        else:  # the server ends the session, as on a restart or a fail-over
            with wf.engine.connect() as conn:
                conn.execute(text("SELECT pg_terminate_backend(:pid)"),
                             {"pid": raw.info.backend_pid})
        make_application(wf)
        assert (counter.read() or 0) > first
        assert counter._raw is not raw
    finally:
        counter.close()
