"""The "2–3 areas in round 1" rule is a setting of the process (``area_count`` under the
dispensation kind in states.yaml), not code: changing it changes the guard, and a wrong
setting fails ``workflow check`` with its file and line."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from tests.factories import make_application
from workflow.config import Settings
from workflow.engine.workflow import Workflow
from workflow.errors import GuardFailed
from workflow.process.definition import DefinitionError, load

STATES = Path(__file__).resolve().parents[2] / "states.yaml"
SETTING = "area_count: {1: {min: 2, max: 3}}"


def with_setting(tmp_path: Path, setting: str) -> Path:
    text = STATES.read_text(encoding="utf-8")
    assert text.count(SETTING) == 1
    path = tmp_path / "states.yaml"
    path.write_text(text.replace(SETTING, setting), encoding="utf-8")
    return path


def test_the_shipped_setting() -> None:
    kind = load(STATES).processes["application"].kinds["dispensation"]
    assert kind.area_count == {1: (2, 3)}


def test_changing_the_setting_changes_the_guard(tmp_path: Path, settings: Settings,
                                                open_wf: Callable[..., Workflow]) -> None:
    from sqlalchemy import update

    from workflow.store import database as store
    from workflow.store import tables as t

    with store.write(open_wf().engine) as conn:   # a cooperation's own count would win
        conn.execute(update(t.cooperation).values(settings={}))
    path = with_setting(tmp_path, "area_count: {1: {min: 1, max: 4}, 2: {min: 1, max: 1}}")
    wf = open_wf(settings=replace(settings, states_file=path))
    app = make_application(wf)
    wf.fire(app, "propose_areas", user="pl-ishoj", data={"areas": "social:s82"})
    with pytest.raises(GuardFailed, match="round 1 must have 1–4 areas, got 5"):
        wf.fire(app, "propose_areas", user="pl-ishoj", data={
            "areas": "employment,rehabilitation,social,special_education,nature_environment"})
    path = with_setting(tmp_path, "area_count: {}")   # no bounds: any number
    wf = open_wf(settings=replace(settings, states_file=path))
    app = make_application(wf, title="Uden grænse")
    wf.fire(app, "propose_areas", user="pl-ishoj", data={"areas": "employment"})


@pytest.mark.parametrize(("setting", "message"), [
    ("area_count: {1: {min: 3, max: 2}}", "min 3 is more than max 2"),
    ("area_count: {1: {min: two, max: 3}}", "expected a whole number of areas"),
    ("area_count: {1: {min: 2.5, max: 3}}", "expected a whole number of areas"),
    ("area_count: {3: {min: 1, max: 2}}", "a round of the kind (1, 2)"),
    ("area_count: {1: {min: 2}}", "missing required key 'max'"),
])
def test_a_wrong_setting_fails_check_with_file_and_line(tmp_path: Path, setting: str,
                                                        message: str) -> None:
    path = with_setting(tmp_path, setting)
    line = next(i for i, x in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
                if x.strip().startswith("area_count:"))
    with pytest.raises(DefinitionError) as exc:
        load(path)
    assert f"{path}:{line}:" in str(exc.value) and message in str(exc.value)
    done = subprocess.run([sys.executable, "-m", "workflow", "check", str(path)],
                          capture_output=True, text=True, check=False)
    assert done.returncode != 0 and f"{path}:{line}:" in done.stdout + done.stderr
    assert message in done.stdout + done.stderr
