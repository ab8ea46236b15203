"""The read side's batched look-ups give what the one-at-a-time ones give, and "Mine
opgaver" lists what is awaited from a user (a deadline she answers for, a joint step waiting
for her municipality), on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Clock
from tests.factories import make_application
from workflow.engine import journal, lists, overview, queries, tasks
from workflow.engine.workflow import Workflow
from workflow.errors import PermissionDenied
from workflow.store import database as store

USERS = ["pl-ishoj", "pl-vallensbaek", "sec-ishoj", "sec-vallensbaek", "legal-ishoj",
         "dir-ishoj", "admin", "pl-brondby"]


def tasks_of(wf: Workflow, user: str) -> list[tuple[int, list[str], str | None]]:
    """(case, awaited triggers, nearest due date) of each of ``user``'s tasks, in order."""
    got = tasks.tasks(wf, queries.list_applications(wf, user=user), user=user)
    assert len({x["app"]["id"] for x in got}) == len(got)  # each case once
    return [(x["app"]["id"], [a["trigger"] for a in x["actions"]],
             x["deadline"]["due"] if x["deadline"] else None) for x in got]


def three_cases(wf: Workflow) -> tuple[int, int, int]:
    """At the councils (round 1); drafting (a take-back of the jobcentre); round 2, its
    areas proposed by Ishøj and confirmed by Vallensbæk (Ishøj's confirmation awaited)."""
    council = make_application(wf, state="council_approval", title="Runde 1")
    drafting = make_application(wf, state="drafting", kind="jobcentre", title="Jobcenter")
    joint = make_application(wf, round=2, areas=[], title="Runde 2")
    wf.fire(joint, "propose_areas", user="pl-ishoj", data={"areas": "social"})
    wf.fire(joint, "confirm_areas", user="pl-vallensbaek")
    return council, drafting, joint


def test_tasks_are_what_is_awaited_from_each_user(wf: Workflow) -> None:
    council, drafting, joint = three_cases(wf)
    assert tasks_of(wf, "pl-ishoj") == [
        (drafting, ["submit_for_review"], "2018-02-05"),  # 20 working days
        (joint, ["confirm_areas"], None)]                 # Vallensbæk has confirmed
    assert tasks_of(wf, "pl-vallensbaek") == [(drafting, ["submit_for_review"], "2018-02-05")]
    # per party: each secretary her own council's deadline (45 days without a meeting)
    awaited = ["schedule_council_meeting", "record_council_decision"]
    assert tasks_of(wf, "sec-ishoj") == [(council, awaited, "2018-02-22")]
    assert tasks_of(wf, "sec-vallensbaek") == [(council, awaited, "2018-02-22")]
    for user in ("legal-ishoj", "dir-ishoj", "admin", "pl-brondby"):
        assert tasks_of(wf, user) == [], user

    # Ishøj's council decides: its deadline is met, Vallensbæk's still runs
    wf.fire(council, "record_council_decision", user="sec-ishoj",
            data={"decision": "approved", "meeting_date": "2018-01-08", "agenda_ref": "BR 7"})
    assert tasks_of(wf, "sec-ishoj") == []
    assert tasks_of(wf, "sec-vallensbaek") == [(council, awaited, "2018-02-22")]
    # Ishøj confirms the areas: the case moves on to drafting, both leads' task now
    wf.fire(joint, "confirm_areas", user="pl-ishoj")
    assert [x[0] for x in tasks_of(wf, "pl-vallensbaek")] == [drafting, joint]


@pytest.mark.parametrize("user", USERS)
def test_a_task_is_a_deadline_of_mine_or_a_joint_step_waiting_for_me(
        wf: Workflow, clock: Clock, user: str) -> None:
    """The same rule as deadlines(mine=True), plus the joint steps; never a side step
    (withdraw), and the deadline as deadlines() gives it, overdue once it has passed."""
    council, drafting, joint = three_cases(wf)
    clock.at("2018-02-06T09:00")  # past the drafting deadline, not the councils'
    mine = queries.deadlines(wf, user=user, mine=True)
    got = tasks.tasks(wf, queries.list_applications(wf, user=user), user=user)
    with_deadline = [x for x in got if x["deadline"]]
    assert [x["app"]["id"] for x in with_deadline] == list(
        dict.fromkeys(d["application"] for d in mine))
    for x in with_deadline:
        nearest = next(d for d in mine if d["application"] == x["app"]["id"])
        assert {k: x["deadline"][k] for k in ("due", "overdue", "days_left", "party")} == \
            {k: nearest[k] for k in ("due", "overdue", "days_left", "party")}
    without = [x["app"]["id"] for x in got if not x["deadline"]]
    assert without == ([joint] if user == "pl-ishoj" else [])
    assert all(a["trigger"] != "withdraw" and a["label"] for x in got for a in x["actions"])
    if user == "pl-ishoj":
        first = got[0]["deadline"]
        assert got[0]["app"]["id"] == drafting
        assert first["overdue"] and first["days_left"] == -1
        assert [a["label"] for a in got[0]["actions"]] == ["Send til juridisk gennemsyn"]


@pytest.mark.parametrize("user", USERS)
def test_the_dashboard_reads_in_one_what_the_separate_reads_give(wf: Workflow,
                                                                 user: str) -> None:
    """The dashboard reads its cases' deadlines once for the list, the agreements and the
    tasks: each is what the reads of its own give."""
    three_cases(wf)
    got = overview.dashboard(wf, user, overview.Filters())
    found = overview.dashboard(wf, user, overview.Filters(q="Runde"))
    with store.read(wf.engine) as conn:
        actor = wf.actor(conn, user)
        page = lists.cases(wf, conn, actor)
        assert got["cases"] == overview.summaries(wf, conn, page.rows)
        assert any(c["next_deadline"] for c in got["cases"]) or not got["cases"]
        hits = lists.search(wf, conn, actor, "Runde", limit=50)
        assert found["cases"] == overview.summaries(wf, conn, hits.rows)
        assert all(c["rank"] for c in found["cases"])
    assert tasks_of_view(got["tasks"]) == tasks_of(wf, user)


def tasks_of_view(found: list[dict[str, Any]]) -> list[tuple[int, list[str], str | None]]:
    return [(x["app"]["id"], [a["trigger"] for a in x["actions"]],
             x["deadline"]["due"] if x["deadline"] else None) for x in found]


def test_a_final_case_and_no_cases_are_no_tasks(wf: Workflow) -> None:
    app_id = make_application(wf, state="withdrawn")
    apps = queries.list_applications(wf, user="pl-ishoj")
    assert [a["id"] for a in apps] == [app_id]
    assert tasks.tasks(wf, apps, user="pl-ishoj") == []
    assert tasks.tasks(wf, [], user="pl-ishoj") == []


@pytest.mark.parametrize("user", ["pl-ishoj", "legal-ishoj", "admin"])
def test_the_case_view_is_the_separate_reads_in_one(wf: Workflow, user: str) -> None:
    app_id = make_application(wf, state="council_approval")
    view = tasks.case_view(wf, app_id, user=user, journal_limit=2)
    assert view["actor"].id == user
    assert view["application"] == queries.get_application(wf, app_id, user=user)
    assert view["triggers"] == tasks.triggers(wf, app_id, user=user)
    assert view["history"] == queries.history(wf, app_id, user=user)
    assert view["documents"] == queries.documents(wf, app_id, user=user)
    assert view["journal"] == journal.page(wf, app_id, user=user, limit=2)
    assert view["notes"] == journal.note_choices(wf, app_id)
    named = {e["user"] for e in view["history"]} | \
        {e["registered_by"] for e in view["journal"].entries}
    assert named - {"scheduler"} <= set(view["people"])
    assert view["people"] == queries.user_names(wf, [*view["people"], "nobody"])
    assert view["history"] and view["documents"] and view["triggers"]
    assert view["journal"].entries and view["people"]


def test_the_case_view_refuses_a_non_party(wf: Workflow) -> None:
    app_id = make_application(wf, state="drafting")
    with pytest.raises(PermissionDenied):
        tasks.case_view(wf, app_id, user="pl-brondby")


# ------------------------------------------------------------ what happened stays
def test_council_decisions_and_the_ministrys_stay_after_the_case_moves_on(
        wf: Workflow) -> None:
    from tests.factories import make_application, walk_fire
    from workflow.engine.queries import get_application

    app = make_application(wf, state="submitted")
    shown = get_application(wf, app, user="pl-vallensbaek")
    assert shown["acts"] == {}                       # nothing holds in the new state ...
    council = shown["record"]["council"]             # ... but what each council did stays
    assert {p: (c["decision"], c["meeting_date"], c["void"]) for p, c in council.items()} == {
        "ishoj": ("approved", "2018-04-03", False),
        "vallensbaek": ("approved", "2018-04-25", False)}
    assert shown["decision"] is None
    walk_fire(wf, app, "record_decision", user="pl-ishoj", data={
        "outcome": "partly_granted", "reference": "2018-77", "decision_date": "2018-06-01",
        "granted_areas": "rehabilitation", "conditions": "Personalet overdrages"})
    d = get_application(wf, app, user="pl-ishoj")["decision"]
    assert d == {"outcome": "partly_granted", "outcome_label": "Delvist bevilget",
                 "reference": "2018-77", "decision_date": "2018-06-01",
                 "conditions": "Personalet overdrages", "granted_areas": ["rehabilitation"],
                 "refused_areas": ["nature_environment", "special_education"],
                 "effective_date": None}


def test_a_rejection_stays_on_record_set_aside(wf: Workflow) -> None:
    from tests.factories import make_application, walk_fire
    from workflow.engine.queries import get_application

    app = make_application(wf, state="council_approval")
    walk_fire(wf, app, "record_council_decision", user="sec-vallensbaek", data={
        "decision": "rejected", "meeting_date": "2018-04-25", "agenda_ref": "KB 12",
        "reason": "Flere områder"})
    shown = get_application(wf, app, user="pl-ishoj")
    assert shown["state"] == "drafting"
    rejected = shown["record"]["council"]["vallensbaek"]
    assert (rejected["decision"], rejected["reason"], rejected["void"]) == (
        "rejected", "Flere områder", True)


def test_sending_is_a_task_once_both_councils_have_approved(wf: Workflow) -> None:
    from tests.factories import make_application, walk_fire

    app = make_application(wf, state="council_approval")
    for user, meeting in (("sec-ishoj", "2018-04-03"), ("sec-vallensbaek", "2018-04-25")):
        walk_fire(wf, app, "record_council_decision", user=user, data={
            "decision": "approved", "meeting_date": meeting, "agenda_ref": "pkt. 1"})
    apps = queries.list_applications(wf, user="pl-ishoj")
    task, = tasks.tasks(wf, apps, user="pl-ishoj")
    assert (task["app"]["id"], [a["trigger"] for a in task["actions"]]) == (
        app, ["send_to_ministry"])
    assert tasks.tasks(wf, apps, user="sec-ishoj") == []   # nothing more is hers
