"""What the pages say in Danish about actions: their labels, what was done, and refusals.

The engine's errors a page user can cause are worded in English and Danish (a
:class:`~workflow.errors.Said`: the CLI and the API say the English); a page says the
Danish. A lost race and a trigger the state does not allow are said from the error's
fields; any other error without a Danish wording gets a Danish lead before its English.
People are named by name, other cases by case number, a field's condition by the
choice's Danish label.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .. import danish
from ..engine import queries
from ..engine.workflow import Workflow
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
from ..process.names import HISTORY_LABELS

# history entries that are not a declared trigger
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
    return wf.names.triggers | HISTORY_LABELS


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
    return _refusal(wf, exc)


def _refusal(wf: Workflow, exc: WorkflowError) -> str:
    if isinstance(exc, ConflictError):
        name = queries.user_names(wf, [exc.changed_by]).get(exc.changed_by or "",
                                                              exc.changed_by or "")
        who = f" af {name}" if name else ""
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


# what a condition on a case's own attributes is called (a `when:` on kind or round)
_ATTRIBUTES = {"kind": "sagstypen", "round": "runden"}


def definite(label: str) -> str:
    """A one-word field label in the definite form, as running text has it:
    ``Beslutning`` -> ``beslutningen``, ``Afgørelse`` -> ``afgørelsen`` (a common-gender
    noun); a label of several words is quoted instead: ``»Ministeriets frist«``."""
    if " " in label.strip() or not label:
        return f"»{label}«"
    word = label[:1].lower() + label[1:]
    return word + ("n" if word.endswith("e") else "en")


def _value(wf: Workflow, key: str, value: Any) -> str:
    if key == "kind":
        try:
            return wf.definition.process_for_kind(str(value)).kinds[str(value)].label.da
        except KeyError:
            return str(value)
    if isinstance(value, bool):
        return "ja" if value else "nej"
    return wf.names.choice(key, value)


def required_when(wf: Workflow, when: Sequence[Mapping[str, Any]]) -> str:
    """When a field is required, from the branches (``when:``) that require it:
    ``kræves når beslutningen er Ikke godkendt``, with each choice's Danish label."""
    conditions = [dict(w) for w in when if w]
    if not conditions:
        return ""

    def subject(key: str) -> str:
        return _ATTRIBUTES.get(key) or definite(wf.names.field(key))

    keys = {k for c in conditions for k in c}
    if len(keys) == 1 and all(len(c) == 1 for c in conditions):  # one field, its values
        key = next(iter(keys))
        values = list(dict.fromkeys(_value(wf, key, c[key]) for c in conditions))
        return f"kræves når {subject(key)} er {danish.join_or(values)}"
    said = [danish.join_and(f"{subject(k)} er {_value(wf, k, v)}" for k, v in c.items())
            for c in conditions]
    return "kræves når " + " eller når ".join(said)


# the box to tick before an action that ends the case for good (a side step into a
# final state: withdraw, abandon); the server refuses the form without it
CONFIRM_FIELD = "confirm"
_CONFIRM_TEXTS = {"withdraw": "Ja, træk ansøgningen tilbage", "abandon": "Ja, opgiv aftalen"}


def confirmations(wf: Workflow) -> dict[str, str]:
    """The triggers that must be confirmed on the page, and the box's Danish text."""
    out = {}
    for process in wf.definition.processes.values():
        for t in process.transitions:
            if t.side and process.states[t.dest].final:
                label = t.label.da
                out[t.trigger] = _CONFIRM_TEXTS.get(
                    t.trigger, f"Ja, {label[:1].lower() + label[1:]}")
    return out


def not_confirmed(wf: Workflow, trigger: str) -> str:
    """The refusal of an action that was not confirmed."""
    box = confirmations(wf).get(trigger, "")
    return (f"{wf.names.action(trigger)} er ikke udført: sæt kryds ved »{box}« for at "
            f"bekræfte. Intet er ændret.")
