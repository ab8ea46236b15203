"""Committee stages before each council (issue 19, item 5): each municipality declares
its committees (Ishøj: a fagudvalg, then Økonomi- og Planudvalget; Vallensbæk: a fagudvalg,
then Økonomiudvalget); a council secretary records a committee's decision as an optional
step before her own council's, and the municipality's agenda item prints it. On both
databases; the drafts are read back with python-docx."""

from __future__ import annotations

import io

import docx
import pytest
from sqlalchemy import func, select

from tests.conftest import Clock
from tests.factories import make_application
from workflow.engine.queries import documents, get_application
from workflow.engine.workflow import Workflow
from workflow.errors import GuardFailed, InvalidData, PermissionDenied
from workflow.store import tables as t

ANNOUNCED = {"announced_conditions": "Personalet overdrages efter reglerne om "
                                     "virksomhedsoverdragelse.",
             "reference": "2021-1234", "request_date": "2021-02-05",
             "due_date": "2021-03-19", "happened_on": "2021-02-08"}   # invented


def at_council(wf: Workflow, clock: Clock) -> int:
    """A round-1 application before the councils, early in 2021 (the road's council
    meetings are those of April 2018, moved to the case's own dates)."""
    clock.at("2020-09-01T09:00:00")
    app = make_application(wf, state="council_approval")
    clock.at("2020-10-01T09:00:00")
    return app


def committee(wf: Workflow, app: int, user: str, name: str, on: str,
              decision: str = "approved", **extra: str) -> int:
    return wf.fire(app, "record_committee_decision", user=user, data={
        "committee": name, "decision": decision, "committee_date": on,
        "agenda_ref": f"{name} {on}, punkt 4", **extra}).version


def text(wf: Workflow, app: int, name: str, party: str) -> str:
    doc = next(d for d in documents(wf, app, user="legal-ishoj")
               if d["name"] == name and d["party"] == party)
    got = wf.download(doc["id"], user="legal-ishoj")
    return "\n".join(p.text for p in docx.Document(io.BytesIO(got.content)).paragraphs)


def version(wf: Workflow, app: int) -> int:
    return int(get_application(wf, app, user="admin")["version"])


def test_the_demo_declares_each_councils_path(wf: Workflow) -> None:
    assert list(wf.municipalities["ishoj"].committees) == ["Fagudvalget",
                                                          "Økonomi- og Planudvalget"]
    assert list(wf.municipalities["vallensbaek"].committees) == ["Fagudvalget",
                                                                "Økonomiudvalget"]
    assert wf.municipalities["brondby"].committees is None


def test_committees_decide_before_the_council_and_the_agenda_item_says_so(
        wf: Workflow, clock: Clock) -> None:
    app = at_council(wf, clock)
    item = text(wf, app, "agenda_item", "ishoj")
    assert "Direktionen indstiller til Fagudvalget, Økonomi- og Planudvalget og Byrådet, at" \
        in item
    assert "Fagudvalget: Afventer behandling.\nØkonomi- og Planudvalget: Afventer " \
        "behandling.\nAfventer behandling." in item   # (the last: the Byråd)
    committee(wf, app, "sec-ishoj", "Fagudvalget", "2020-09-15")
    committee(wf, app, "sec-ishoj", "Økonomi- og Planudvalget", "2020-09-22",
              decision="rejected", reason="Ønsker et økonominotat")
    committee(wf, app, "sec-ishoj", "Økonomi- og Planudvalget", "2020-09-29")  # again
    committee(wf, app, "sec-vallensbaek", "Økonomiudvalget", "2020-09-23")
    item = text(wf, app, "agenda_item", "ishoj")
    assert "Fagudvalget den 15. september 2020: Anbefales." in item
    assert "Økonomi- og Planudvalget den 29. september 2020: Anbefales." in item
    assert "22. september" not in item and "Økonomiudvalget" not in item  # hers only
    other = text(wf, app, "agenda_item", "vallensbaek")
    assert "Beslutning Økonomiudvalget den 23-09-2020\nAnbefales." in other
    assert "Beslutning Fagudvalget\nAfventer behandling." in other
    shown = get_application(wf, app, user="sec-ishoj")["committees"]
    assert [(c["municipality"], c["committee"], c["committee_date"], c["decision"])
            for c in shown] == [
        ("ishoj", "Fagudvalget", "2020-09-15", "approved"),
        ("ishoj", "Økonomi- og Planudvalget", "2020-09-22", "rejected"),
        ("ishoj", "Økonomi- og Planudvalget", "2020-09-29", "approved"),
        ("vallensbaek", "Økonomiudvalget", "2020-09-23", "approved")]
    assert {c["on"] for c in shown} == {"application"} and not any(c["void"] for c in shown)
    # the council decides; a committee that did not treat the case drops out of its item
    wf.fire(app, "record_council_decision", user="sec-vallensbaek", data={
        "decision": "approved", "meeting_date": "2020-09-30",
        "agenda_ref": "Kommunalbestyrelsen 30-09-2020, punkt 12"})
    other = text(wf, app, "agenda_item", "vallensbaek")
    assert "Fagudvalget" not in other.split("Beslutning Økonomiudvalget")[1]
    assert "Beslutning Kommunalbestyrelsen den 30-09-2020\nGodkendt." in other


def test_a_committee_step_is_refused_cleanly_and_nothing_is_written(
        wf: Workflow, clock: Clock) -> None:
    app = at_council(wf, clock)
    before = version(wf, app)
    with pytest.raises(GuardFailed, match="'Økonomiudvalget' is not a committee of ishoj; "
                                          "its committees: Fagudvalget, Økonomi- og "
                                          "Planudvalget") as e:
        committee(wf, app, "sec-ishoj", "Økonomiudvalget", "2020-09-15")
    assert "udvalgene er Fagudvalget og Økonomi- og Planudvalget" in (e.value.da or "")
    with pytest.raises(InvalidData, match="committee_date: 2020-10-05 is outside"):
        committee(wf, app, "sec-ishoj", "Fagudvalget", "2020-10-05")       # the future
    with pytest.raises(InvalidData, match="committee"):
        wf.fire(app, "record_committee_decision", user="sec-ishoj",
                data={"decision": "approved", "committee_date": "2020-09-15",
                      "agenda_ref": "x"})
    with pytest.raises(PermissionDenied):
        committee(wf, app, "pl-ishoj", "Fagudvalget", "2020-09-15")
    wf.fire(app, "record_council_decision", user="sec-ishoj", data={
        "decision": "approved", "meeting_date": "2020-09-29",
        "agenda_ref": "Byrådet 29. september 2020, punkt 7"})
    before = version(wf, app)
    with pytest.raises(GuardFailed, match="the council of ishoj has already decided"):
        committee(wf, app, "sec-ishoj", "Fagudvalget", "2020-09-15")
    assert version(wf, app) == before
    assert get_application(wf, app, user="admin")["committees"] == []


def test_a_committee_step_keeps_the_councils_deadline_and_tells_nobody(
        wf: Workflow, clock: Clock) -> None:
    app = at_council(wf, clock)
    wf.fire(app, "schedule_council_meeting", user="sec-vallensbaek", data={
        "meeting_date": "2020-10-28", "agenda_ref": "Kommunalbestyrelsen 28-10-2020, pkt. 3"})

    def open_deadline() -> tuple[str, str]:
        d = next(x for x in get_application(wf, app, user="admin")["deadlines"]
                 if x["active"] and x["party"] == "vallensbaek")
        return d["due"], d["derivation"]

    def notices() -> int:
        with wf.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(t.reminder)
                                    .where(t.reminder.c.deadline_id.is_(None))).scalar())

    due, sent = open_deadline(), notices()
    clock.at("2020-10-10T09:00:00")
    committee(wf, app, "sec-vallensbaek", "Økonomiudvalget", "2020-10-07")
    assert open_deadline() == due and due[0] == "2020-10-28"
    assert notices() == sent
    assert [h["trigger"] for h in wf_history(wf, app)][-1] == "record_committee_decision"


def wf_history(wf: Workflow, app: int) -> list[dict[str, object]]:
    from workflow.engine.queries import history

    return [h for h in history(wf, app, user="admin") if h.get("version")]


def test_a_council_rejection_sets_the_committees_aside(wf: Workflow, clock: Clock) -> None:
    app = at_council(wf, clock)
    committee(wf, app, "sec-ishoj", "Fagudvalget", "2020-09-15")
    wf.fire(app, "record_council_decision", user="sec-ishoj", data={
        "decision": "rejected", "meeting_date": "2020-09-29", "reason": "Flere områder",
        "agenda_ref": "Byrådet 29. september 2020, punkt 7"})
    shown = get_application(wf, app, user="admin")
    assert shown["state"] == "drafting"
    assert [(c["committee"], c["void"]) for c in shown["committees"]] == [("Fagudvalget", True)]


def test_committees_treat_the_ministrys_conditions_too(wf: Workflow, clock: Clock) -> None:
    clock.at("2020-09-01T09:00:00")
    app = make_application(wf, state="submitted")
    clock.at("2021-03-10T09:00:00")
    wf.fire(app, "announce_conditions", user="pl-ishoj", data=ANNOUNCED)
    with pytest.raises(InvalidData, match="committee_date"):   # before the ministry's letter
        committee(wf, app, "sec-ishoj", "Økonomi- og Planudvalget", "2021-02-01")
    committee(wf, app, "sec-ishoj", "Økonomi- og Planudvalget", "2021-02-23")
    item = text(wf, app, "conditions_agenda_item", "ishoj")
    assert "Behandling i udvalgene" in item
    assert "Økonomi- og Planudvalget den 23. februar 2021: Anbefales." in item
    other = text(wf, app, "conditions_agenda_item", "vallensbaek")
    assert "Fagudvalget: Afventer behandling.\nØkonomiudvalget: Afventer behandling." in other
    assert [c["on"] for c in get_application(wf, app, user="admin")["committees"]][-1] \
        == "conditions"
    wf.fire(app, "accept_conditions", user="sec-ishoj",
            data={"meeting_date": "2021-03-02", "agenda_ref": "Byrådet 2. marts 2021, pkt. 5"})
    with pytest.raises(GuardFailed, match="already decided"):
        committee(wf, app, "sec-ishoj", "Fagudvalget", "2021-02-24")
