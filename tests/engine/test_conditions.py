"""The ministry's conditions as § 11 a, stk. 3 has them, the takes-effect date asked for and
the satellite as a chosen fallback.

The ministry announces its conditions; each council accepts (or declines) them at a
meeting, with its own agenda item; a joint letter accepts them, dated the day it is sent;
the ministry then decides. The drafts are read back with python-docx. The dates are the
real ones of 2021 where DOMAIN.md has them (the councils' meetings of 2 March 2021);
the ministry's letter dates, references and the final decision's date are invented.
"""

from __future__ import annotations

import io
from datetime import date
from typing import Any

import docx
import pytest

from tests.conftest import Clock
from tests.factories import make_application
from workflow.engine.queries import documents, get_application
from workflow.engine.workflow import Workflow
from workflow.errors import GuardFailed, InvalidData

CONDITIONS = ["Personalet overdrages efter reglerne om virksomhedsoverdragelse.",
              "Ændringen har virkning fra 1. januar 2022."]
ANNOUNCED = {"announced_conditions": "\n".join(CONDITIONS), "reference": "2021-1234",
             "request_date": "2021-02-05", "due_date": "2021-03-19",    # invented
             "happened_on": "2021-02-08"}                                # received


def submitted(wf: Workflow, clock: Clock, **kw: Any) -> int:
    """A round-1 application sent to the ministry in December 2020."""
    clock.at("2020-09-01T09:00:00")
    app = make_application(wf, state="submitted", **kw)
    clock.at("2021-03-10T09:00:00")
    return app


def text(wf: Workflow, app: int, name: str, user: str = "legal-ishoj",
         party: str | None = None) -> str:
    doc = next(d for d in documents(wf, app, user=user)
               if d["name"] == name and (party is None or d["party"] == party))
    got = wf.download(doc["id"], user=user)
    return "\n".join(p.text for p in docx.Document(io.BytesIO(got.content)).paragraphs)


def letter_date(wf: Workflow, app: int, name: str) -> str:
    doc = next(d for d in documents(wf, app, user="legal-ishoj") if d["name"] == name)
    return str(doc["versions"][-1]["letter_date"])


def accept(wf: Workflow, app: int) -> None:
    for sec, ref in (("sec-ishoj", "Byrådet 2. marts 2021, punkt 5"),
                     ("sec-vallensbaek", "Kommunalbestyrelsen 2. marts 2021, punkt 8")):
        wf.fire(app, "accept_conditions", user=sec,
                data={"meeting_date": "2021-03-02", "agenda_ref": ref})


def test_conditions_announced_accepted_by_both_councils_sent_and_decided(
        wf: Workflow, clock: Clock) -> None:
    app = submitted(wf, clock)
    out = wf.fire(app, "announce_conditions", user="pl-ishoj", data=ANNOUNCED)
    assert out.to_state == "conditions_announced"
    made = {(m.name, m.party) for m in out.documents}
    assert made == {("conditions_agenda_item", "ishoj"), ("conditions_agenda_item", "vallensbaek"),
                    ("conditions_acceptance", "")}
    item = text(wf, app, "conditions_agenda_item", user="sec-vallensbaek", party="vallensbaek")
    assert "Indenrigs- og Boligministeriet" in item   # its name on 5 February 2021
    assert "5. februar 2021" in item and "j.nr. 2021-1234" in item
    for c in CONDITIONS:
        assert c in item
    assert "Vallensbæk Kommunalbestyrelse skal tage stilling" in item

    first = wf.fire(app, "accept_conditions", user="sec-ishoj",
                    data={"meeting_date": "2021-03-02", "agenda_ref": "Byrådet 2. marts 2021"})
    assert first.to_state == "conditions_announced" and first.waiting_for == ("vallensbaek",)
    second = wf.fire(app, "accept_conditions", user="sec-vallensbaek", data={
        "meeting_date": "2021-03-02", "agenda_ref": "Kommunalbestyrelsen 2. marts 2021"})
    assert second.to_state == "conditions_accepted"

    clock.at("2021-03-12T09:00:00")
    wf.fire(app, "send_acceptance", user="pl-ishoj", data={"happened_on": "2021-03-04"})
    assert letter_date(wf, app, "conditions_acceptance") == "2021-03-04"
    letter = text(wf, app, "conditions_acceptance")
    assert "Kommunerne accepterer følgende vilkår" in letter
    assert letter.count("på mødet den 2. marts 2021") == 2
    assert "ministeriets brev af 5. februar 2021" in letter

    clock.at("2021-05-01T09:00:00")
    wf.fire(app, "record_decision", user="pl-ishoj", data={
        "outcome": "granted_with_conditions", "reference": "2021-1234",
        "decision_date": "2021-04-15", "conditions": "\n".join(CONDITIONS),
        "effective_date": "2022-01-01"})
    done = wf.fire(app, "start_transition", user="pl-ishoj",
                   data={"effective_date": "2022-01-01"})
    assert done.to_state == "transition_period"   # the conditions were accepted before


def test_a_partial_grant_is_announced_with_its_areas(wf: Workflow, clock: Clock) -> None:
    app = submitted(wf, clock)
    wf.fire(app, "announce_conditions", user="pl-ishoj",
            data={**ANNOUNCED, "granted_areas": "rehabilitation"})
    item = text(wf, app, "conditions_agenda_item", user="sec-ishoj", party="ishoj")
    assert "for så vidt angår genoptræning" in item
    assert "De øvrige områder forbliver i det forpligtende samarbejde" in item
    with pytest.raises(GuardFailed):   # a partial grant names areas of the application only
        app2 = submitted(wf, clock, areas=["social"])
        wf.fire(app2, "announce_conditions", user="pl-ishoj",
                data={**ANNOUNCED, "granted_areas": "rehabilitation"})


def test_a_council_that_declines_sends_the_case_back_to_the_ministry(
        wf: Workflow, clock: Clock) -> None:
    app = submitted(wf, clock)
    wf.fire(app, "announce_conditions", user="pl-ishoj", data=ANNOUNCED)
    out = wf.fire(app, "decline_conditions", user="sec-vallensbaek", data={
        "meeting_date": "2021-03-02", "agenda_ref": "KB pkt. 8",
        "reason": "Vilkåret om ikrafttræden kan ikke nås"})
    assert out.to_state == "submitted"
    assert "accept_conditions" not in str(
        get_application(wf, app, user="admin")["state"])


def test_conditions_need_one_text_each_and_a_letter_date(wf: Workflow, clock: Clock) -> None:
    app = submitted(wf, clock)
    with pytest.raises(InvalidData, match="needs announced_conditions"):
        wf.fire(app, "announce_conditions", user="pl-ishoj",
                data={"reference": "x", "request_date": "2021-02-05"})
    with pytest.raises(InvalidData, match=r"not after 2020-12-01 \(the day of this step\)"):
        wf.fire(app, "announce_conditions", user="pl-ishoj",
                data={**ANNOUNCED, "happened_on": "2020-12-01"})
    with pytest.raises(InvalidData, match="at least one text"):
        wf.fire(app, "announce_conditions", user="pl-ishoj",
                data={**ANNOUNCED, "announced_conditions": "\n \n"})
    wf.fire(app, "announce_conditions", user="pl-ishoj",
            data={**ANNOUNCED, "announced_conditions": CONDITIONS})  # a list, as JSON has it
    assert get_application(wf, app, user="admin")["state"] == "conditions_announced"


def test_conditions_set_by_the_decision_are_accepted_before_the_transition(
        wf: Workflow, clock: Clock) -> None:
    app = submitted(wf, clock)
    wf.fire(app, "record_decision", user="pl-ishoj", data={
        "outcome": "granted_with_conditions", "reference": "2021-1234",
        "decision_date": "2021-02-15", "conditions": CONDITIONS[0],
        "happened_on": "2021-02-17"})
    with pytest.raises(GuardFailed, match="not yet accepted by ishoj, vallensbaek"):
        wf.fire(app, "start_transition", user="pl-ishoj", data={"effective_date": "2022-01-01"})
    accept(wf, app)
    assert get_application(wf, app, user="admin")["state"] == "granted_with_conditions"
    out = wf.fire(app, "start_transition", user="pl-ishoj", data={"effective_date": "2022-01-01"})
    assert out.to_state == "transition_period"


def test_the_requested_takes_effect_date_is_in_the_letter_from_drafting_on(
        wf: Workflow, clock: Clock) -> None:
    app = make_application(wf, state="drafting")
    out = wf.fire(app, "update_details", user="pl-ishoj",
                  data={"requested_effective_date": "2019-01-01"})
    assert [m.name for m in out.documents] == ["application_letter"]
    assert "får virkning fra den 1. januar 2019" in text(wf, app, "application_letter")
    a = get_application(wf, app, user="pl-ishoj")
    assert a["data"]["requested_effective_date"] == "2019-01-01"


@pytest.mark.parametrize("fallback", ["yes", "no", None])
def test_the_satellite_is_a_choice_of_the_jobcentre_application(
        wf: Workflow, clock: Clock, fallback: str | None) -> None:
    app = wf.create(kind="jobcentre", title="Hjemtagning af jobcenteret", user="pl-ishoj",
                    data={"satellite_fallback": fallback} if fallback else None)
    wf.fire(app, "confirm_areas", user="pl-ishoj")
    wf.fire(app, "confirm_areas", user="pl-vallensbaek")
    wants = fallback != "no"        # not chosen: yes, as the strategy has it
    assert ("Subsidiær anmodning" in text(wf, app, "application_letter")) is wants
    if fallback == "yes":            # a change of mind while drafting keeps other details
        wf.fire(app, "update_details", user="pl-ishoj",
                data={"requested_effective_date": "2019-01-01"})
        wf.fire(app, "update_details", user="pl-ishoj", data={"satellite_fallback": "no"})
        data = get_application(wf, app, user="admin")["data"]
        assert data["requested_effective_date"] == "2019-01-01"
        assert "Subsidiær anmodning" not in text(wf, app, "application_letter")
        wants = False
    for trigger, user, data in [
            ("submit_for_review", "pl-ishoj", {}), ("approve_draft", "legal-ishoj", {}),
            ("record_council_decision", "sec-ishoj", {"decision": "approved",
                                                      "meeting_date": "2018-01-09",
                                                      "agenda_ref": "BR"}),
            ("record_council_decision", "sec-vallensbaek", {"decision": "approved",
                                                            "meeting_date": "2018-01-10",
                                                            "agenda_ref": "KB"}),
            ("send_to_ministry", "pl-ishoj", {})]:
        wf.fire(app, trigger, user=user, data=data)
        clock.advance(days=1)
    out = wf.fire(app, "record_decision", user="pl-ishoj", data={
        "outcome": "refused", "reference": "2018-9", "decision_date": "2018-01-13"})
    assert bool(out.spawned) is wants
    memo = text(wf, app, "decision_memo")
    assert ("ansøgning om en jobcentersatellit" in memo) is wants
    assert date(2018, 1, 13).isoformat() == letter_date(wf, app, "decision_memo")
