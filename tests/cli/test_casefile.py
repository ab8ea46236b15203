"""The case file on the command line, on SQLite and PostgreSQL: ``attach``, ``note`` and
``journal`` (a table, --csv, --json, --pdf, --get), and their refusals as one-line errors."""

from __future__ import annotations

import csv
import hashlib
import io
from pathlib import Path

import pytest

from tests import samples
from tests.cli.test_cli import Env, as_json, fails, run
from tests.web.test_api import require_libreoffice
from workflow.cli import casefile as cli_casefile
from workflow.engine import casefile


def letter(tmp_path: Path, name: str = "Brev fra IM.pdf", content: bytes = samples.PDF) -> str:
    path = tmp_path / name
    path.write_bytes(content)
    return str(path)


ATTACH = ["--direction", "received", "--date", "2018-01-08", "--party",
          "Indenrigsministeriet", "--description", "Anmodning om oplysninger",
          "--type", "ministry_request"]


def test_the_choices_are_the_engines() -> None:
    assert cli_casefile.DIRECTIONS == tuple(casefile.DIRECTIONS)
    assert cli_casefile.DOC_TYPES == tuple(casefile.DOC_TYPES)


def test_attach_note_and_journal(case_env: Env, tmp_path: Path) -> None:
    app_id = as_json(case_env, "list", "--as", "pl-ishoj")[-1]["id"]
    out = run(case_env, "attach", str(app_id), letter(tmp_path), *ATTACH, "--as",
              "legal-ishoj").stdout
    sha = hashlib.sha256(samples.PDF).hexdigest()
    assert out == f"Filed Brev fra IM.pdf in case {app_id} as document 1 " \
                  f"({len(samples.PDF):,} bytes, sha256 {sha}).\n"
    assert (tmp_path / "files" / sha[:2] / sha[2:4] / sha).read_bytes() == samples.PDF
    assert run(case_env, "note", str(app_id), "--text", "Ringede til IM.", "--as",
               "pl-ishoj").stdout == f"Noted in case {app_id} as document 2.\n"
    assert run(case_env, "note", str(app_id), "--text", "Det var Styrelsen.", "--corrects", "2",
               "--as", "pl-ishoj").stdout == \
        f"Noted in case {app_id} as document 3, correcting note 2.\n"
    shown = run(case_env, "journal", str(app_id), "--as", "sec-vallensbaek").stdout
    lines = shown.splitlines()
    assert lines[0].split() == ["no", "date", "kind", "direction", "type", "party",
                                "description", "by"]
    assert "Ringede til IM. (corrected by 3)" in shown and "(corrects 2)" in shown
    listed = as_json(case_env, "journal", str(app_id), "--as", "pl-ishoj")
    assert [e["number"] for e in listed] == [1, 2, 3]
    rows = list(csv.reader(io.StringIO(run(case_env, "journal", str(app_id), "--csv", "--as",
                                           "pl-ishoj").stdout), delimiter=";"))
    assert rows[0][0] == "Aktnr." and rows[1][1] == "8. januar 2018"
    got = tmp_path / "got.pdf"
    out = run(case_env, "journal", str(app_id), "--get", "1", "--out", str(got), "--as",
              "pl-ishoj").stdout
    assert got.read_bytes() == samples.PDF and out.startswith(f"Wrote {got}: document 1")


def test_the_aktliste_as_pdf(case_env: Env, tmp_path: Path) -> None:
    require_libreoffice()
    app_id = as_json(case_env, "list", "--as", "pl-ishoj")[-1]["id"]
    run(case_env, "note", str(app_id), "--text", "Notat.", "--as", "pl-ishoj")
    out = tmp_path / "aktliste.pdf"
    run(case_env, "journal", str(app_id), "--pdf", str(out), "--as", "pl-ishoj")
    assert out.read_bytes().startswith(b"%PDF-")


@pytest.mark.parametrize(("name", "content", "why"), [
    ("x.pdf.exe", samples.EXE, "a file named .exe is not accepted"),
    ("brev.pdf", samples.HTML, "the name says .pdf, but the content is HTML"),
    ("bombe.docx", samples.zip_bomb(), "zip bomb"),
])
def test_attach_refuses_bad_files(case_env: Env, tmp_path: Path, name: str, content: bytes,
                                  why: str) -> None:
    app_id = as_json(case_env, "list", "--as", "pl-ishoj")[-1]["id"]
    said = fails(case_env, "attach", str(app_id), letter(tmp_path, name, content), *ATTACH,
                 "--as", "pl-ishoj")
    assert why in said
    assert as_json(case_env, "journal", str(app_id), "--as", "pl-ishoj") == []
    assert not (tmp_path / "files").exists()


def test_attach_refuses_another_party_and_a_future_date(case_env: Env, tmp_path: Path) -> None:
    app_id = as_json(case_env, "list", "--as", "pl-ishoj")[-1]["id"]
    assert "is not a party" in fails(case_env, "attach", str(app_id), letter(tmp_path), *ATTACH,
                                     "--as", "pl-brondby")
    future = [*ATTACH[:2], "--date", "2018-01-09", *ATTACH[4:]]
    assert "in the future" in fails(case_env, "attach", str(app_id), letter(tmp_path), *future,
                                    "--as", "pl-ishoj")
    assert as_json(case_env, "journal", str(app_id), "--as", "pl-ishoj") == []


def test_note_prints_its_entry_as_json(case_env: Env) -> None:
    app_id = as_json(case_env, "list", "--as", "pl-ishoj")[-1]["id"]
    entry = as_json(case_env, "note", str(app_id), "--text", "Notat.", "--as", "pl-ishoj")
    assert (entry["number"], entry["kind"], entry["text"]) == (1, "note", "Notat.")
