"""The JSON body an error is answered with, for the API, the exception handlers and
``/metrics``."""

from __future__ import annotations

from typing import Any

from .. import errors


def error_body(exc: errors.WorkflowError) -> dict[str, Any]:
    """The error as JSON: ``detail`` in English, ``detail_da`` (and ``reasons_da``) in
    Danish where the error was worded in both, and the error's own fields."""
    body: dict[str, Any] = {"detail": str(exc), "error": type(exc).__name__}
    if exc.da:
        body["detail_da"] = exc.da
    if isinstance(exc, errors.InvalidTransition):
        body.update(state=exc.state, trigger=exc.trigger, allowed=exc.allowed)
    if isinstance(exc, errors.ConflictError):
        body.update(changed_by=exc.changed_by, version=exc.version)
    if isinstance(exc, errors.GuardFailed):
        body.update(reasons=[str(r) for r in exc.reasons],
                    reasons_da=[errors.in_danish(r) for r in exc.reasons])
    return body
