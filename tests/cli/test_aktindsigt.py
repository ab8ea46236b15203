"""Aktindsigt on the command line, on SQLite and PostgreSQL: ``exempt`` (withhold, list,
lift) and ``export ID --aktindsigt OUT.zip``, and their refusals as one-line errors."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from tests import samples
from tests.cli.test_cli import Env, as_json, fails, run
from workflow.cli import casefile as cli_casefile
from workflow.documents import aktindsigt

ATTACH = ["--direction", "received", "--date", "2018-01-08", "--party", "Jens Hansen",
          "--description", "Borgerhenvendelse", "--type", "letter"]


def test_the_fields_are_the_engines() -> None:
    assert cli_casefile.FIELDS == tuple(aktindsigt.FIELDS)


def test_exempt_then_export_then_lift(case_env: Env, tmp_path: Path) -> None:
    app_id = str(as_json(case_env, "list", "--as", "pl-ishoj")[-1]["id"])
    pdf = tmp_path / "henvendelse.pdf"
    pdf.write_bytes(samples.PDF)
    run(case_env, "attach", app_id, str(pdf), *ATTACH, "--as", "legal-ishoj")
    note = run(case_env, "note", app_id, "--text", "Intern vurdering.", "--as", "pl-ishoj").stdout
    note_no = note.split("document ")[1].split(".")[0]
    out = run(case_env, "exempt", app_id, note_no, "--ground", "internal", "--reason",
              "Internt arbejdsdokument", "--as", "legal-ishoj").stdout
    assert "offentlighedsloven § 23, stk. 1, nr. 1 (Internal document)" in out   # English
    listed = run(case_env, "exempt", app_id, "--as", "legal-ishoj").stdout
    assert "public_economy" in listed and "Internt arbejdsdokument" in listed
    zipped = tmp_path / "aktindsigt.zip"
    said = as_json(case_env, "export", app_id, "--aktindsigt", str(zipped), "--as", "legal-ishoj")
    assert said["withheld"] == [{"number": int(note_no), "field": None, "ground": "internal",
                                 "cite": "offentlighedsloven § 23, stk. 1, nr. 1"}]
    z = zipfile.ZipFile(zipped)
    assert not any(n.startswith("notater/") for n in z.namelist())
    assert any(z.read(n) == samples.PDF for n in z.namelist() if n.startswith("dokumenter/"))
    assert json.loads(z.read("manifest.json"))["withheld"][0]["number"] == int(note_no)
    # an existing file is kept unless --force
    assert "exists" in fails(case_env, "export", app_id, "--aktindsigt", str(zipped),
                             "--as", "legal-ishoj")
    run(case_env, "exempt", app_id, note_no, "--lift", "--as", "legal-ishoj")
    run(case_env, "export", app_id, "--aktindsigt", str(zipped), "--force", "--as", "legal-ishoj")
    assert any(n.startswith("notater/") for n in zipfile.ZipFile(zipped).namelist())


def test_refusals_are_one_line_and_leave_no_file(case_env: Env, tmp_path: Path) -> None:
    app_id = str(as_json(case_env, "list", "--as", "pl-ishoj")[-1]["id"])
    zipped = tmp_path / "a.zip"
    assert "may not decide or export an aktindsigt" in fails(
        case_env, "export", app_id, "--aktindsigt", str(zipped), "--as", "pl-ishoj")
    assert not zipped.exists() and not list(tmp_path.glob(".a.zip.*"))
    assert "unknown ground" in fails(case_env, "exempt", app_id, "1", "--ground", "x",
                                     "--reason", "y", "--as", "legal-ishoj")
    for args, said in ((("out.zip", "--aktindsigt", str(zipped)), "case ID"),
                       ((str(tmp_path / "x.zip"),), "--all"),
                       ((app_id, "1"), "--ground KEY")):
        result = run(case_env, "exempt" if said == "--ground KEY" else "export", *args,
                     "--as", "legal-ishoj", ok=False)
        assert result.exit_code == 2 and said in result.stderr
