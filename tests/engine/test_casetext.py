"""The case's own text: sections written per case, versioned, printed in the letter (read
back with python-docx), staling the drafts and flagging the approvals they change."""

from __future__ import annotations

import io

import docx
import pytest
from sqlalchemy import select

from tests.conftest import Clock
from tests.factories import make_application, walk_fire
from workflow.documents.sections import MAX_CHARS, SECTIONS, preview_html
from workflow.engine import casetext
from workflow.engine.queries import documents, history
from workflow.engine.workflow import Workflow
from workflow.errors import (
    ConflictError,
    GuardFailed,
    InvalidData,
    NotFound,
    PermissionDenied,
)
from workflow.store import database as store
from workflow.store import tables as t

ISHOJ_OK = {"decision": "approved", "meeting_date": "2018-04-03",
            "agenda_ref": "BR 3/4-18 pkt. 7"}
REASONS = ("**Særlige forhold.** Ishøj Kommune har siden 2015 opbygget et stærkt fagligt "
           "miljø på genoptræningsområdet.\n\n- 40 medarbejdere\n- egne lokaler")


def letter(wf: Workflow, app: int) -> dict:
    return next(d for d in documents(wf, app, user="admin") if d["name"] == "application_letter")


def letter_text(wf: Workflow, app: int, number: int | None = None) -> list[str]:
    got = wf.download(letter(wf, app)["id"], user="legal-ishoj", number=number)
    return [p.text for p in docx.Document(io.BytesIO(got.content)).paragraphs]


def test_sections_start_from_the_templates_text(wf: Workflow) -> None:
    app = make_application(wf, state="drafting")
    got = casetext.sections(wf, app, user="pl-vallensbaek")
    assert [s["name"] for s in got["sections"]] == list(SECTIONS)
    assert got["editable"] and got["may_edit"] and got["uses_sections"]
    by = {s["name"]: s for s in got["sections"]}
    assert by["reasons"]["text"].startswith("**Faglig bæredygtighed.** Begge kommuner")
    assert by["staff"]["text"].startswith("Kommunerne er opmærksomme på, at ministeren efter "
                                          "lovens § 11 a, stk. 3, kan")
    assert by["transition"]["text"].splitlines()[-1].startswith("7. Det økonomiske")
    assert not by["reasons"]["written"] and by["reasons"]["versions"] == 0
    # the template's text is exactly what the letter prints
    assert "Kommunerne er opmærksomme på, at ministeren efter lovens § 11 a, stk. 3, kan " \
        "fastsætte" in " ".join(letter_text(wf, app))
    # a council secretary reads them, but may not write them
    assert casetext.sections(wf, app, user="sec-ishoj")["may_edit"] is False


def test_a_saved_section_is_in_the_letter_and_every_version_is_kept(
        wf: Workflow, clock: Clock) -> None:
    app = make_application(wf, state="drafting")
    before = letter(wf, app)["latest"]
    clock.advance(hours=1)
    number, made = casetext.save_section(wf, app, "reasons", REASONS, user="legal-ishoj")
    assert number == 1 and [m.name for m in made] == ["application_letter"]
    doc = letter(wf, app)
    assert doc["latest"] == before + 1
    assert doc["versions"][-2]["stale"] and not doc["versions"][-1]["stale"]
    assert doc["versions"][-1]["trigger"] == "edit_section"
    text = letter_text(wf, app)
    i = text.index("Begrundelse")
    assert text[i + 1] == ("Særlige forhold. Ishøj Kommune har siden 2015 opbygget et stærkt "
                           "fagligt miljø på genoptræningsområdet.")
    assert text[i + 2:i + 4] == ["40 medarbejdere", "egne lokaler"]
    assert not any(p.startswith("Faglig bæredygtighed.") for p in text)
    assert any(p.startswith("Borgerne. Flere af opgaverne") for p in text)  # untouched
    # the same text again stores nothing; a new text is version 2, the first is kept
    assert casetext.save_section(wf, app, "reasons", REASONS + "\n\n", user="pl-ishoj") == (1, [])
    clock.advance(hours=1)
    number, _ = casetext.save_section(wf, app, "reasons", "Kort begrundelse.",
                                      user="pl-vallensbaek", based_on=1)
    assert number == 2
    versions = casetext.section_versions(wf, app, "reasons", user="sec-ishoj")
    assert [(v["number"], v["created_by"]) for v in versions] == \
        [(1, "legal-ishoj"), (2, "pl-vallensbaek")]
    assert versions[0]["body"] == REASONS
    assert "Kort begrundelse." in letter_text(wf, app)
    assert "40 medarbejdere" in letter_text(wf, app, number=before + 1)  # old bytes stay
    # the history names each edit
    edits = [e for e in history(wf, app, user="pl-ishoj") if e["trigger"] == "edit_section"]
    assert [(e["user"], e["data"]) for e in edits] == [
        ("legal-ishoj", {"section": "reasons", "number": 1}),
        ("pl-vallensbaek", {"section": "reasons", "number": 2})]
    # someone who started from version 1 is told who changed it since
    with pytest.raises(ConflictError, match="changed by pl-vallensbaek"):
        casetext.save_section(wf, app, "reasons", "Noget andet.", user="legal-ishoj",
                              based_on=1)


def test_an_edit_flags_the_council_approval_it_changes(wf: Workflow, clock: Clock) -> None:
    clock.at("2018-03-01T09:00")
    app = make_application(wf, state="council_approval")
    walk_fire(wf, app, "record_council_decision", user="sec-ishoj", data=ISHOJ_OK)
    approval, = letter(wf, app)["approvals"]
    assert approval["matches"]
    casetext.save_section(wf, app, "economy", "Økonomien er beskrevet i bilag 3.",
                          user="legal-vallensbaek")
    approval, = letter(wf, app)["approvals"]
    assert approval["matches"] is False and approval["same_bytes"] is False


def test_a_list_shows_each_document_as_the_case_does_without_its_versions(
        wf: Workflow, clock: Clock) -> None:
    """The lists read only each document's newest version; what they show of it (the
    newest number, each approval and whether it still matches) is the case's own."""
    from workflow.engine.queries import get_application, list_applications

    clock.at("2018-03-01T09:00")
    app = make_application(wf, state="council_approval")
    walk_fire(wf, app, "record_council_decision", user="sec-ishoj", data=ISHOJ_OK)
    casetext.save_section(wf, app, "economy", "Økonomien er beskrevet i bilag 3.",
                          user="legal-vallensbaek")    # a new version: the approval stale
    full = documents(wf, app, user="pl-ishoj")
    assert any(len(d["versions"]) > 1 for d in full)
    assert any(a["matches"] is False for d in full for a in d["approvals"])
    lean = [{k: v for k, v in d.items() if k != "versions"} for d in full]
    listed, = [r for r in list_applications(wf, user="pl-ishoj") if r["id"] == app]
    assert listed["documents"] == lean
    assert get_application(wf, app, user="pl-ishoj")["documents"] == lean


def test_who_may_write_and_when(wf: Workflow) -> None:
    app = make_application(wf, state="drafting")
    with pytest.raises(PermissionDenied, match="may not write the case's text"):
        casetext.save_section(wf, app, "reasons", "x", user="sec-ishoj")
    with pytest.raises(PermissionDenied, match="not a party"):
        casetext.save_section(wf, app, "reasons", "x", user="pl-brondby")
    with pytest.raises(PermissionDenied, match="not a party"):
        casetext.sections(wf, app, user="pl-brondby")
    with pytest.raises(NotFound, match="no section 'grounds'"):
        casetext.save_section(wf, app, "grounds", "x", user="pl-ishoj")
    sent = make_application(wf, state="submitted", areas=["social", "employment"])
    assert casetext.sections(wf, sent, user="pl-ishoj")["editable"] is False
    with pytest.raises(GuardFailed, match="cannot be changed in state 'submitted'"):
        casetext.save_section(wf, sent, "reasons", "x", user="pl-ishoj")
    # the first state: written before the letter exists, printed once it is made
    early = make_application(wf, state="area_selection", areas=[])
    casetext.save_section(wf, early, "staff", "Ingen medarbejdere berøres.", user="pl-ishoj")
    assert casetext.sections(wf, early, user="pl-ishoj")["sections"][3]["written"]


@pytest.mark.parametrize(("body", "said"), [
    ("", "the text is empty"),
    ("  \n\n ", "the text is empty"),
    ("a\x00b", "NUL character"),
    ("a\x1bb", "control character \\x1b"),
    ("a\ud800b", "lone UTF-16 surrogate"),
    ("x" * (MAX_CHARS + 1), "at most 20,000"),
])
def test_hostile_text_is_refused_and_nothing_stored(wf: Workflow, body: str, said: str) -> None:
    app = make_application(wf, state="drafting")
    with pytest.raises(InvalidData, match=said.replace("\\", "\\\\")):
        casetext.save_section(wf, app, "reasons", body, user="pl-ishoj")
    with pytest.raises(InvalidData):
        casetext.preview(wf, app, body, user="pl-ishoj")
    with store.read(wf.engine) as conn:
        assert conn.execute(select(t.case_section)).first() is None


def test_raw_html_stays_text_in_the_preview_and_the_letter(wf: Workflow) -> None:
    app = make_application(wf, state="drafting")
    hostile = ('<script>alert(1)</script> **fed** [link](javascript:alert(1)) '
               '<img src=x onerror=alert(1)>')
    html = casetext.preview(wf, app, hostile, user="pl-ishoj")
    assert "<script>" not in html and "<img" not in html and "href" not in html
    assert "&lt;script&gt;" in html and "<strong>fed</strong>" in html
    assert preview_html("# Titel") == "<h1>Titel</h1>\n"
    casetext.save_section(wf, app, "citizens", hostile, user="pl-ishoj")
    text = " ".join(letter_text(wf, app))
    assert "<script>alert(1)</script> fed" in text
