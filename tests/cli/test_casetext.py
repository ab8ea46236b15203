"""The command line of the case's own text and of drafts edited by hand, on SQLite and
PostgreSQL: ``sections``, ``section`` (print, save from a file), ``file-edited``,
``diff`` and ``regenerate``, and their refusals (one line, an exit code, nothing stored)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import docx
import pytest

from tests.cli.test_cli import fails, run
from tests.engine.test_edited import edited_copy
from tests.factories import make_application
from workflow.engine.queries import documents
from workflow.engine.workflow import Workflow

Env = dict[str, str]


@pytest.fixture
def env(db_url: str) -> Env:
    return {"WORKFLOW_DATABASE_URL": db_url, "WORKFLOW_NOW": "2018-01-08T14:00"}


def letter(wf: Workflow, app: int) -> dict:
    return next(d for d in documents(wf, app, user="admin") if d["name"] == "application_letter")


def test_sections_are_listed_printed_and_saved(wf: Workflow, env: Env, tmp_path: Path) -> None:
    app = make_application(wf, state="drafting")
    listed = run(env, "sections", str(app), "--as", "pl-ishoj").stdout
    assert listed.splitlines()[0].split() == ["section", "label", "text", "from", "versions",
                                              "begins"]
    assert "reasons     Begrundelse    template" in listed
    assert "The text may be written" in listed
    shown = run(env, "section", str(app), "staff", "--as", "sec-ishoj").stdout
    assert shown.startswith("Kommunerne er opmærksomme på, at ministeren efter lovens § 11 a,")

    text = tmp_path / "personale.md"
    text.write_text("Ingen medarbejdere overføres.\r\n\r\n- MED-udvalgene er hørt\n",
                    encoding="utf-8")
    said = run(env, "section", str(app), "staff", "--file", str(text), "--as", "legal-ishoj")
    before = letter(wf, app)["latest"]
    assert said.stdout == (f"Application {app}: staff (staff) is version 1; new draft "
                           f"versions: application_letter v{before}.\n")
    assert run(env, "section", str(app), "staff", "--as", "pl-ishoj").stdout == \
        "Ingen medarbejdere overføres.\n\n- MED-udvalgene er hørt\n"
    got = json.loads(run(env, "sections", str(app), "--as", "pl-ishoj", "--json").stdout)
    staff = next(s for s in got["sections"] if s["name"] == "staff")
    assert (staff["written"], staff["number"], staff["created_by"]) == (True, 1, "legal-ishoj")
    content = wf.download(letter(wf, app)["id"], user="pl-ishoj").content
    paragraphs = [p.text for p in docx.Document(io.BytesIO(content)).paragraphs]
    assert "MED-udvalgene er hørt" in paragraphs
    listed = run(env, "sections", str(app), "--as", "pl-ishoj").stdout
    assert "staff       Personale      v1 2018-01-08 14:00 legal-ishoj" in listed


def test_section_refusals(wf: Workflow, env: Env, tmp_path: Path) -> None:
    app = make_application(wf, state="drafting")
    bad = tmp_path / "bad.md"
    bad.write_bytes(b"\xff\xfe nope")
    assert "not UTF-8 text" in fails(env, "section", str(app), "reasons", "--file", str(bad),
                                     "--as", "pl-ishoj")
    bad.write_text("a\x1bb", encoding="utf-8")
    assert fails(env, "section", str(app), "reasons", "--file", str(bad), "--as",
                 "pl-ishoj") == "error: the text contains the control character \\x1b"
    good = tmp_path / "good.md"
    good.write_text("Fin tekst.", encoding="utf-8")
    assert "may not write the case's text" in fails(
        env, "section", str(app), "reasons", "--file", str(good), "--as", "sec-ishoj")
    assert "no section 'why'" in fails(env, "section", str(app), "why", "--as", "pl-ishoj")
    assert "not a party" in fails(env, "sections", str(app), "--as", "pl-brondby")
    assert "No such file" in fails(env, "section", str(app), "reasons", "--file",
                                   str(tmp_path / "missing.md"), "--as", "pl-ishoj")
    assert not json.loads(run(env, "sections", str(app), "--as", "pl-ishoj", "--json")
                          .stdout)["sections"][0]["written"]


def test_an_edited_draft_on_the_command_line(wf: Workflow, env: Env, tmp_path: Path) -> None:
    app = make_application(wf, state="legal_review")
    doc = letter(wf, app)
    out = tmp_path / "udkast.docx"
    run(env, "download", str(doc["id"]), "--out", str(out), "--as", "legal-ishoj")
    edited = tmp_path / "rettet.docx"
    edited.write_bytes(edited_copy(out.read_bytes(), "Ophævelse af det", "Rettet i Word."))
    said = run(env, "file-edited", str(doc["id"]), str(edited), "--note", "Rettet",
               "--as", "legal-ishoj").stdout
    number = doc["latest"] + 1
    assert said.startswith(f"Document {doc['id']}: filed {edited} as version {number}, "
                           f"edited by hand from version {doc['latest']}; sha256 ")
    listed = run(env, "documents", str(app), "--as", "pl-ishoj").stdout
    assert f"file_edited (by hand, from v{doc['latest']})" in listed
    diff = run(env, "diff", str(doc["id"]), str(number), "--as", "pl-ishoj").stdout
    assert diff.startswith(f"--- v{doc['latest']}\n+++ v{number}\n")
    assert "\n+Rettet i Word.\n" in diff
    assert "was edited by hand by legal-ishoj" in fails(
        env, "regenerate", str(doc["id"]), "--as", "legal-ishoj")
    assert run(env, "regenerate", str(doc["id"]), "--confirm", "--note", "Tilbage",
               "--as", "legal-ishoj").stdout.startswith(
        f"Document {doc['id']}: made version {number + 1} from the template; sha256 ")
    # no .docx, or not legal staff: refused, nothing filed
    fake = tmp_path / "x.docx"
    fake.write_bytes(b"<html>not word</html>")
    assert fails(env, "file-edited", str(doc["id"]), str(fake), "--as", "legal-ishoj") == \
        "error: not a Word document (.docx): it is HTML"
    assert "may not file an edited draft" in fails(
        env, "file-edited", str(doc["id"]), str(edited), "--as", "pl-ishoj")
    assert letter(wf, app)["latest"] == number + 1
