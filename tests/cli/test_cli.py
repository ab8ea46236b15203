"""The command line end to end: init, a whole life cycle, and every kind of user error."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner, Result

from workflow.cli.app import cli
from workflow.store.database import HEAD_REVISION

README = Path(__file__).resolve().parents[2] / "README.md"
STATES = README.parent / "states.yaml"
Env = dict[str, str]


# ------------------------------------------------------------------------ helpers
def run(env: Env, *args: str, ok: bool = True) -> Result:
    result = CliRunner().invoke(cli, list(args), env=env)
    if ok:
        assert result.exit_code == 0, f"{args}: {result.output}"
        assert result.exception is None
    return result


def as_json(env: Env, *args: str) -> Any:
    return json.loads(run(env, *args, "--json").stdout)


def fails(env: Env, *args: str) -> str:
    """Run a command that must fail cleanly; return its one-line error message."""
    result = run(env, *args, ok=False)
    assert result.exit_code not in (0, None), result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)  # handled
    assert "Traceback" not in result.output and "Traceback" not in result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


def sqlite_env(tmp_path: Path) -> Env:
    return {"WORKFLOW_DATABASE_URL": f"sqlite:///{tmp_path / 'wf.db'}"}


# The examples are dated relative to today: the command line runs them at a stated day.
EXAMPLES_NOW = "2026-03-04T10:00"


@pytest.fixture
def examples(tmp_path: Path) -> Env:
    """A SQLite database with the demo setup and the examples 1-7, as of EXAMPLES_NOW."""
    env = {**sqlite_env(tmp_path), "WORKFLOW_NOW": EXAMPLES_NOW}
    run(env, "init", "--examples")
    return env


# --------------------------------------------------------------------------- init
def test_init_with_examples(tmp_path: Path) -> None:
    env = {**sqlite_env(tmp_path), "WORKFLOW_NOW": EXAMPLES_NOW}
    out = run(env, "init", "--examples").stdout
    assert f"Database sqlite:///{tmp_path / 'wf.db'}: schema none -> {HEAD_REVISION}." in out
    assert "Loaded the demo's installation files: ishoj-vallensbaek.yaml" in out
    assert "users pl-ishoj, pl-vallensbaek, sec-ishoj" in out
    assert "Added the examples 1–7 in ishoj-vallensbaek: applications 1–5 and BUM " \
           "agreements 6–7, dated up to today (2026-03-04)." in out
    apps = as_json(env, "list", "--as", "pl-ishoj")
    assert [a["id"] for a in apps] == [1, 2, 3, 4, 5, 6, 7]
    assert [a["state"] for a in apps] == ["withdrawn", "council_approval", "refused",
                                          "drafting", "area_selection", "volume", "negotiation"]
    assert [a["kind"] for a in apps] == ["jobcentre", "dispensation", "jobcentre",
                                         "satellite", "dispensation", "bum_agreement",
                                         "bum_agreement"]
    # the agreements' proposed terms made their drafts; 6 is signed, which made another
    for agreement, latest in ((6, 2), (7, 1)):
        drafts = as_json(env, "documents", str(agreement), "--as", "pl-ishoj")
        assert [(d["name"], d["latest"]) for d in drafts] == [("bum_agreement", latest)]
    # the signed agreement shows its terms and this year, priced in Danish kroner
    shown = run(env, "show", "6", "--as", "pl-vallensbaek").stdout
    assert "udfører: ishoj   bestiller: vallensbaek   area: rehabilitation" in shown
    assert "year 2026: volume 420, price 1.327.160,06 kr., a conto 1.327.160,06 kr." in shown
    by_id = {a["id"]: a for a in apps}
    assert by_id[4]["links"] == [{"rel": "fallback_for", "application": 3}]
    assert by_id[3]["links"] == [{"rel": "has_fallback", "application": 4}]
    assert by_id[2]["areas"] == ["rehabilitation", "special_education"]
    assert by_id[5]["round"] == 2 and by_id[5]["areas"] == []
    # two areas are free for the second application; one deadline is overdue on purpose
    assert [a["id"] for a in as_json(env, "areas", "--cooperation", "ishoj-vallensbaek")
            if a["available"]] == ["social", "nature_environment"]
    overdue = as_json(env, "deadlines", "--overdue", "--as", "admin")
    assert [(d["application"], d["party"]) for d in overdue] == [(2, "vallensbaek")]


def test_init_twice_is_harmless(tmp_path: Path) -> None:
    env = sqlite_env(tmp_path)
    assert "Loaded the demo's installation files: ishoj-vallensbaek.yaml" in \
        run(env, "init", "--demo-setup").stdout
    run(env, "new", "--kind", "dispensation", "--round", "1", "--title", "Bliver",
        "--as", "pl-ishoj")
    out = run(env, "init", "--demo-setup").stdout
    assert f"schema {HEAD_REVISION} -> {HEAD_REVISION}." in out
    assert "The demo setup was already there." in out
    apps = as_json(env, "list", "--as", "pl-ishoj")
    assert [(a["id"], a["title"]) for a in apps] == [(1, "Bliver")]
    assert len(as_json(env, "history", "1", "--as", "pl-ishoj")) == 1
    # examples need an empty database; asking for them now changes nothing
    result = run(env, "init", "--examples", ok=False)
    assert result.exit_code != 0 and isinstance(result.exception, SystemExit)
    assert result.stderr.splitlines() == [
        "error: --examples needs a cooperation without cases: ishoj-vallensbaek has some"]
    assert len(as_json(env, "list", "--as", "admin")) == 1


# -------------------------------------------------------------------- life cycle
def test_a_whole_life_cycle(db_url: str) -> None:
    """From a new round-1 application to closed, on SQLite and PostgreSQL.

    The ``db_url`` fixture already holds Ishøj–Vallensbæk, so ``init --demo-setup`` adds only
    Dragør–Tårnby.
    """
    # the steps happen at the moments WORKFLOW_NOW states (a meeting is recorded after it)
    env = {"WORKFLOW_DATABASE_URL": db_url, "WORKFLOW_NOW": "2018-01-08T09:00"}
    out = run(env, "init", "--demo-setup").stdout
    assert "added" not in out and "dragoer-taarnby.yaml" in out

    out = run(env, "new", "--kind", "dispensation", "--round", "1", "--title",
              "Dispensation for genoptræning og socialområdet", "--as", "pl-ishoj").stdout
    assert re.match(r"Created application 1 \(00\.17\.15-G01-1-\d\d\) in state "
                    r"area_selection \(Valg af områder\)\.", out)

    def step(trigger: str, user: str, *data: str, now: str | None = None) -> str:
        if now:
            env["WORKFLOW_NOW"] = now
        args = ["advance", "1", trigger, "--as", user]
        for pair in data:
            args += ["--data", pair]
        return run(env, *args).stdout.strip()

    assert step("propose_areas", "pl-ishoj", "areas=rehabilitation,social") == \
        "Application 1: propose_areas: area_selection -> area_selection (version 2)."
    assert step("confirm_areas", "pl-ishoj").endswith("(version 3). Waiting for vallensbaek.")
    assert step("confirm_areas", "pl-vallensbaek").endswith("area_selection -> drafting "
                                                             "(version 4).")
    assert "drafting -> legal_review" in step("submit_for_review", "pl-ishoj")
    assert "legal_review -> council_approval" in step("approve_draft", "legal-ishoj")
    step("record_council_decision", "sec-ishoj", "decision=approved",
         "meeting_date=2018-04-03", "agenda_ref=Byrådet 3. april 2018, punkt 7",
         now="2018-04-04T09:00")

    # half-way: Ishøj has approved, Vallensbæk not yet, so it cannot be sent
    offered = {t["trigger"]: t for t in as_json(env, "triggers", "1", "--as", "pl-ishoj")}
    assert list(offered) == ["schedule_council_meeting", "record_committee_decision",
                             "record_council_decision", "send_to_ministry", "withdraw"]
    assert offered["send_to_ministry"]["allowed"] is False
    assert "vallensbaek" in offered["send_to_ministry"]["reason"]
    assert offered["withdraw"]["allowed"] is True
    assert offered["record_council_decision"]["allowed"] is False  # not a secretary

    step("record_council_decision", "sec-vallensbaek", "decision=approved",
         "meeting_date=2018-04-25", "agenda_ref=KB 25-04-2018 pkt. 12", now="2018-04-26T09:00")
    assert "council_approval -> submitted" in step("send_to_ministry", "pl-ishoj")
    assert "submitted -> granted" in step("record_decision", "pl-ishoj", "outcome=granted",
                                          "reference=2018-1234", "decision_date=2018-06-01",
                                          now="2018-06-04T09:00")
    assert "granted -> transition_period" in step("start_transition", "pl-ishoj",
                                                  "effective_date=2019-01-01")
    # WORKFLOW_USER instead of --as
    out = run({**env, "WORKFLOW_USER": "pl-ishoj"}, "advance", "1", "complete").stdout
    assert out.strip() == "Application 1: complete: transition_period -> closed (version 12)."

    shown = as_json(env, "show", "1", "--as", "pl-vallensbaek")
    assert shown["state"] == "closed" and shown["final"] is True
    assert shown["version"] == 12
    assert shown["data"]["reference"] == "2018-1234"
    assert {a["id"]: a["outcome"] for a in shown["area_details"]} == {
        "rehabilitation": "granted", "social": "granted"}
    assert not any(d["active"] for d in shown["deadlines"])

    entries = as_json(env, "history", "1", "--as", "pl-ishoj")
    for e in entries:
        assert {"trigger", "from", "to", "user", "at"} <= e.keys()
    assert [e["version"] for e in entries] == list(range(1, 13))
    assert [e["trigger"] for e in entries] == [
        "create", "propose_areas", "confirm_areas", "confirm_areas", "submit_for_review",
        "approve_draft", "record_council_decision", "record_council_decision",
        "send_to_ministry", "record_decision", "start_transition", "complete"]
    assert entries[0]["from"] is None
    for prev, cur in zip(entries, entries[1:], strict=False):
        assert cur["from"] == prev["to"]
    assert entries[-1]["to"] == "closed" and entries[-1]["user"] == "pl-ishoj"
    assert entries[7]["user"] == "sec-vallensbaek"

    assert as_json(env, "triggers", "1", "--as", "pl-ishoj") == []
    assert "final state" in run(env, "triggers", "1", "--as", "pl-ishoj").stdout

    diagram = run(env, "diagram", "--application", "1", "--as", "pl-ishoj").stdout
    assert diagram.startswith("stateDiagram-v2\n")
    assert "    class closed current" in diagram.splitlines()
    diagram = run({**env, "WORKFLOW_USER": "pl-ishoj"}, "diagram", "--application", "1",
                  "--lang", "en").stdout
    assert 'state "Closed" as closed' in diagram and "class closed current" in diagram
    drawn = as_json(env, "diagram", "--application", "1", "--as", "pl-ishoj")
    assert drawn["process"] == "application" and drawn["current"] == "closed"
    assert drawn["application"] == 1 and len(drawn["definition"]) == 64
    assert drawn["mermaid"] == run(env, "diagram", "--application", "1",
                                   "--as", "pl-ishoj").stdout

    # the granted areas are released on the effective date
    areas = {a["id"]: a for a in as_json(env, "areas")}
    assert areas["social"]["released_on"] == "2019-01-01"

    text = run(env, "show", "1", "--as", "pl-ishoj").stdout
    assert "state:   closed (Afsluttet)" in text
    text = run(env, "history", "1", "--as", "pl-ishoj").stdout
    assert "transition_period -> closed" in text


def test_diagram_without_an_application_marks_nothing(tmp_path: Path) -> None:
    out = run(sqlite_env(tmp_path), "diagram").stdout  # reads only states.yaml
    assert out.startswith("stateDiagram-v2\n")
    assert "    [*] --> area_selection" in out
    assert "class " not in out


# -------------------------------------------------------------- the diagrams
def test_the_mermaid_mark_of_the_current_state_leaves_the_label_as_measured() -> None:
    """Mermaid sizes a box to its label; the ``current`` class may repaint the box, but a
    font, size or padding in it would make the label outgrow a box measured without it."""
    from workflow.process.definition import load
    from workflow.process.diagram import mermaid

    for process in load(STATES).processes.values():
        for state in process.states:
            lines = mermaid(process, current=state).splitlines()
            (style,) = [x.split(None, 2)[2] for x in lines if x.startswith("    classDef ")]
            props = dict(p.split(":", 1) for p in style.split(","))
            assert set(props) <= {"fill", "stroke", "stroke-width", "stroke-dasharray"}, style
            # a stroke is drawn half inside the box: keep it within Mermaid's 8px padding
            assert float(props.get("stroke-width", "1px").removesuffix("px")) <= 4, style
            assert lines[-1] == f"    class {state} current"


# DejaVu Sans Bold at 12.5px, what Chromium draws for system-ui on Linux (getBBox width)
MEASURED = {"Udarbejdelse af ansøgning": 189.0, "Supplerende oplysninger": 177.5,
            "Underskrift af årets aftale": 184.7, "Mængde og serviceniveau": 184.6,
            "Forhandling af delaftale": 169.7, "Politisk behandling": 135.7}


def test_the_web_diagram_fits_every_label_in_its_box_whichever_state_is_current() -> None:
    """The page's SVG (workflow/web/svg.py) draws the current state's label in bold; the
    box must hold it, inside its border, for every state of every process in states.yaml.
    """
    import xml.etree.ElementTree as ET

    from workflow.process.definition import load
    from workflow.web import svg

    for text, measured in MEASURED.items():  # the estimate is never short of a real font
        assert svg.label_width(text) >= measured, text
    ns = {"s": "http://www.w3.org/2000/svg"}
    for name, process in load(STATES).processes.items():
        for current in process.states:
            root = ET.fromstring(svg.state_svg(process, current=current))
            groups = root.findall("s:g", ns)
            assert {g.get("data-state") for g in groups} == set(process.states)
            for g in groups:
                rect, text = g.find("s:rect", ns), g.find("s:text", ns)
                assert rect is not None and text is not None and text.text
                is_current = g.get("data-state") == current
                assert (text.get("font-weight") == "600") == is_current
                assert ("current" in str(g.get("class"))) == is_current
                x, w = float(rect.get("x", 0)), float(rect.get("width", 0))
                room = w - 2 * svg.INSET - float(rect.get("stroke-width", 0))
                where = f"{name}: {g.get('data-state')} ({text.text!r}), current {current}"
                assert svg.label_width(text.text) <= room, where
                assert text.get("text-anchor") == "middle"
                assert abs(float(text.get("x", 0)) - (x + w / 2)) <= 0.5, where


# ------------------------------------------------------------------- tables
def test_a_shortened_cell_ends_with_an_ellipsis_and_keeps_its_width() -> None:
    from workflow.cli.common import clip, width

    assert clip("kort titel", 50) == "kort titel"
    assert clip("x" * 50, 50) == "x" * 50
    assert clip("x" * 51, 50) == "x" * 49 + "…"
    assert clip("en lang titel der ikke kan være her", 14) == "en lang titel…"  # no " …"
    assert clip("to\nlinjer\tog  mellemrum") == "to linjer og mellemrum"  # one line
    assert clip("Jobcenter Vallensbæk – første udkast", 25) == "Jobcenter Vallensbæk – f…"
    assert width("Ishøj–Vallensbæk…") == 17
    assert width("Bro\u0308ndby") == 7 and width("漢字") == 4  # combining 0, wide 2
    assert clip("漢字漢字", 5) == "漢字…" and clip("漢字漢字", 6) == "漢字…"
    for limit in range(1, 30):
        for text in ("Første dispensationsansøgning", "漢字と Ishøj", "Bro\u0308ndby kommune"):
            assert width(clip(text, limit)) <= limit


def test_table_aligns_shortened_and_wide_cells(capsys: pytest.CaptureFixture[str]) -> None:
    from workflow.cli.common import table, width

    table([["1", "Å" * 60, "a"], ["22", "kort", "b"], ["3", "漢字", "c"]],
          ["id", "title", "x"], limits={"title": 10})
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "id  title       x"
    assert lines[1] == "--  ----------  -"
    assert lines[2] == "1   ÅÅÅÅÅÅÅÅÅ…  a"
    assert lines[3] == "22  kort        b"
    assert lines[4] == "3   漢字        c"
    assert {width(line) for line in lines} == {17}
    table([["v1", "legal-vallensbaek", "create"], ["v2", "pl-ishoj", "x"]], indent="  ")
    assert capsys.readouterr().out.splitlines() == ["  v1  legal-vallensbaek  create",
                                                    "  v2  pl-ishoj           x"]


def columns(line: str, starts: list[int]) -> list[str]:
    return [line[a:b].rstrip() for a, b in zip(starts, [*starts[1:], None], strict=False)]


def test_list_and_history_mark_a_shortened_title(examples: Env) -> None:
    long = ("Dispensation for genoptræning, specialundervisning og natur- og miljøområdet "
            "i Ishøj og Vallensbæk")
    out = run(examples, "new", "--kind", "dispensation", "--round", "1", "--title", long,
              "--as", "pl-vallensbaek").stdout
    app = re.search(r"Created application (\d+)", out)
    assert app
    lines = run(examples, "list", "--as", "pl-vallensbaek").stdout.splitlines()
    header = lines[0].split()
    starts = [lines[0].index(h) for h in header]
    assert header[-1] == "title" and lines[1].split()[-1] == "-" * 50
    titles = {a["id"]: a["title"] for a in as_json(examples, "list", "--as", "pl-vallensbaek")}
    shortened = 0
    for line in lines[2:]:
        cells = columns(line, starts)
        title = titles[int(cells[0])]
        assert line[starts[-1] - 2:starts[-1]] == "  "  # the title column is aligned
        if len(title) <= 50:
            assert cells[-1] == title
        else:
            shortened += 1
            assert cells[-1].endswith("…") and len(cells[-1]) <= 50
            assert title.startswith(cells[-1][:-1])
    assert shortened >= 2  # the new one and some of the examples
    mine = [line for line in lines if line.startswith(f"{app[1]} ")]
    assert mine and mine[0].endswith("Dispensation for genoptræning, specialundervisnin…")
    history = run(examples, "history", app[1], "--as", "pl-vallensbaek").stdout
    data = history.splitlines()[2][history.splitlines()[0].index("data"):]
    assert data.endswith("…") and len(data) <= 70 and "title=Dispensation for" in data


def test_documents_versions_line_up(examples: Env) -> None:
    out = run(examples, "documents", "2", "--as", "pl-ishoj").stdout
    versions = [line for line in out.splitlines() if re.match(r"  v\d+  ", line)]
    assert len(versions) >= 2
    for word in ("sha256", "bytes"):
        assert len({line.index(word) for line in versions}) == 1, out
    assert all(re.search(r"sha256 [0-9a-f]{16}…  [\d,]+ bytes$", line) for line in versions)


# -------------------------------------------------------- deadlines --ics FILE
@pytest.mark.parametrize("args", [["--ics"], ["--ics", "--mine"], ["--ics", "--as", "pl-ishoj"],
                                  ["--ics="], ["--ics", "--json"]],
                         ids=["last", "before-a-flag", "before-an-option", "empty", "json"])
def test_deadlines_ics_without_a_file_says_so(examples: Env, args: list[str], tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    for argv in (["deadlines", *args, "--as", "pl-ishoj"], ["deadlines", "--as", "pl-ishoj",
                                                             *args]):
        result = run(examples, *argv, ok=False)
        assert result.exit_code == 2, result.output
        assert result.stdout == ""
        assert result.stderr.splitlines()[-1] == (
            "Error: --ics needs a FILE to write to, e.g. --ics deadlines.ics")
        assert list(cwd.iterdir()) == [], argv  # no file called --mine, --as, ...


def test_deadlines_ics_writes_the_file_it_names(examples: Env, tmp_path: Path) -> None:
    target = tmp_path / "frister.ics"
    out = run(examples, "deadlines", "--ics", str(target), "--mine", "--as", "pl-ishoj").stdout
    assert re.fullmatch(rf"Wrote \d+ deadline\(s\) to {re.escape(str(target))}\.\n", out)
    assert target.read_bytes().startswith(b"BEGIN:VCALENDAR")
    missing = tmp_path / "no" / "such" / "dir.ics"
    result = run(examples, "deadlines", "--ics", str(missing), "--as", "pl-ishoj", ok=False)
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr == f"Error: Could not open file {str(missing)!r}: " \
                            "No such file or directory\n"
    assert "--ics FILE" in run({}, "deadlines", "--help").stdout


# ------------------------------------------------------------------------ errors
def snapshot(env: Env, app_id: int = 2) -> tuple[int, int, str]:
    shown = as_json(env, "show", str(app_id), "--as", "admin")
    return len(as_json(env, "history", str(app_id), "--as", "admin")), shown["version"], \
        shown["state"]


# (id, arguments, message fragments); application 2 of the examples is in council_approval
ERRORS: list[tuple[str, list[str], list[str]]] = [
    ("unknown-application", ["show", "99", "--as", "pl-ishoj"], ["no application 99"]),
    ("unknown-application-advance", ["advance", "99", "withdraw", "--data", "reason=x",
                                     "--as", "pl-ishoj"], ["no application 99"]),
    ("trigger-not-allowed-now", ["advance", "2", "submit_for_review", "--as", "pl-ishoj"],
     ["is in state 'council_approval'", "'submit_for_review' is not allowed",
      "allowed: schedule_council_meeting, record_committee_decision, "
      "record_council_decision, send_to_ministry, withdraw"]),
    ("unknown-trigger", ["advance", "2", "fly", "--as", "pl-ishoj"],
     ["'fly' is not allowed", "send_to_ministry"]),
    ("missing-as", ["advance", "2", "withdraw", "--data", "reason=x"],
     ["no acting user", "--as USER", "WORKFLOW_USER"]),
    ("missing-as-show", ["show", "2"], ["no acting user"]),
    ("unknown-user", ["advance", "2", "withdraw", "--data", "reason=x", "--as", "nobody"],
     ["unknown user 'nobody'"]),
    ("wrong-role", ["advance", "2", "send_to_ministry", "--as", "sec-ishoj"],
     ["send_to_ministry needs the role project_lead", "sec-ishoj is council_secretary"]),
    ("malformed-data", ["advance", "2", "withdraw", "--data", "x", "--as", "pl-ishoj"],
     ["--data 'x': expected KEY=VALUE"]),
    ("data-given-twice", ["advance", "2", "withdraw", "--data", "reason=a", "--data",
                          "reason=b", "--as", "pl-ishoj"], ["reason: given twice"]),
    ("bad-date", ["advance", "2", "record_council_decision", "--data", "decision=approved",
                  "--data", "meeting_date=25-04-2018", "--data", "agenda_ref=pkt. 12",
                  "--as", "sec-vallensbaek"],
     ["meeting_date: '25-04-2018' is not a date (YYYY-MM-DD)"]),
    ("impossible-date", ["advance", "2", "record_council_decision", "--data",
                         "decision=approved", "--data", "meeting_date=2018-04-31", "--data",
                         "agenda_ref=pkt. 12", "--as", "sec-vallensbaek"],
     ["meeting_date: '2018-04-31' is not a date"]),
    ("missing-data", ["advance", "2", "withdraw", "--as", "pl-ishoj"], ["reason"]),
    ("guard", ["advance", "2", "send_to_ministry", "--as", "pl-ishoj"], ["vallensbaek"]),
    ("unknown-kind", ["new", "--kind", "bridge", "--title", "x", "--as", "pl-ishoj"],
     ["unknown kind 'bridge'"]),
    ("missing-round", ["new", "--kind", "dispensation", "--title", "x", "--as", "pl-ishoj"],
     ["a dispensation application needs --round 1 or 2"]),
    ("unknown-data-key", ["advance", "2", "withdraw", "--data", "reason=x", "--data",
                          "colour=blue", "--as", "pl-ishoj"],
     ["colour: withdraw does not take this key (it takes: reason, happened_on)"]),
    ("stale-version", ["advance", "2", "withdraw", "--data", "reason=x", "--expect-version",
                       "1", "--as", "pl-ishoj"],
     ["application 2 was changed first by sec-vallensbaek", "you had version 1"]),
]


@pytest.mark.parametrize(("args", "fragments"), [e[1:] for e in ERRORS],
                         ids=[e[0] for e in ERRORS])
def test_errors_are_one_line_and_change_nothing(examples: Env, args: list[str],
                                                fragments: list[str]) -> None:
    before = snapshot(examples)
    apps_before = len(as_json(examples, "list", "--as", "admin"))
    message = fails(examples, *args)
    for fragment in fragments:
        assert fragment in message
    assert snapshot(examples) == before
    assert len(as_json(examples, "list", "--as", "admin")) == apps_before


@pytest.mark.parametrize("args", [["list", "--as", "pl-ishoj"], ["show", "1", "--as", "admin"],
                                  ["advance", "1", "withdraw", "--as", "pl-ishoj"],
                                  ["areas"]])
def test_a_database_command_before_init_says_to_run_init(tmp_path: Path,
                                                          args: list[str]) -> None:
    env = sqlite_env(tmp_path)
    message = fails(env, *args)
    assert "run `workflow init`" in message
    path = tmp_path / "wf.db"
    if path.exists():  # SQLite may have created an empty file, but no tables in it
        with sqlite3.connect(path) as conn:
            tables = conn.execute("SELECT name FROM sqlite_master").fetchall()
        conn.close()
        assert tables == []


def test_an_unreachable_database_is_one_line(tmp_path: Path) -> None:
    env = {"WORKFLOW_DATABASE_URL": f"sqlite:///{tmp_path / 'no' / 'such' / 'dir.db'}"}
    assert "cannot open the database" in fails(env, "list", "--as", "pl-ishoj")


def test_a_broken_states_file_stops_init_before_it_changes_anything(tmp_path: Path) -> None:
    states = tmp_path / "states.yaml"
    text = (Path(__file__).resolve().parents[2] / "states.yaml").read_text(encoding="utf-8")
    states.write_text(text.replace("roles: [legal]", "roles: [lawyer]", 1), encoding="utf-8")
    env = {**sqlite_env(tmp_path), "WORKFLOW_STATES_FILE": str(states)}
    result = run(env, "init", "--demo-setup", ok=False)
    assert result.exit_code != 0 and isinstance(result.exception, SystemExit)
    assert "unknown role 'lawyer'" in result.stderr and "Traceback" not in result.output
    assert not (tmp_path / "wf.db").exists()


# ----------------------------------------------------------------- the program
def subprocess_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WORKFLOW_")}
    return {**env, **extra}


def test_python_dash_m_workflow_help(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "workflow", "--help"], capture_output=True,
                          text=True, cwd=tmp_path, env=subprocess_env(), timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("Usage: ")
    for name in cli.commands:
        assert re.search(rf"^  {re.escape(name)}\b", proc.stdout, re.MULTILINE), name


def test_a_real_process_without_a_database_exits_with_all_its_output(tmp_path: Path) -> None:
    """Commands that open no database skip the interpreter's teardown (console.main): what
    they print must still arrive whole, with the command's exit code."""
    def program(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "workflow", *args], capture_output=True,
                              text=True, cwd=tmp_path, env=subprocess_env(), timeout=60)

    states = Path(__file__).resolve().parents[2] / "states.yaml"
    proc = program("diagram", "--process", "bum_agreement")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == run({}, "diagram", "--process", "bum_agreement").stdout
    proc = program("check", str(states), "--json")
    assert proc.returncode == 0 and json.loads(proc.stdout)["ok"] is True

    broken = tmp_path / "broken.yaml"
    broken.write_text(states.read_text(encoding="utf-8").replace(
        "roles: [legal]", "roles: [lawyer]", 1), encoding="utf-8")
    proc = program("check", str(broken))
    assert proc.returncode == run({}, "check", str(broken), ok=False).exit_code != 0
    assert "unknown role 'lawyer'" in proc.stderr and "Traceback" not in proc.stderr
    proc = program("no-such-command")
    assert proc.returncode == 2 and "No such command" in proc.stderr


def test_a_real_process_reports_errors_without_a_traceback(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "workflow", "list", "--as", "pl-ishoj"], capture_output=True,
        text=True, cwd=tmp_path, timeout=60,
        env=subprocess_env(WORKFLOW_DATABASE_URL=f"sqlite:///{tmp_path / 'wf.db'}"))
    assert proc.returncode == 8  # SetupError
    assert proc.stdout == ""
    assert "Traceback" not in proc.stderr
    (line,) = proc.stderr.splitlines()
    assert line.startswith("error: ") and "run `workflow init`" in line


def test_version() -> None:
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert re.search(r"version \d+\.\d+", result.stdout)


def test_every_command_has_help() -> None:
    assert set(cli.commands) >= {"init", "new", "list", "show", "history", "triggers",
                                 "advance", "check", "diagram", "areas", "rules"}
    for name, command in cli.commands.items():
        assert command.help and command.help.strip(), f"{name} has no help text"
        for flag in ("--help", "-h"):
            result = CliRunner().invoke(cli, [name, flag])
            assert result.exit_code == 0, f"{name} {flag}: {result.output}"
            assert result.stdout.startswith(f"Usage: cli {name}") or \
                result.stdout.startswith(f"Usage: workflow {name}"), result.stdout
            assert command.help.strip().splitlines()[0] in result.stdout


def test_every_command_is_in_the_readme() -> None:
    text = README.read_text(encoding="utf-8")
    missing = [name for name in cli.commands
               if not re.search(rf"\bworkflow {re.escape(name)}\b", text)]
    assert missing == [], f"README.md does not show `workflow <command>` for: {missing}"


def test_rules_lists_the_guards_and_effects() -> None:
    out = run({}, "rules").stdout
    assert out.startswith("guards:\n")
    assert "effects:" in out
    for name in ("all_parties", "areas_available", "claim_areas", "release_claims", "spawn"):
        assert re.search(rf"^  {name}\s", out, re.MULTILINE), name
    catalogue = as_json({}, "rules")
    assert set(catalogue) == {"guards", "effects"}
    assert "areas_available" in catalogue["guards"] and "spawn" in catalogue["effects"]
    assert all(doc for items in catalogue.values() for doc in items.values())


# Commands that write or run something; every other command reads, and takes --json.
WRITING = {"init", "new", "advance", "serve", "scheduler", "download", "users add",
           "users change", "users revoke",
           "users set-password", "users notices", "tokens issue", "tokens revoke",
           "section", "file-edited", "regenerate", "setup"}


def test_every_read_command_takes_json() -> None:
    def commands(group: click.Group, prefix: str = "") -> list[tuple[str, click.Command]]:
        found = []
        for name, command in group.commands.items():
            if isinstance(command, click.Group):
                found += commands(command, f"{prefix}{name} ")
            else:
                found.append((f"{prefix}{name}", command))
        return found

    found = dict(commands(cli))
    assert WRITING <= found.keys()
    lacking = [name for name, command in found.items() if name not in WRITING
               and "--json" not in {o for p in command.params for o in p.opts}]
    assert lacking == [], f"read commands without --json: {lacking}"


def test_an_agreement_is_called_an_agreement(db_url: str) -> None:
    env = {"WORKFLOW_DATABASE_URL": db_url, "WORKFLOW_USER": "pl-vallensbaek"}
    out = run(env, "new", "--kind", "bum_agreement", "--title", "Delaftale om genoptræning",
              "--data", "provider=ishoj", "--data", "purchaser=vallensbaek",
              "--data", "area=rehabilitation", "--data", "service=Genoptræning").stdout
    assert re.match(r"Created agreement 1 \(00\.17\.15-G02-1-\d\d\) in state negotiation "
                    r"\(Forhandling af delaftale\)\.", out), out
    out = run({**env, "WORKFLOW_USER": "pl-ishoj"}, "advance", "1", "propose_terms",
              *[f"--data={k}={v}" for k, v in {
                  "service_level": "Som hidtil", "expected_volume": "400",
                  "direct_costs": "1000000", "overhead_rate": "7,5",
                  "start_date": "2099-01-01", "notice_months": "6"}.items()]).stdout
    assert out.strip() == "Agreement 1: propose_terms: negotiation -> negotiation (version 2)."


def test_show_keeps_the_councils_and_names_the_ministrys_decision(db_url: str) -> None:
    from datetime import UTC, datetime

    from tests.conftest import Clock
    from tests.factories import make_application, walk_fire
    from workflow.config import Settings
    from workflow.engine.workflow import Workflow

    wf = Workflow.open(Settings(database_url=db_url),
                       clock=Clock(datetime(2018, 1, 8, 9, tzinfo=UTC)))
    try:
        app = make_application(wf, state="submitted")
        walk_fire(wf, app, "record_decision", user="pl-ishoj", data={
            "outcome": "granted_with_conditions", "reference": "2018-77",
            "decision_date": "2018-06-01", "conditions": "Personalet overdrages"})
    finally:
        wf.close()
    out = run({"WORKFLOW_DATABASE_URL": db_url}, "show", str(app), "--as", "pl-ishoj").stdout
    assert "  council: ishoj by sec-ishoj: decision=approved, meeting_date=2018-04-03, " \
           "agenda_ref=BR 3/4-18 pkt. 7" in out
    assert "  council: vallensbaek by sec-vallensbaek: decision=approved, " \
           "meeting_date=2018-04-25" in out
    assert "  decision: granted_with_conditions on 2018-06-01 (ref. 2018-77), granted " \
           "nature_environment,rehabilitation,special_education" in out
    assert "  conditions: Personalet overdrages" in out


# ------------------------------------------------- hostile text, bad database URLs
def _case_with_hostile_text(db_url: str) -> int:
    """A case whose stored text holds lone surrogates (as written before they were
    refused) and terminal control sequences (in a title, data and a comment)."""
    from datetime import UTC, datetime

    from sqlalchemy import text

    from tests.conftest import Clock
    from tests.factories import make_application
    from tests.web.test_hostile import _store_raw_json
    from workflow.config import Settings
    from workflow.engine.workflow import Workflow

    wf = Workflow.open(Settings(database_url=db_url),
                       clock=Clock(datetime(2018, 1, 8, 9, tzinfo=UTC)))
    try:
        app = make_application(wf, state="drafting")
        _store_raw_json(wf, app)
        wf.fire(app, "withdraw", user="pl-ishoj", comment="ok", data={"reason": "Grund"})
        cast = "CAST(:d AS json)" if db_url.startswith("postgresql") else ":d"
        with wf.engine.begin() as conn:  # a title, a comment and data from before control
            conn.execute(text("UPDATE application SET title = :t WHERE id = :id"),  # were
                         {"t": "Titel\x1b]0;ejet\x07\x1b[31m\x9b\r!", "id": app})  # refused
            conn.execute(text(f"UPDATE audit_entry SET comment = :c, data = {cast} "
                              "WHERE application_id = :id AND trigger = 'withdraw'"),
                         {"c": "ok\x1b]0;ejet\x07\x9b2J", "id": app,
                          "d": json.dumps({"reason": "Grund\x1b[2J\x1b]8;;http://x\x07klik"
                                                     "\x1b]8;;\x07"})})
    finally:
        wf.close()
    return app


def test_stored_lone_surrogates_and_control_characters_print_safely(db_url: str) -> None:
    app = _case_with_hostile_text(db_url)
    env = {"WORKFLOW_DATABASE_URL": db_url}
    said = []
    for args in (["list"], ["list", "--json"], ["show", str(app)], ["show", str(app), "--json"],
                 ["history", str(app)], ["history", str(app), "--json"],
                 ["triggers", str(app)], ["deadlines", "--json"]):
        out = run(env, *args, "--as", "pl-ishoj").stdout
        for raw in ("\x1b", "\x07", "\x9b", "\r"):
            assert raw not in out, (args, out)
        if "--json" in args:
            json.loads(out)
        said.append(out)
    listed = json.loads(said[1])
    assert listed[0]["title"] == "Titel\x1b]0;ejet\x07\x1b[31m\x9b\r!"  # the same text
    assert listed[0]["data"]["reason"] == "a\ufffdb"  # the stored surrogate, mended
    assert "Titel\\u001b]0;ejet\\u0007" in said[2] and "\\u009b\\u000d!" in said[2]
    history = json.loads(said[5])
    assert history[0]["data"] == {"x\ufffd": "\U0001F600\ufffd"}
    assert history[-1]["comment"] == "ok\x1b]0;ejet\x07\x9b2J"
    assert "ok\\u001b]0;ejet\\u0007\\u009b2J" in said[4]


def test_a_real_terminal_gets_no_control_sequence(tmp_path: Path) -> None:
    """The same through a real process on a pseudo-terminal (click keeps escape sequences
    for a terminal, and strips only some of them for a pipe)."""
    import pty

    db = tmp_path / "wf.db"
    run({"WORKFLOW_DATABASE_URL": f"sqlite:///{db}"}, "init", "--demo-setup")
    app = _case_with_hostile_text(f"sqlite:///{db}")
    for args in (["show", str(app)], ["history", str(app)], ["list"]):
        leader, follower = pty.openpty()
        proc = subprocess.run([sys.executable, "-m", "workflow", *args, "--as", "pl-ishoj"],
                              stdout=follower, stderr=subprocess.PIPE, timeout=60,
                              env=subprocess_env(WORKFLOW_DATABASE_URL=f"sqlite:///{db}"))
        os.close(follower)
        out = b""
        try:
            while chunk := os.read(leader, 65536):
                out += chunk
        except OSError:  # the terminal's other end is closed: all is read
            pass
        os.close(leader)
        assert proc.returncode == 0, proc.stderr
        assert b"Titel" in out or b"Grund" in out
        for raw in (b"\x1b", b"\x07", "\x9b".encode()):
            assert raw not in out, (args, out)


def test_text_that_is_not_text_or_a_title_with_controls_is_refused(tmp_path: Path) -> None:
    env = sqlite_env(tmp_path)
    run(env, "init", "--demo-setup")
    new = ["new", "--kind", "dispensation", "--round", "1", "--as", "pl-ishoj"]
    assert fails(env, *new, "--title", "Sag\x1b]0;ejet\x07") == \
        "error: the title contains the control character \\x1b"
    assert fails(env, *new, "--title", "Sag\x9b2J") == \
        "error: the title contains the control character \\x9b"
    assert fails(env, *new, "--title", "Ans\udcf8gning") == \
        "error: the title contains \\udcf8, a lone UTF-16 surrogate, which is not text"
    assert run(env, *new, "--title", "Sag", ok=False).exit_code == 0
    assert run(env, *new, "--title", "Fane\tog linje\nskift").stdout.startswith(
        "Created application 2")  # whitespace in a title is folded to spaces
    code = run(env, "advance", "1", "withdraw", "--data", "reason=Grund\udcff",
               "--as", "pl-ishoj", ok=False).exit_code
    assert code == 2
    assert fails(env, "advance", "1", "withdraw", "--data", "reason=Grund", "--comment",
                 "\udcff", "--as", "pl-ishoj") == \
        "error: the comment contains \\udcff, a lone UTF-16 surrogate, which is not text"
    assert "reason: contains \\udcff" in fails(env, "advance", "1", "withdraw", "--data",
                                               "reason=Grund\udcff", "--as", "pl-ishoj")
    message = fails(env, "list", "--as", "pl-\udcffishoj")
    assert message == "error: 'pl-\\udcffishoj' is not text: it holds a byte that is not UTF-8"
    assert run(env, "list", "--as", "pl-\udcffishoj", ok=False).exit_code == 2
    assert [a["title"] for a in as_json(env, "list", "--as", "pl-ishoj")] == [
        "Sag", "Fane og linje skift"]
    # a byte that is not UTF-8, as a shell passes it
    proc = subprocess.run([sys.executable, "-m", "workflow", *new, "--title", b"Ans\xf8gning"],
                          capture_output=True, timeout=60,
                          env=subprocess_env(**env))
    assert proc.returncode == 2 and proc.stdout == b""
    assert proc.stderr == b"error: the title contains \\udcf8, a lone UTF-16 surrogate, " \
                          b"which is not text\n"


@pytest.mark.parametrize(("url", "said"), [
    ("mysql://user:secret@db.example/wf", "error: unsupported database 'mysql' in "
     "'mysql://user:***@db.example/wf': workflow runs on SQLite (sqlite:///FILE) or "
     "PostgreSQL (postgresql://USER@HOST/DB)"),
    ("oracle+oracledb://u@h/x", "error: unsupported database 'oracle'"),
    ("mssql://u@h/x", "error: unsupported database 'mssql'"),
    ("not a url", "error: WORKFLOW_DATABASE_URL is not a database URL: 'not a url' (use "
     "sqlite:///FILE or postgresql://USER@HOST/DB)"),
    ("postgresql+psycopg2://u:secret@h/x", "error: cannot use the database URL "
     "'postgresql+psycopg2://u:***@h/x': No module named 'psycopg2'"),
])
def test_an_unsupported_database_url_is_one_line_and_exit_8(url: str, said: str) -> None:
    env = {"WORKFLOW_DATABASE_URL": url}
    for args in (["list", "--as", "admin"], ["init"], ["show", "1", "--as", "admin"]):
        assert fails(env, *args).startswith(said), args
        assert run(env, *args, ok=False).exit_code == 8
    assert "secret" not in fails(env, "areas")


def test_a_read_on_a_missing_sqlite_file_says_so_and_creates_nothing(tmp_path: Path) -> None:
    env = sqlite_env(tmp_path)
    path = tmp_path / "wf.db"
    for args in (["list", "--as", "admin"], ["show", "1", "--as", "admin"],
                 ["history", "1", "--as", "admin"], ["areas"], ["deadlines", "--as", "admin"],
                 ["check", "--against-database"], ["users", "list", "--as", "admin"]):
        result = run(env, *args, ok=False)
        assert result.exit_code == 8, (args, result.output)
        assert fails(env, *args) == (f"error: the database {path} does not exist; run "
                                     f"`workflow init` (with --demo for the Ishøj–Vallensbæk "
                                     f"demo data)"), args
    assert list(tmp_path.iterdir()) == []
    run(env, "init")  # which makes it
    assert path.exists()


def test_a_steps_data_prints_as_pairs_never_as_a_python_repr() -> None:
    """Found by a probe: ``workflow history`` printed ``issued={'document': 1, …}``."""
    from workflow.cli.common import pairs_text

    said = pairs_text({"areas": ["social", "jobcenter"], "n": 2,
                       "issued": {"document": 1, "party": None, "names": ["a", "b"]}})
    assert said == "areas=social,jobcenter, n=2, issued={document=1, names=a,b}"
