"""The read side's batched look-ups give what the one-at-a-time ones give, on SQLite and
PostgreSQL."""

from __future__ import annotations

import pytest

from tests.factories import make_application
from workflow import queries
from workflow.engine import Workflow
from workflow.errors import PermissionDenied


@pytest.mark.parametrize("user", ["pl-ishoj", "pl-vallensbaek", "sec-ishoj", "legal-ishoj",
                                  "admin"])
def test_tasks_are_the_allowed_triggers_of_each_open_application(wf: Workflow,
                                                                 user: str) -> None:
    make_application(wf, state="council_approval", title="Runde 1")
    make_application(wf, state="area_selection", areas=[], title="Runde 2")
    make_application(wf, state="drafting", kind="jobcentre", title="Jobcenter")
    apps = queries.list_applications(wf, user=user)
    expected = []
    for app in apps:
        if app["final"]:
            continue
        try:
            found = queries.triggers(wf, app["id"], user=user)
        except PermissionDenied:
            continue
        expected += [(app["id"], t["trigger"]) for t in found if t["allowed"]]
    got = queries.tasks(wf, apps, user=user)
    assert [(x["app"]["id"], x["trigger"]["trigger"]) for x in got] == expected
    assert all(x["trigger"]["allowed"] for x in got)
    if user == "pl-ishoj":  # somebody has something to do, or the test proves nothing
        assert expected


@pytest.mark.parametrize("user", ["pl-ishoj", "legal-ishoj", "admin"])
def test_the_case_view_is_the_four_reads_in_one(wf: Workflow, user: str) -> None:
    app_id = make_application(wf, state="council_approval")
    view = queries.case_view(wf, app_id, user=user)
    assert view["actor"].id == user
    assert view["application"] == queries.get_application(wf, app_id, user=user)
    assert view["triggers"] == queries.triggers(wf, app_id, user=user)
    assert view["history"] == queries.history(wf, app_id, user=user)
    assert view["documents"] == queries.documents(wf, app_id, user=user)
    assert view["history"] and view["documents"] and view["triggers"]


def test_the_case_view_refuses_a_non_party(wf: Workflow) -> None:
    app_id = make_application(wf, state="drafting")
    with pytest.raises(PermissionDenied):
        queries.case_view(wf, app_id, user="pl-brondby")
