"""The engine on both databases: every allowed transition, forbidden ones, and each rule."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.factories import ROUND_ONE, fire, make_application, walk_fire
from workflow.engine.queries import areas as area_list
from workflow.engine.queries import get_application, history, list_applications
from workflow.engine.tasks import triggers
from workflow.engine.workflow import Workflow
from workflow.errors import (
    ConflictError,
    GuardFailed,
    InvalidData,
    InvalidTransition,
    NotFound,
    PermissionDenied,
)
from workflow.store import tables as t

COUNCIL_OK = {"decision": "approved", "meeting_date": "2018-04-03", "agenda_ref": "pkt. 7"}
DECISION = {"reference": "2018-77", "decision_date": "2018-06-01"}


def state_of(wf: Workflow, app_id: int) -> str:
    return str(get_application(wf, app_id, user="admin")["state"])


# (start state, trigger, user, data, expected state)
ALLOWED: list[tuple[str, str, str, dict[str, Any], str]] = [
    ("area_selection", "propose_areas", "pl-vallensbaek",
     {"areas": "rehabilitation,social"}, "area_selection"),
    ("area_selection", "withdraw", "pl-ishoj", {"reason": "Ændret strategi"}, "withdrawn"),
    ("drafting", "submit_for_review", "pl-vallensbaek", {}, "legal_review"),
    ("drafting", "withdraw", "pl-vallensbaek", {"reason": "x"}, "drafting"),  # asks Ishøj
    ("drafting", "withdraw", "dir-vallensbaek", {"reason": "x"}, "withdrawn"),
    ("legal_review", "approve_draft", "legal-ishoj", {}, "council_approval"),
    ("legal_review", "approve_draft", "legal-vallensbaek", {}, "council_approval"),
    ("legal_review", "return_draft", "legal-ishoj", {"reason": "§-henvisning mangler"},
     "drafting"),
    ("legal_review", "withdraw", "dir-ishoj", {"reason": "x"}, "withdrawn"),
    ("council_approval", "schedule_council_meeting", "sec-ishoj",
     {"meeting_date": "2018-04-03", "agenda_ref": "pkt. 7"}, "council_approval"),
    ("council_approval", "record_council_decision", "sec-ishoj", COUNCIL_OK,
     "council_approval"),
    ("council_approval", "record_council_decision", "sec-vallensbaek",
     {**COUNCIL_OK, "decision": "rejected", "reason": "Ønsker flere områder med"}, "drafting"),
    ("council_approval", "withdraw", "dir-ishoj", {"reason": "x"}, "withdrawn"),
    ("submitted", "request_info", "pl-ishoj", {"reference": "2018-77",
                                               "request_date": "2018-05-14",
                                               "questions": "Hvor mange berøres?"},
     "info_requested"),
    ("submitted", "record_decision", "pl-ishoj", {**DECISION, "outcome": "granted"},
     "granted"),
    ("submitted", "record_decision", "pl-vallensbaek",
     {**DECISION, "outcome": "granted_with_conditions", "conditions": "Personale overdrages"},
     "granted_with_conditions"),
    ("submitted", "record_decision", "pl-ishoj",
     {**DECISION, "outcome": "partly_granted", "granted_areas": "rehabilitation"},
     "partly_granted"),
    ("submitted", "record_decision", "pl-ishoj", {**DECISION, "outcome": "refused"},
     "refused"),
    ("info_requested", "answer_info", "pl-ishoj", {}, "submitted"),
    ("granted", "start_transition", "pl-ishoj", {"effective_date": "2019-01-01"},
     "transition_period"),
    ("partly_granted", "start_transition", "pl-vallensbaek",
     {"effective_date": "2019-01-01"}, "transition_period"),
    ("granted_with_conditions", "accept_conditions", "sec-ishoj",
     {"meeting_date": "2018-06-05", "agenda_ref": "pkt. 3"}, "granted_with_conditions"),
    ("transition_period", "complete", "pl-ishoj", {}, "closed"),
    ("refused", "close", "pl-ishoj", {}, "closed"),
]


@pytest.mark.parametrize(("start", "trigger", "user", "data", "expected"), ALLOWED,
                         ids=[f"{s}-{t}-{u}" for s, t, u, _, _ in ALLOWED])
def test_allowed_transitions(wf: Workflow, start: str, trigger: str, user: str,
                             data: dict[str, Any], expected: str) -> None:
    app = make_application(wf, state=start)
    before = get_application(wf, app, user="admin")["version"]
    out = fire(wf, app, trigger, user, **data)
    assert (out.from_state, out.to_state) == (start, expected)
    assert state_of(wf, app) == expected
    entries = history(wf, app, user=user)
    assert entries[-1]["trigger"] == trigger
    assert entries[-1]["to"] == expected and entries[-1]["from"] == start
    assert entries[-1]["version"] == before + 1 == out.version


FORBIDDEN = [
    ("area_selection", "submit_for_review"), ("area_selection", "send_to_ministry"),
    ("drafting", "approve_draft"), ("drafting", "record_decision"),
    ("legal_review", "send_to_ministry"), ("council_approval", "submit_for_review"),
    ("submitted", "withdraw"), ("submitted", "answer_info"),
    ("info_requested", "record_decision"), ("granted", "close"), ("refused", "withdraw"),
    ("transition_period", "withdraw"), ("closed", "complete"), ("withdrawn", "propose_areas"),
    ("granted", "accept_conditions"), ("submitted", "propose_areas"),
]


@pytest.mark.parametrize(("start", "trigger"), FORBIDDEN, ids=[f"{s}-{t}" for s, t in FORBIDDEN])
def test_forbidden_transitions_name_the_allowed_ones(wf: Workflow, start: str,
                                                      trigger: str) -> None:
    app = make_application(wf, state=start)
    before = history(wf, app, user="pl-ishoj")
    with pytest.raises(InvalidTransition) as exc:
        wf.fire(app, trigger, user="pl-ishoj", data={})
    allowed = wf.definition.processes["application"].triggers_from(start)
    assert exc.value.allowed == allowed
    assert f"is in state '{start}'" in str(exc.value)
    for name in allowed:
        assert name in str(exc.value)
    assert history(wf, app, user="pl-ishoj") == before


def test_unknown_trigger_and_application(wf: Workflow) -> None:
    app = make_application(wf)
    with pytest.raises(InvalidTransition,
                       match="allowed: propose_areas, update_details, confirm_areas"):
        wf.fire(app, "fly_to_the_moon", user="pl-ishoj")
    with pytest.raises(NotFound, match="no application 999"):
        wf.fire(999, "propose_areas", user="pl-ishoj")
    with pytest.raises(NotFound, match="unknown user 'nobody'"):
        wf.fire(app, "propose_areas", user="nobody")


# -------------------------------------------------------------------- withdrawal
def test_a_joint_application_is_withdrawn_by_both_once_both_have_acted(wf: Workflow) -> None:
    alone = make_application(wf)                       # only Ishøj has acted: alone
    assert wf.fire(alone, "withdraw", user="pl-ishoj",
                   data={"reason": "Ændret strategi"}).to_state == "withdrawn"
    app = make_application(wf, state="drafting", areas=["social", "rehabilitation"])
    first = wf.fire(app, "withdraw", user="pl-ishoj", data={"reason": "Vi venter"})
    assert (first.to_state, first.waiting_for) == ("drafting", ("vallensbaek",))
    assert state_of(wf, app) == "drafting"
    mine = {t["trigger"]: t for t in triggers(wf, app, user="pl-ishoj")}
    assert mine["withdraw"]["allowed"] is False
    assert "waiting for vallensbaek" in mine["withdraw"]["reason"]
    with pytest.raises(GuardFailed, match="already done its part of withdraw"):
        wf.fire(app, "withdraw", user="pl-ishoj", data={"reason": "Igen"})
    # the other project lead agrees: withdrawn, and the areas are free again
    out = wf.fire(app, "withdraw", user="pl-vallensbaek", data={"reason": "Enig"})
    assert out.to_state == "withdrawn"
    assert {a["id"] for a in area_list(wf) if a["available"]} >= {"social", "rehabilitation"}


def test_the_steering_group_withdraws_alone(wf: Workflow) -> None:
    app = make_application(wf, state="council_approval")
    # a project lead's request waits; the steering group decides for both at once
    wf.fire(app, "withdraw", user="pl-vallensbaek", data={"reason": "Vi venter"})
    out = wf.fire(app, "withdraw", user="dir-ishoj", data={"reason": "Styregruppen"})
    assert out.to_state == "withdrawn"
    entry = history(wf, app, user="admin")[-1]
    assert (entry["user"], entry["role"], entry["trigger"]) == ("dir-ishoj", "steering_group",
                                                                "withdraw")


# ------------------------------------------------------------------------- areas
def test_round_one_needs_two_or_three_areas(wf: Workflow) -> None:
    app = make_application(wf)
    for areas in ("social", "social,rehabilitation,special_education,nature_environment"):
        with pytest.raises(GuardFailed, match="round 1 must have 2–3 areas"):
            wf.fire(app, "propose_areas", user="pl-ishoj", data={"areas": areas})
    wf.fire(app, "propose_areas", user="pl-ishoj", data={"areas": "social,rehabilitation"})
    # shown in the law's order, whatever order they were named in
    assert get_application(wf, app, user="pl-ishoj")["areas"] == ["rehabilitation", "social"]


def test_both_must_confirm_the_same_selection(wf: Workflow) -> None:
    app = make_application(wf)
    wf.fire(app, "propose_areas", user="pl-ishoj", data={"areas": "social,rehabilitation"})
    with pytest.raises(GuardFailed, match="the proposal is rehabilitation, social"):
        wf.fire(app, "confirm_areas", user="pl-vallensbaek",
                data={"areas": "social,employment"})
    out = wf.fire(app, "confirm_areas", user="pl-vallensbaek")
    assert out.to_state == "area_selection" and out.waiting_for == ("ishoj",)
    with pytest.raises(GuardFailed, match="waiting for ishoj"):
        wf.fire(app, "confirm_areas", user="pl-vallensbaek")
    # a new proposal voids the confirmations given so far
    wf.fire(app, "propose_areas", user="pl-ishoj", data={"areas": "social,special_education"})
    assert wf.fire(app, "confirm_areas", user="pl-ishoj").to_state == "area_selection"
    out = wf.fire(app, "confirm_areas", user="pl-vallensbaek",
                  data={"areas": "special_education,social"})
    assert out.to_state == "drafting"


def test_confirm_without_proposal_is_refused(wf: Workflow) -> None:
    app = make_application(wf)
    with pytest.raises(GuardFailed, match="no areas have been proposed"):
        wf.fire(app, "confirm_areas", user="pl-ishoj")


def test_an_area_is_never_in_two_live_applications(wf: Workflow) -> None:
    first = make_application(wf, state="drafting", areas=["social", "rehabilitation"])
    second = make_application(wf, title="Anden")
    with pytest.raises(GuardFailed, match=f"social \\(in case 00.17.15-G01-{first}-18\\)"):
        wf.fire(second, "propose_areas", user="pl-ishoj", data={"areas": "social,employment"})
    # the jobcentre take-back cannot open while employment is in a live application
    make_application(wf, state="drafting", areas=["employment", "special_education"],
                     title="Tredje")
    with pytest.raises(GuardFailed, match="employment \\(in case 00.17.15-G01-3-18\\)"):
        wf.create(kind="jobcentre", title="Jobcenter", user="pl-ishoj")
    # withdrawing frees the areas again
    wf.fire(first, "withdraw", user="dir-ishoj", data={"reason": "Omprioriteret"})
    wf.fire(second, "propose_areas", user="pl-ishoj", data={"areas": "social,rehabilitation"})


def test_round_two_is_exactly_the_remaining_areas(wf: Workflow) -> None:
    make_application(wf, state="submitted", areas=["rehabilitation", "special_education"])
    jobcentre = make_application(wf, kind="jobcentre", state="drafting")
    second = make_application(wf, round=2, title="Runde 2")
    with pytest.raises(GuardFailed, match="exactly the remaining areas: nature_environment, "
                                          "social"):
        wf.fire(second, "propose_areas", user="pl-ishoj", data={"areas": "social"})
    wf.fire(second, "propose_areas", user="pl-ishoj",
            data={"areas": "social,nature_environment"})
    assert jobcentre  # the jobcentre application holds employment


def test_round_two_needs_a_round_one(wf: Workflow) -> None:
    second = make_application(wf, round=2)
    with pytest.raises(GuardFailed, match="round 2 needs a round 1 application first"):
        wf.fire(second, "propose_areas", user="pl-ishoj", data={"areas": "social"})


def test_partial_grant_frees_the_refused_areas(wf: Workflow) -> None:
    app = make_application(wf, state="partly_granted", granted=["rehabilitation"])
    shown = get_application(wf, app, user="pl-ishoj")
    outcomes = {a["id"]: (a["outcome"], a["live"]) for a in shown["area_details"]}
    assert outcomes == {"rehabilitation": ("granted", True),
                        "special_education": ("refused", False),
                        "nature_environment": ("refused", False)}
    assert shown["data"]["reference"] == "2018-77"
    assert shown["data"]["decision_date"] == "2018-06-01"
    other = make_application(wf, title="Igen")
    wf.fire(other, "propose_areas", user="pl-ishoj",
            data={"areas": "special_education,nature_environment"})
    with pytest.raises(GuardFailed, match="rehabilitation"):
        wf.fire(other, "propose_areas", user="pl-ishoj", data={"areas": "rehabilitation,social"})


def test_partial_grant_must_name_some_but_not_all_areas(wf: Workflow) -> None:
    app = make_application(wf, state="submitted")
    for granted in (",".join(ROUND_ONE), "employment"):
        with pytest.raises((GuardFailed, InvalidData)):
            walk_fire(wf, app, "record_decision", user="pl-ishoj",
                    data={**DECISION, "outcome": "partly_granted", "granted_areas": granted})
    with pytest.raises(InvalidData, match="needs granted_areas"):
        walk_fire(wf, app, "record_decision", user="pl-ishoj",
                data={**DECISION, "outcome": "partly_granted"})


def test_conditions_are_required_and_recorded(wf: Workflow) -> None:
    app = make_application(wf, state="submitted")
    with pytest.raises(InvalidData, match="needs conditions"):
        walk_fire(wf, app, "record_decision", user="pl-ishoj",
                data={**DECISION, "outcome": "granted_with_conditions"})
    walk_fire(wf, app, "record_decision", user="pl-ishoj", data={
        **DECISION, "outcome": "granted_with_conditions", "conditions": "Ophør 1. januar 2019"})
    assert get_application(wf, app, user="pl-ishoj")["data"]["conditions"] == \
        "Ophør 1. januar 2019"


def test_both_councils_must_accept_conditions(wf: Workflow) -> None:
    app = make_application(wf, state="granted_with_conditions")
    data = {"meeting_date": "2018-06-05", "agenda_ref": "pkt. 3"}
    assert walk_fire(wf, app, "accept_conditions", user="sec-vallensbaek", data=data).to_state == \
        "granted_with_conditions"
    with pytest.raises(GuardFailed, match="not yet accepted by ishoj"):
        walk_fire(wf, app, "start_transition", user="pl-ishoj",
                  data={"effective_date": "2019-01-01"})
    # accepted after the decision: the case stays granted with conditions, and may go on
    assert walk_fire(wf, app, "accept_conditions", user="sec-ishoj",
                     data=data).to_state == "granted_with_conditions"
    assert walk_fire(wf, app, "start_transition", user="pl-ishoj",
                     data={"effective_date": "2019-01-01"}).to_state == "transition_period"


def test_completed_transition_releases_the_granted_areas(wf: Workflow) -> None:
    app = make_application(wf, state="closed", areas=["social", "rehabilitation"])
    from workflow.engine.queries import areas

    by_id = {a["id"]: a for a in areas(wf)}
    assert by_id["social"]["released_on"] == "2019-01-01"
    assert not by_id["social"]["available"]
    assert by_id["employment"]["available"]
    later = make_application(wf, title="Senere")
    with pytest.raises(GuardFailed, match="social \\(released on 2019-01-01\\)"):
        wf.fire(later, "propose_areas", user="pl-ishoj", data={"areas": "social,employment"})
    assert app


def test_effective_date_not_before_decision(wf: Workflow) -> None:
    app = make_application(wf, state="granted")
    before = history(wf, app, user="pl-ishoj")
    with pytest.raises(InvalidData) as exc:
        wf.fire(app, "start_transition", user="pl-ishoj", data={"effective_date": "2018-01-01"})
    assert str(exc.value) == ("effective_date: 2018-01-01 is outside the allowed range: not "
                              "before 2018-06-01 (decision_date)")
    assert exc.value.da == ("Ikrafttrædelse: 1. januar 2018 ligger uden for det mulige: datoen "
                            "må ikke ligge før 1. juni 2018 (afgørelsesdato)")
    assert history(wf, app, user="pl-ishoj") == before
    assert wf.fire(app, "start_transition", user="pl-ishoj",
                   data={"effective_date": "2018-06-01"}).to_state == "transition_period"


# ------------------------------------------------------------ jobcentre → satellite
def test_refused_jobcentre_opens_a_linked_satellite_in_the_same_transaction(
        wf: Workflow) -> None:
    job = make_application(wf, kind="jobcentre", state="submitted")
    out = walk_fire(wf, job, "record_decision", user="pl-ishoj",
                  data={**DECISION, "outcome": "refused"})
    assert out.to_state == "refused" and len(out.spawned) == 1
    sat = out.spawned[0]
    shown = get_application(wf, sat, user="pl-vallensbaek")
    assert shown["kind"] == "satellite" and shown["state"] == "area_selection"
    assert shown["areas"] == ["employment"]
    assert {"rel": "fallback_for", "application": job} in shown["links"]
    assert {"rel": "has_fallback", "application": sat} in \
        get_application(wf, job, user="pl-ishoj")["links"]
    created = history(wf, sat, user="pl-ishoj")[0]
    assert created["trigger"] == "create" and created["at"] == history(
        wf, job, user="pl-ishoj")[-1]["at"]
    # a refused dispensation opens nothing
    disp = make_application(wf, state="submitted", areas=["social", "rehabilitation"])
    assert walk_fire(wf, disp, "record_decision", user="pl-ishoj",
                   data={**DECISION, "outcome": "refused"}).spawned == ()


def test_satellite_failure_rolls_back_the_refusal(wf: Workflow) -> None:
    """If the satellite cannot be opened (employment taken), the refusal is not recorded."""
    job = make_application(wf, kind="jobcentre", state="submitted")
    with wf.engine.begin() as conn:  # another application sneaks in a claim on employment
        conn.execute(t.application_area.update()
                     .where(t.application_area.c.application_id == job)
                     .values(live=False))
    make_application(wf, state="drafting", areas=["employment", "social"], title="Snyd")
    with pytest.raises(GuardFailed, match="cannot open a satellite"):
        walk_fire(wf, job, "record_decision", user="pl-ishoj",
                  data={**DECISION, "outcome": "refused"})
    assert state_of(wf, job) == "submitted"
    assert len(list_applications(wf, user="admin")) == 2


# ------------------------------------------------------------ roles and municipalities
@pytest.mark.parametrize(("start", "trigger", "user", "data", "match"), [
    ("drafting", "submit_for_review", "legal-ishoj", {}, "needs the role project_lead"),
    ("legal_review", "approve_draft", "pl-ishoj", {}, "needs the role legal"),
    ("council_approval", "record_council_decision", "pl-ishoj", COUNCIL_OK,
     "needs the role council_secretary"),
    ("council_approval", "record_council_decision", "sec-vallensbaek",
     {**COUNCIL_OK, "municipality": "ishoj"}, "acts for vallensbaek, not for ishoj"),
    ("submitted", "record_decision", "admin", {**DECISION, "outcome": "granted"},
     "needs the role project_lead"),
])
def test_roles_and_municipalities(wf: Workflow, start: str, trigger: str, user: str,
                                  data: dict[str, Any], match: str) -> None:
    app = make_application(wf, state=start)
    with pytest.raises(PermissionDenied, match=match):
        wf.fire(app, trigger, user=user, data=data)
    assert state_of(wf, app) == start


def test_a_secretary_records_only_her_own_council(wf: Workflow) -> None:
    app = make_application(wf, state="council_approval")
    walk_fire(wf, app, "record_council_decision", user="sec-vallensbaek",
            data={**COUNCIL_OK, "municipality": "vallensbaek"})
    acts = get_application(wf, app, user="pl-ishoj")["acts"]["council"]
    assert list(acts) == ["vallensbaek"] and acts["vallensbaek"]["user"] == "sec-vallensbaek"


def test_outsiders_see_and_do_nothing(wf: Workflow) -> None:
    from sqlalchemy import insert

    with wf.engine.begin() as conn:
        conn.execute(insert(t.municipality).values(id="broendby", name="Brøndby Kommune",
                                                   council="Kommunalbestyrelsen",
                                                   cooperation=False))
        conn.execute(insert(t.user).values(id="pl-broendby", name="Ole", role="project_lead",
                                           municipality="broendby"))
    app = make_application(wf)
    with pytest.raises(PermissionDenied, match="not a party"):
        get_application(wf, app, user="pl-broendby")
    with pytest.raises(PermissionDenied, match="not a party"):
        wf.fire(app, "withdraw", user="pl-broendby", data={"reason": "x"})
    assert list_applications(wf, user="pl-broendby") == []
    with pytest.raises(PermissionDenied, match="not in the cooperation"):
        wf.create(kind="dispensation", round=1, title="x", user="pl-broendby")


def test_only_project_leads_open_applications(wf: Workflow) -> None:
    with pytest.raises(PermissionDenied, match="may not open applications"):
        wf.create(kind="dispensation", round=1, title="x", user="sec-ishoj")


# --------------------------------------------------------------- council handling
def test_send_needs_both_councils(wf: Workflow) -> None:
    app = make_application(wf, state="council_approval")
    walk_fire(wf, app, "record_council_decision", user="sec-ishoj", data=COUNCIL_OK)
    with pytest.raises(GuardFailed, match="not yet approved by vallensbaek"):
        wf.fire(app, "send_to_ministry", user="pl-ishoj")
    walk_fire(wf, app, "record_council_decision", user="sec-vallensbaek", data=COUNCIL_OK)
    assert wf.fire(app, "send_to_ministry", user="pl-ishoj").to_state == "submitted"


def test_one_rejection_sends_it_back_with_the_reason_and_voids_approvals(wf: Workflow) -> None:
    app = make_application(wf, state="council_approval")
    walk_fire(wf, app, "record_council_decision", user="sec-ishoj", data=COUNCIL_OK)
    with pytest.raises(InvalidData, match="needs reason"):
        walk_fire(wf, app, "record_council_decision", user="sec-vallensbaek",
                data={**COUNCIL_OK, "decision": "rejected"})
    walk_fire(wf, app, "record_council_decision", user="sec-vallensbaek",
            data={**COUNCIL_OK, "decision": "rejected", "reason": "Tidsplanen er for stram"})
    assert state_of(wf, app) == "drafting"
    last = history(wf, app, user="pl-ishoj")[-1]
    assert last["data"]["reason"] == "Tidsplanen er for stram"
    assert last["municipality"] == "vallensbaek"
    # back in council approval, Ishøj's old approval does not count
    wf.fire(app, "submit_for_review", user="pl-ishoj")
    wf.fire(app, "approve_draft", user="legal-ishoj")
    walk_fire(wf, app, "record_council_decision", user="sec-vallensbaek",
              data={**COUNCIL_OK, "meeting_date": "2018-05-02"})   # a meeting after it
    with pytest.raises(GuardFailed, match="not yet approved by ishoj"):
        wf.fire(app, "send_to_ministry", user="pl-ishoj")


def test_malformed_data_is_refused_with_every_problem(wf: Workflow) -> None:
    app = make_application(wf, state="council_approval")
    with pytest.raises(InvalidData) as exc:
        walk_fire(wf, app, "record_council_decision", user="sec-ishoj", data={
            "decision": "maybe", "meeting_date": "2018-13-40", "agenda_ref": "x",
            "colour": "blue"})
    msg = str(exc.value)
    assert "decision: 'maybe' is not one of approved, rejected" in msg
    assert "meeting_date: '2018-13-40' is not a date" in msg
    assert "colour: record_council_decision does not take this key" in msg
    with pytest.raises(InvalidData, match="decision: record_council_decision needs it"):
        walk_fire(wf, app, "record_council_decision", user="sec-ishoj",
                data={"meeting_date": "2018-04-03", "agenda_ref": "x"})
    other = make_application(wf, title="y")
    with pytest.raises(InvalidData, match="unknown area 'harbour'"):
        wf.fire(other, "propose_areas", user="pl-ishoj", data={"areas": "social,harbour"})


# ------------------------------------------------------------- locking and atomicity
def test_stale_version_names_who_changed_it_first(wf: Workflow) -> None:
    app = make_application(wf, state="drafting")
    seen = get_application(wf, app, user="pl-ishoj")["version"]
    wf.fire(app, "submit_for_review", user="pl-vallensbaek", expected_version=seen)
    with pytest.raises(ConflictError, match="changed first by pl-vallensbaek") as exc:
        wf.fire(app, "withdraw", user="pl-ishoj", data={"reason": "x"},
                expected_version=seen)
    assert exc.value.changed_by == "pl-vallensbaek" and exc.value.version == seen + 1
    assert state_of(wf, app) == "legal_review"


def test_a_failing_effect_leaves_nothing_written(wf: Workflow,
                                                 open_wf: Callable[..., Workflow]) -> None:
    """Effects run after the act, the state update and the claims: all must roll back."""
    from workflow.process.definition import loads
    from workflow.rules import registry as rules

    @rules.effect("explode_for_test")
    def explode(ctx: Any) -> None:
        ctx.release_claims()
        ctx.app_data["half"] = "written"
        raise RuntimeError("disk on fire")

    try:
        src = Path(wf.definition.file).read_text(encoding="utf-8").replace(
            "effects: [record_ministry_decision, {spawn: satellite}]",
            "effects: [record_ministry_decision, {spawn: satellite}, explode_for_test]")
        broken = open_wf(definition=loads(src))
        job = make_application(broken, kind="jobcentre", state="submitted")

        def snapshot() -> tuple[Any, ...]:
            with broken.engine.connect() as conn:
                return tuple(conn.execute(select(func.count()).select_from(tbl)).scalar()
                             for tbl in (t.application, t.audit_entry, t.party_act,
                                         t.deadline, t.link, t.application_area)) + (
                    conn.execute(select(t.application.c.state, t.application.c.version)
                                 .where(t.application.c.id == job)).one(),
                    sorted(conn.execute(select(t.application_area.c.area_id,
                                               t.application_area.c.live)).all()))
        before = snapshot()
        with pytest.raises(RuntimeError, match="disk on fire"):
            walk_fire(broken, job, "record_decision", user="pl-ishoj",
                        data={**DECISION, "outcome": "refused"})
        assert snapshot() == before
    finally:
        del rules.EFFECTS["explode_for_test"]


def test_audit_trail_has_no_gaps_and_matches_state(wf: Workflow) -> None:
    app = make_application(wf, state="closed")
    entries = history(wf, app, user="pl-ishoj")
    assert [e["version"] for e in entries] == list(range(1, len(entries) + 1))
    for prev, cur in zip(entries, entries[1:], strict=False):
        assert cur["from"] == prev["to"]
    assert entries[-1]["to"] == state_of(wf, app) == "closed"
    shown = get_application(wf, app, user="pl-ishoj")
    assert shown["version"] == entries[-1]["version"]
    assert shown["definition_hash"] == wf.definition.hash


# ---------------------------------------------------------------------- triggers
def test_triggers_say_what_and_why_not(wf: Workflow) -> None:
    app = make_application(wf, state="council_approval")
    walk_fire(wf, app, "record_council_decision", user="sec-ishoj", data=COUNCIL_OK)
    mine = {x["trigger"]: x for x in triggers(wf, app, user="pl-ishoj")}
    assert mine["withdraw"]["allowed"] is True
    assert mine["send_to_ministry"]["allowed"] is False
    assert "not yet approved by vallensbaek" in mine["send_to_ministry"]["reason"]
    assert "council_secretary" in mine["record_council_decision"]["reason"]
    sec = {x["trigger"]: x for x in triggers(wf, app, user="sec-vallensbaek")}
    assert sec["record_council_decision"]["allowed"] is True
    fields = {f["name"]: f for f in sec["record_council_decision"]["fields"]}
    assert fields["decision"]["required"] and fields["decision"]["choices"] == \
        ["approved", "rejected"]
    assert not fields["reason"]["required"]
    assert fields["reason"]["required_when"] == [{"decision": "rejected"}]
