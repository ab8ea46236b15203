"""Bring applications to a given state through real transitions (no shortcuts in SQL)."""

from __future__ import annotations

from typing import Any

from workflow.engine import Workflow

ROUND_ONE = ["rehabilitation", "special_education", "nature_environment"]

# (state reached, trigger, user, data): the canonical road through the process.
ROAD: list[tuple[str, str, str, dict[str, Any]]] = [
    ("area_selection", "propose_areas", "pl-ishoj", {"areas": "AREAS"}),
    ("area_selection", "confirm_areas", "pl-ishoj", {}),
    ("drafting", "confirm_areas", "pl-vallensbaek", {}),
    ("legal_review", "submit_for_review", "pl-ishoj", {}),
    ("council_approval", "approve_draft", "legal-ishoj", {}),
    ("council_approval", "record_council_decision", "sec-ishoj",
     {"decision": "approved", "meeting_date": "2018-04-03", "agenda_ref": "BR 3/4-18 pkt. 7"}),
    ("council_approval", "record_council_decision", "sec-vallensbaek",
     {"decision": "approved", "meeting_date": "2018-04-25", "agenda_ref": "KB 25-04-2018 pkt. 12"}),
    ("submitted", "send_to_ministry", "pl-ishoj", {}),
]
AFTER_SUBMITTED: dict[str, list[tuple[str, str, dict[str, Any]]]] = {
    "info_requested": [("request_info", "pl-ishoj", {"reference": "2018-77"})],
    "granted": [("record_decision", "pl-ishoj", {"outcome": "granted", "reference": "2018-77",
                                                  "decision_date": "2018-06-01"})],
    "granted_with_conditions": [("record_decision", "pl-ishoj", {
        "outcome": "granted_with_conditions", "reference": "2018-77",
        "decision_date": "2018-06-01", "conditions": "Overgang senest 1. januar 2019"})],
    "partly_granted": [("record_decision", "pl-ishoj", {
        "outcome": "partly_granted", "reference": "2018-77", "decision_date": "2018-06-01",
        "granted_areas": "GRANTED"})],
    "refused": [("record_decision", "pl-ishoj", {"outcome": "refused", "reference": "2018-77",
                                                  "decision_date": "2018-06-01"})],
}
AFTER_SUBMITTED["transition_period"] = AFTER_SUBMITTED["granted"] + [
    ("start_transition", "pl-ishoj", {"effective_date": "2019-01-01"})]
AFTER_SUBMITTED["closed"] = AFTER_SUBMITTED["transition_period"] + [
    ("complete", "pl-ishoj", {})]
STATES_ON_ROAD = ["area_selection", "drafting", "legal_review", "council_approval", "submitted"]


def steps_to(state: str) -> list[tuple[str, str, dict[str, Any]]]:
    """The (trigger, user, data) steps from a fresh dispensation to ``state``."""
    if state == "withdrawn":
        return [("withdraw", "pl-ishoj", {"reason": "Test"})]
    if state == "area_selection":
        return []
    road = []
    target = state if state in STATES_ON_ROAD else "submitted"
    for reached, trigger, user, data in ROAD:
        road.append((trigger, user, data))
        if reached == target and trigger != "propose_areas" and (
                target != "council_approval" or trigger == "approve_draft"):
            break
    if state not in STATES_ON_ROAD:
        road += AFTER_SUBMITTED[state]
    return road


def make_application(wf: Workflow, *, state: str = "area_selection", kind: str = "dispensation",
                     round: int | None = 1, areas: list[str] | None = None,
                     granted: list[str] | None = None, title: str = "Testansøgning") -> int:
    areas = areas if areas is not None else (ROUND_ONE if kind == "dispensation" else None)
    app_id = wf.create(kind=kind, round=round if kind == "dispensation" else None,
                       title=title, user="pl-ishoj")
    for trigger, user, data in steps_to(state):
        data = dict(data)
        if data.get("areas") == "AREAS":
            if areas is None:  # fixed-area kinds need no proposal
                continue
            data["areas"] = ",".join(areas)
        if data.get("granted_areas") == "GRANTED":
            data["granted_areas"] = ",".join(granted or (areas or [])[:1])
        wf.fire(app_id, trigger, user=user, data=data)
    return app_id
