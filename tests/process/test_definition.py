"""The definition loader and validator: every problem located by file, line and key.

Each error is produced by mutating the shipped ``states.yaml`` text; the expected line is
computed from the mutated text (never hard-coded), so the tests keep working when the
shipped file is edited, as long as the mutated snippets are still in it.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from workflow.cli.app import cli
from workflow.errors import DefinitionError, Problem
from workflow.process.definition import Definition, load, loads

SHIPPED = Path(__file__).resolve().parents[2] / "states.yaml"
TEXT = SHIPPED.read_text(encoding="utf-8")
FILE = "states-under-test.yaml"
TRIGGER_ITEM = "\n      - trigger: "
B = "processes.bum_agreement"


# ------------------------------------------------------------------------ helpers
def mutate(old: str, new: str, text: str = TEXT) -> str:
    """Replace the first occurrence of ``old`` (which must be there) by ``new``."""
    assert old in text, f"the shipped states.yaml no longer contains {old!r}"
    return text.replace(old, new, 1)


def line_of(text: str, snippet: str, occurrence: int = 1) -> int:
    """1-based number of the line on which the ``occurrence``-th ``snippet`` starts."""
    pos = -1
    for _ in range(occurrence):
        pos = text.index(snippet, pos + 1)
    return text.count("\n", 0, pos) + 1


def transition_index(text: str, snippet: str) -> int:
    """0-based index, in the transitions list, of the transition containing ``snippet``."""
    pos = text.index(snippet)
    return sum(1 for m in re.finditer(re.escape(TRIGGER_ITEM), text) if m.start() < pos) - 1


def problems_of(text: str) -> list[Problem]:
    with pytest.raises(DefinitionError) as exc:
        loads(text, file=FILE)
    assert exc.value.problems, "a DefinitionError must list its problems"
    return exc.value.problems


def the_problem(problems: list[Problem], key: str) -> Problem:
    found = [p for p in problems if p.key == key]
    assert len(found) == 1, f"expected one problem at {key}, got: {[str(p) for p in problems]}"
    return found[0]


# --------------------------------------------------------------- the shipped file
def test_the_shipped_file_loads() -> None:
    d = load(SHIPPED)
    assert isinstance(d, Definition)
    assert d.file == str(SHIPPED)
    assert d.source == TEXT
    assert d.closure_days == ((6, 5), (12, 24), (12, 31))
    assert d.holidays == "DK"
    assert set(d.roles) == {"project_lead", "council_secretary", "legal", "steering_group",
                            "admin"}
    assert d.kinds == ["dispensation", "exit", "jobcentre", "satellite", "bum_agreement"]
    app = d.processes["application"]
    assert app.final_states == ["closed", "withdrawn"]
    assert app.triggers_from("area_selection") == ["propose_areas", "update_details",
                                                   "confirm_areas", "withdraw"]
    # a transition with several sources becomes one spec per source, all from one list item
    withdraws = [t for t in app.transitions if t.trigger == "withdraw"]
    assert [t.source for t in withdraws] == ["area_selection", "drafting", "legal_review",
                                             "council_approval"] * 3
    assert [t.line for t in withdraws[::4]] == [
        line_of(TEXT, "- trigger: withdraw", occurrence=n) for n in (1, 2, 3)]
    # three branches: alone while the other has not acted, jointly, the steering group
    assert [(t.roles, t.joint, [g.name for g in t.guards]) for t in withdraws[::4]] == [
        (("project_lead",), None, ["only_party_so_far"]),
        (("project_lead",), "withdrawal", []), (("steering_group",), None, [])]
    drafting = app.states["drafting"].deadline
    assert drafting is not None and drafting.expr.text == "20 working days"
    council = app.states["council_approval"].deadline
    assert council is not None and council.per_party and council.met_by == "council"


def test_every_state_has_a_danish_and_an_english_label() -> None:
    d = load(SHIPPED)
    assert d.processes
    for process in d.processes.values():
        assert process.label.da.strip() and process.label.en.strip()
        assert process.states
        for state in process.states.values():
            assert state.label.da.strip(), f"{process.name}.{state.name} has no Danish label"
            assert state.label.en.strip(), f"{process.name}.{state.name} has no English label"
            assert str(state.label) == state.label.da
        for kind in process.kinds.values():
            assert kind.label.da.strip() and kind.label.en.strip()


def test_the_hash_is_of_the_text_and_changes_with_it() -> None:
    d = loads(TEXT)
    assert d.hash == hashlib.sha256(TEXT.encode("utf-8")).hexdigest()
    assert loads(TEXT).hash == d.hash
    assert loads(TEXT + "\n# a comment changes the text, so the hash\n").hash != d.hash
    renamed = mutate("{da: Bevilget, en: Granted}", "{da: Bevilliget, en: Granted}")
    assert loads(renamed).hash != d.hash


def test_process_for_kind() -> None:
    d = loads(TEXT)
    for kind in ("dispensation", "jobcentre", "satellite"):
        assert d.process_for_kind(kind) is d.processes["application"]
    assert d.processes["application"].kinds["jobcentre"].areas == ("employment",)
    assert d.processes["application"].kinds["dispensation"].rounds == (1, 2)
    with pytest.raises(KeyError):
        d.process_for_kind("bridge_building")


def test_load_names_the_file_and_a_missing_file_is_a_problem(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text(mutate("roles: [legal]", "roles: [lawyer]"), encoding="utf-8")
    with pytest.raises(DefinitionError) as exc:
        load(path)
    assert [p.file for p in exc.value.problems] == [str(path)]
    with pytest.raises(DefinitionError) as exc:
        load(tmp_path / "absent.yaml")
    (p,) = exc.value.problems
    assert (p.file, p.line, p.key) == (str(tmp_path / "absent.yaml"), None, "(file)")


def test_problem_text_is_file_line_key_message() -> None:
    assert str(Problem("s.yaml", 12, "roles.x", "bad")) == "s.yaml:12: roles.x: bad"
    assert str(Problem("s.yaml", None, "(file)", "gone")) == "s.yaml: (file): gone"
    err = DefinitionError([Problem("s.yaml", 1, "a", "b"), Problem("s.yaml", 2, "c", "d")])
    assert str(err).splitlines() == ["2 problems in the process definition:",
                                     "  s.yaml:1: a: b", "  s.yaml:2: c: d"]


# ------------------------------------------------------------------------ syntax
@pytest.mark.parametrize(("new", "message"), [
    ("  legal: da: Jurist, en: Legal staff", "mapping values are not allowed here"),
    ("\tlegal: {da: Jurist, en: Legal staff}", "found character '\\t'"),
])
def test_yaml_syntax_error_has_its_line(new: str, message: str) -> None:
    text = mutate("  legal: {da: Jurist, en: Legal staff}", new)
    (p,) = problems_of(text)
    assert p.file == FILE
    assert p.key == "(syntax)"
    assert p.line == line_of(text, new)
    assert message in p.message


def test_duplicate_key_in_a_mapping() -> None:
    dup = "  legal: {da: Jurist igen, en: Legal again}\n"
    text = mutate("  legal: {da: Jurist, en: Legal staff}\n",
                  "  legal: {da: Jurist, en: Legal staff}\n" + dup)
    (p,) = problems_of(text)
    assert (p.file, p.key, p.message) == (FILE, "roles.legal", "duplicate key")
    assert p.line == line_of(text, dup)  # the second occurrence is the problem


def test_duplicate_key_in_a_nested_mapping() -> None:
    text = mutate("        deadline: 20 working days\n",
                  "        deadline: 20 working days\n        deadline: 5 working days\n")
    (p,) = problems_of(text)
    assert p.key == "processes.application.states.drafting.deadline"
    assert p.message == "duplicate key"
    assert p.line == line_of(text, "deadline: 5 working days")


# --------------------------------------------------------- one problem each, located
P = "processes.application"
LIMBO = "      limbo: {da: Limbo, en: Limbo, final: true}\n"
WITHDRAWN = "      withdrawn: {da: Trukket tilbage, en: Withdrawn, final: true}\n"

# (id, old, new, key ("{t}" = index of the mutated transition), message fragment,
#  snippet on the offending line, whether it is the only problem)
CASES: list[tuple[str, str, str, str, str, str, bool]] = [
    ("unknown-top-level-key", "schema: 1\n", "schema: 1\ncolour: blue\n",
     "colour", "unknown key; expected one of calendar, documents, fields, processes, "
     "reminders, roles, schema", "colour: blue", True),
    ("unknown-dest", "dest: legal_review\n", "dest: legal_reveiw\n",
     P + ".transitions.{t}.dest", "unknown state 'legal_reveiw'", "dest: legal_reveiw", False),
    ("unknown-source", "source: drafting\n", "source: draftin\n",
     P + ".transitions.{t}.source", "unknown state 'draftin'", "source: draftin", False),
    ("unreachable-state", WITHDRAWN, WITHDRAWN + LIMBO,
     P + ".states.limbo", "state 'limbo' is unreachable from any kind's initial state",
     LIMBO, True),
    ("non-final-without-way-out", "closed: {da: Afsluttet, en: Closed, final: true}",
     "closed: {da: Afsluttet, en: Closed}",
     P + ".states.closed", "state 'closed' is not final but has no way out",
     "closed: {da: Afsluttet", True),
    ("final-with-outgoing", "        en: Refused\n", "        en: Refused\n        final: true\n",
     P + ".states.refused", "final state 'refused' has outgoing transitions",
     "      refused:\n", True),
    ("unknown-role", "roles: [legal]", "roles: [lawyer]",
     P + ".transitions.{t}.roles", "unknown role 'lawyer'; known: project_lead",
     "roles: [lawyer]", True),
    ("unknown-guard", "guards: [matches_proposal]", "guards: [matches_proposl]",
     P + ".transitions.{t}.guards.0", "unknown guard 'matches_proposl'; known: acting_as",
     "guards: [matches_proposl]", True),
    ("guard-needs-argument", "guards: [{all_parties: council}]", "guards: [all_parties]",
     P + ".transitions.{t}.guards.0", "guard 'all_parties' needs an argument",
     "guards: [all_parties]", True),
    ("guard-takes-no-argument", "guards: [matches_proposal]",
     "guards: [{matches_proposal: council}]",
     P + ".transitions.{t}.guards.0", "guard 'matches_proposal' takes no argument",
     "guards: [{matches_proposal: council}]", True),
    ("unknown-effect", "effects: [claim_areas]", "effects: [claim_area]",
     P + ".transitions.{t}.effects.0", "unknown effect 'claim_area'; known: claim_areas",
     "effects: [claim_area]", True),
    ("bad-deadline-expression", "deadline: 20 working days", "deadline: 20 workin days",
     P + ".states.drafting.deadline", "bad deadline expression: cannot read '20 workin days'",
     "deadline: 20 workin days", True),
    ("deadline-on-a-text-field", "due: 10 working days,", "due: agenda_ref,",
     P + ".states.legal_review.deadline",
     "deadline refers to 'agenda_ref', which is not a date field", "due: agenda_ref", True),
    ("deadline-on-an-unknown-field", "due: 10 working days,",
     "due: 5 working days before meeting_dat,",
     P + ".states.legal_review.deadline",
     "deadline refers to 'meeting_dat', which is not a date field",
     "due: 5 working days before meeting_dat", True),
    ("deadline-per-must-be-party", "{due: due_date or 30 days, per: party, met_by: conditions,",
     "{due: due_date or 30 days, per: team, met_by: conditions,",
     P + ".states.conditions_announced.deadline.per", "per must be 'party'",
     "per: team", True),
    ("unknown-field-in-requires", "requires: [reference, request_date, questions]",
     "requires: [referense, request_date, questions]", P + ".transitions.{t}.requires",
     "unknown field 'referense'", "requires: [referense, request_date, questions]", True),
    ("when-value-not-a-choice", "when: {decision: rejected}", "when: {decision: rejectd}",
     P + ".transitions.{t}.when.decision", "'rejectd' is not one of approved, rejected",
     "when: {decision: rejectd}", True),
    ("when-on-an-unknown-field", "when: {decision: rejected}", "when: {decison: rejected}",
     P + ".transitions.{t}.when.decison", "unknown field 'decison'",
     "when: {decison: rejected}", True),
    ("closure-day-not-mm-dd", '"12-24", "12-31"]', '"12-24", "31-12"]',
     "calendar.closure_days.2", "expected MM-DD, got '31-12'", '"31-12"', True),
    ("closure-day-short", '"06-05", "12-24"', '"6-5", "12-24"',
     "calendar.closure_days.0", "expected MM-DD, got '6-5'", '"6-5"', True),
    ("unknown-initial-state", "initial: area_selection", "initial: area_selecton",
     P + ".kinds.dispensation.initial", "unknown state 'area_selecton'",
     "initial: area_selecton", True),
    ("state-label-missing", "granted: {da: Bevilget, en: Granted}", "granted: {da: Bevilget}",
     P + ".states.granted.en", "a label needs a non-empty text", "granted: {da: Bevilget}",
     False),
    ("unknown-schema", "schema: 1", "schema: 2", "schema", "only schema 1 is known",
     "schema: 2", True),
    # the BUM agreement process
    ("deadline-for-a-text-field", "due: 03-01 of cycle_year, for: provider",
     "due: 03-01 of cycle_year, for: service", B + ".states.true_up.deadline.for",
     "for names a municipality field", "for: service", True),
    ("day-of-year-of-a-text-field", "due: 05-01 of cycle_year", "due: 05-01 of service",
     B + ".states.volume.deadline", "deadline refers to 'service', which is not a date or "
     "integer field", "due: 05-01 of service", True),
    ("day-of-year-not-in-every-year", "due: 06-01 of cycle_year", "due: 02-29 of cycle_year",
     B + ".states.pricing.deadline", "02-29 is not a day of every year",
     "due: 02-29 of cycle_year", True),
    ("letterhead-of-a-text-field", 'template: bum_agreement.md.j2\n      letterhead: "{provider}"',
     'template: bum_agreement.md.j2\n      letterhead: "{service}"',
     "documents.drafts.bum_agreement.letterhead",
     "{service}: only {party} or a municipality field", 'letterhead: "{service}"', True),
    ("own-template-of-an-unknown-column", "own_template: agenda_template",
     "own_template: agenda_file", "documents.drafts.agenda_item.own_template",
     "'agenda_file': a council's own template is named by agenda_template",
     "own_template: agenda_file", True),
    ("kind-parties-not-required", "parties: [provider, purchaser]",
     "parties: [provider, service]", B + ".kinds.bum_agreement.parties",
     "'service' must be a required municipality field", "parties: [provider, service]", True),
]


def test_a_state_may_not_be_named_same() -> None:
    text = mutate("ended: {da: Ophørt, en: Ended, final: true}",
                  "same: {da: Ophørt, en: Ended, final: true}")
    found = [p for p in problems_of(text) if p.key == f"{B}.states.same"]
    assert any("'same' is reserved" in p.message for p in found)
    assert {p.line for p in found} == {line_of(text, "same: {da: Ophørt")}


@pytest.mark.parametrize(("old", "new", "key", "message", "where", "alone"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_problem_is_located(old: str, new: str, key: str, message: str, where: str,
                                 alone: bool) -> None:
    text = mutate(old, new)
    if "{t}" in key:
        key = key.format(t=transition_index(text, new))
    problems = problems_of(text)
    p = the_problem(problems, key)
    assert p.file == FILE
    assert p.line == line_of(text, where), str(p)
    assert message in p.message
    if alone:
        assert problems == [p]


def test_unknown_dest_also_reports_what_becomes_unreachable() -> None:
    text = mutate("dest: legal_review\n", "dest: legal_reveiw\n")
    keys = {p.key for p in problems_of(text)}
    assert f"{P}.states.legal_review" in keys  # nothing else leads to it
    assert f"{P}.states.council_approval" in keys
    assert f"{P}.states.drafting" not in keys  # still reached by confirm_areas


# Where the application process's transitions end (the BUM process follows them).
APPLICATION_END = TEXT.index("\n  # Voluntary cooperation after release")


def append_to_application(block: str) -> str:
    return TEXT[:APPLICATION_END].rstrip("\n") + "\n\n" + block + TEXT[APPLICATION_END:]


def test_duplicate_trigger_from_one_state() -> None:
    start = TEXT.index("      - trigger: answer_info")
    block = TEXT[start:TEXT.index("\n\n", start)] + "\n"
    original = transition_index(TEXT, "- trigger: answer_info")
    text = append_to_application(block)
    problems = problems_of(text)
    # the copy is appended after every existing transition of the process
    last = TEXT[:APPLICATION_END].count(TRIGGER_ITEM)
    p = the_problem(problems, f"{P}.transitions.{last}.trigger")
    assert p.line == line_of(text, "- trigger: answer_info", occurrence=2)
    assert p.message == (f"duplicate trigger 'answer_info' from state 'info_requested' "
                         f"(same conditions as transition #{original + 1})")
    assert problems == [p]


def test_same_trigger_with_a_different_when_is_no_duplicate() -> None:
    # record_council_decision already exists twice, told apart by `when`; a third copy
    # with the same `when` as the first is the duplicate, the original pair is not.
    start = TEXT.index("      - trigger: record_council_decision")
    block = TEXT[start:TEXT.index("\n\n", start)] + "\n"
    assert "when: {decision: rejected}" in block
    problems = problems_of(append_to_application(block))
    assert [p.message.split(" (")[0] for p in problems] == [
        "duplicate trigger 'record_council_decision' from state 'council_approval'"]


def test_several_problems_are_reported_at_once() -> None:
    text = TEXT
    for old, new in [("schema: 1\n", "schema: 1\ncolour: blue\n"),
                     ('"12-24", "12-31"]', '"12-24", "12-32"]'),
                     ("deadline: 20 working days", "deadline: 20 workin days"),
                     ("guards: [matches_proposal]", "guards: [matches_proposl]"),
                     ("roles: [legal]", "roles: [lawyer]"),
                     ("effects: [claim_areas]", "effects: [claim_area]"),
                     ("requires: [reference, request_date, questions]",
                      "requires: [referense, request_date, questions]")]:
        text = mutate(old, new, text)
    problems = problems_of(text)
    found = {(p.key, p.line) for p in problems}
    t = f"{P}.transitions"
    assert found == {
        ("colour", line_of(text, "colour: blue")),
        ("calendar.closure_days.2", line_of(text, '"12-32"')),
        (f"{P}.states.drafting.deadline", line_of(text, "20 workin days")),
        (f"{t}.{transition_index(text, 'matches_proposl')}.guards.0",
         line_of(text, "matches_proposl")),
        (f"{t}.{transition_index(text, 'lawyer')}.roles", line_of(text, "lawyer")),
        (f"{t}.{transition_index(text, 'claim_area]')}.effects.0",
         line_of(text, "claim_area]")),
        (f"{t}.{transition_index(text, 'referense')}.requires", line_of(text, "referense")),
    }
    assert len(problems) == 7
    assert all(p.file == FILE for p in problems)
    with pytest.raises(DefinitionError, match="^7 problems in the process definition:"):
        loads(text, file=FILE)


# ------------------------------------------- once bugs: each is a problem, not a crash
@pytest.mark.parametrize(("old", "new"), [
    ("when: {decision: rejected}", "when: {decision: [rejected, approved]}"),
    ("guards: [{all_parties: council}]", "guards: [{all_parties: [council]}]"),
])
def test_a_list_where_a_name_belongs_is_a_problem_not_a_crash(old: str, new: str) -> None:
    text = mutate(old, new)
    problems = problems_of(text)
    assert {p.line for p in problems} == {line_of(text, new)}


def test_a_duplicate_key_does_not_hide_the_other_problems() -> None:
    text = mutate("  legal: {da: Jurist, en: Legal staff}\n",
                  "  legal: {da: Jurist, en: Legal staff}\n  legal: {da: J, en: L}\n")
    text = mutate("roles: [legal]", "roles: [lawyer]", text)
    keys = {p.key for p in problems_of(text)}
    assert "roles.legal" in keys
    assert f"{P}.transitions.{transition_index(text, 'lawyer')}.roles" in keys


def test_an_unknown_holiday_calendar_is_a_problem() -> None:
    text = mutate("holidays: DK", "holidays: XX")
    p = the_problem(problems_of(text), "calendar.holidays")
    assert p.line == line_of(text, "holidays: XX")


def test_closure_days_that_are_not_a_list_are_one_problem() -> None:
    text = mutate('["06-05", "12-24", "12-31"]', '"06-05"')
    problems = problems_of(text)
    assert len(problems) == 1
    assert problems[0].key == "calendar.closure_days"


def test_an_impossible_closure_day_is_a_problem() -> None:
    problems_of(mutate('"12-24", "12-31"]', '"12-24", "02-30"]'))


# --------------------------------------------------------------------------- CLI
PROBLEM_LINE = re.compile(r"^(?P<file>.+?):(?P<line>\d+): (?P<key>\S+): (?P<message>.+)$")


def broken_file(tmp_path: Path) -> tuple[Path, dict[str, int]]:
    """A states file with two problems; returns it and the expected {key: line}."""
    text = mutate("deadline: 20 working days", "deadline: 20 workin days")
    text = mutate("guards: [matches_proposal]", "guards: [matches_proposl]", text)
    path = tmp_path / "broken.yaml"
    path.write_text(text, encoding="utf-8")
    t = transition_index(text, "matches_proposl")
    return path, {f"{P}.states.drafting.deadline": line_of(text, "20 workin days"),
                  f"{P}.transitions.{t}.guards.0": line_of(text, "matches_proposl")}


@pytest.mark.parametrize("how", ["env", "argument"])
def test_check_on_a_broken_file(tmp_path: Path, how: str) -> None:
    path, expected = broken_file(tmp_path)
    args, env = (["check"], {"WORKFLOW_STATES_FILE": str(path)}) if how == "env" else \
        (["check", str(path)], {})
    result = CliRunner().invoke(cli, args, env=env)
    assert result.exit_code == DefinitionError.exit_code != 0
    assert isinstance(result.exception, SystemExit)  # handled, not an uncaught error
    assert "Traceback" not in result.output
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[0] == "error: 2 problems in the process definition:"
    found = {}
    for line in lines[1:]:
        m = PROBLEM_LINE.match(line.strip())
        assert m, f"not file:line: key: message: {line!r}"
        assert m["file"] == str(path)
        found[m["key"]] = int(m["line"])
    assert found == expected


def test_check_json_on_a_broken_file(tmp_path: Path) -> None:
    path, expected = broken_file(tmp_path)
    result = CliRunner().invoke(cli, ["check", "--json"], env={"WORKFLOW_STATES_FILE": str(path)})
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    out = json.loads(result.stdout)
    assert out["ok"] is False
    assert out["file"] == str(path)
    assert {p["key"]: p["line"] for p in out["problems"]} == expected
    for p in out["problems"]:
        assert p["file"] == str(path) and isinstance(p["line"], int) and p["message"]


def test_check_json_on_a_syntax_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    text = mutate("  legal: {da: Jurist, en: Legal staff}", "  legal: da: Jurist")
    path.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(cli, ["check", "--json", str(path)])
    assert result.exit_code != 0
    out = json.loads(result.stdout)
    assert out["ok"] is False
    assert [(p["key"], p["line"]) for p in out["problems"]] == [
        ("(syntax)", line_of(text, "legal: da: Jurist"))]


def test_check_on_a_missing_file(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["check", str(tmp_path / "absent.yaml")])
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    assert "(file)" in result.stderr


def test_check_on_the_good_file() -> None:
    d = load(SHIPPED)
    result = CliRunner().invoke(cli, ["check"], env={"WORKFLOW_STATES_FILE": str(SHIPPED)})
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == f"{SHIPPED}: OK ({d.hash[:12]})"
    assert "kinds dispensation, exit, jobcentre, satellite" in result.stdout
    result = CliRunner().invoke(cli, ["check", "--json"])  # the default is the shipped file
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["ok"] is True and out["hash"] == d.hash
    app = d.processes["application"]
    assert out["processes"]["application"] == {
        "states": len(app.states), "transitions": len(app.transitions),
        "kinds": ["dispensation", "exit", "jobcentre", "satellite"]}


# ----------------------------------------------- alias bombs and deep nesting
def alias_bomb(levels: int = 9) -> str:
    """A "billion laughs": each anchor nine aliases of the one before (1 KB of YAML,
    9**9 values once expanded)."""
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, levels)]
    return "\n".join([*lines, f"roles: *a{levels - 1}", "schema: 1", ""])


def deep(levels: int, *, flow: bool) -> str:
    if flow:
        return "schema: 1\nroles: " + "[" * levels + "]" * levels + "\n"
    return "schema: 1\nroles:\n" + "".join(f"{'  ' * (i + 1)}k{i}:\n" for i in range(levels))


def test_an_alias_bomb_is_one_located_problem_at_once() -> None:
    import time

    text = alias_bomb()
    assert len(text) < 1024
    started = time.perf_counter()
    with pytest.raises(DefinitionError) as caught:
        loads(text, file=FILE)
    assert time.perf_counter() - started < 5  # (it was over a minute, and 5.6 GB)
    (p,) = caught.value.problems
    assert (p.file, p.line, p.key) == (FILE, 6, "a5.0")
    assert p.message == ("the document expands to more than 100,000 values (aliases of "
                         "aliases); write it out without them")


def test_aliases_that_stay_small_still_work() -> None:
    text = mutate("  project_lead: {da: Projektleder, en: Project lead}",
                  "  project_lead: &lead {da: Projektleder, en: Project lead}")
    text = mutate("  legal: {da: Jurist, en: Legal staff}", "  legal: *lead", text)
    d = loads(text, file=FILE)
    assert d.roles["legal"] == d.roles["project_lead"]


@pytest.mark.parametrize(("levels", "flow"), [
    (65, True), (500, True), (900, True), (5000, True), (100_000, True),
    (65, False), (500, False), (900, False)])  # (deeper blocks: the text is gigabytes)
def test_deep_nesting_is_one_located_problem(levels: int, flow: bool) -> None:
    with pytest.raises(DefinitionError) as caught:
        loads(deep(levels, flow=flow), file=FILE)
    (p,) = caught.value.problems
    assert p.file == FILE and p.line is not None
    if levels > 1000:  # the C parser's own limit is a thousand levels
        assert (p.key, p.message) == ("(syntax)", "exceeded maximum nesting depth"), p
    else:
        assert p.message == "nested more than 64 levels deep"
        assert p.key.startswith("roles.") and p.key.endswith(".…")
        assert p.line == (2 if flow else 2 + 65)


def test_deep_nesting_without_the_c_parser_is_one_located_problem(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import yaml

    from workflow.process import located

    monkeypatch.setattr(located, "_LOADER", yaml.SafeLoader)
    for text, line in ((deep(2000, flow=True), 2), (deep(600, flow=False), 2 + 65)):
        with pytest.raises(DefinitionError) as caught:
            loads(text, file=FILE)
        (p,) = caught.value.problems
        assert (p.line, p.message) == (line, "nested more than 64 levels deep"), p


@pytest.mark.parametrize("text", [alias_bomb(), deep(500, flow=True), deep(5000, flow=True)],
                         ids=["alias bomb", "500 levels", "5000 levels"])
def test_check_says_a_hostile_file_in_one_located_line_exit_3(tmp_path: Path,
                                                               text: str) -> None:
    path = tmp_path / "hostile.yaml"
    path.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(cli, ["check", str(path)])
    assert result.exit_code == 3, result.output
    assert "Traceback" not in result.output and result.stdout == ""
    head, located_line = result.stderr.splitlines()
    assert head == "error: 1 problem in the process definition:"
    assert re.fullmatch(rf"  {re.escape(str(path))}:\d+: \S+: .+", located_line)
