"""`workflow audit verify` on the command line: the examples' chains hold; a row changed
by hand in SQL is named, with exit code 11, for all cases or the one asked for."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from tests.cli.test_cli import EXAMPLES_NOW, Env, run, sqlite_env


def test_verify_names_the_row_changed_by_hand(tmp_path: Path) -> None:
    env: Env = {**sqlite_env(tmp_path), "WORKFLOW_NOW": EXAMPLES_NOW}
    run(env, "init", "--examples")
    ok = run(env, "audit", "verify")
    lines = ok.stdout.splitlines()
    assert len(lines) == 7 and all("kæden holder" in line for line in lines), ok.stdout
    assert lines[1].startswith("sag 2 (00.17.15-G01-2-25): ")
    listed = json.loads(run(env, "audit", "verify", "--json").stdout)
    assert [c["case"] for c in listed] == [1, 2, 3, 4, 5, 6, 7]
    assert all(c["ok"] and len(c["head"]) == 64 for c in listed)

    with sqlite3.connect(tmp_path / "wf.db") as db:
        db.execute("UPDATE audit_entry SET comment = 'Rettet bagefter' "
                   "WHERE application_id = 2 AND version = 4")
    broken = run(env, "audit", "verify", ok=False)
    assert broken.exit_code == 11
    assert "BRUDT sag 2 (00.17.15-G01-2-25): audit_entry 4 (led " in broken.stdout
    assert "ændret: comment" in broken.stdout
    assert broken.stdout.count("kæden holder") == 6
    assert broken.stderr.startswith("error: the chain of 1 of 7 cases is broken; first: sag 2")

    one = run(env, "audit", "verify", "3")
    assert one.stdout.count("\n") == 1 and "sag 3 " in one.stdout
    assert run(env, "audit", "verify", "2", ok=False).exit_code == 11
    with sqlite3.connect(tmp_path / "wf.db") as db:
        db.execute("DELETE FROM document_version WHERE id = (SELECT max(id) FROM "
                   "document_version)")
    gone = run(env, "audit", "verify", "--json", ok=False)
    assert gone.exit_code == 11
    said = [c["broken"] for c in json.loads(gone.stdout) if c["broken"]]
    assert {"kind": "document_version", "problem": "rækken er slettet"}.items() <= \
        next(b for b in said if b["kind"] == "document_version").items()
    missing = run(env, "audit", "verify", "99", ok=False)
    assert missing.exit_code == 4 and "no application 99" in missing.stderr
