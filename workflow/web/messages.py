"""What the pages say in Danish about actions: their labels, what was done, and refusals.

The engine's errors a page user can cause are worded in English and Danish (a
:class:`~workflow.errors.Said`: the CLI and the API say the English); a page says the
Danish. A lost race and a trigger the state does not allow are said from the error's
fields; any other error without a Danish wording gets a Danish lead before its English.
"""

from __future__ import annotations

from collections.abc import Sequence

from .. import danish
from ..engine import Workflow
from ..errors import (
    ConflictError,
    DocumentError,
    GuardFailed,
    InvalidData,
    InvalidTransition,
    NotFound,
    PermissionDenied,
    SetupError,
    WorkflowError,
)

# history entries that are not a declared trigger
OTHER_LABELS = {"create": "Oprettet", "download": "Hentet dokument",
                "reminder": "Påmindelse sendt"}

# what went wrong, said in Danish first; the engine's own words follow (a document that
# cannot be made and a set-up fault keep their technical detail in English, for whoever
# maintains the templates and the installation)
_REFUSALS: list[tuple[type[WorkflowError], str]] = [
    (PermissionDenied, "Det må du ikke"),
    (GuardFailed, "Det kan ikke gøres nu"),
    (InvalidData, "Oplysningerne er ikke i orden"),
    (NotFound, "Findes ikke"),
    (DocumentError, "Dokumentet kunne ikke dannes, så intet er ændret. Teknisk årsag"),
    (SetupError, "Systemet kan ikke svare lige nu. Teknisk årsag"),
]


def trigger_labels(wf: Workflow) -> dict[str, str]:
    """Every trigger's Danish label, and the history's other entries'."""
    return wf.names.triggers | OTHER_LABELS


def done(wf: Workflow, trigger: str, waiting_for: Sequence[str]) -> str:
    """``Udført: Bekræft områder. Afventer Vallensbæk Kommune.``"""
    msg = f"Udført: {trigger_labels(wf).get(trigger, trigger)}."
    if waiting_for:
        msg += f" Afventer {wf.names.parties(waiting_for)}."
    return msg


def sentence(text: str) -> str:
    """``text`` as a sentence begins: its first letter upper-case, the rest as it is."""
    return text[:1].upper() + text[1:]


def refusal(wf: Workflow, exc: WorkflowError) -> str:
    """A refusal as the pages show it: Danish, with the engine's detail after it."""
    if isinstance(exc, ConflictError):
        who = f" af {exc.changed_by}" if exc.changed_by else ""
        now = f" (den er nu i version {exc.version})" if exc.version else ""
        return (f"Sagen er ændret{who}, mens du havde den åben{now}. Se siden igen, og "
                f"prøv så igen.")
    if isinstance(exc, InvalidTransition):
        labels = trigger_labels(wf)
        allowed = danish.join_and(labels.get(a, a) for a in exc.allowed) or "ingen"
        return (f"{wf.names.action(exc.trigger)} kan ikke gøres, når sagen er i "
                f"tilstanden {wf.names.state(exc.state)}. Det kan gøres nu: {allowed}.")
    if exc.da and isinstance(exc, NotFound):  # "sag 999 findes ikke" needs no lead
        return sentence(exc.da)
    lead = next((text for cls, text in _REFUSALS if isinstance(exc, cls)), "Det gik ikke")
    return f"{lead}: {exc.da or exc}"
