"""Single sign-on against a real OpenID Connect provider: ``oidc-provider-mock`` (a Flask
app on authlib's authorization server, here checking PKCE too) runs as a process on
loopback, the app is served by uvicorn as ``workflow serve`` does, and httpx walks the
redirects as a browser would: to the provider's authorize form, a chosen subject and
claims, back to the callback. On SQLite and PostgreSQL.

The first sign-in makes the user with the role and municipality their groups map to; the
next, with other groups, moves them; groups that map to nothing, an answer whose state is
not the browser's, and a deactivated user are refused on a Danish page, and nothing is
made; logging out ends the session on the server.
"""

from __future__ import annotations

import base64
import hashlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, quote, unquote_plus, urlencode, urlsplit

import httpx
import pytest
from sqlalchemy import select

from tests.web.test_bum import csrf_of
from tests.web.test_e2e import Server, _free_port
from tests.web.test_e2e import server as server  # noqa: F401  (the real server, a fixture)
from workflow.accounts import directory
from workflow.accounts import logins as accounts
from workflow.store import database as store
from workflow.store import tables as t

GROUPS = [{"group": "GG-Ishoj-Jura", "role": "legal", "municipality": "ishoj"},
          {"group": "GG-Vallensbaek-Sekretariat", "role": "council_secretary",
           "municipality": "vallensbaek"},
          {"group": "GG-Workflow-Admin", "role": "admin"}]


@pytest.fixture(scope="module")
def provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The provider's issuer URL: oidc-provider-mock as a process, nonces and PKCE
    required (:mod:`tests.web.oidc_pkce`)."""
    port = _free_port()
    log = tmp_path_factory.mktemp("oidc") / "provider.log"
    with log.open("wb") as out:
        script = str(Path(__file__).with_name("oidc_pkce.py"))
        proc = subprocess.Popen([sys.executable, script, "-p", str(port), "--require-nonce"],
                                stdout=out, stderr=subprocess.STDOUT,
                                env={**os.environ, "NO_COLOR": "1"})
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(url + "/.well-known/openid-configuration").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the provider did not start:\n{log.read_text()}")
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def app(provider: str, db_url: str, monkeypatch: pytest.MonkeyPatch,
        request: pytest.FixtureRequest) -> Server:
    """The app served with single sign-on at ``provider``, the groups mapped."""
    engine = store.make_engine(db_url)
    try:
        with store.write(engine) as conn:
            directory.replace_groups(conn, GROUPS)
    finally:
        engine.dispose()
    for key, value in {"ISSUER": provider, "CLIENT_ID": "workflow-test",
                       "CLIENT_SECRET": "not-a-real-secret", "LABEL": "Ishøj Kommune"}.items():
        monkeypatch.setenv("WORKFLOW_OIDC_" + key, value)
    found: Server = request.getfixturevalue("server")
    return found


@pytest.fixture
def browsers() -> Iterator[list[httpx.Client]]:
    """The browsers a test opens (closed at its end)."""
    opened: list[httpx.Client] = []
    yield opened
    for b in opened:
        b.close()


def sign_in(app: Server, provider: str, sub: str, groups: list[str],
            browsers: list[httpx.Client], *, state: str | None = None
            ) -> tuple[httpx.Client, httpx.Response]:
    """Through the provider's form as ``sub`` with ``groups``: the browser and the app's
    answer at the callback (``state``: sent instead of the provider's)."""
    r = httpx.put(f"{provider}/users/{quote(sub)}",
                  json={"groups": groups, "name": "Anna Jensen",
                        "preferred_username": "anna.jensen@ishoj.dk",
                        "email": "anna.jensen@ishoj.dk"})
    assert r.status_code == 204
    browser = httpx.Client(base_url=app.url)
    browsers.append(browser)
    login = browser.get("/login")
    assert "Log ind med Ishøj Kommune" in login.text
    to_provider = browser.get("/login/oidc")
    assert to_provider.status_code == 303
    asked = parse_qs(urlsplit(to_provider.headers["location"]).query)
    assert asked["code_challenge_method"] == ["S256"] and asked["nonce"] and asked["state"]
    assert asked["redirect_uri"] == [app.url + "/login/oidc/callback"]
    back = httpx.post(to_provider.headers["location"], data={"sub": sub})
    assert back.status_code == 302, back.text
    callback = back.headers["location"]
    if state is not None:
        query = {k: v[0] for k, v in parse_qs(urlsplit(callback).query).items()}
        callback = app.url + "/login/oidc/callback?" + urlencode({**query, "state": state})
    return browser, browser.get(callback)


def user_of(db_url: str, sub: str) -> dict[str, object] | None:
    engine = store.make_engine(db_url)
    try:
        with store.read(engine) as conn:
            row = conn.execute(select(t.user).where(t.user.c.oidc_subject == sub)).first()
    finally:
        engine.dispose()
    return dict(row._mapping) if row else None


def test_sign_in_makes_the_user_moves_them_with_their_groups_and_logs_out(
        app: Server, provider: str, db_url: str, browsers: list[httpx.Client]) -> None:
    browser, r = sign_in(app, provider, "sub-anna", ["GG-Other", "GG-Ishoj-Jura"], browsers)
    assert r.status_code == 303 and r.headers["location"] == "/", r.text
    home = browser.get("/")
    assert home.status_code == 200 and "Overblik" in home.text and "Anna Jensen" in home.text
    anna = user_of(db_url, "sub-anna")
    assert anna is not None
    assert (anna["id"], anna["role"], anna["municipality"], anna["oidc_issuer"],
            anna["password_hash"]) == ("anna.jensen", "legal", "ishoj", provider, None)
    engine = store.make_engine(db_url)
    try:
        with store.read(engine) as conn:
            logged = conn.execute(select(t.login_attempt.c.ok).where(
                t.login_attempt.c.username == "anna.jensen")).scalars().all()
    finally:
        engine.dispose()
    assert logged == [True]

    # the next sign-in, in another browser, with other groups: the same user, moved
    other, r = sign_in(app, provider, "sub-anna", ["GG-Vallensbaek-Sekretariat"], browsers)
    assert r.status_code == 303
    anna = user_of(db_url, "sub-anna")
    assert anna is not None
    assert (anna["id"], anna["role"], anna["municipality"]) == (
        "anna.jensen", "council_secretary", "vallensbaek")

    # logging out ends that session on the server; the first browser's goes on
    cookie = other.cookies.get("workflow_session")
    out = other.post("/logout", data={"csrf": csrf_of(other.get("/").text)})
    assert out.status_code == 303 and out.headers["location"] == "/login"
    stale = httpx.get(app.url + "/", cookies={"workflow_session": str(cookie)})
    assert stale.status_code == 303 and stale.headers["location"] == "/login"
    assert browser.get("/").status_code == 200
    assert "Traceback" not in app.text()


def test_unmapped_groups_a_tampered_state_and_a_deactivated_user_are_refused(
        app: Server, provider: str, db_url: str, browsers: list[httpx.Client]) -> None:
    _, r = sign_in(app, provider, "sub-bo", ["GG-Nothing"], browsers)
    assert r.status_code == 403
    assert "ingen af dine grupper giver adgang til sagssystemet" in r.text
    assert user_of(db_url, "sub-bo") is None

    browser, r = sign_in(app, provider, "sub-bo", ["GG-Ishoj-Jura"], browsers,
                         state="forged-state")
    assert r.status_code == 401 and "lykkedes ikke" in r.text
    assert user_of(db_url, "sub-bo") is None
    assert browser.get("/").status_code == 303  # not logged in
    # a callback with no sign-in begun in this browser at all
    assert httpx.get(app.url + "/login/oidc/callback?code=x&state=y").status_code == 401

    _, r = sign_in(app, provider, "sub-bo", ["GG-Ishoj-Jura"], browsers)
    assert r.status_code == 303
    bo = user_of(db_url, "sub-bo")
    assert bo is not None
    engine = store.make_engine(db_url)
    try:
        accounts.set_active(engine, str(bo["id"]), False)
    finally:
        engine.dispose()
    browser, r = sign_in(app, provider, "sub-bo", ["GG-Ishoj-Jura"], browsers)
    assert r.status_code == 403 and "Din bruger er deaktiveret" in r.text
    assert browser.get("/").status_code == 303
    assert "Traceback" not in app.text()


def test_the_mapping_is_checked_and_conflicting_groups_refused(db_url: str) -> None:
    from workflow.errors import InvalidData, PermissionDenied

    engine = store.make_engine(db_url)
    try:
        with store.write(engine) as conn:
            assert directory.replace_groups(conn, GROUPS, roles={"legal", "admin",
                                                                 "council_secretary"}) == 3
            assert directory.map_groups(conn, ["GG-Ishoj-Jura", "x"]) == ("legal", "ishoj",
                                                                           None)
            assert directory.map_groups(conn, ["x"]) is None
            with pytest.raises(PermissionDenied, match="different roles"):
                directory.map_groups(conn, ["GG-Ishoj-Jura", "GG-Workflow-Admin"])
        for bad, said in (([{"group": "G", "role": "legal", "municipality": "dragoer"}],
                           "unknown municipality"),
                          ([{"group": "G", "role": "chief"}], "unknown role"),
                          ([{"group": "G", "role": "legal"}] * 2, "named twice"),
                          ([{"role": "legal"}], "needs both")):
            with pytest.raises(InvalidData, match=said), store.write(engine) as conn:
                directory.replace_groups(conn, bad, roles={"legal"})
        with store.read(engine) as conn:  # nothing of a refused mapping was written
            assert len(directory.list_groups(conn)) == 3
    finally:
        engine.dispose()


def test_the_provider_must_be_https_but_on_loopback(tmp_path: Path) -> None:
    from workflow.accounts import oidc
    from workflow.errors import SetupError

    with pytest.raises(SetupError, match="https"):
        oidc.Provider(oidc.ProviderSettings("http://idp.example.dk", "c", "s"))
    oidc.Provider(oidc.ProviderSettings("https://login.microsoftonline.com/t/v2.0", "c", "s"))


def test_the_id_token_is_checked(provider: str) -> None:
    """A real ID token from the provider, then altered: a foreign audience, a wrong nonce,
    a changed payload (the signature no longer holds) and an expired one are refused."""
    import base64
    import json

    from authlib.integrations.requests_client import OAuth2Session

    from workflow.accounts import oidc

    ours = oidc.Provider(oidc.ProviderSettings(provider, "workflow-test", "s"))
    redirect = "http://127.0.0.1:1/login/oidc/callback"
    url, pending = ours.begin(redirect)
    httpx.put(f"{provider}/users/sub-check", json={"groups": ["GG-Ishoj-Jura"]})
    back = httpx.post(url, data={"sub": "sub-check"})
    code = parse_qs(urlsplit(back.headers["location"]).query)["code"][0]
    with OAuth2Session("workflow-test", "s", redirect_uri=redirect) as client:
        token = dict(client.fetch_token(ours.metadata()["token_endpoint"], code=code,
                                        code_verifier=pending.verifier))
    claims = ours.validate_id_token(token, pending.nonce)
    assert (claims["sub"], claims["aud"], claims["iss"]) == ("sub-check", ["workflow-test"],
                                                            provider)
    assert ours.identity(claims).groups == ("GG-Ishoj-Jura",)

    theirs = oidc.Provider(oidc.ProviderSettings(provider, "another-app", "s"))
    with pytest.raises(oidc.Refused, match="aud"):
        theirs.validate_id_token(token, pending.nonce)
    with pytest.raises(oidc.Refused, match="nonce"):
        ours.validate_id_token(token, "another-nonce")
    with pytest.raises(oidc.Refused, match="exp"):
        ours.validate_id_token(token, pending.nonce, now=claims["exp"] + oidc.LEEWAY + 1)
    head, body, signature = token["id_token"].split(".")
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    forged = base64.urlsafe_b64encode(json.dumps({**payload, "sub": "sub-admin"}).encode())
    with pytest.raises(oidc.Refused, match="signature"):
        ours.validate_id_token({**token, "id_token": ".".join(
            [head, forged.decode().rstrip("="), signature])}, pending.nonce)


def test_local_login_switched_off_leaves_single_sign_on(provider: str, db_url: str) -> None:
    from tests.web.test_api import TestClient
    from workflow.config import Settings
    from workflow.web.app import create_app

    settings = Settings(database_url=db_url, oidc_issuer=provider, oidc_client_id="c",
                        oidc_client_secret="s", local_login=False)
    with TestClient(create_app(settings)) as client:
        page = client.get("/login")
        assert "Log ind med din organisation" in page.text
        assert 'name="password"' not in page.text
        r = client.post("/login", data={"username": "admin", "password": "demo",
                                        "csrf": "none-on-the-page"})
        assert r.status_code == 403 and "slået fra" in r.text


def test_the_provider_checks_pkce_so_a_sign_in_proves_the_verifier(provider: str) -> None:
    """The sign-ins above pass a provider that refuses a code asked without an S256
    challenge, or redeemed with any verifier but the one that matches it."""
    meta = httpx.get(provider + "/.well-known/openid-configuration").json()
    httpx.put(f"{provider}/users/pkce", json={"groups": []})
    ask = {"response_type": "code", "client_id": "workflow-test", "scope": "openid",
           "redirect_uri": "http://127.0.0.1/cb", "state": "s", "nonce": "n"}
    refused = httpx.post(meta["authorization_endpoint"] + "?" + urlencode(ask),
                         data={"sub": "pkce"})
    assert "code_challenge" in unquote_all(refused)   # no challenge: no code
    verifier = "v" * 50
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()
                                         ).decode().rstrip("=")

    def code() -> str:
        r = httpx.post(meta["authorization_endpoint"] + "?" + urlencode(
            {**ask, "code_challenge": challenge, "code_challenge_method": "S256"}),
            data={"sub": "pkce"})
        assert r.status_code == 302, r.text
        return parse_qs(urlsplit(r.headers["location"]).query)["code"][0]

    def redeem(given: str | None) -> httpx.Response:
        form = {"grant_type": "authorization_code", "code": code(),
                "redirect_uri": ask["redirect_uri"]}
        return httpx.post(meta["token_endpoint"], auth=("workflow-test", "secret"),
                          data=form | ({"code_verifier": given} if given else {}))

    for wrong in ("w" * 50, None):
        r = redeem(wrong)
        assert r.status_code == 400 and r.json()["error"] in ("invalid_grant",
                                                              "invalid_request"), r.text
    assert redeem(verifier).status_code == 200


def unquote_all(r: httpx.Response) -> str:
    """An answer's text and where it sends the browser, URL-decoded."""
    return unquote_plus(r.text + r.headers.get("location", ""))
