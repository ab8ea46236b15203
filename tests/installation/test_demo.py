"""The demo's examples, loaded on any day of the year: a newcomer can start work at once.

Each run loads the examples as of a given "today" (the clock is a parameter) and checks
what a newcomer meets: work due soon, one deadline overdue on purpose, areas free for a new
application, the BUM page on the current year with figures, and drafts that name the
ministry of their own dates.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from tests.documents.test_documents import docs_of, fetch, paragraphs
from workflow.engine import agreements, queries, tasks
from workflow.engine.workflow import Workflow
from workflow.installation import demo

TZ = ZoneInfo("Europe/Copenhagen")

# Days across the year: each puts the BUM agreement at another step of its yearly cycle.
DAYS = {
    date(2027, 1, 1): "volume", date(2027, 4, 20): "volume", date(2027, 4, 21): "pricing",
    date(2028, 2, 29): "volume", date(2027, 6, 15): "budget", date(2027, 10, 7): "budget",
    date(2027, 10, 20): "notice", date(2027, 11, 10): "renewal",
    date(2027, 11, 26): "true_up", date(2030, 12, 31): "true_up",
}


def load(open_wf: Callable[..., Workflow], today: date) -> Workflow:
    """The examples as of ``today``, and a workflow whose clock says 10:00 that day."""
    demo.load_examples(lambda clock: open_wf(clock=clock), today=today)
    moment = datetime.combine(today, time(10), tzinfo=TZ).astimezone(UTC)
    return open_wf(clock=lambda: moment)


@pytest.mark.parametrize("today", sorted(DAYS), ids=str)
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_examples_stand_ready_on_any_day(open_wf: Callable[..., Workflow],
                                             today: date) -> None:
    wf = load(open_wf, today)
    apps = queries.list_applications(wf, user="admin")
    assert [(a["id"], a["state"]) for a in apps] == [
        (1, "withdrawn"), (2, "council_approval"), (3, "refused"), (4, "drafting"),
        (5, "area_selection"), (6, DAYS[today]), (7, "negotiation")]

    # one deadline overdue on purpose: Vallensbæk's council met, its decision not recorded
    open_ = queries.deadlines(wf, user="admin")
    overdue = [(d["application"], d["party"]) for d in open_ if d["overdue"]]
    assert overdue == [(2, "vallensbaek")]
    assert len([d for d in open_ if not d["overdue"]]) >= 3
    assert all(d["days_left"] >= 0 for d in open_ if not d["overdue"])

    # two areas free for a new application (the second application may propose them)
    free = [a["id"] for a in queries.areas(wf, ["ishoj-vallensbaek"]) if a["available"]]
    assert free == ["social", "nature_environment"]
    triggers = {t["trigger"]: t for t in tasks.triggers(wf, 5, user="pl-vallensbaek")}
    assert triggers["propose_areas"]["allowed"]

    # the BUM page opens on the current year, with its price
    view = agreements.municipality_view(wf, None, user="pl-vallensbaek")
    assert view["year"] == today.year
    bought, = view["buys"]
    assert bought["id"] == 6 and bought["in_total"]
    assert bought["year"]["price"] is not None and bought["year"]["a_conto"]

    # nothing happened after today, and each case's steps follow one another in time
    now = wf.clock().isoformat()
    for app in apps:
        steps = queries.history(wf, app["id"], user="admin")
        moments = [e["at"] for e in steps if e["trigger"] != "download"]
        assert moments == sorted(moments) and moments[-1] <= now, app["id"]


@pytest.mark.parametrize("db_url", ["sqlite", "postgresql"], indirect=True)
def test_the_examples_work_on_both_databases_and_their_drafts_are_dated(
        open_wf: Callable[..., Workflow]) -> None:
    today = date(2027, 3, 3)
    wf = load(open_wf, today)
    # the newcomer's first step: Vallensbæk records the meeting it held
    shown = queries.get_application(wf, 2, user="sec-vallensbaek")
    meeting = shown["acts"]["meeting"]["vallensbaek"]
    assert date.fromisoformat(meeting["meeting_date"]) < today
    assert date.fromisoformat(meeting["meeting_date"]).weekday() == 2   # a Wednesday
    out = wf.fire(2, "record_council_decision", user="sec-vallensbaek", data={
        "decision": "approved", "meeting_date": meeting["meeting_date"],
        "agenda_ref": meeting["agenda_ref"]})
    assert out.to_state == "council_approval"
    assert not [d for d in queries.deadlines(wf, user="admin") if d["overdue"]]
    assert wf.fire(2, "send_to_ministry", user="pl-ishoj").to_state == "submitted"
    # the letter sent today names the ministry of today, and lacks no value
    letter = fetch(wf, 2, "application_letter")
    assert paragraphs(letter)[0] == "Indenrigs- og Sundhedsministeriet"
    assert not any("[mangler]" in p for p in paragraphs(letter))
    versions = docs_of(wf, 2)[("application_letter", None)]["versions"]
    assert versions[-1]["letter_date"] == today.isoformat()   # the day it was sent
