"""What a draft says is right for its date and fits the case: the ministry, the law, the
population, the decision and its conditions (DOMAIN.md § 1 and § 5, declared in
states.yaml under ``documents:``)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from tests.conftest import Clock
from tests.documents.test_documents import (
    assert_letterhead,
    case_number,
    docs_of,
    fetch,
    numbered_lists,
    paragraphs,
)
from tests.factories import make_application
from workflow.config import Settings
from workflow.engine.workflow import Workflow
from workflow.env import DEFAULT_STATES_FILE
from workflow.errors import DocumentError
from workflow.process.definition import load

DEFINITION = load(DEFAULT_STATES_FILE)
SIM, IBM, OEIM = ("Social- og Indenrigsministeriet", "Indenrigs- og Boligministeriet",
                  "Økonomi- og Indenrigsministeriet")


@pytest.fixture
def sqlite_wf(sqlite_template: Path, tmp_path: Path, clock: Clock) -> Iterator[Workflow]:
    """A Workflow on a fresh SQLite file: what a draft says needs no second backend."""
    path = tmp_path / "facts.db"
    shutil.copy(sqlite_template, path)
    workflow = Workflow.open(Settings(database_url=f"sqlite:///{path}"), clock=clock)
    yield workflow
    workflow.close()


def to_council_approval(wf: Workflow, clock: Clock, when: str) -> int:
    """A round-1 application brought to council approval on one day."""
    clock.at(when)
    app = wf.create(kind="dispensation", round=1, title="Første ansøgning", user="pl-ishoj")
    for trigger, user, data in [
            ("propose_areas", "pl-ishoj", {"areas": "rehabilitation,special_education"}),
            ("confirm_areas", "pl-ishoj", {}), ("confirm_areas", "pl-vallensbaek", {}),
            ("submit_for_review", "pl-ishoj", {}), ("approve_draft", "legal-ishoj", {})]:
        wf.fire(app, trigger, user=user, data=data)
    return app


def approve_and_send(wf: Workflow, clock: Clock, app: int, met: str, sent: str) -> None:
    clock.at(f"{met}T17:00")
    for user, ref in (("sec-ishoj", "BR pkt. 7"), ("sec-vallensbaek", "KB pkt. 12")):
        wf.fire(app, "record_council_decision", user=user,
                data={"decision": "approved", "meeting_date": met, "agenda_ref": ref})
    clock.at(sent)
    wf.fire(app, "send_to_ministry", user="pl-ishoj")


# ------------------------------------------------------------------- the ministry
@pytest.mark.parametrize(("drafted", "met", "sent", "drafted_by", "sent_to", "sent_on"), [
    ("2020-11-02T09:00", "2020-11-25", "2020-12-01T09:00", SIM, SIM, "1. december 2020"),
    ("2020-12-07T09:00", "2021-01-27", "2021-02-01T09:00", SIM, IBM, "1. februar 2021"),
    # the name changed on 21 January 2021, Danish time: 20 January 23:30 UTC is the 21st
    ("2021-01-04T09:00", "2021-01-13", "2021-01-20T23:30", SIM, IBM, "21. januar 2021"),
    ("2021-01-04T09:00", "2021-01-13", "2021-01-20T22:30", SIM, SIM, "20. januar 2021"),
])
def test_the_letter_as_sent_names_the_ministry_of_the_day_it_is_sent(
        sqlite_wf: Workflow, clock: Clock, drafted: str, met: str, sent: str,
        drafted_by: str, sent_to: str, sent_on: str) -> None:
    wf = sqlite_wf
    app = to_council_approval(wf, clock, drafted)
    approve_and_send(wf, clock, app, met, sent)
    versions = docs_of(wf, app)[("application_letter", None)]["versions"]
    first, final = versions[0], versions[-1]
    assert final["trigger"] == "send_to_ministry" and not final["stale"]
    letter = fetch(wf, app, "application_letter", number=final["number"])
    assert paragraphs(letter)[0] == sent_to
    assert_letterhead(letter, case_number(wf, app), sent_on,
                      "Ishøj Kommune  ·  Vallensbæk Kommune")
    # the drafts before it keep the name of their own day
    assert paragraphs(fetch(wf, app, "application_letter", number=first["number"]))[0] == \
        drafted_by


@pytest.mark.parametrize(("moment", "ministry"), [
    ("2011-10-03T09:00", OEIM), ("2014-05-05T09:00", OEIM), ("2015-06-26T09:00", OEIM),
    ("2015-06-29T09:00", SIM), ("2016-11-28T09:00", OEIM), ("2019-06-27T09:00", SIM),
    ("2020-12-01T09:00", SIM), ("2021-02-01T09:00", IBM),
    ("2022-12-15T09:00", "Indenrigs- og Sundhedsministeriet"),
])
def test_each_date_has_its_ministry_and_none_is_missing(sqlite_wf: Workflow, clock: Clock,
                                                         moment: str, ministry: str) -> None:
    clock.at(moment)
    app = make_application(sqlite_wf, state="drafting")
    text = paragraphs(fetch(sqlite_wf, app, "application_letter"))
    assert text[0] == ministry
    assert not any("[mangler]" in p for p in text)


def test_a_letter_before_the_first_ministry_is_refused_not_printed_without_a_name(
        sqlite_wf: Workflow, clock: Clock) -> None:
    clock.at("2011-06-01T09:00")
    app = sqlite_wf.create(kind="dispensation", round=1, title="For tidligt", user="pl-ishoj")
    sqlite_wf.fire(app, "propose_areas", user="pl-ishoj",
                   data={"areas": "rehabilitation,social"})
    sqlite_wf.fire(app, "confirm_areas", user="pl-ishoj")
    with pytest.raises(DocumentError) as exc:
        sqlite_wf.fire(app, "confirm_areas", user="pl-vallensbaek")
    assert "no ministry is declared for 2011-06-01" in str(exc.value)
    assert "documents: ministries begins on 2011-10-03" in str(exc.value)


def test_the_memo_names_the_ministry_that_decided_on_its_date(sqlite_wf: Workflow,
                                                               clock: Clock) -> None:
    wf = sqlite_wf
    app = to_council_approval(wf, clock, "2020-10-05T09:00")
    approve_and_send(wf, clock, app, "2020-11-03", "2020-11-06T09:00")
    clock.at("2021-02-03T10:00")       # registered under the new name, decided under the old
    wf.fire(app, "record_decision", user="pl-ishoj", data={
        "outcome": "granted", "reference": "2021-88", "decision_date": "2021-01-15"})
    memo = fetch(wf, app, "decision_memo")
    assert_letterhead(memo, case_number(wf, app), "3. februar 2021",
                      "Ishøj Kommune  ·  Vallensbæk Kommune")
    text = paragraphs(memo)
    assert f"{SIM} har truffet afgørelse om kommunernes fælles ansøgning (Første ansøgning)." \
        in text
    assert not any(IBM in p for p in text)


# -------------------------------------------------------------- law and population
@pytest.mark.parametrize(("moment", "cite"), [
    ("2018-01-08T09:00", "lov om forpligtende kommunale samarbejder (lov nr. 541 af 24. juni "
                         "2005 med senere ændringer)"),
    ("2023-03-01T09:00", "lov om forpligtende kommunale samarbejder, jf. lovbekendtgørelse "
                         "nr. 446 af 8. april 2022"),
    ("2025-03-03T09:00", "lov om forpligtende kommunale samarbejder, jf. lovbekendtgørelse "
                         "nr. 789 af 24. juni 2024"),
])
def test_the_law_is_cited_by_the_consolidation_in_force(sqlite_wf: Workflow, clock: Clock,
                                                        moment: str, cite: str) -> None:
    clock.at(moment)
    app = make_application(sqlite_wf, state="council_approval")
    letter = " ".join(paragraphs(fetch(sqlite_wf, app, "application_letter")))
    assert f"jf. § 11 a, stk. 2, i {cite}." in letter
    for party in ("ishoj", "vallensbaek"):
        assert cite in " ".join(paragraphs(fetch(sqlite_wf, app, "agenda_item", party)))


def test_the_law_list_is_oldest_first_and_dated() -> None:
    assert [c.since for c in DEFINITION.laws] == sorted(c.since for c in DEFINITION.laws)
    assert DEFINITION.law_on(date(2005, 6, 24)).cite.endswith(  # type: ignore[union-attr]
        "(lov nr. 541 af 24. juni 2005)")
    assert DEFINITION.law_on(date(2005, 6, 23)) is None


@pytest.mark.parametrize(("moment", "figure"), [
    ("2016-11-28T09:00", None),
    ("2017-06-01T09:00", "Vallensbæk Kommune havde 15.712 indbyggere pr. 1. januar 2017."),
    ("2026-12-03T09:00", "Vallensbæk Kommune havde 16.294 indbyggere pr. 1. januar 2018."),
])
def test_a_population_figure_is_printed_only_with_its_date(
        sqlite_wf: Workflow, clock: Clock, moment: str, figure: str | None) -> None:
    clock.at(moment)
    app = make_application(sqlite_wf, state="council_approval")
    for name, party in (("application_letter", None), ("agenda_item", "ishoj"),
                        ("agenda_item", "vallensbaek")):
        text = " ".join(paragraphs(fetch(sqlite_wf, app, name, party)))
        if figure is None:
            assert "indbyggere pr." not in text, name
        else:
            assert figure in text, name
        assert "strukturaftalen fra 2004" in text.lower()
        for wrong in ("ikke omfattet af loven", "efter loven betyder", "lovens forudsætninger",
                      "overskuelig fremtid", "12.000", "forelægges Hovedudvalget (MED) til "
                      "drøftelse inden", "Styregruppen for samarbejdet mellem de to kommuner "
                      "anbefaler"):
            assert wrong not in text, (name, wrong)


# -------------------------------------------------------------- the decision memo
def test_the_memo_after_both_councils_accepted_the_conditions(sqlite_wf: Workflow,
                                                              clock: Clock) -> None:
    wf = sqlite_wf
    app = to_council_approval(wf, clock, "2020-10-05T09:00")
    approve_and_send(wf, clock, app, "2020-11-03", "2020-11-06T09:00")
    clock.at("2021-02-15T10:00")
    wf.fire(app, "record_decision", user="pl-ishoj", data={
        "outcome": "granted_with_conditions", "reference": "2021-17",
        "decision_date": "2021-02-12", "conditions": "Overdragelse af personale"})
    memo = " ".join(paragraphs(fetch(wf, app, "decision_memo")))
    assert "Vilkårene forelægges begge kommunalbestyrelser til accept" in memo
    clock.at("2021-03-03T09:00")
    for user, ref in (("sec-ishoj", "BR 2. marts 2021, pkt. 4"),
                      ("sec-vallensbaek", "KB 02-03-2021, pkt. 6")):
        wf.fire(app, "accept_conditions", user=user,
                data={"meeting_date": "2021-03-02", "agenda_ref": ref})
        one = " ".join(paragraphs(fetch(wf, app, "decision_memo")))
        if user == "sec-ishoj":   # one has accepted: the memo says so, and who is left
            assert "Ishøj Byråd har accepteret vilkårene den 2. marts 2021 (BR 2. marts " \
                   "2021, pkt. 4)." in one
            assert "Vilkårene forelægges Vallensbæk Kommunalbestyrelse til accept" in one
    memo_doc = fetch(wf, app, "decision_memo")
    memo = " ".join(paragraphs(memo_doc))
    assert "Begge kommunalbestyrelser har accepteret vilkårene: Ishøj Byråd den 2. marts 2021 " \
           "(BR 2. marts 2021, pkt. 4) og Vallensbæk Kommunalbestyrelse den 2. marts 2021 " \
           "(KB 02-03-2021, pkt. 6)." in memo
    assert "til accept" not in memo
    next_steps = numbered_lists(memo_doc)[-1]
    assert not any("vilkårene til accept" in s for s in next_steps)


def test_a_partial_grant_names_what_was_granted_and_what_was_refused(
        sqlite_wf: Workflow) -> None:
    app = make_application(sqlite_wf, state="partly_granted", granted=["rehabilitation"])
    text = paragraphs(fetch(sqlite_wf, app, "decision_memo"))
    # two sentences, so that "natur og miljø" cannot be read as two areas
    assert "Ministeriet har bevilget dispensation for genoptræning. Ministeriet har givet " \
           "afslag for specialundervisning og natur og miljø." in text
