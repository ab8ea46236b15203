"""Hostile input and a failing database through the web layer, on SQLite and PostgreSQL.

Text that is no text (a lone UTF-16 surrogate) is refused at the API with a 422 naming
the field, and text stored before it was refused still reads; NaN, Infinity and numbers
out of range are a 422, deep or huge bodies a 4xx, never a 500; a SQLite disk that fills
up is a 503 until space is freed, then writes succeed again in the same process; a
PostgreSQL server that goes away (a TCP proxy in front of it, stopped and started again)
is a 503 for reads, the token lookup and pages alike, and the app recovers by itself.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text

from tests.conftest import PG_URL, Clock
from tests.factories import make_application
from tests.store.test_sqlitewriter import TinyDisk, sqlite_on, tiny_disk  # noqa: F401
from tests.web.test_api import Api, TestClient, prepare
from tests.web.test_bum import log_in
from tests.web.test_pages import error_shown
from tests.web.test_security import snapshot
from workflow.config import Settings
from workflow.engine.workflow import Workflow
from workflow.store import database as store
from workflow.store import tables as t
from workflow.web.app import create_app

JSON = {"Content-Type": "application/json"}
BUM = {"provider": "ishoj", "purchaser": "vallensbaek", "area": "rehabilitation",
       "service": "Genoptræning"}


@pytest.fixture
def client(settings: Settings, clock: Clock) -> Iterator[TestClient]:
    """The app with server errors answered as 500 (not raised), so tests can see them."""
    prepare(settings)
    with TestClient(create_app(settings, clock=clock), raise_server_exceptions=False) as c:
        yield c


def raw_post(client: TestClient, api: Api, url: str, body: str | bytes) -> Any:
    """POST ``body`` exactly as given (JSON escapes and all) to ``url``."""
    return client.post(url, headers={**api.headers, **JSON}, content=body)


def fields_of(r: Any) -> dict[str, str]:
    """A 422's errors: the field each names (dotted) -> its message."""
    assert r.status_code == 422, r.text
    return {".".join(map(str, e["loc"][1:])): e["msg"] for e in r.json()["detail"]}


# ------------------------------------------------------------ lone surrogates
def test_lone_surrogates_are_refused_at_the_api_naming_the_field(client: TestClient,
                                                                 wf: Workflow) -> None:
    pl = Api(client, "pl-ishoj")
    app_id = make_application(wf, state="drafting")
    before = snapshot(wf.engine, app_id)
    create = [
        ('{"kind": "dispensation", "round": 1, "title": "Ans\\ud800gning"}', "title"),
        ('{"kind": "bum_agreement", "title": "x", "data": {"provider": "ishoj", '
         '"purchaser": "vallensbaek", "area": "rehabilitation", "service": "\\ud800"}}',
         "data.service"),
        ('{"kind": "disp\\udfffensation", "round": 1, "title": "x"}', "kind"),
        ('{"kind": "dispensation", "round": 1, "title": "x", "data": {"\\udc80": "y"}}',
         "data.\\udc80"),
    ]
    for body, field in create:
        got = fields_of(raw_post(client, pl, "/api/applications", body))
        assert list(got) == [field], got
        assert "a lone UTF-16 surrogate" in got[field] and got[field].startswith(field)
    fire = f"/api/applications/{app_id}/transitions"
    v = before[1]
    for body, field in [
            (f'{{"trigger": "withdraw", "data": {{"reason": "a\\ud800"}}, "version": {v}}}',
             "data.reason"),
            (f'{{"trigger": "withdraw", "data": {{"reason": "x"}}, "version": {v}, '
             f'"comment": "\\udfff"}}', "comment"),
            (f'{{"trigger": "withdr\\ud800aw", "version": {v}}}', "trigger"),
            (f'{{"trigger": "propose_areas", "data": {{"areas": ["social", "\\ud800"]}}, '
             f'"version": {v}}}', "data.areas.1")]:
        assert list(fields_of(raw_post(client, pl, fire, body))) == [field]
    assert snapshot(wf.engine, app_id) == before
    # a surrogate pair is a character (😀), and welcome
    r = raw_post(client, pl, "/api/applications",
                 '{"kind": "dispensation", "round": 1, "title": "Glad \\ud83d\\ude00"}')
    assert r.status_code == 201 and r.json()["title"] == "Glad \U0001F600"
    for url in ("/api/applications", f"/api/applications/{app_id}",
                f"/api/applications/{app_id}/history"):
        assert client.get(url, headers=pl.headers).status_code == 200


def test_the_engine_refuses_them_too_naming_the_field(wf: Workflow) -> None:
    """The pages and the command line reach the engine without the API's check."""
    from workflow.errors import InvalidData

    app_id = make_application(wf, state="drafting")
    for call, said in [
            (lambda: wf.create(kind="dispensation", round=1, title="a\ud800",
                               user="pl-ishoj"), "the title contains \\ud800"),
            (lambda: wf.create(kind="bum_agreement", title="x", user="pl-ishoj",
                               data={**BUM, "service": "\udcff"}), "service: contains \\udcff"),
            (lambda: wf.fire(app_id, "withdraw", user="pl-ishoj",
                             data={"reason": "r\ud800"}), "reason: contains \\ud800"),
            (lambda: wf.fire(app_id, "withdraw", user="pl-ishoj", data={"reason": "r"},
                             comment="\udfff"), "the comment contains \\udfff"),
            (lambda: wf.fire(app_id, "withdraw", user="pl-\udcffishoj",
                             data={"reason": "r"}), "the user name contains \\udcff")]:
        with pytest.raises(InvalidData, match="lone UTF-16 surrogate") as caught:
            call()
        assert str(caught.value).startswith(said), caught.value
        assert caught.value.da and "\\u" in caught.value.da


def _store_raw_json(wf: Workflow, app_id: int) -> None:
    """Lone surrogates in the JSON columns, as written before they were refused."""
    cast = "CAST(:d AS json)" if not store.is_sqlite(wf.engine) else ":d"
    with wf.engine.begin() as conn:
        conn.execute(text(f"UPDATE application SET data = {cast} WHERE id = :id"),
                     {"d": '{"reason": "a\\ud800b", "service": "\\udfff"}', "id": app_id})
        conn.execute(text(f"UPDATE audit_entry SET data = {cast}, comment = 'c' "
                          f"WHERE application_id = :id"),
                     {"d": '{"x\\udc00": "\\ud83d\\ude00\\ud800"}', "id": app_id})


def test_text_stored_with_lone_surrogates_still_reads(client: TestClient,
                                                     wf: Workflow) -> None:
    app_id = make_application(wf, state="drafting")
    _store_raw_json(wf, app_id)
    pl = Api(client, "pl-ishoj")
    shown = pl.get(f"/api/applications/{app_id}")
    assert shown["data"]["reason"] == "a\ufffdb" and shown["data"]["service"] == "\ufffd"
    assert [a["data"]["reason"] for a in pl.items("/api/applications")] == ["a\ufffdb"]
    assert pl.get(f"/api/applications/{app_id}/history")[0]["data"] == {
        "x\ufffd": "\U0001F600\ufffd"}
    log_in(client, "pl-ishoj")
    assert client.get(f"/applications/{app_id}").status_code == 200
    assert client.get("/").status_code == 200
    # and the case moves on (its data written back mended)
    out = wf.fire(app_id, "submit_for_review", user="pl-ishoj")
    assert out.to_state == "legal_review"


# --------------------------------------------------------------- the pages' forms
def test_a_form_title_with_control_characters_is_refused_in_danish(client: TestClient,
                                                                   wf: Workflow) -> None:
    token = log_in(client, "pl-ishoj")
    r = client.post("/applications", data={"csrf": token, "kind": "dispensation",
                                           "round": "1", "title": "Sag\x1b]0;ejet\x07"})
    assert r.status_code == 422, r.text
    assert error_shown(r.text) == ("Oplysningerne er ikke i orden: titlen indeholder "
                                   "styretegnet \\x1b")
    # a file sent where the title is typed is no title
    r = client.post("/applications", data={"csrf": token, "kind": "dispensation",
                                           "round": "1"},
                    files={"title": ("title.txt", b"Sag", "text/plain")})
    assert r.status_code == 422 and "titlen skal være på 1–300 tegn" in error_shown(r.text)
    with wf.engine.connect() as conn:
        assert conn.execute(select(t.application.c.id)).first() is None


# ------------------------------------------------------ NaN, Infinity, out of range
@pytest.mark.parametrize(("body", "field", "said"), [
    ('{"kind": "dispensation", "round": NaN, "title": "x"}', "round", "NaN is not a number"),
    ('{"kind": "dispensation", "round": Infinity, "title": "x"}', "round", "Infinity is not"),
    ('{"kind": "dispensation", "round": -Infinity, "title": "x"}', "round", "-Infinity is"),
    ('{"kind": "dispensation", "round": 1e400, "title": "x"}', "round", "1e400 is out of "),
    ('{"kind": "dispensation", "round": 1, "title": "x", "source": -1e999}', "source",
     "-1e999 is out of range"),
    ('{"kind": "dispensation", "round": 1, "title": NaN}', "title", "NaN is not"),
    ('{"kind": "dispensation", "round": 1, "title": "x", "data": {"a": [NaN]}}', "data.a.0",
     "NaN is not"),
])
def test_nan_infinity_and_numbers_out_of_range_are_422(client: TestClient, body: str,
                                                       field: str, said: str) -> None:
    pl = Api(client, "pl-ishoj")
    got = fields_of(raw_post(client, pl, "/api/applications", body))
    assert list(got) == [field] and said in got[field], got
    assert "send a finite number" in got[field]


def test_a_transition_with_nan_is_422_and_changes_nothing(client: TestClient,
                                                          wf: Workflow) -> None:
    app_id = make_application(wf, state="drafting")
    before = snapshot(wf.engine, app_id)
    pl = Api(client, "pl-ishoj")
    for version in ("NaN", "Infinity", "1e400", "1.5e308e"):
        r = raw_post(client, pl, f"/api/applications/{app_id}/transitions",
                     f'{{"trigger": "submit_for_review", "version": {version}}}')
        assert r.status_code == 422, (version, r.text)
    assert snapshot(wf.engine, app_id) == before


# ------------------------------------------------------------ deep and huge bodies
def test_deep_or_huge_bodies_are_4xx_never_500(client: TestClient, wf: Workflow) -> None:
    pl = Api(client, "pl-ishoj")
    url = "/api/applications"
    for depth in (40, 900, 100_000):
        for body in ("[" * depth + "]" * depth,
                     '{"kind": "dispensation", "round": 1, "title": "x", "data": {"a": '
                     + "[" * depth + "]" * depth + "}}"):
            r = raw_post(client, pl, url, body)
            assert r.status_code == 422, (depth, r.text[:200])
            assert "nested more than 32 levels deep" in r.text
    huge = ('{"kind": "dispensation", "round": 1, "title": "' + "x" * 20_000_000
            + '"}').encode()
    r = raw_post(client, pl, url, huge)
    assert r.status_code == 413 and "larger than 1,048,576 bytes" in r.json()["detail"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: read until too much
        yield b'{"kind": "dispensation", "round": 1, "title": "'
        for _ in range(20):
            yield b"x" * 1_000_000
        yield b'"}'

    r = client.post(url, headers={**pl.headers, **JSON}, content=chunks())
    assert r.status_code == 413, r.text[:200]
    many = json.dumps({"kind": "dispensation", "round": 1, "title": "x",
                       "data": {f"k{i}": "v" for i in range(50_000)}})
    assert len(many) < 1 << 20
    r = raw_post(client, pl, url, many)
    assert r.status_code == 422 and r.json()["error"] == "InvalidData"
    r = raw_post(client, pl, url, b'{"kind": "dispensation", "title": "\xff\xfe"}')
    assert r.status_code == 422, r.text
    r = raw_post(client, pl, url, '{"kind": "dispensation", "round": ' + "9" * 5000 + "}")
    assert r.status_code == 422, r.text
    with wf.engine.connect() as conn:
        assert conn.execute(select(t.application.c.id)).first() is None
    # the login form keeps working under the same limit
    assert client.post("/api/token", data={"username": "pl-ishoj",
                                           "password": "demo"}).status_code == 200


# ------------------------------------------------------------- a disk that fills up
def test_a_full_sqlite_disk_is_503_and_the_same_server_writes_again_once_freed(
        tiny_disk: TinyDisk, sqlite_template: Path, clock: Clock) -> None:  # noqa: F811
    settings = Settings(database_url=sqlite_on(tiny_disk, sqlite_template))
    prepare(settings)
    with TestClient(create_app(settings, clock=clock), raise_server_exceptions=False) as c:
        pl = Api(c, "pl-ishoj")
        made = c.post("/api/applications", headers=pl.headers,
                      json={"kind": "dispensation", "round": 1, "title": "Før"}).json()
        tiny_disk.fill()
        for _ in range(3):
            r = c.post("/api/applications", headers=pl.headers,
                       json={"kind": "dispensation", "round": 1, "title": "x" * 300})
            assert r.status_code == 503, r.text
            assert r.json()["detail"] == "cannot write to the database: database or disk is full"
            r = c.post(f"/api/applications/{made['id']}/transitions", headers=pl.headers,
                       json={"trigger": "withdraw", "data": {"reason": "x" * 4000},
                             "version": made["version"]})
            assert r.status_code == 503, r.text
        assert c.get("/api/applications", headers=pl.headers).status_code == 200
        tiny_disk.free()
        codes = [c.post("/api/applications", headers=pl.headers,
                        json={"kind": "dispensation", "round": 1, "title": f"Efter {i}"}
                        ).status_code for i in range(10)]
        assert codes == [201] * 10
        r = c.post(f"/api/applications/{made['id']}/transitions", headers=pl.headers,
                   json={"trigger": "propose_areas", "version": made["version"],
                         "data": {"areas": "rehabilitation,social"}})
        assert r.status_code == 200, r.text


# ----------------------------------------------------- PostgreSQL going away
class Proxy:
    """A TCP proxy on loopback to the PostgreSQL server: stopping it is the database going
    away for whoever connects through it (its connections are cut, new ones refused);
    starting it again, on the same port, is the database coming back."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = 0
        self.listener: socket.socket | None = None
        self.conns: list[socket.socket] = []
        self.lock = threading.Lock()

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(16)
        self.port = listener.getsockname()[1]
        self.listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def stop(self) -> None:
        listener, self.listener = self.listener, None
        if listener is not None:
            try:  # (wakes the accepting thread: a close alone would not)
                listener.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            listener.close()
        with self.lock:
            conns, self.conns = self.conns, []
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            conn.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:  # stopped
                return
            try:
                server = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            server.settimeout(None)
            with self.lock:
                self.conns += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


@pytest.fixture
def proxy(pg_engine: Any) -> Iterator[Proxy]:
    url = pg_engine.url
    p = Proxy((url.host or "127.0.0.1", url.port or 5432))
    p.start()
    yield p
    p.stop()


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_postgresql_going_away_is_503_everywhere_and_the_app_recovers(
        db_url: str, proxy: Proxy, clock: Clock) -> None:
    through = PG_URL.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}", 1)
    assert through != PG_URL
    settings = Settings(database_url=through)
    prepare(settings)
    wf = Workflow.open(settings, clock=clock)
    app_id = make_application(wf, state="drafting")
    wf.close()
    with TestClient(create_app(settings, clock=clock), raise_server_exceptions=False) as c:
        pl = Api(c, "pl-ishoj")
        pages = TestClient(c.app, raise_server_exceptions=False)
        log_in(pages, "pl-ishoj")
        reads = ["/api/me", "/api/applications", f"/api/applications/{app_id}",
                 f"/api/applications/{app_id}/history", "/api/deadlines"]

        def answers() -> dict[str, int]:
            got = {url: c.get(url, headers=pl.headers).status_code for url in reads}
            got["create"] = c.post("/api/applications", headers=pl.headers, json={
                "kind": "dispensation", "round": 1, "title": "Under nedbrud"}).status_code
            got["fire"] = c.post(f"/api/applications/{app_id}/transitions",
                                 headers=pl.headers, json={
                                     "trigger": "propose_areas", "version": 99,
                                     "data": {"areas": "social"}}).status_code
            got["login"] = c.post("/api/token", data={"username": "pl-ishoj",
                                                      "password": "demo"}).status_code
            for page in ("/", f"/applications/{app_id}"):
                got[page] = pages.get(page).status_code
            return got

        up = answers()
        assert up == {**dict.fromkeys(reads, 200), "create": 201, "fire": 409,
                      "login": 200, "/": 200, f"/applications/{app_id}": 200}, up
        proxy.stop()
        for _ in range(2):  # the pooled connections cut, then new ones refused
            down = answers()
            assert set(down.values()) == {503}, down
        r = c.get("/api/applications", headers=pl.headers)
        assert r.json() == {"detail": "the database is not available right now; try "
                                      "again shortly", "error": "SetupError",
                            "detail_da": "databasen kan ikke nås lige nu; prøv igen om lidt"}
        page = pages.get(f"/applications/{app_id}")
        assert "Databasen kan ikke nås lige nu; prøv igen om lidt" in page.text
        proxy.start()
        back = answers()
        assert back == {**up, "create": 201}, back
