"""Accounts from the command line: a fresh installation, passwords, API tokens, and the
web sessions and tokens a new password or a deactivation ends."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import select

from tests.conftest import Clock
from workflow.cli.app import cli
from workflow.config import Settings
from workflow.store import database as store
from workflow.store import tables as t


def test_a_fresh_installation_has_an_admin_without_password(tmp_path: Path) -> None:
    runner = CliRunner()
    env = {"WORKFLOW_DATABASE_URL": f"sqlite:///{tmp_path / 'wf.db'}"}
    result = runner.invoke(cli, ["init"], env=env)
    assert result.exit_code == 0, result.output
    assert "set one with `workflow users set-password admin" in result.output
    listed = runner.invoke(cli, ["users", "list", "--json", "--as", "admin"], env=env)
    assert '"has_password": false' in listed.output
    result = runner.invoke(cli, ["users", "set-password", "admin", "--password-stdin",
                                 "--as", "admin"], env=env, input="hemmelig-æøå\n")
    assert result.exit_code == 0, result.output
    engine = store.make_engine(env["WORKFLOW_DATABASE_URL"])
    with engine.connect() as conn:
        stored = conn.execute(select(t.user.c.password_hash)
                              .where(t.user.c.id == "admin")).scalar_one()
    engine.dispose()
    assert stored.startswith("$argon2") and "hemmelig" not in stored
    assert runner.invoke(cli, ["init"], env=env).output.count("Created the user") == 0


def test_only_an_administrator_manages_users_and_tokens(db_url: str) -> None:
    runner = CliRunner()
    env = {"WORKFLOW_DATABASE_URL": db_url}
    for args in (["users", "list"], ["tokens", "issue", "pl-ishoj"], ["tokens", "list"],
                 ["users", "add", "x", "--name", "X", "--role", "legal"]):
        result = runner.invoke(cli, [*args, "--as", "pl-ishoj"], env=env)
        assert result.exit_code == 6, (args, result.output)
        assert "only an administrator" in result.output


def test_tokens_are_shown_once_and_revoked_at_once(db_url: str) -> None:
    runner = CliRunner()
    env = {"WORKFLOW_DATABASE_URL": db_url}
    issued = runner.invoke(cli, ["tokens", "issue", "legal-ishoj", "--label", "ESDH",
                                 "--days", "30", "--as", "admin"], env=env)
    assert issued.exit_code == 0, issued.output
    token = issued.output.strip().rsplit(" ", 1)[1]
    assert token.startswith("wf_")
    listed = runner.invoke(cli, ["tokens", "list", "--json", "--as", "admin"], env=env)
    assert token not in listed.output and '"label": "ESDH"' in listed.output
    engine = store.make_engine(db_url)
    with engine.connect() as conn:
        stored = [r[0] for r in conn.execute(select(t.api_token.c.token_sha256))]
    engine.dispose()
    assert token not in stored and len(stored) == 1
    token_id = issued.output.split()[1]
    assert runner.invoke(cli, ["tokens", "revoke", token_id, "--as", "admin"],
                         env=env).exit_code == 0
    again = runner.invoke(cli, ["tokens", "revoke", token_id, "--as", "admin"], env=env)
    assert again.exit_code == 4 and "no live token" in again.output


def test_adding_a_user_checks_role_and_municipality(db_url: str) -> None:
    runner = CliRunner()
    env = {"WORKFLOW_DATABASE_URL": db_url}
    bad = runner.invoke(cli, ["users", "add", "x", "--name", "X", "--role", "wizard",
                              "--as", "admin"], env=env)
    assert bad.exit_code == 2 and "unknown role 'wizard'" in bad.output
    ok = runner.invoke(cli, ["users", "add", "jur-vallensbaek", "--name", "Åse Møller",
                             "--role", "legal", "--municipality", "vallensbaek",
                             "--as", "admin"], env=env)
    assert ok.exit_code == 0, ok.output
    twice = runner.invoke(cli, ["users", "add", "jur-vallensbaek", "--name", "X",
                                "--role", "legal", "--as", "admin"], env=env)
    assert twice.exit_code == 2 and "already a user" in twice.output


def test_a_new_password_or_a_deactivation_on_the_command_line_ends_sessions_and_tokens(
        settings: Settings, clock: Clock) -> None:
    """``users set-password`` and ``users deactivate`` end every web session of the user
    and revoke every API token of theirs, at once; ``users activate`` brings none back."""
    from tests.web.test_api import TestClient, prepare, token
    from tests.web.test_bum import csrf_of, log_in
    from workflow.web.app import create_app

    runner = CliRunner()
    env = {"WORKFLOW_DATABASE_URL": settings.database_url}

    def admin(*args: str, stdin: str | None = None) -> str:
        result = runner.invoke(cli, [*args, "--as", "admin"], env=env, input=stdin)
        assert result.exit_code == 0, result.output
        return result.output.strip()

    def logged_in(c: TestClient) -> bool:
        return c.get("/", follow_redirects=False).status_code == 200

    def api_works(c: TestClient, tok: str) -> bool:
        return c.get("/api/me", headers={"Authorization": f"Bearer {tok}"}).status_code == 200

    prepare(settings)
    with TestClient(create_app(settings, clock=clock)) as c:
        log_in(c, "pl-ishoj")
        tok = token(c, "pl-ishoj")
        assert logged_in(c) and api_works(c, tok)
        assert admin("users", "set-password", "pl-ishoj", "--password-stdin",
                     stdin="ny-kode\n") == \
            "Password set for pl-ishoj; 1 web session ended, 1 API token revoked."
        assert not logged_in(c) and not api_works(c, tok)

        c.cookies.clear()
        form = {"username": "pl-ishoj", "password": "ny-kode",
                "csrf": csrf_of(c.get("/login").text)}
        assert c.post("/login", data=form, follow_redirects=False).status_code == 303
        tok = token(c, "pl-ishoj", "ny-kode")
        assert logged_in(c) and api_works(c, tok)
        assert admin("users", "deactivate", "pl-ishoj") == \
            "pl-ishoj is deactivated; 1 web session ended, 1 API token revoked."
        assert not logged_in(c) and not api_works(c, tok)
        r = c.post("/api/token", data={"username": "pl-ishoj", "password": "ny-kode"})
        assert r.status_code == 401
        assert json.loads(admin("users", "activate", "pl-ishoj", "--json")) == {
            "user": "pl-ishoj", "active": True, "sessions_ended": 0, "tokens_revoked": 0}
        assert not api_works(c, tok)  # what ended stays ended
        assert token(c, "pl-ishoj", "ny-kode")
