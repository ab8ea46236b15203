"""The README is a true manual: its commands run what CI runs, and its terminal sessions
are what the program prints."""

from __future__ import annotations

import os
import re
import shlex
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def first_screen_commands() -> list[str]:
    head = "\n".join(README.splitlines()[:60])
    return re.findall(r"```sh\n(.+?)\n```", head)


def test_first_screen_has_the_two_commands() -> None:
    main_job, tests = first_screen_commands()[:2]
    assert main_job.endswith("workflow serve")  # which loads the demo on its first start
    assert "pytest" in tests


def test_ci_runs_the_readme_test_command() -> None:
    tests = first_screen_commands()[1]
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert tests in ci.splitlines()


def test_every_module_says_what_it_is_for() -> None:
    for path in (ROOT / "workflow").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        if "versions" in path.parts:
            continue
        assert text.lstrip().startswith('"""'), f"{path} has no module docstring"


# ------------------------------------------------------- the README's terminal sessions
def console_blocks(heading: str) -> list[tuple[str, list[str]]]:
    """The ``console`` block under ``## heading``: each ``$`` command with the lines it
    printed."""
    section = README.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```console\n(.*?)\n```", section, re.DOTALL)
    assert block, f"no console block under {heading!r}"
    steps: list[tuple[str, list[str]]] = []
    for line in block[1].splitlines():
        if line.startswith("$ "):
            steps.append((line[2:], []))
        else:
            steps[-1][1].append(line)
    return steps


@pytest.mark.parametrize("heading", ["A life cycle", "BUM agreements", "Word drafts",
                                     "Proof: a tamper-evident record and drafts that "
                                     "regenerate"])
def test_the_readme_session_is_what_the_program_prints(
        heading: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each command of the session, run in order in an empty directory (the default
    database ./workflow.db), prints exactly the lines shown under it, character for
    character: the session states its moments (``export WORKFLOW_NOW=…``), so it holds on
    any day it is run."""
    from click.testing import CliRunner

    from workflow.cli.app import cli

    monkeypatch.chdir(tmp_path)
    env: dict[str, str | None] = {k: None for k in os.environ if k.startswith("WORKFLOW_")}
    env["WORKFLOW_STATES_FILE"] = str(ROOT / "states.yaml")
    env["WORKFLOW_TEMPLATES_DIR"] = str(ROOT / "templates")
    steps = console_blocks(heading)
    assert steps[0][0].startswith("export WORKFLOW_NOW="), "a session states its moment"
    if not any(c.startswith("workflow init") for c, _ in steps):   # on the demo set-up
        assert CliRunner().invoke(cli, ["init", "--demo-setup"], env=env).exit_code == 0
    for command, shown in steps:
        if command.startswith("export "):
            name, value = command.removeprefix("export ").split("=", 1)
            env[name] = value
            assert shown == [], command
            continue
        program, *args = shlex.split(command)
        assert program == "workflow", command
        result = CliRunner().invoke(cli, args, env=env)
        assert result.exception is None or isinstance(result.exception, SystemExit), \
            f"{command}: {result.exception!r}"
        assert [line.rstrip() for line in result.output.splitlines()] == shown, command
