"""Dates as they happened: a step recorded today for a day in the past keeps both times.

The day a step happened dates its letters, its history and the deadlines that count from
it; the moment it was recorded stays beside it. A day in the future, or before the step it
follows, is refused and nothing is written. The deadlines are checked against dates
counted by hand across Easter and Christmas (Danish holidays, the closure days of
states.yaml: 24 and 31 December).
"""

from __future__ import annotations

from datetime import date

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from tests.conftest import Clock
from tests.factories import make_application
from workflow.cli.app import cli
from workflow.engine.queries import get_application, history
from workflow.engine.workflow import Workflow
from workflow.errors import InvalidData
from workflow.store import tables as t


def open_deadline(wf: Workflow, app_id: int) -> date:
    with wf.engine.connect() as conn:
        return conn.execute(select(t.deadline.c.due).where(
            t.deadline.c.application_id == app_id, t.deadline.c.active)).scalar_one()


def version_of(wf: Workflow, app_id: int) -> int:
    return int(get_application(wf, app_id, user="admin")["version"])


def test_a_back_dated_step_keeps_both_times_and_counts_its_deadline_from_its_day(
        wf: Workflow, clock: Clock) -> None:
    clock.at("2021-04-20T09:00:00")
    app = wf.create(kind="dispensation", round=1, title="Første ansøgning", user="pl-ishoj",
                    data={"happened_on": "2021-03-10"})
    wf.fire(app, "propose_areas", user="pl-ishoj",
            data={"areas": "rehabilitation,special_education", "happened_on": "2021-03-11"})
    wf.fire(app, "confirm_areas", user="pl-ishoj", data={"happened_on": "2021-03-24"})
    wf.fire(app, "confirm_areas", user="pl-vallensbaek", data={"happened_on": "2021-03-25"})
    # drafting: 20 working days from Thursday 25 March 2021, by hand: 26, 29, 30, 31 March;
    # 1, 2 and 5 April are skærtorsdag, langfredag and 2. påskedag; 6-9, 12-16, 19-23 and
    # 26-27 April: the 20th working day is Tuesday 27 April 2021
    assert open_deadline(wf, app) == date(2021, 4, 27)
    a = get_application(wf, app, user="pl-ishoj")
    assert a["case_number"].endswith("-21")
    entries = history(wf, app, user="pl-ishoj")
    last = entries[-1]
    assert last["happened_on"] == "2021-03-25"
    assert last["at"].startswith("2021-04-20")     # recorded when it was typed in


def test_deadlines_from_a_back_dated_step_across_christmas(wf: Workflow, clock: Clock) -> None:
    clock.at("2020-12-01T09:00:00")
    app = make_application(wf, state="drafting")
    clock.at("2021-01-20T09:00:00")
    wf.fire(app, "submit_for_review", user="pl-ishoj", data={"happened_on": "2020-12-18"})
    # legal review: 10 working days from Friday 18 December 2020, by hand: 21, 22, 23
    # (24 is a closure day, 25 and 26 holidays), 28, 29, 30 (31 closed, 1 January a
    # holiday), 4, 5, 6, 7 January: Thursday 7 January 2021
    assert open_deadline(wf, app) == date(2021, 1, 7)


def test_the_council_decision_is_dated_by_its_meeting(wf: Workflow, clock: Clock) -> None:
    app = make_application(wf, state="council_approval")
    opened = get_application(wf, app, user="admin")["created_at"][:10]
    clock.at("2018-03-20T09:00:00")
    wf.fire(app, "record_council_decision", user="sec-ishoj", data={
        "decision": "approved", "meeting_date": "2018-03-06", "agenda_ref": "BR pkt. 7"})
    entry = history(wf, app, user="sec-ishoj")[-1]
    assert entry["happened_on"] == "2018-03-06" and entry["at"].startswith("2018-03-20")
    assert opened <= "2018-03-06"
    with wf.engine.connect() as conn:
        act = conn.execute(select(t.party_act.c.happened_on).where(
            t.party_act.c.application_id == app, t.party_act.c.name == "council")).scalar_one()
    assert act == date(2018, 3, 6)


def test_a_day_in_the_future_is_refused_and_nothing_is_written(wf: Workflow,
                                                                clock: Clock) -> None:
    app = make_application(wf, state="drafting")
    before = version_of(wf, app)
    with pytest.raises(InvalidData) as err:
        wf.fire(app, "submit_for_review", user="pl-ishoj", data={"happened_on": "2030-01-01"})
    assert "in the future" in str(err.value)
    assert "ligger i fremtiden" in (err.value.da or "")
    assert version_of(wf, app) == before
    with pytest.raises(InvalidData, match="in the future"):
        wf.create(kind="dispensation", round=2, title="X", user="pl-ishoj",
                  data={"happened_on": "2030-01-01"})


def test_a_day_before_the_step_it_follows_is_refused(wf: Workflow, clock: Clock) -> None:
    clock.at("2021-06-01T09:00:00")
    app = wf.create(kind="dispensation", round=1, title="Første ansøgning", user="pl-ishoj",
                    data={"happened_on": "2021-03-10"})
    before = version_of(wf, app)
    with pytest.raises(InvalidData) as err:
        wf.fire(app, "propose_areas", user="pl-ishoj",
                data={"areas": "rehabilitation,special_education", "happened_on": "2021-03-09"})
    assert "before the step it follows (create on 2021-03-10)" in str(err.value)
    assert "10. marts 2021" in (err.value.da or "")
    assert version_of(wf, app) == before


def test_parallel_council_acts_do_not_bound_each_other(wf: Workflow, clock: Clock) -> None:
    """Vallensbæk's meeting may be before Ishøj's, recorded after it."""
    app = make_application(wf, state="council_approval")
    clock.at("2018-04-30T09:00:00")
    wf.fire(app, "record_council_decision", user="sec-ishoj", data={
        "decision": "approved", "meeting_date": "2018-04-24", "agenda_ref": "BR pkt. 7"})
    wf.fire(app, "record_council_decision", user="sec-vallensbaek", data={
        "decision": "approved", "meeting_date": "2018-04-18", "agenda_ref": "KB pkt. 12"})
    assert [e["happened_on"] for e in history(wf, app, user="admin")[-2:]] == \
        ["2018-04-24", "2018-04-18"]


def test_the_letter_sent_is_dated_the_day_it_was_sent(wf: Workflow, clock: Clock) -> None:
    from workflow.engine.queries import documents

    app = make_application(wf, state="council_approval")
    for sec, day, ref in (("sec-ishoj", "2018-04-03", "BR pkt. 7"),
                          ("sec-vallensbaek", "2018-04-04", "KB pkt. 12")):
        clock.at("2018-04-10T09:00:00")
        wf.fire(app, "record_council_decision", user=sec,
                data={"decision": "approved", "meeting_date": day, "agenda_ref": ref})
    clock.at("2018-04-20T09:00:00")
    out = wf.fire(app, "send_to_ministry", user="pl-ishoj", data={"happened_on": "2018-04-06"})
    letter = next(d for d in documents(wf, app, user="legal-ishoj")
                  if d["name"] == "application_letter")
    assert letter["versions"][-1]["letter_date"] == "2018-04-06"
    assert out.to_state == "submitted"


def test_history_on_the_command_line_shows_both_days(wf: Workflow, clock: Clock,
                                                      settings: object,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    app = make_application(wf, state="drafting")
    clock.at("2018-02-20T09:00:00")
    wf.fire(app, "submit_for_review", user="pl-ishoj", data={"happened_on": "2018-02-09"})
    monkeypatch.setenv("WORKFLOW_DATABASE_URL", wf.engine.url.render_as_string(False))
    monkeypatch.setenv("WORKFLOW_NOW", "2018-02-21T09:00:00+00:00")
    out = CliRunner().invoke(cli, ["history", str(app), "--as", "pl-ishoj"])
    assert out.exit_code == 0, out.output
    line = next(x for x in out.output.splitlines() if "submit_for_review" in x)
    assert "2018-02-20" in line and "2018-02-09" in line
