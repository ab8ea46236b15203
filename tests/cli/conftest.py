"""What the command line's case-file tests share: an environment with a case in it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.test_cli import Env, run

CASE_NOW = "2018-01-08T10:00"


@pytest.fixture
def case_env(db_url: str, tmp_path: Path) -> Env:
    """The commands' environment for the case file (``attach``, ``journal``, ``exempt``,
    ``export --aktindsigt``): files in a folder of the test's own, the clock at CASE_NOW,
    and one case opened by pl-ishoj (the newest in ``list``)."""
    env = {"WORKFLOW_DATABASE_URL": db_url, "WORKFLOW_NOW": CASE_NOW,
           "WORKFLOW_FILES": str(tmp_path / "files")}
    run(env, "new", "--kind", "dispensation", "--round", "1", "--title", "Sagen",
        "--as", "pl-ishoj")
    return env
