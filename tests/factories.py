"""Bring applications to a given state through real transitions (no shortcuts in SQL).

The road is walked as it would have happened: a step whose data names a day (a council
meeting, the ministry's letter) is taken after that day, so a settable clock (the tests'
:class:`~tests.conftest.Clock`) is moved forward to the step's moment when it is behind.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from workflow.engine.workflow import Workflow

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
    "info_requested": [
        ("request_info", "pl-ishoj", {"reference": "2018-77", "request_date": "2018-05-01",
                                      "questions": "Hvor mange medarbejdere berøres?"}),
        ("answer_question", "pl-ishoj", {"question_no": 1, "answer": "Omkring 200."})],
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
ROAD_OPENS = date(2018, 1, 8)   # the road's dates are for a case opened that day
DATED = ("meeting_date", "decision_date", "request_date", "effective_date", "due_date")


def shifted(data: dict[str, Any], days: int) -> dict[str, Any]:
    """``data`` with its dates moved ``days`` later (a case opened later than the road's)."""
    return {k: _later(v, days) if k in DATED and days > 0 else v for k, v in data.items()}


def _later(value: Any, days: int) -> Any:
    try:
        return (date.fromisoformat(str(value)) + timedelta(days=days)).isoformat()
    except ValueError:  # a malformed date is the engine's to refuse
        return value

def walk_to(wf: Workflow, trigger: str, data: dict[str, Any]) -> None:
    """Move a settable clock forward to 09:00 UTC on the day after the latest date that
    ``trigger`` may not be taken before (a field bounded ``not_after: [today]`` in
    states.yaml: a meeting held, a letter received); a clock that is ahead stays."""
    at = getattr(wf.clock, "at", None)
    past = {name for p in wf.definition.processes.values() for t in p.transitions
            if t.trigger == trigger for name, b in t.dates.items() if "today" in b.not_after}
    days = []
    for key, value in data.items():
        try:
            days += [date.fromisoformat(str(value))] if key in past else []
        except ValueError:  # a malformed date is the engine's to refuse
            pass
    if at is None or not days:
        return
    moment = datetime.combine(max(days) + timedelta(days=1), time(9), tzinfo=UTC)
    if wf.clock() < moment:
        at(moment.isoformat())


def fire(wf: Workflow, app_id: int, trigger: str, user: str, **data: Any) -> Any:
    """``wf.fire`` as it would happen: once the days its data names have passed."""
    walk_to(wf, trigger, data)
    return wf.fire(app_id, trigger, user=user, data=data)


def walk_fire(wf: Workflow, app_id: int, trigger: str, *, user: str,
              data: dict[str, Any] | None = None, **kwargs: Any) -> Any:
    """:func:`fire` with ``wf.fire``'s own signature; the data's dates are the road's, so
    for a case opened later than the road's first day they move as :func:`make_application`
    moves them."""
    data = shifted(data, late(wf, app_id)) if data else data
    walk_to(wf, trigger, data or {})
    return wf.fire(app_id, trigger, user=user, data=data, **kwargs)


def late(wf: Workflow, app_id: int) -> int:
    """How many days after the road's first day the case was opened."""
    from workflow.engine.queries import get_application

    opened = datetime.fromisoformat(get_application(wf, app_id, user="admin")["created_at"])
    return (wf.local_date(opened) - ROAD_OPENS).days


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
    late = (wf.today() - ROAD_OPENS).days
    for trigger, user, data in steps_to(state):
        data = shifted(data, late)
        if data.get("areas") == "AREAS":
            if areas is None:  # fixed-area kinds need no proposal
                continue
            data["areas"] = ",".join(areas)
        if data.get("granted_areas") == "GRANTED":
            data["granted_areas"] = ",".join(granted or (areas or [])[:1])
        walk_to(wf, trigger, data)
        wf.fire(app_id, trigger, user=user, data=data)
    return app_id


DEMO_LETTERHEADS = ("ishoj", "vallensbaek", "brondby", "joint")


def demo_letterhead(which: str = "joint") -> bytes:
    """The demo's letterhead ``which`` (a municipality id, or ``joint``: Ishøj and
    Vallensbæk), made as the drafts make it, on the shipped base document."""
    from pathlib import Path

    from workflow.documents.letterhead import Letterheads, letterhead_spec
    from workflow.installation.demo import demo_rows

    rows = {m["id"]: m for m in demo_rows()[0]}
    base = Path(__file__).resolve().parents[1] / "templates" / "reference" / "base.docx"
    spec = letterhead_spec(which, ["ishoj", "vallensbaek"], rows)
    return Letterheads(base).make(spec, {})[0]


def tiny_png(width: int = 4, height: int = 2, rgb: tuple[int, int, int] = (0, 75, 135)) -> bytes:
    """A real PNG image of one colour, made here (the letterheads' logos in tests)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(
            ">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    rows = b"".join(b"\0" + bytes(rgb) * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2,
                                                             0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def set_municipality(wf: Workflow, municipality: str, **values: Any) -> None:
    """Change a municipality's row (as the installation file would)."""
    from sqlalchemy import update

    from workflow.store import database as store
    from workflow.store import tables as t

    with store.write(wf.engine) as conn:
        conn.execute(update(t.municipality).where(t.municipality.c.id == municipality)
                     .values(**values))
