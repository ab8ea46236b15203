"""User administration on the page, over real HTTP against the served app (uvicorn, as
``workflow serve``), on SQLite and PostgreSQL: an administrator adds a user, changes their
role and municipality, makes them a new password (shown once, not kept by the browser),
ends their sessions, deactivates and activates them; every refusal (a user id taken, an
unknown municipality, deactivating oneself) is said in Danish on the page, never a 500. A
user who is not an administrator, a form without its CSRF token and one from another site
are refused. (The page runs no script: no browser test.)
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import select

from tests.web.test_bum import csrf_of, post_forms_carry
from tests.web.test_e2e import Server
from tests.web.test_e2e import server as server  # noqa: F401  (the real server, a fixture)
from workflow.store import database as store
from workflow.store import tables as t


@pytest.fixture
def browsers(server: Server) -> Iterator[list[httpx.Client]]:
    opened: list[httpx.Client] = []
    yield opened
    for b in opened:
        b.close()


def logged_in(server: Server, browsers: list[httpx.Client], user: str,
              password: str = "demo") -> tuple[httpx.Client, int]:
    """A new browser, logged in as ``user`` (the login's status: 303 when it worked)."""
    b = httpx.Client(base_url=server.url)
    browsers.append(b)
    r = b.post("/login", data={"username": user, "password": password,
                               "csrf": csrf_of(b.get("/login").text)})
    return b, r.status_code


def post(b: httpx.Client, path: str, **form: str) -> httpx.Response:
    """A form of the administration page, sent as the page sends it; the page after it."""
    r = b.post(path, data={"csrf": csrf_of(b.get("/admin").text), **form})
    assert r.status_code in (200, 303), r.text
    return b.get("/admin") if r.status_code == 303 else r


def flashes(page: httpx.Response) -> list[str]:
    return [re.sub(r"<[^>]+>", "", m) for m in
            re.findall(r'<div class="flash [a-z]+" role="[a-z]+">(.*?)</div>', page.text, re.S)]


def user_row(db_url: str, user_id: str) -> dict[str, object] | None:
    engine = store.make_engine(db_url)
    try:
        with store.read(engine) as conn:
            row = conn.execute(select(t.user).where(t.user.c.id == user_id)).first()
    finally:
        engine.dispose()
    return dict(row._mapping) if row else None


def test_an_administrator_manages_a_user_on_the_page(server: Server, db_url: str,
                                                     browsers: list[httpx.Client]) -> None:
    admin, status = logged_in(server, browsers, "admin")
    assert status == 303
    page = admin.get("/admin")
    assert page.status_code == 200 and "Tilføj bruger" in page.text
    assert post_forms_carry(page.text, csrf_of(page.text)) > 10

    page = post(admin, "/admin/users", user_id="ny-jurist", name="Nina Juul", role="legal",
                municipality="ishoj", email="nj@ishoj.dk")
    assert flashes(page)[-1].startswith("Nina Juul (ny-jurist) er oprettet")
    assert {k: user_row(db_url, "ny-jurist")[k] for k in ("name", "role", "municipality")} == {  # type: ignore[index]
        "name": "Nina Juul", "role": "legal", "municipality": "ishoj"}
    for form, said in (({"user_id": "ny-jurist", "role": "legal"},
                        "der er allerede en bruger »ny-jurist«"),
                       ({"user_id": "anden", "role": "legal", "municipality": "dragoer"},
                        "kommunen »dragoer« findes ikke"),
                       ({"user_id": "med mellemrum", "role": "legal"}, "uden mellemrum"),
                       ({"user_id": "anden", "role": "chef"}, "rollen »chef« findes ikke")):
        page = post(admin, "/admin/users", name="Anden Person", **form)
        assert page.status_code == 200 and said in flashes(page)[-1], flashes(page)
    assert user_row(db_url, "anden") is None

    page = post(admin, "/admin/users/ny-jurist/role", role="council_secretary",
                municipality="vallensbaek")
    assert flashes(page)[-1] == "ny-jurist er nu sekretariat, Vallensbæk Kommune."
    assert user_row(db_url, "ny-jurist")["role"] == "council_secretary"  # type: ignore[index]

    # no password typed: one is made, shown in this answer alone, kept by no cache
    made = admin.post("/admin/users/ny-jurist/password",
                      data={"csrf": csrf_of(admin.get("/admin").text), "password": ""})
    assert made.status_code == 200 and made.headers["cache-control"] == "no-store"
    password = re.search(r"vises kun denne ene gang; giv den videre ad en sikker vej\): "
                         r"<code>([^<]+)</code>", made.text)
    assert password, made.text
    assert password.group(1) not in admin.get("/admin").text
    once = password.group(1)
    assert user_row(db_url, "ny-jurist")["must_change_password"] is True  # type: ignore[index]
    # a one-time password: no API token, and on the web nothing but choosing her own
    token = httpx.post(server.url + "/api/token",
                       data={"username": "ny-jurist", "password": once})
    assert token.status_code == 403 and "engangskode" in token.json()["detail_da"]
    nina, status = logged_in(server, browsers, "ny-jurist", once)
    assert status == 303
    for path in ("/", "/applications/1", "/bum", "/admin"):
        r = nina.get(path)
        assert (r.status_code, r.headers.get("location")) == (303, "/profile#adgangskode"), path
    profile = nina.get("/profile")
    assert "Vælg din egen" in profile.text and 'id="adgangskode"' in profile.text
    for form, said in (({"current": once, "new": "Ny-kode-2026", "repeat": "Ny-kode-2027"},
                        "De to nye adgangskoder er ikke ens"),
                       ({"current": "forkert", "new": "Ny-kode-2026", "repeat": "Ny-kode-2026"},
                        "Den nuværende adgangskode er forkert"),
                       ({"current": once, "new": once, "repeat": once},
                        "Den nye adgangskode skal være en anden end den gamle"),
                       ({"current": once, "new": "Ny\x00kode\x1b[2J",
                         "repeat": "Ny\x00kode\x1b[2J"}, "ingen kontroltegn"),
                       ({"current": once, "new": "x" * 5000, "repeat": "x" * 5000},
                        "højst 200 tegn")):
        r = nina.post("/profile/password", data={"csrf": csrf_of(nina.get("/profile").text),
                                                 **form}, follow_redirects=True)
        assert said in " ".join(flashes(r)), (form, flashes(r))
        assert nina.get("/").status_code == 303   # still her own to choose
    forged = nina.post("/profile/password", data={"csrf": "forged", "current": once,
                                                  "new": "Ny-kode-2026", "repeat": "Ny-kode-2026"})
    assert forged.status_code == 403
    r = nina.post("/profile/password", data={"csrf": csrf_of(nina.get("/profile").text),
                                             "current": once, "new": "Ny-kode-2026",
                                             "repeat": "Ny-kode-2026"}, follow_redirects=True)
    assert r.status_code == 200 and "Din adgangskode er skiftet" in " ".join(flashes(r))
    assert nina.get("/").status_code == 200     # the same session goes on
    assert user_row(db_url, "ny-jurist")["must_change_password"] is None  # type: ignore[index]
    assert logged_in(server, browsers, "ny-jurist", once)[1] == 401
    own = "Ny-kode-2026"
    assert httpx.post(server.url + "/api/token",
                      data={"username": "ny-jurist", "password": own}).status_code == 200

    page = post(admin, "/admin/users/ny-jurist/revoke")
    assert flashes(page)[-1] == "ny-jurist: 1 session er afsluttet, og 1 API-nøgle er spærret."
    assert nina.get("/").status_code == 303  # her session ended on the server

    nina, _ = logged_in(server, browsers, "ny-jurist", own)
    page = post(admin, "/admin/users/ny-jurist/active", active="0")
    assert flashes(page)[-1].startswith("ny-jurist er deaktiveret. 1 session er afsluttet")
    assert nina.get("/").status_code == 303
    assert logged_in(server, browsers, "ny-jurist", own)[1] == 401
    page = post(admin, "/admin/users/ny-jurist/active", active="1")
    assert flashes(page)[-1] == "ny-jurist kan logge ind igen."
    assert logged_in(server, browsers, "ny-jurist", own)[1] == 303

    page = post(admin, "/admin/users/admin/active", active="0")
    assert "du kan ikke deaktivere dig selv" in flashes(page)[-1]
    page = post(admin, "/admin/users/ingen/role", role="legal")
    assert "brugeren »ingen« findes ikke" in flashes(page)[-1].lower()
    assert admin.get("/admin").status_code == 200  # still logged in, still an admin
    assert "Traceback" not in server.text()


def test_only_an_administrator_and_only_from_this_site(server: Server, db_url: str,
                                                       browsers: list[httpx.Client]) -> None:
    lead, _ = logged_in(server, browsers, "pl-ishoj")
    token = csrf_of(lead.get("/").text)
    assert lead.get("/admin").status_code == 403
    r = lead.post("/admin/users", data={"csrf": token, "user_id": "x", "name": "X",
                                        "role": "admin"})
    assert r.status_code == 403 and "kun en administrator kan se denne side" in r.text.lower()
    r = lead.post("/admin/users/pl-ishoj/role", data={"csrf": token, "role": "admin"})
    assert r.status_code == 403
    assert user_row(db_url, "x") is None
    assert user_row(db_url, "pl-ishoj")["role"] == "project_lead"  # type: ignore[index]

    admin, _ = logged_in(server, browsers, "admin")
    token = csrf_of(admin.get("/admin").text)
    r = admin.post("/admin/users/pl-ishoj/active", data={"csrf": "forged", "active": "0"})
    assert r.status_code == 403 and "formularen er forældet" in r.text.lower()
    r = admin.post("/admin/users/pl-ishoj/active", data={"csrf": token, "active": "0"},
                   headers={"Origin": "https://elsewhere.example"})
    assert r.status_code == 403 and "andet websted" in r.text
    assert user_row(db_url, "pl-ishoj")["active"] is True  # type: ignore[index]
