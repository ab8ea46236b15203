"""The sections of the letter as templates: checked by ``templates check`` like any
template, part of the letter's template digest, their default text readable Markdown."""

from __future__ import annotations

import shutil
from pathlib import Path
from zoneinfo import ZoneInfo

from workflow.documents.drafts import Drafts
from workflow.documents.rendering import RawMarkdown, markdown_escape
from workflow.documents.samples import sample_inputs
from workflow.documents.sections import SECTIONS, context_sections, digestible, gentle_escape
from workflow.process.definition import load

PROJECT = Path(__file__).resolve().parents[2]


def drafts_on(templates: Path) -> Drafts:
    return Drafts(load(PROJECT / "states.yaml"), templates, ZoneInfo("Europe/Copenhagen"))


def test_the_checker_reads_the_section_templates(tmp_path: Path) -> None:
    copy = tmp_path / "templates"
    shutil.copytree(PROJECT / "templates", copy)
    assert drafts_on(copy).check() == []
    with (copy / "documents" / "sections" / "staff.md.j2").open("a") as f:
        f.write("{{ staff_count }} XXX\n")
    found = {str(p) for p in drafts_on(copy).check()}
    assert "sections/staff.md.j2:2: unknown name 'staff_count'" in found
    assert "sections/staff.md.j2:2: leftover placeholder text 'XXX'" in found


def test_a_section_template_is_part_of_the_letters_template_digest(tmp_path: Path) -> None:
    copy = tmp_path / "templates"
    shutil.copytree(PROJECT / "templates", copy)
    drafts = drafts_on(copy)
    letter = drafts.definition.drafts["application_letter"]
    before = drafts.sources(letter, None, sample_inputs(True))[2]
    assert [p.name for p in drafts.section_files(
        (copy / "documents" / "application_letter.md.j2").read_bytes())] == \
        [f"{n}.md.j2" for n in SECTIONS]
    (copy / "documents" / "sections" / "economy.md.j2").write_text("Ny tekst.\n")
    assert drafts_on(copy).sources(letter, None, sample_inputs(True))[2] != before
    assert [d.name for d in drafts.section_drafts("dispensation")] == ["application_letter"]
    assert drafts.section_drafts("satellite") == []


def test_written_sections_are_printed_as_markdown_and_digested_only_when_written() -> None:
    sections = context_sections({"reasons": "**Fed** <b>"})
    assert isinstance(sections["reasons"], RawMarkdown) and sections["staff"] is None
    assert markdown_escape(sections["reasons"]) == "**Fed** <b>"
    assert digestible(sections) == {"reasons": "**Fed** <b>"}
    assert digestible(context_sections({})) is None
    assert gentle_escape("lovens § 11 a, stk. 3 (2018-01-01)") == \
        "lovens § 11 a, stk. 3 (2018-01-01)"
    assert gentle_escape("*stjerne* <b> [x]") == markdown_escape("*stjerne* <b> [x]")
