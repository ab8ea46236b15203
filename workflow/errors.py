"""The one error hierarchy of workflow; every error a user can cause is one of these.

    WorkflowError
    ├── DefinitionError          states.yaml is invalid (each problem has file, line, key)
    │   └── StrandedApplications a new definition would strand live applications
    ├── NotFound (LookupError)   unknown application, user, area
    ├── InvalidTransition        trigger not allowed in this state (names the allowed ones)
    ├── GuardFailed              a business rule refused the transition (says which, why)
    ├── InvalidData (ValueError) missing or malformed --data values
    │   └── FileRefused          an upload refused: its type, name or content
    │       └── TooLarge         an upload over the size limit
    ├── PermissionDenied         wrong role or municipality
    ├── ConflictError            someone changed the application first (names who)
    ├── DocumentError            a draft cannot be made, converted or handed out
    ├── AuthError                not logged in: no, wrong or expired credentials
    │   └── RateLimited          too many failed logins; wait
    ├── SetupError               database missing, not migrated, bad settings
    └── NotProven                a broken audit chain; a version that regenerates otherwise

The CLI and the web layer translate these in one place each; nothing else catches them.
An error a page can show is worded in English and Danish (:class:`Said`): the CLI, the API
and the logs say the English, the pages the Danish.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple


class Said(str):
    """A message in English (what it is as a ``str``: the CLI, the API, logs) that also
    knows how it is said in Danish (:attr:`da`: the web pages)."""

    da: str

    def __new__(cls, en: str, da: str) -> Said:
        said = super().__new__(cls, en)
        said.da = da
        return said

    def __getnewargs__(self) -> tuple[str, str]:  # type: ignore[override]  # (copy, pickle)
        return str(self), self.da

    @classmethod
    def joined(cls, parts: Sequence[str], sep: str = "; ") -> Said:
        """The parts joined, in both languages (a part said only in English stays so)."""
        return cls(sep.join(parts), sep.join(in_danish(p) for p in parts))


def in_danish(message: object) -> str:
    """``message`` in Danish where it has a Danish wording, else as it is."""
    return getattr(message, "da", None) or str(message)


class WorkflowError(Exception):
    """Base class: anything a user can cause and we can explain in one line."""

    exit_code = 1

    @property
    def da(self) -> str | None:
        """The message in Danish, when it was given in both languages (a :class:`Said`)."""
        return getattr(self.args[0], "da", None) if self.args else None


class Problem(NamedTuple):
    """One problem in a definition file, with where it is."""

    file: str
    line: int | None
    key: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.key}: {self.message}"


class DefinitionError(WorkflowError):
    """The process definition is invalid; ``problems`` lists every problem found."""

    exit_code = 3
    what = "the process definition"

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        n = len(self.problems)
        head = f"{n} problem{'s' if n != 1 else ''} in {self.what}"
        super().__init__(head + ":\n" + "\n".join(f"  {p}" for p in self.problems))


class InstallationError(DefinitionError):
    """The installation file is invalid (``workflow setup``); every problem, located."""

    what = "the installation file"


class StrandedApplications(DefinitionError):
    """Loading this definition would leave live applications in a state it lacks."""

    def __init__(self, file: str, stranded: Sequence[tuple[int, str, str]]) -> None:
        self.stranded = list(stranded)
        problems = [
            Problem(file, None, f"{process}.states",
                    f"state {state!r} is missing, but application {app_id} is in it")
            for app_id, process, state in self.stranded
        ]
        super().__init__(problems)


class NotFound(WorkflowError, LookupError):
    """Something named by the user does not exist (or is not visible to them)."""

    exit_code = 4

    @classmethod
    def application(cls, app_id: int) -> NotFound:
        return cls(Said(f"no application {app_id}", f"sag {app_id} findes ikke"))

    @classmethod
    def user(cls, user_id: str) -> NotFound:
        return cls(Said(f"unknown user {user_id!r}", f"brugeren »{user_id}« findes ikke"))


class InvalidTransition(WorkflowError):
    """The trigger does not exist from the application's current state."""

    exit_code = 5

    def __init__(self, *, application_id: int, state: str, trigger: str,
                 allowed: Sequence[str], note: str = "") -> None:
        self.application_id = application_id
        self.state = state
        self.trigger = trigger
        self.allowed = list(allowed)
        allowed_txt = ", ".join(self.allowed) if self.allowed else "none (final state)"
        super().__init__(
            f"application {application_id} is in state {state!r}: "
            f"trigger {trigger!r} is not allowed there; allowed: {allowed_txt}"
            + (f" (last changed by {note})" if note else ""))


class GuardFailed(WorkflowError):
    """A rule of the process refused the transition."""

    exit_code = 5

    def __init__(self, message: str, *, reasons: Sequence[str] = ()) -> None:
        self.reasons = list(reasons)
        super().__init__(message)


class InvalidData(WorkflowError, ValueError):
    """Transition data is missing or malformed."""

    exit_code = 2


class FileRefused(InvalidData):
    """An uploaded file is refused: a type not accepted, a name that does not match its
    content, an executable, a zip bomb, a virus found (nothing is stored)."""


class TooLarge(FileRefused):
    """An upload is larger than the limit (WORKFLOW_UPLOAD_MAX_BYTES)."""


class PermissionDenied(WorkflowError):
    """The acting user's role or municipality may not do this."""

    exit_code = 6


class PasswordChangeRequired(PermissionDenied):
    """The user logged in with a one-time password and must choose their own first."""


class ConflictError(WorkflowError):
    """The application was changed by someone else since it was read."""

    exit_code = 7

    def __init__(self, message: str, *, application_id: int | None,
                 changed_by: str | None = None,
                 version: int | None = None) -> None:
        self.application_id = application_id
        self.changed_by = changed_by
        self.version = version
        super().__init__(message)


class DocumentError(WorkflowError):
    """A draft could not be made (template error), converted, or handed out."""

    exit_code = 9


class AuthError(WorkflowError):
    """No, wrong, expired or revoked credentials."""

    exit_code = 10


class RateLimited(AuthError):
    """Too many failed logins for this user name; ``retry_after`` seconds to wait."""

    def __init__(self, message: str, *, retry_after: int) -> None:
        self.retry_after = retry_after
        super().__init__(message)


class SetupError(WorkflowError):
    """The installation is not ready: no database, not migrated, bad settings."""

    exit_code = 8


class NotProven(WorkflowError):
    """The record does not prove itself: a case's audit chain is broken (``workflow audit
    verify``), or a stored document version regenerates to other bytes (``workflow
    reproduce``). What is wrong has been said; this is the non-zero exit."""

    exit_code = 11
