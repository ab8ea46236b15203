"""What the drafts see of the ministry's letters: the questions of a request for
information with their answers, and the conditions it announced (§ 11 a, stk. 3) with each
council's acceptance."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..process.values import as_date

if TYPE_CHECKING:
    from .context import Inputs


def questions_view(data: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The ministry's questions in order, each with its answer (None: not yet)."""
    answers = data.get("answers") or {}
    return [{"number": i, "text": q, "answer": answers.get(str(i))}
            for i, q in enumerate(data.get("questions") or [], start=1)]


def conditions_view(inputs: Inputs, areas: list[dict[str, Any]]) -> dict[str, Any]:
    """The conditions the ministry announced and the areas it means to grant (§ 11 a,
    stk. 3); before any were announced, all empty."""
    ann = inputs.announced or {"reference": None, "date": None, "due_date": None,
                               "conditions": [], "granted_areas": []}
    asked = {str(g).partition(":")[0] for g in ann["granted_areas"]}   # an area or a part
    granted = [a for a in areas if a["id"] in asked] if ann["granted_areas"] \
        else areas
    return {**ann, "areas": granted, "partial": len(granted) < len(areas),
            "announced": inputs.announced is not None}


def acceptances_view(inputs: Inputs) -> list[dict[str, Any]]:
    """Each council's handling of the announced conditions: its meeting, and whether it
    accepted them (a council's own record, like its decisions: not what it approves)."""
    out = []
    for m in inputs.municipalities:
        act = inputs.acts.get("conditions", {}).get(m["id"])
        meeting = inputs.acts.get("meeting", {}).get(m["id"], {})
        out.append({"municipality": m,
                    "meeting_date": as_date((act or meeting).get("meeting_date")),
                    "agenda_ref": (act or meeting).get("agenda_ref"),
                    "accepted": act is not None})
    return out
