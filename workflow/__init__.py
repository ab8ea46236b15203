"""workflow: a case engine for municipalities' applications for ministerial dispensation.

The public names are importable from here; heavy modules load only when first used, so
``import workflow`` (and the CLI's ``--help``) stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"  # the package's version (pyproject.toml reads it from here)

from .errors import (
    AuthError,
    ConflictError,
    DefinitionError,
    DocumentError,
    GuardFailed,
    InvalidData,
    InvalidTransition,
    NotFound,
    PermissionDenied,
    SetupError,
    StrandedApplications,
    WorkflowError,
)

if TYPE_CHECKING:
    from .config import Settings
    from .engine.workflow import Workflow

__all__ = [
    "AuthError",
    "ConflictError",
    "DefinitionError",
    "DocumentError",
    "GuardFailed",
    "InvalidData",
    "InvalidTransition",
    "NotFound",
    "PermissionDenied",
    "SetupError",
    "Settings",
    "StrandedApplications",
    "Workflow",
    "WorkflowError",
]


def __getattr__(name: str) -> Any:
    if name == "Workflow":
        from .engine.workflow import Workflow

        return Workflow
    if name == "Settings":
        from .config import Settings

        return Settings
    raise AttributeError(name)
