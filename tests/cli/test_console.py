"""The console entry point: ``check`` and ``diagram`` answered without click say exactly
what the click command line says, and everything else goes to click."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.cli.test_cli import subprocess_env
from workflow import env
from workflow.cli.app import cli
from workflow.cli.console import LANGUAGES, QUICK, _parse, quick
from workflow.config import Settings

STATES = Path(__file__).resolve().parents[2] / "states.yaml"


@pytest.fixture
def files(tmp_path: Path) -> dict[str, str]:
    broken = tmp_path / "broken.yaml"
    broken.write_text(STATES.read_text(encoding="utf-8").replace(
        "roles: [legal]", "roles: [lawyer]", 1), encoding="utf-8")
    latin1 = tmp_path / "latin1.yaml"
    latin1.write_bytes("# Ishøj\n".encode("latin-1") + STATES.read_bytes())
    return {"STATES": str(STATES), "BROKEN": str(broken), "LATIN1": str(latin1),
            "MISSING": str(tmp_path / "missing.yaml"), "DIR": str(tmp_path)}


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
    ["check", "DIR"],
    ["check", "LATIN1", "--json"],
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
    if argv[1:2] == [files["LATIN1"]]:
        assert code == 3 and "not UTF-8 text" in said.out


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


def test_the_quick_forms_are_options_click_knows() -> None:
    for name, (valued, flags, most) in QUICK.items():
        params = {opt: p for p in cli.commands[name].params for opt in p.opts}
        assert valued | flags <= params.keys(), name
        assert all(params[o].is_flag for o in flags)
        assert not any(params[o].is_flag for o in valued)
        arguments = [p for p in cli.commands[name].params if p.param_type_name == "argument"]
        assert len(arguments) == most, name
    lang = next(p for p in cli.commands["diagram"].params if p.name == "lang")
    assert tuple(lang.type.choices) == LANGUAGES and lang.default == LANGUAGES[0]


def test_the_states_file_is_normalised_as_settings_have_it() -> None:
    for given in ("./states.yaml", "states.yaml/", " conf/../states.yaml "):
        environ = {"WORKFLOW_STATES_FILE": given}
        assert env.states_file(environ) == "states.yaml"
        assert env.states_file(environ) == str(Settings.from_env(environ).states_file)
    assert env.states_file({}) == str(Settings.from_env({}).states_file) == str(STATES)


def test_a_reader_that_goes_away_ends_the_program_quietly(tmp_path: Path) -> None:
    """``workflow diagram | head -0``: exit 1 without a traceback, as click does."""
    environ = subprocess_env(WORKFLOW_STATES_FILE=str(STATES))
    environ.pop("PYTHONUNBUFFERED", None)
    for args in (["diagram"], ["rules", "--json"]):
        read, write = os.pipe()
        os.close(read)  # nobody will read what it writes
        proc = subprocess.run([sys.executable, "-m", "workflow", *args], stdout=write,
                              stderr=subprocess.PIPE, text=True, env=environ, timeout=60)
        os.close(write)
        assert proc.returncode == 1, (args, proc.stderr)
        assert "Traceback" not in proc.stderr and "Exception ignored" not in proc.stderr


def test_danish_letters_arrive_whatever_the_terminal_encoding() -> None:
    proc = subprocess.run([sys.executable, "-m", "workflow", "diagram"], capture_output=True,
                          env=subprocess_env(WORKFLOW_STATES_FILE=str(STATES),
                                             PYTHONIOENCODING="ascii"), timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert 'state "Valg af områder" as area_selection' in proc.stdout.decode("utf-8")


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
            "from workflow.cli.console import quick\n"
            "assert quick(['check']) == 0 and quick(['diagram', '--json']) == 0\n"
            "print(*[m for m in ('click', 'sqlalchemy', 'dataclasses', 'inspect', 'pathlib',"
            " 'jinja2', 'transitions') if m in sys.modules])\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=subprocess_env(WORKFLOW_STATES_FILE=str(STATES)), timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1] == ""


@pytest.mark.parametrize("argv", [["check", "FILE"], ["check", "FILE", "--json"], ["diagram"],
                                  ["diagram", "--json"]], ids=" ".join)
@pytest.mark.parametrize("hostile", ["alias bomb", "500 levels", "5000 levels"])
def test_a_hostile_states_file_is_one_located_problem_on_both_paths(
        argv: list[str], hostile: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    from tests.process.test_definition import alias_bomb, deep

    path = tmp_path / "hostile.yaml"
    path.write_text({"alias bomb": alias_bomb(), "500 levels": deep(500, flow=True),
                     "5000 levels": deep(5000, flow=True)}[hostile], encoding="utf-8")
    argv = [str(path) if a == "FILE" else a for a in argv]
    monkeypatch.setenv("WORKFLOW_STATES_FILE", str(path))
    code = quick(argv)
    said = capsys.readouterr()
    clicked = CliRunner().invoke(cli, argv, env={"WORKFLOW_STATES_FILE": str(path)})
    assert code == 3 and (said.out, said.err, code) == (clicked.stdout, clicked.stderr,
                                                         clicked.exit_code)
    assert "Traceback" not in said.err
    if "--json" in argv and argv[0] == "check":
        import json

        (problem,) = json.loads(said.out)["problems"]
        assert problem["file"] == str(path) and isinstance(problem["line"], int)
    else:
        head, located = said.err.splitlines()
        assert head == "error: 1 problem in the process definition:"
        assert located.startswith(f"  {path}:") and located.count(": ") >= 2


def test_the_quick_path_prints_no_control_character(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    from workflow.cli.plain import echo, emit_json, neutralise

    hostile = "Titel\x1b]0;ejet\x07\x1b[2J\x9b\r\x7f\ud800 æ\tø"
    assert neutralise(hostile) == ("Titel\\u001b]0;ejet\\u0007\\u001b[2J\\u009b\\u000d"
                                   "\\u007f\\ud800 æ\tø")
    echo(hostile)
    emit_json({"title": hostile})
    out = capsys.readouterr().out
    assert not any(c in out for c in "\x1b\x07\x9b\r\x7f")
    import json

    assert json.loads(out.split("\n", 1)[1]) == {"title": hostile}  # the same text again
    path = tmp_path / "ej\x1b[2Jet.yaml"
    assert quick(["check", str(path)]) == 3  # (no such file)
    assert "\x1b" not in capsys.readouterr().err
