"""The ``WORKFLOW_*`` environment, read, and where the project's own files are.

:mod:`workflow.config` builds its settings on this; ``workflow check`` and ``workflow
diagram`` (:mod:`workflow.cli.console`) need only the states file, and take it from here
without importing :mod:`pathlib` (with :mod:`urllib.parse` and :mod:`ipaddress` behind
it, a tenth of their start-up).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping

PROJECT_DIR = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
DEFAULT_STATES_FILE = os.path.join(PROJECT_DIR, "states.yaml")


def reader(environ: Mapping[str, str] | None, prefix: str) -> Callable[[str], str | None]:
    """``get(NAME)``: the stripped value of ``prefix + NAME``, or None when unset or empty."""
    env = os.environ if environ is None else environ

    def get(name: str) -> str | None:
        return env.get(prefix + name, "").strip() or None

    return get


def states_file(environ: Mapping[str, str] | None = None) -> str:
    """WORKFLOW_STATES_FILE (normalised, as a ``Path`` would have it), or the project's
    ``states.yaml``."""
    given = reader(environ, "WORKFLOW_")("STATES_FILE")
    return os.path.normpath(given) if given else DEFAULT_STATES_FILE
