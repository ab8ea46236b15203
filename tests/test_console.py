"""The console entry point: ``check`` and ``diagram`` answered without click say exactly
what the click command line says, and everything else goes to click."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.test_cli import subprocess_env
from workflow.cli import cli
from workflow.console import _parse, quick

STATES = Path(__file__).resolve().parent.parent / "states.yaml"


@pytest.fixture
def files(tmp_path: Path) -> dict[str, str]:
    broken = tmp_path / "broken.yaml"
    broken.write_text(STATES.read_text(encoding="utf-8").replace(
        "roles: [legal]", "roles: [lawyer]", 1), encoding="utf-8")
    return {"STATES": str(STATES), "BROKEN": str(broken),
            "MISSING": str(tmp_path / "missing.yaml")}


def fill(argv: list[str], files: dict[str, str]) -> list[str]:
    return [files.get(a, a) for a in argv]


ANSWERED = [
    ["check"],
    ["check", "--json"],
    ["check", "STATES"],
    ["check", "--json", "STATES"],
    ["check", "BROKEN"],
    ["check", "BROKEN", "--json"],
    ["check", "MISSING"],
    ["check", "MISSING", "--json"],
    ["diagram"],
    ["diagram", "--json"],
    ["diagram", "--lang", "en"],
    ["diagram", "--lang=en", "--process", "bum_agreement"],
    ["diagram", "--process=bum_agreement", "--json", "--lang", "da"],
    ["diagram", "--process", "application", "--process", "bum_agreement"],  # the last wins
]


@pytest.mark.parametrize("argv", ANSWERED, ids=" ".join)
@pytest.mark.parametrize("states_file", ["STATES", "BROKEN"])
def test_a_quick_answer_is_what_click_answers(argv: list[str], states_file: str,
                                              files: dict[str, str],
                                              monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    argv = fill(argv, files)
    env = {"WORKFLOW_STATES_FILE": files[states_file]}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    code = quick(argv)
    said = capsys.readouterr()
    clicked = CliRunner().invoke(cli, argv, env=env)

    assert code is not None, "the quick path handed a plain form to click"
    assert (said.out, said.err, code) == (clicked.stdout, clicked.stderr, clicked.exit_code)
    assert "Traceback" not in said.err
    if argv == ["check"] and states_file == "BROKEN":
        assert code == 3 and "unknown role 'lawyer'" in said.err and said.out == ""


HANDED_ON = [
    [],
    ["--help"],
    ["list"],
    ["rules"],
    ["check", "--help"],
    ["check", "-h"],
    ["check", "--against-database"],
    ["check", "STATES", "STATES"],
    ["check", "--jso"],
    ["check", "--", "STATES"],
    ["diagram", "--application", "1"],
    ["diagram", "--as", "pl-ishoj"],
    ["diagram", "--lang", "fr"],
    ["diagram", "--process"],
    ["diagram", "--process", "--json"],
    ["diagram", "--process", "nope"],
    ["diagram", "extra"],
]


@pytest.mark.parametrize("argv", HANDED_ON, ids=lambda a: " ".join(a) or "(none)")
def test_anything_else_goes_to_click(argv: list[str], files: dict[str, str],
                                     monkeypatch: pytest.MonkeyPatch,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("WORKFLOW_STATES_FILE", str(STATES))
    assert quick(fill(argv, files)) is None
    assert capsys.readouterr() == ("", "")  # nothing said before handing on


def test_click_says_an_unknown_process_as_a_usage_error() -> None:
    result = CliRunner().invoke(cli, ["diagram", "--process", "nope"])
    assert result.exit_code == 2
    assert "Invalid value for --process: unknown process 'nope'" in result.stderr


@pytest.mark.parametrize(("args", "expected"), [
    ([], ([], {})),
    (["a"], (["a"], {})),
    (["--x", "1", "--f"], ([], {"--x": "1", "--f": True})),
    (["--x=1=2"], ([], {"--x": "1=2"})),
    (["-"], (["-"], {})),
    (["a", "b"], None),            # too many positionals
    (["--f=1"], None),             # a flag takes no value
    (["--x"], None),               # a value is missing
    (["--x", ""], None),
    (["--y"], None),               # unknown
    (["-f"], None),                # no short forms
])
def test_the_quick_parser_takes_only_the_plain_forms(
        args: list[str], expected: tuple[list[str], dict[str, object]] | None) -> None:
    assert _parse(args, frozenset({"--x"}), frozenset({"--f"}), 1) == expected


def test_the_quick_path_imports_neither_click_nor_the_database() -> None:
    """What keeps ``workflow check`` fast: neither click nor SQLAlchemy, nor dataclasses
    (which brings :mod:`inspect`) or pathlib (:mod:`urllib.parse`, :mod:`ipaddress`), is
    imported on its way."""
    code = ("import sys\n"
            "from workflow.console import quick\n"
            "assert quick(['check']) == 0 and quick(['diagram', '--json']) == 0\n"
            "print(*[m for m in ('click', 'sqlalchemy', 'dataclasses', 'inspect', 'pathlib',"
            " 'jinja2', 'transitions') if m in sys.modules])\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=subprocess_env(WORKFLOW_STATES_FILE=str(STATES)), timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1] == ""
