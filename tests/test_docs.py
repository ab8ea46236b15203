"""The README is a true manual: its commands run what CI runs, and name every command."""

from __future__ import annotations

import re
from pathlib import Path

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
