"""The shipped deployment files (deploy/) and the guide (docs/deployment.md).

The systemd units pass ``systemd-analyze verify`` without a word (with the installed entry
point swapped for this checkout's, as verify wants the program to exist), where it is
installed; and are read here in any case: every command starts the installed ``workflow``
entry point (the name pyproject.toml gives it) with a command and options the command line
accepts, the settings they use (the env file example, the units' own) are ones
workflow/config.py reads, and the guide names every setting it reads.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Mapping
from pathlib import Path

import pytest

from workflow import env
from workflow.config import Settings, SmtpSettings
from workflow.operations import metrics

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
UNITS = ["workflow-web.service", "workflow-scheduler@.service"]
INSTALLED = "/opt/workflow/.venv/bin/workflow"   # where docs/deployment.md installs it
HERE = str(Path(sys.executable).with_name("workflow"))

Unit = dict[str, list[tuple[str, str]]]


def read_unit(path: Path) -> Unit:
    """A unit file's sections, each a list of (key, value) in order (a key may repeat,
    as systemd allows; configparser does not)."""
    unit: Unit = {}
    section: list[tuple[str, str]] | None = None
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = unit.setdefault(line[1:-1], [])
            continue
        key, sep, value = line.partition("=")
        assert sep and section is not None and not line.endswith("\\"), \
            f"{path.name}:{number}: not a key=value line in a section: {raw!r}"
        section.append((key.strip(), value.strip()))
    return unit


def values(unit: Unit, section: str, key: str) -> list[str]:
    return [v for k, v in unit.get(section, []) if k == key]


def read_env_file(path: Path, *, commented: bool = False) -> dict[str, str]:
    """KEY=VALUE lines (quotes taken off, as systemd does); with ``commented``, also the
    ``# KEY=…`` lines that show a setting to set."""
    found: dict[str, str] = {}
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if commented and line.startswith("# WORKFLOW_"):
            line = line[2:]
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        assert sep, f"{path.name}: not KEY=VALUE: {raw!r}"
        found[key.strip()] = value.strip().strip('"')
    return found


class Recording(dict[str, str]):
    """An environment that notes every name asked for."""

    def __init__(self, items: Mapping[str, str] | None = None) -> None:
        super().__init__(items or {})
        self.asked: set[str] = set()

    def get(self, key: str, default: str | None = None) -> str | None:  # type: ignore[override]
        self.asked.add(key)
        return super().get(key, default)


def settings_read(environ: Mapping[str, str] | None = None) -> set[str]:
    """Every WORKFLOW_* name workflow/config.py (and env.py's states file) reads."""
    recording = Recording(environ)
    Settings.from_env(recording)
    SmtpSettings.from_env(recording)
    env.states_file(recording)
    return recording.asked


def test_every_command_runs_the_installed_entry_point_with_valid_options() -> None:
    from workflow.cli.app import cli

    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert Path(INSTALLED).name in scripts
    seen = []
    for name in UNITS:
        unit = read_unit(DEPLOY / name)
        assert set(unit) == {"Unit", "Service", "Install"}, name
        for key in ("ExecStartPre", "ExecStart"):
            for line in values(unit, "Service", key):
                program, command, *options = shlex.split(line)
                assert program == INSTALLED, (name, line)
                click_command = cli.commands[command]
                click_command.make_context(command, options)  # refuses an unknown option
                seen.append(command)
    assert seen == ["init", "serve", "scheduler"]


def test_the_units_and_the_env_file_use_only_settings_that_exist() -> None:
    known = settings_read()
    example = read_env_file(DEPLOY / "workflow.env.example", commented=True)
    assert set(example) <= known, set(example) - known
    assert "WORKFLOW_NOW" not in example and "WORKFLOW_USER" not in example
    assert not [k for k in example if "PASSWORD" in k and example[k]], "no secrets"
    # the example parses as the settings it means
    settings = Settings.from_env(read_env_file(DEPLOY / "workflow.env.example"))
    assert settings.database_url.startswith("postgresql+psycopg://")
    assert (settings.secure_cookies, settings.log_format) == (True, "json")
    web = read_unit(DEPLOY / "workflow-web.service")
    given = dict(v.split("=", 1) for v in values(web, "Service", "Environment"))
    assert set(given) == {metrics.MULTIPROC_ENV, "HOME"}
    # the metrics folder is the one systemd makes empty at each start
    assert given[metrics.MULTIPROC_ENV] == "/run/" + values(web, "Service",
                                                           "RuntimeDirectory")[0]
    for name in UNITS:
        unit = read_unit(DEPLOY / name)
        assert values(unit, "Service", "EnvironmentFile") == [
            "/etc/workflow/workflow.env", "-/etc/workflow/secrets.env"], name


def test_the_guide_names_every_setting() -> None:
    guide = (ROOT / "docs" / "deployment.md").read_text(encoding="utf-8")
    missing = sorted(k for k in settings_read() if k not in guide)
    assert not missing, f"docs/deployment.md does not name {missing}"
    assert metrics.MULTIPROC_ENV in guide
    for name in [*UNITS, "workflow.env.example"]:
        assert f"deploy/{name}" in guide, name
    assert "docs/deployment.md" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_settings_read_is_not_blind() -> None:
    """The recording sees a setting that is read (and so would see one that is not)."""
    assert {"WORKFLOW_DATABASE_URL", "WORKFLOW_SMTP_PASSWORD", "WORKFLOW_PDF_WORKERS",
            "WORKFLOW_STATES_FILE"} <= settings_read()
    assert "WORKFLOW_NO_SUCH_THING" not in settings_read()


@pytest.mark.skipif(shutil.which("systemd-analyze") is None,
                    reason="systemd-analyze is not installed")
def test_systemd_analyze_verify_finds_nothing(tmp_path: Path) -> None:
    for name in UNITS:
        text = (DEPLOY / name).read_text(encoding="utf-8")
        assert INSTALLED in text
        (tmp_path / name).write_text(text.replace(INSTALLED, HERE), encoding="utf-8")
    instance = tmp_path / "workflow-scheduler@1.service"
    shutil.copy(tmp_path / "workflow-scheduler@.service", instance)
    for path in (tmp_path / "workflow-web.service", instance):
        run = subprocess.run(["systemd-analyze", "verify", str(path)], capture_output=True,
                             text=True, check=False, cwd=tmp_path)
        assert (run.returncode, run.stdout + run.stderr) == (0, ""), path.name
