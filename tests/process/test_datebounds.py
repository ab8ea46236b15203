"""Plausible dates: a date given to a step must lie in its declared range, on both databases.

Each refusal names the field and the range, in English (the command line, the API) and in
Danish (the pages), and nothing is written.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tests.conftest import Clock
from tests.factories import make_application
from tests.web.test_api import TestClient, prepare
from tests.web.test_bum import log_in
from tests.web.test_pages import error_shown, version_of
from workflow.config import Settings
from workflow.engine import queries
from workflow.engine.workflow import Workflow
from workflow.errors import DefinitionError, InvalidData
from workflow.process import datebounds
from workflow.process.definition import loads
from workflow.web.app import create_app

ROOT = Path(__file__).resolve().parents[2]
TEXT = (ROOT / "states.yaml").read_text(encoding="utf-8")


def refused(wf: Workflow, app: int, trigger: str, user: str, **data: str) -> InvalidData:
    """The step is refused as bad data, and the case is as it was."""
    before = queries.history(wf, app, user="admin")
    with pytest.raises(InvalidData) as exc:
        wf.fire(app, trigger, user=user, data=data)
    assert queries.history(wf, app, user="admin") == before
    return exc.value


# ------------------------------------------------------------------ council decisions
def test_a_council_decision_is_not_dated_in_the_future(wf: Workflow, clock: Clock) -> None:
    app = make_application(wf, state="council_approval")          # opened 8 January 2018
    clock.at("2018-03-01T09:00")
    exc = refused(wf, app, "record_council_decision", "sec-ishoj", decision="approved",
                  meeting_date="2018-03-06", agenda_ref="BR pkt. 7")
    assert str(exc) == ("meeting_date: 2018-03-06 is outside the allowed range: not before "
                        "2018-01-08 (the case was opened) and not after 2018-03-01 (today)")
    assert exc.da == ("Mødedato: 6. marts 2018 ligger uden for det mulige: datoen skal "
                      "ligge fra 8. januar 2018 (da sagen blev oprettet) til 1. marts 2018 "
                      "(i dag)")
    # the day itself is fine
    assert wf.fire(app, "record_council_decision", user="sec-ishoj", data={
        "decision": "approved", "meeting_date": "2018-03-01",
        "agenda_ref": "BR pkt. 7"}).version == version_of(wf, app)


def test_a_council_decision_is_not_dated_before_its_case_or_its_meeting(
        wf: Workflow, clock: Clock) -> None:
    app = make_application(wf, state="council_approval")
    clock.at("2018-03-01T09:00")
    exc = refused(wf, app, "record_council_decision", "sec-ishoj", decision="approved",
                  meeting_date="2018-01-05", agenda_ref="BR pkt. 7")
    assert "not before 2018-01-08 (the case was opened)" in str(exc)
    # once the meeting was put on the agenda on 14 February, a decision is not before that
    clock.at("2018-02-14T09:00")
    wf.fire(app, "schedule_council_meeting", user="sec-ishoj",
            data={"meeting_date": "2018-03-06", "agenda_ref": "BR pkt. 7"})
    clock.at("2018-03-07T09:00")
    exc = refused(wf, app, "record_council_decision", "sec-ishoj", decision="approved",
                  meeting_date="2018-02-13", agenda_ref="BR pkt. 7")
    assert str(exc).endswith("not before 2018-02-14 (schedule_council_meeting was recorded) "
                             "and not after 2018-03-07 (today)")
    assert "da »Sæt på dagsorden« blev registreret" in exc.da
    # the other council's meeting bounds only its own decision
    wf.fire(app, "record_council_decision", user="sec-vallensbaek", data={
        "decision": "approved", "meeting_date": "2018-02-07", "agenda_ref": "KB pkt. 2"})


def test_a_meeting_is_not_scheduled_before_the_case_was_opened(wf: Workflow) -> None:
    app = make_application(wf, state="council_approval")
    exc = refused(wf, app, "schedule_council_meeting", "sec-ishoj",
                  meeting_date="2017-12-31", agenda_ref="BR pkt. 1")
    assert str(exc) == ("meeting_date: 2017-12-31 is outside the allowed range: not before "
                        "2018-01-08 (the case was opened)")
    # a meeting ahead is what scheduling is for
    wf.fire(app, "schedule_council_meeting", user="sec-ishoj",
            data={"meeting_date": "2018-09-04", "agenda_ref": "BR pkt. 1"})


# ------------------------------------------------------------------ the ministry
def test_a_ministry_decision_is_not_before_sending_nor_in_the_future(
        wf: Workflow, clock: Clock) -> None:
    app = make_application(wf, state="submitted")                  # sent 26 April 2018
    clock.at("2018-06-04T09:00")
    decision = {"outcome": "granted", "reference": "2018-77"}
    exc = refused(wf, app, "record_decision", "pl-ishoj", **decision,
                  decision_date="2018-04-20")
    assert str(exc) == ("decision_date: 2018-04-20 is outside the allowed range: not before "
                        "2018-04-26 (the case entered submitted) and not after 2018-06-04 "
                        "(today)")
    assert exc.da.startswith("Afgørelsesdato: 20. april 2018 ligger uden for det mulige: "
                             "datoen skal ligge fra 26. april 2018 (da sagen kom i "
                             "tilstanden »Sendt til ministeriet«) til 4. juni 2018 (i dag)")
    exc = refused(wf, app, "record_decision", "pl-ishoj", **decision,
                  decision_date="2018-06-05")
    assert "not after 2018-06-04 (today)" in str(exc)
    assert wf.fire(app, "record_decision", user="pl-ishoj", data={
        **decision, "decision_date": "2018-06-01"}).to_state == "granted"
    # the takes-effect date is not before the decision
    exc = refused(wf, app, "start_transition", "pl-ishoj", effective_date="2018-05-31")
    assert str(exc) == ("effective_date: 2018-05-31 is outside the allowed range: not "
                        "before 2018-06-01 (decision_date)")


def test_a_request_for_information_is_dated_by_the_ministrys_letter(
        wf: Workflow, clock: Clock) -> None:
    app = make_application(wf, state="submitted")                  # sent 26 April 2018
    clock.at("2018-05-14T09:00")
    exc = refused(wf, app, "request_info", "pl-ishoj", reference="2018-5",
                  request_date="2018-05-15", questions="Hvornår?")
    assert "not after 2018-05-14 (today)" in str(exc)
    exc = refused(wf, app, "request_info", "pl-ishoj", reference="2018-5",
                  request_date="2018-05-09", due_date="2018-05-08", questions="Hvornår?")
    assert str(exc) == ("due_date: 2018-05-08 is outside the allowed range: not before "
                        "2018-05-09 (request_date)")
    with pytest.raises(InvalidData, match="needs request_date"):
        wf.fire(app, "request_info", user="pl-ishoj", data={"reference": "2018-5"})


# ------------------------------------------------------------- the other doors
def test_the_command_line_says_it_in_english_with_exit_2(db_url: str) -> None:
    from workflow.cli.app import cli

    env = {"WORKFLOW_DATABASE_URL": db_url, "WORKFLOW_NOW": "2018-01-08T09:00"}

    def run(*args: str) -> Any:
        return CliRunner().invoke(cli, list(args), env=env)

    assert run("new", "--kind", "dispensation", "--round", "1", "--title", "T",
               "--as", "pl-ishoj").exit_code == 0
    for trigger, user, data in [
            ("propose_areas", "pl-ishoj", ["areas=rehabilitation,social"]),
            ("confirm_areas", "pl-ishoj", []), ("confirm_areas", "pl-vallensbaek", []),
            ("submit_for_review", "pl-ishoj", []), ("approve_draft", "legal-ishoj", [])]:
        args = ["advance", "1", trigger, "--as", user]
        for pair in data:
            args += ["--data", pair]
        assert run(*args).exit_code == 0, trigger
    result = run("advance", "1", "record_council_decision", "--as", "sec-ishoj",
                 "--data", "decision=approved", "--data", "meeting_date=2018-01-09",
                 "--data", "agenda_ref=BR 7")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "error: meeting_date: 2018-01-09 is outside the allowed range: not before 2018-01-08 "
        "(the case was opened) and not after 2018-01-08 (today)"]
    assert len(run("history", "1", "--as", "admin", "--json").output.split('"version"')) == 7


@pytest.fixture
def client(settings: Settings, clock: Clock) -> Iterator[TestClient]:
    prepare(settings)
    with TestClient(create_app(settings, clock=clock)) as c:
        yield c


def test_the_pages_say_it_in_danish_and_the_api_in_both(client: TestClient, wf: Workflow,
                                                         clock: Clock) -> None:
    app = make_application(wf, state="council_approval")
    token = log_in(client, "sec-ishoj")
    before = version_of(wf, app)
    r = client.post(f"/applications/{app}/fire", data={
        "csrf": token, "trigger": "record_council_decision", "version": str(before),
        "decision": "approved", "meeting_date": "2018-02-01", "agenda_ref": "BR 7"})
    assert r.status_code == 200
    assert error_shown(r.text) == (
        "Oplysningerne er ikke i orden: Mødedato: 1. februar 2018 ligger uden for det "
        "mulige: datoen skal ligge fra 8. januar 2018 (da sagen blev oprettet) til 8. januar "
        "2018 (i dag)")
    assert version_of(wf, app) == before


# ------------------------------------------------------------------ the definition
@pytest.mark.parametrize(("old", "new", "message"), [
    ('meeting_date: {not_before: [opened]}', 'meeting_date: {not_before: [openned]}',
     "unknown anchor 'openned'"),
    ('request_date: {not_before: ["entered:submitted"]',
     'request_date: {not_before: ["entered:sent"]', "unknown state 'sent'"),
    ('not_before: [opened, "act:meeting"], not_after: [today]}',
     'not_before: [opened, "act:meting"], not_after: [today]}', "no transition records an act"),
    ("dates: {effective_date: {not_before: [decision_date]}}",
     "dates: {reason: {not_before: [decision_date]}}", "'reason' is not a field this "
                                                        "transition takes"),
])
def test_a_bad_date_bound_is_located(old: str, new: str, message: str) -> None:
    assert old in TEXT
    with pytest.raises(DefinitionError) as exc:
        loads(TEXT.replace(old, new, 1), file="states.yaml")
    problem, = exc.value.problems
    assert message in problem.message and problem.line is not None
    assert ".dates." in problem.key


def test_an_anchor_is_checked_without_a_database() -> None:
    kw: dict[str, Any] = {"states": {"submitted": 1}, "acts": {"meeting"},
                          "date_fields": {"decision_date"}}
    assert [datebounds.anchor_problem(a, **kw) for a in (
        "today", "opened", "entered:submitted", "act:meeting", "decision_date")] == [None] * 5
    assert "unknown anchor" in str(datebounds.anchor_problem("tomorrow", **kw))
