"""Schema migrations, write transactions, definition versions and stranding, deadlines as
stored."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import select
from sqlmodel import SQLModel

from tests.conftest import Clock
from tests.factories import make_application, walk_fire
from workflow.config import Settings
from workflow.engine.queries import get_application
from workflow.engine.workflow import Workflow
from workflow.errors import SetupError, StrandedApplications
from workflow.process.definition import load, loads
from workflow.store import database as store
from workflow.store import search
from workflow.store import tables as t

STATES = Path(__file__).resolve().parents[2] / "states.yaml"


def test_head_revision_constant_matches_alembic() -> None:
    script = ScriptDirectory.from_config(store.alembic_config("sqlite:///unused.db"))
    assert script.get_current_head() == store.HEAD_REVISION


def test_unmigrated_database_says_run_init(tmp_path: Path) -> None:
    with pytest.raises(SetupError, match="run `workflow init`"):
        Workflow.open(Settings(database_url=f"sqlite:///{tmp_path / 'empty.db'}"))


def test_migrate_is_idempotent(db_url: str) -> None:
    engine = store.make_engine(db_url)
    store.migrate(engine)
    store.migrate(engine)
    assert store.current_revision(engine) == store.HEAD_REVISION
    engine.dispose()


def test_the_migrations_make_exactly_the_schema_the_models_declare(db_url: str) -> None:
    engine = store.make_engine(db_url)
    try:
        with engine.connect() as conn:
            found = MigrationContext.configure(conn, opts={
                "compare_type": True, "include_object": search.outside_models})
            assert compare_metadata(found, SQLModel.metadata) == []
    finally:
        engine.dispose()


def test_in_memory_sqlite_is_refused() -> None:
    with pytest.raises(SetupError, match="in-memory"):
        store.make_engine("sqlite://")


def without_legal_review() -> str:
    """states.yaml in which drafting goes straight to council approval."""
    text = STATES.read_text(encoding="utf-8").replace(
        "        dest: legal_review", "        dest: council_approval")
    state_block = text[text.index("      legal_review:"):text.index("      council_approval:")]
    text = text.replace(state_block, "")
    blocks = text.split("\n      - trigger:")
    text = "\n      - trigger:".join(
        [blocks[0]] + [b for b in blocks[1:] if "source: legal_review" not in b])
    return text.replace("[area_selection, drafting, legal_review, council_approval]",
                        "[area_selection, drafting, council_approval]").replace(
        "live_in: [drafting, legal_review, council_approval]",
        "live_in: [drafting, council_approval]")


def test_a_definition_that_strands_live_applications_is_refused(
        wf: Workflow, open_wf: Callable[..., Workflow]) -> None:
    live = make_application(wf, state="legal_review", areas=["rehabilitation",
                                                             "special_education"])
    also = make_application(wf, kind="jobcentre", state="legal_review")
    elsewhere = make_application(wf, state="drafting", areas=["social", "nature_environment"])
    new = loads(without_legal_review(), file="states-v2.yaml")
    assert "legal_review" not in new.processes["application"].states
    with pytest.raises(StrandedApplications) as exc:
        open_wf(definition=new)
    assert [s[0] for s in exc.value.stranded] == [live, also]
    assert "application 1 is in it" in str(exc.value)
    assert "states-v2.yaml" in str(exc.value)
    # once they have moved on, the same definition is accepted and recorded
    for app in (live, also):
        wf.fire(app, "approve_draft", user="legal-ishoj")
    wf2 = open_wf(definition=new)
    wf2.fire(elsewhere, "submit_for_review", user="pl-ishoj")
    shown = get_application(wf2, elsewhere, user="pl-ishoj")
    assert shown["state"] == "council_approval"
    assert shown["definition_hash"] == new.hash != wf.definition.hash
    with wf2.engine.connect() as conn:
        hashes = set(conn.execute(select(t.definition.c.hash)).scalars())
    assert {wf.definition.hash, new.hash} <= hashes


def test_removing_a_state_only_finished_applications_were_in_is_allowed(
        wf: Workflow, open_wf: Callable[..., Workflow]) -> None:
    make_application(wf, state="withdrawn")
    text = STATES.read_text(encoding="utf-8").replace(
        "      withdrawn: {da: Trukket tilbage, en: Withdrawn, final: true}\n", "")
    # the withdraw step is the application process's last; the BUM process follows it
    text = text[:text.index("      - trigger: withdraw")] + \
        text[text.index("  # Voluntary cooperation after release"):]
    new = loads(text)
    assert open_wf(definition=new).definition.hash == new.hash


# -------------------------------------------------------------------- deadlines
def deadlines(wf: Workflow, app: int) -> list[dict[str, object]]:
    return list(get_application(wf, app, user="admin")["deadlines"])


def test_drafting_deadline_is_twenty_working_days(wf: Workflow, clock: Clock) -> None:
    clock.at("2018-05-03T08:00")
    app = make_application(wf, state="drafting")
    [d] = [d for d in deadlines(wf, app) if d["active"]]
    # 4 May (1), 7–9 (4), 11 (5), 14–18 (10), 22–25 (14), 28–31 May (18), 1 June (19),
    # 4 June (20): 10 May Kristi himmelfart and 21 May 2. pinsedag are holidays.
    assert d["due"] == "2018-06-04"
    assert d["derivation"] == "20 arbejdsdage fra 3. maj 2018"
    assert d["state"] == "drafting"


def test_council_deadline_per_municipality_is_moved_with_the_meeting(
        wf: Workflow, clock: Clock) -> None:
    clock.at("2018-02-12T09:00")
    app = make_application(wf, state="council_approval")
    active = {d["party"]: d for d in deadlines(wf, app) if d["active"]}
    assert active["ishoj"]["due"] == active["vallensbaek"]["due"] == "2018-04-03"
    assert active["ishoj"]["derivation"].startswith("45 dage fra 12. februar 2018")
    # 45 days from 12 Feb is 29 March 2018, skærtorsdag: moved past Easter to 3 April
    assert "flyttet fra torsdag den 29. marts 2018" in active["ishoj"]["derivation"]
    wf.fire(app, "schedule_council_meeting", user="sec-vallensbaek",
            data={"meeting_date": "2018-04-25", "agenda_ref": "pkt. 12"})
    active = {d["party"]: d for d in deadlines(wf, app) if d["active"]}
    assert active["vallensbaek"]["due"] == "2018-04-25"
    assert active["vallensbaek"]["derivation"] == \
        "Mødedato 25. april 2018 (Vallensbæk Kommune)"
    wf.fire(app, "schedule_council_meeting", user="sec-vallensbaek",
            data={"meeting_date": "2018-05-02", "agenda_ref": "pkt. 4"})
    active = {d["party"]: d for d in deadlines(wf, app) if d["active"]}
    assert active["vallensbaek"]["due"] == "2018-05-02"
    walk_fire(wf, app, "record_council_decision", user="sec-ishoj",
            data={"decision": "approved", "meeting_date": "2018-04-03", "agenda_ref": "7"})
    active = {d["party"]: d for d in deadlines(wf, app) if d["active"]}
    assert set(active) == {"vallensbaek"}, "Ishøj's deadline is met by its decision"


def test_info_request_uses_the_ministrys_deadline_or_ten_working_days(
        wf: Workflow, clock: Clock) -> None:
    app = make_application(wf, state="submitted")      # sent on 27 April 2018
    clock.at("2018-05-14T09:00")
    wf.fire(app, "request_info", user="pl-ishoj", data={
        "reference": "2018-1", "request_date": "2018-05-11", "due_date": "2018-05-28",
        "questions": "Hvornår?"})
    [d] = [d for d in deadlines(wf, app) if d["active"]]
    assert (d["due"], d["derivation"]) == ("2018-05-28",
                                           "Ministeriets frist 28. maj 2018")
    wf.fire(app, "answer_question", user="pl-ishoj", data={"question_no": 1, "answer": "Nu."})
    wf.fire(app, "answer_info", user="pl-ishoj")
    wf.fire(app, "request_info", user="pl-ishoj",
            data={"reference": "2018-2", "request_date": "2018-05-14", "questions": "Og?"})
    [d] = [d for d in deadlines(wf, app) if d["active"]]
    # no deadline given this time: 10 working days from 14 May, skipping 2. pinsedag
    assert d["derivation"] == "10 arbejdsdage fra 14. maj 2018"
    assert d["due"] == "2018-05-29"


def test_leaving_a_state_closes_its_deadline(wf: Workflow, clock: Clock) -> None:
    app = make_application(wf, state="drafting")
    wf.fire(app, "submit_for_review", user="pl-ishoj")
    ds = deadlines(wf, app)
    drafting = [d for d in ds if d["state"] == "drafting"]
    assert drafting and not drafting[0]["active"] and drafting[0]["met_at"]
    assert [d["state"] for d in ds if d["active"]] == ["legal_review"]


def test_shipped_definition_is_recorded_once(settings: Settings, clock: Clock) -> None:
    for _ in range(2):
        Workflow.open(settings, clock=clock).close()
    engine = store.make_engine(settings.database_url)
    with engine.connect() as conn:
        rows = conn.execute(select(t.definition.c.hash)).scalars().all()
    engine.dispose()
    assert rows == [load(STATES).hash]


def test_check_against_the_database_lists_stranded_applications(
        wf: Workflow, db_url: str, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from workflow.cli.app import cli

    app = make_application(wf, state="legal_review")
    new = tmp_path / "states-v2.yaml"
    new.write_text(without_legal_review(), encoding="utf-8")
    runner = CliRunner()
    env = {"WORKFLOW_DATABASE_URL": db_url}
    result = runner.invoke(cli, ["check", str(new)], env=env)
    assert result.exit_code == 0, result.output
    result = runner.invoke(cli, ["check", str(new), "--against-database"], env=env)
    assert result.exit_code == 3
    assert f"state 'legal_review' is missing, but application {app} is in it" in result.output
    assert "Traceback" not in result.output


# ------------------------------------------- URLs, missing files, stored surrogates
@pytest.mark.parametrize(("url", "said"), [
    ("mysql://u:secret@h/db", "unsupported database 'mysql' in 'mysql://u:***@h/db'"),
    ("oracle://x", "unsupported database 'oracle'"),
    ("nonsense", "is not a database URL: 'nonsense'"),
    ("postgresql+psycopg2://u:secret@h/x", "cannot use the database URL "
     "'postgresql+psycopg2://u:***@h/x': No module named 'psycopg2'"),
    ("sqlite:///:memory:", "in-memory SQLite database cannot be shared"),
])
def test_an_unsupported_database_url_is_a_setup_error(url: str, said: str) -> None:
    with pytest.raises(SetupError) as caught:
        store.make_engine(url)
    assert said in str(caught.value) and "secret" not in str(caught.value)


def test_a_missing_sqlite_file_is_said_and_not_made(tmp_path: Path) -> None:
    path = tmp_path / "absent.db"
    engine = store.make_engine(f"sqlite:///{path}")
    try:
        with pytest.raises(SetupError, match=f"the database {path} does not exist; run "
                                             f"`workflow init`"):
            store.require_schema(engine)
        with pytest.raises(SetupError, match="does not exist"):
            Workflow.open(Settings(database_url=f"sqlite:///{path}"))
    finally:
        engine.dispose()
    assert list(tmp_path.iterdir()) == []


def test_stored_lone_surrogates_read_as_replacement_characters(wf: Workflow) -> None:
    from sqlalchemy import text

    app_id = make_application(wf)
    cast = "CAST(:d AS json)" if not store.is_sqlite(wf.engine) else ":d"
    with wf.engine.begin() as conn:
        conn.execute(text(f"UPDATE application SET data = {cast} WHERE id = :id"),
                     {"id": app_id, "d": '{"a\\udc00": ["\\ud800", "ok \\ud83d\\ude00", 1]}'})
    with store.read(wf.engine) as conn:
        data = conn.execute(select(t.application.c.data)
                            .where(t.application.c.id == app_id)).scalar_one()
    assert data == {"a\ufffd": ["\ufffd", "ok \U0001F600", 1]}
    assert get_application(wf, app_id, user="pl-ishoj")["data"] == data
    wf.fire(app_id, "propose_areas", user="pl-ishoj",  # the hot path reads it too
            data={"areas": "rehabilitation,social"})


def test_what_says_the_database_is_unavailable() -> None:
    import sqlite3

    from sqlalchemy.exc import IntegrityError, OperationalError

    class Race(Exception):
        sqlstate = "40001"

    down = OperationalError("SELECT 1", {}, Exception("server closed the connection"))
    assert str(store.unavailable(down)) == \
        "the database is not available right now; try again shortly"
    assert store.unavailable(sqlite3.OperationalError("database or disk is full"))
    assert store.reason(down) == "server closed the connection"
    assert store.unavailable(OperationalError("x", {}, Race())) is None
    assert store.unavailable(IntegrityError("x", {}, Exception("duplicate"))) is None
    assert store.unavailable(ValueError("no")) is None
