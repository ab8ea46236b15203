"""``workflow users``: the administrator's changes to users through the same code as the
administration page (``workflow/accounts/users.py``), on SQLite and PostgreSQL."""

from __future__ import annotations

from click.testing import CliRunner

from tests.cli.test_cli import as_json, fails, run
from workflow.cli.app import cli


def test_users_add_change_revoke_and_a_made_password(db_url: str) -> None:
    env = {"WORKFLOW_DATABASE_URL": db_url, "WORKFLOW_USER": "admin"}
    out = run(env, "users", "add", "ny-jurist", "--name", "Nina Juul", "--role", "legal",
              "--municipality", "ishoj").stdout
    assert out.startswith("Added ny-jurist (legal)")
    assert fails(env, "users", "add", "ny-jurist", "--name", "N", "--role", "legal") == (
        "error: there is already a user 'ny-jurist'")
    assert "unknown municipality 'dragoer'" in fails(
        env, "users", "change", "ny-jurist", "--role", "legal", "--municipality", "dragoer")
    assert run(env, "users", "change", "ny-jurist", "--role", "council_secretary",
               "--municipality", "vallensbaek").stdout == (
        "ny-jurist is now council_secretary, vallensbaek.\n")
    listed = {u["id"]: u for u in as_json(env, "users", "list")}
    assert (listed["ny-jurist"]["role"], listed["ny-jurist"]["municipality"]) == (
        "council_secretary", "vallensbaek")
    made = CliRunner().invoke(cli, ["users", "set-password", "ny-jurist", "--password-stdin"],
                              env=env, input="\n")
    assert made.exit_code == 0, made.output
    assert made.stdout.startswith("New password for ny-jurist (shown only now): ")
    assert run(env, "users", "revoke", "ny-jurist").stdout == (
        "ny-jurist: 0 web sessions ended, 0 API tokens revoked.\n")
    assert "cannot deactivate yourself" in fails(env, "users", "deactivate", "admin")
    assert "only an administrator" in fails({**env, "WORKFLOW_USER": "pl-ishoj"},
                                            "users", "revoke", "ny-jurist")
    assert as_json(env, "users", "groups") == []
