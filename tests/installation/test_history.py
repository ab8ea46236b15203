"""The replay of 2020–22 is itself the test: the states, the days, the drafts and the
ministry each draft names, at each step, on SQLite and PostgreSQL.

The dates that are facts (DOMAIN.md: 2 March 2021, 1 January 2022) are checked as such;
the invented ones are checked to be said so in the step's comment.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from datetime import UTC, datetime

import docx
import pytest
from click.testing import CliRunner

from workflow.engine import queries
from workflow.engine.workflow import Workflow
from workflow.errors import SetupError
from workflow.installation import history

SENT_STATES = [
    ("create", "area_selection", "2020-05-27"),
    ("propose_areas", "area_selection", "2020-06-02"),
    ("confirm_areas", "area_selection", "2020-06-02"),
    ("confirm_areas", "drafting", "2020-06-03"),
    ("update_details", "drafting", "2020-06-04"),
    ("submit_for_review", "legal_review", "2020-08-17"),
    ("approve_draft", "council_approval", "2020-08-24"),
    ("record_council_decision", "council_approval", "2020-09-01"),   # its meeting
    ("record_council_decision", "council_approval", "2020-09-02"),
    ("send_to_ministry", "submitted", "2020-09-07"),
    ("announce_conditions", "conditions_announced", "2021-02-11"),   # received
    ("accept_conditions", "conditions_announced", "2021-03-02"),     # DOMAIN.md
    ("accept_conditions", "conditions_accepted", "2021-03-02"),
    ("send_acceptance", "acceptance_sent", "2021-03-04"),
    ("record_decision", "granted_with_conditions", "2021-04-20"),
    ("start_transition", "transition_period", "2021-04-22"),
    ("complete", "closed", "2022-01-01"),                            # DOMAIN.md
]


def text_of(content: bytes) -> str:
    return "\n".join(p.text for p in docx.Document(io.BytesIO(content)).paragraphs)


@pytest.fixture
def replayed(open_wf: Callable[..., Workflow]) -> tuple[Workflow, int]:
    app = history.load_history(lambda clock: open_wf(clock=clock))
    moment = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
    return open_wf(clock=lambda: moment), app


def test_the_history_runs_through_the_engine_with_its_real_dates(
        replayed: tuple[Workflow, int]) -> None:
    wf, app = replayed
    steps = queries.history(wf, app, user="admin")
    got = [(e["trigger"], e["to"], e["happened_on"]) for e in steps if e["version"]]
    assert got == SENT_STATES
    a = queries.get_application(wf, app, user="admin")
    assert a["state"] == "closed" and a["case_number"].endswith("-20")
    # recorded the day after the meeting, dated by it
    council = [e for e in steps if e["trigger"] == "accept_conditions"]
    assert all(e["at"].startswith("2021-03-03") for e in council)
    # what is invented says so
    for e in steps:
        if e["trigger"] in ("propose_areas", "send_to_ministry", "record_decision",
                            "announce_conditions"):
            assert "Opdigtet i demoen" in e["comment"], e["trigger"]
    assert "Omkring 200 medarbejdere" in steps[-1]["comment"]
    released = {x["id"]: x["released_on"] for x in queries.areas(wf)}
    assert set(released.values()) == {"2022-01-01"}


def test_the_drafts_are_as_they_would_have_been_then(replayed: tuple[Workflow, int]) -> None:
    wf, app = replayed
    docs = {(d["name"], d["party"]): d for d in queries.documents(wf, app, user="admin")}
    expect = {   # (draft, party): (day of the last version, the ministry it names)
        ("application_letter", None): ("2020-09-07", "Social- og Indenrigsministeriet"),
        ("conditions_agenda_item", "ishoj"): ("2021-03-02", "Indenrigs- og Boligministeriet"),
        ("conditions_acceptance", None): ("2021-03-04", "Indenrigs- og Boligministeriet"),
        ("decision_memo", None): ("2021-04-20", "Indenrigs- og Boligministeriet"),
    }
    for key, (day, ministry) in expect.items():
        doc = docs[key]
        assert doc["versions"][-1]["letter_date"] == day, key
        got = wf.download(doc["id"], user="legal-ishoj")
        text = text_of(got.content)
        assert ministry in text, key
    # the agenda item was made when the conditions came, and follows the council's handling
    assert docs[("conditions_agenda_item", "ishoj")]["versions"][0]["letter_date"] == \
        "2021-02-11"
    letter = text_of(wf.download(docs[("application_letter", None)]["id"],
                                 user="legal-ishoj").content)
    assert "får virkning fra den 1. januar 2022" in letter
    acceptance = text_of(wf.download(docs[("conditions_acceptance", None)]["id"],
                                     user="legal-ishoj").content)
    assert acceptance.count("på mødet den 2. marts 2021") == 2
    for condition in history.CONDITIONS:
        assert condition in acceptance
    # approved by both councils: the version sent is the one they accepted in substance
    approvals = docs[("conditions_acceptance", None)]["approvals"]
    assert {x["party"] for x in approvals} == {"ishoj", "vallensbaek"}
    assert all(x["matches"] for x in approvals)


def test_the_history_needs_an_empty_database(replayed: tuple[Workflow, int],
                                            open_wf: Callable[..., Workflow]) -> None:
    with pytest.raises(SetupError, match="without applications"):
        history.load_history(lambda clock: open_wf(clock=clock))


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_init_history_and_examples_go_together(db_url: str) -> None:
    """The history in Ishøj–Vallensbæk, the live examples beside it in Dragør–Tårnby."""
    from workflow.cli.app import cli

    env = {"WORKFLOW_DATABASE_URL": db_url}
    out = CliRunner().invoke(cli, ["init", "--history", "--examples"], env=env)
    assert out.exit_code == 0, out.output
    assert "Replayed the history of 2020–22 as case 1" in out.output
    assert "in dragoer-taarnby" in out.output


@pytest.mark.parametrize("db_url", ["sqlite", "postgresql"], indirect=True)
def test_init_demo_is_the_whole_demo(db_url: str) -> None:
    """``init --demo`` is what ``serve`` loads on an empty database: the history as case 1
    in Ishøj–Vallensbæk, the seven live examples beside it in Dragør–Tårnby."""
    from workflow.cli.app import cli

    env = {"WORKFLOW_DATABASE_URL": db_url, "WORKFLOW_NOW": "2027-03-03T10:00"}
    out = CliRunner().invoke(cli, ["init", "--demo"], env=env)
    assert out.exit_code == 0, out.output
    assert "Replayed the history of 2020–22 as case 1" in out.output
    assert ("Added the examples 2–8 in dragoer-taarnby: applications 2–6 and BUM agreements "
            "7–8, dated up to today (2027-03-03).") in out.output
    listed = CliRunner().invoke(cli, ["list", "--json", "--as", "admin"], env=env)
    assert listed.exit_code == 0, listed.output
    cases = {a["id"]: a for a in json.loads(listed.output)}
    assert sorted(cases) == list(range(1, 9))
    assert (cases[1]["kind"], cases[1]["state"]) == ("exit", "closed")
    assert cases[1]["parties"] == ["ishoj", "vallensbaek"]
    assert all("dragoer" in cases[i]["parties"] for i in range(2, 9))


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_init_demo_before_the_history_ends_is_refused(db_url: str) -> None:
    """A clock before the history's last day would make its steps lie in the future: the
    demo is refused with what to do instead, before the database is touched."""
    from workflow.cli.app import cli

    env = {"WORKFLOW_DATABASE_URL": db_url, "WORKFLOW_NOW": "2021-06-01T10:00"}
    out = CliRunner().invoke(cli, ["init", "--demo"], env=env)
    assert out.exit_code == 2, out.output
    assert ("the history runs to 2022-01-03, after today (2021-06-01): use --demo-setup, "
            "or --examples alone") in out.output
    assert "Database" not in out.output      # refused before the database was touched
    again = CliRunner().invoke(cli, ["init", "--demo-setup"], env=env)
    assert again.exit_code == 0 and "Replayed" not in again.output


def test_the_replayed_steps_notices_are_history_not_news(replayed: tuple[Workflow, int]
                                                          ) -> None:
    """The replay's your-turn notices were made (the steps made it someone's turn), but a
    scheduler started now sends none of them: each was taken away by a later step, or is
    marked cancelled at the end of the replay."""
    from workflow.reminders.ledger import list_reminders
    from workflow.store import database as store

    wf, app = replayed
    with store.read(wf.engine) as conn:
        turns = [r for r in list_reminders(conn, app_ids=[app]) if r["kind"] == "turn"]
    assert turns and {r["status"] for r in turns} == {"cancelled"}
    assert {r["last_error"] for r in turns} <= {"replayed in the past", "no longer their turn"}
