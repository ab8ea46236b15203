"""Accounts from the command line: a fresh installation, passwords, API tokens."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import select

from workflow import store
from workflow import tables as t
from workflow.cli import cli


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
