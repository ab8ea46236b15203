"""Aktindsigt: exemptions decided by legal staff, and the export zip (the aktliste, the
exact bytes, the history and a manifest, with what is withheld listed with its ground), on
SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from tests import samples
from tests.factories import make_application
from workflow.engine import aktindsigt, journal
from workflow.engine.casefile import CaseFile, Filing
from workflow.engine.workflow import Workflow
from workflow.errors import InvalidData, NotFound, PermissionDenied
from workflow.store import database as store
from workflow.store import tables as t

LETTER = Filing(direction="received", dated=date(2018, 1, 8), party="Indenrigsministeriet",
                description="Anmodning om supplerende oplysninger",
                doc_type="ministry_request")
NOTE_ABOUT = Filing(direction="sent", dated=date(2018, 1, 8), party="Borger Jensen",
                    description="Svar til borger om hans sag", doc_type="other")


def case_with_file(wf: Workflow) -> tuple[int, CaseFile, dict[str, int]]:
    cf = CaseFile(wf)
    app_id = make_application(wf, state="drafting")
    numbers = {
        "letter": cf.attach_file(app_id, io.BytesIO(samples.PDF), "Brev fra ministeriet.pdf",
                                 LETTER, user="legal-ishoj"),
        "reply": cf.attach_file(app_id, io.BytesIO(samples.docx("Kære Jensen")),
                                "../../etc/svar.docx", NOTE_ABOUT, user="pl-ishoj"),
        "note": cf.add_note(app_id, "Telefonsamtale med ministeriet om tidsplanen.",
                            user="legal-vallensbaek"),
    }
    return app_id, cf, numbers


def export_zip(wf: Workflow, cf: CaseFile, app_id: int,
               user: str = "legal-ishoj") -> zipfile.ZipFile:
    out = io.BytesIO()
    aktindsigt.export(wf, cf.store, app_id, out, user=user)
    return zipfile.ZipFile(io.BytesIO(out.getvalue()))


def rows(z: zipfile.ZipFile) -> list[list[str]]:
    text = z.read("aktliste.csv").decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text), delimiter=";"))


def test_the_export_holds_every_document_exactly_with_its_list_and_manifest(
        wf: Workflow) -> None:
    app_id, cf, n = case_with_file(wf)
    z = export_zip(wf, cf, app_id)
    listed = journal.entries(wf, app_id, user="legal-ishoj")
    manifest = json.loads(z.read("manifest.json"))
    assert manifest["entries"] == len(listed) and manifest["withheld"] == []
    by_number = {f["number"]: f for f in manifest["files"] if f["number"] is not None}
    for e in listed:                       # every document and note, each hash right
        member = by_number[e["number"]]
        data = z.read(member["name"])
        assert hashlib.sha256(data).hexdigest() == member["sha256"]
        if e["kind"] != "note":
            assert member["sha256"] == e["sha256"]
    assert z.read(by_number[n["letter"]]["name"]) == samples.PDF
    # the upload's name cannot climb out of the zip's folder
    assert by_number[n["reply"]]["name"] == f"dokumenter/{n['reply']:04d}-svar.docx"
    note = z.read(by_number[n["note"]]["name"]).decode()
    assert "Telefonsamtale" in note and "Skrevet af Søren Å. Bøgh" in note   # a name
    table = rows(z)
    assert table[0][0] == "Aktnr." and table[0][-1] == "Undtaget fra aktindsigt"
    assert [r[0] for r in table[1:]] == [str(e["number"]) for e in listed]
    assert "8. januar 2018" in {r[1] for r in table[1:]}
    history = json.loads(z.read("historik.json"))
    assert [h["trigger"] for h in history if "trigger" in h][0] == "create"
    first = history[0]          # said in Danish and by name beside its codes
    assert first["hændelse"] == "Oprettet" and first["af"] not in ("", first["user"])
    assert first["kommune"].endswith("Kommune") and first["til_tilstand"]
    for f in manifest["files"]:            # the manifest names every file with its hash
        assert hashlib.sha256(z.read(f["name"])).hexdigest() == f["sha256"]


def test_withheld_documents_and_fields_are_left_out_and_listed_with_their_ground(
        wf: Workflow) -> None:
    app_id, cf, n = case_with_file(wf)
    aktindsigt.exempt(wf, app_id, n["note"], ground="internal",
                      reason="Internt arbejdsnotat, ikke afgivet til udenforstående",
                      user="legal-ishoj")
    aktindsigt.exempt(wf, app_id, n["reply"], ground="private", field="party",
                      reason="Borgerens navn", user="legal-vallensbaek")
    z = export_zip(wf, cf, app_id)
    names = z.namelist()
    assert not any(name.startswith("notater/") for name in names)      # the note is out
    assert f"dokumenter/{n['reply']:04d}-svar.docx" in names          # the reply is in
    table = {r[0]: r for r in rows(z)[1:]}
    note, reply = table[str(n["note"])], table[str(n["reply"])]
    assert "offentlighedsloven § 23, stk. 1, nr. 1" in note[-1] and "Internt" in note[-1]
    assert reply[4] == "[undtaget]" and "Borger Jensen" not in z.read("aktliste.csv").decode()
    assert "offentlighedsloven § 30, nr. 1" in reply[-1]
    manifest = json.loads(z.read("manifest.json"))
    assert {(w["number"], w["field"], w["ground"]) for w in manifest["withheld"]} == \
        {(n["note"], None, "internal"), (n["reply"], "party", "private")}
    assert {w["decided_by"] for w in manifest["withheld"]} == {"Lærke Østergaard",
                                                              "Søren Å. Bøgh"}
    assert "Borger Jensen" not in z.read("manifest.json").decode()


@pytest.mark.parametrize("field", ["text", ""])
def test_a_withheld_note_says_nothing_of_its_text_anywhere_in_the_zip(
        wf: Workflow, field: str) -> None:
    """A note's description is its first line: withholding its text (or the whole note)
    withholds that too, in the aktliste and in every other file of the zip."""
    cf = CaseFile(wf)
    app_id = make_application(wf, state="drafting")
    secret = "Borgeren Jens Hansen har ringet om sin sygdom"
    number = cf.add_note(app_id, f"{secret}.\nMere om sagen.", user="legal-ishoj")
    aktindsigt.exempt(wf, app_id, number, ground="private", field=field,
                      reason="Enkeltpersons helbred", user="legal-ishoj")
    z = export_zip(wf, cf, app_id)
    row = next(r for r in rows(z)[1:] if r[0] == str(number))
    assert row[5] == "[undtaget]" and "offentlighedsloven § 30, nr. 1" in row[-1]
    for name in z.namelist():
        assert "Jens Hansen" not in z.read(name).decode("utf-8", "replace"), name


def test_an_exemption_can_be_lifted_and_every_decision_is_kept(wf: Workflow) -> None:
    app_id, cf, n = case_with_file(wf)
    aktindsigt.exempt(wf, app_id, n["letter"], ground="minister", reason="Ministerbetjening",
                      user="legal-ishoj")
    assert aktindsigt.exempt(wf, app_id, n["letter"], ground=None, user="legal-ishoj") is None
    assert aktindsigt.withheld(wf, app_id, user="legal-ishoj") == []
    with store.read(wf.engine) as conn:
        assert conn.execute(select(func.count()).select_from(t.journal_exemption)
                            ).scalar_one() == 2
    z = export_zip(wf, cf, app_id)
    assert f"dokumenter/{n['letter']:04d}-Brev fra ministeriet.pdf" in z.namelist()


def test_the_same_case_at_the_same_moment_exports_the_same_bytes(wf: Workflow) -> None:
    app_id, cf, _ = case_with_file(wf)
    first, second = io.BytesIO(), io.BytesIO()
    aktindsigt.export(wf, cf.store, app_id, first, user="legal-ishoj")
    aktindsigt.export(wf, cf.store, app_id, second, user="legal-ishoj")
    assert first.getvalue() == second.getvalue()


@pytest.mark.parametrize("user", ["pl-ishoj", "sec-ishoj", "pl-brondby"])
def test_only_legal_staff_of_the_case_may_export_or_exempt(wf: Workflow, user: str) -> None:
    app_id, cf, n = case_with_file(wf)
    with pytest.raises((PermissionDenied, NotFound)):
        aktindsigt.export(wf, cf.store, app_id, io.BytesIO(), user=user)
    with pytest.raises((PermissionDenied, NotFound)):
        aktindsigt.exempt(wf, app_id, n["note"], ground="internal", reason="x", user=user)
    with store.read(wf.engine) as conn:
        assert conn.execute(select(func.count()).select_from(t.journal_exemption)
                            ).scalar_one() == 0


@pytest.mark.parametrize(("number", "ground", "field", "reason", "said"), [
    (1, "secret", "", "x", "unknown ground 'secret'"),
    (1, "internal", "title", "x", "field must be one of"),
    (1, "internal", "", "  ", "say why"),
    (1, "internal", "", "a\x1b[31m", "control"),
    (1, "internal", "text", "x", "is no note"),
    (999, "internal", "", "x", "no journal entry 999"),
])
def test_a_bad_exemption_is_refused_and_nothing_stored(
        wf: Workflow, number: int, ground: str, field: str, reason: str, said: str) -> None:
    app_id, _, n = case_with_file(wf)
    number = n["letter"] if number == 1 else number
    with pytest.raises((InvalidData, NotFound), match=said):
        aktindsigt.exempt(wf, app_id, number, ground=ground, field=field, reason=reason,
                          user="legal-ishoj")
    with store.read(wf.engine) as conn:
        assert conn.execute(select(func.count()).select_from(t.journal_exemption)
                            ).scalar_one() == 0


def test_bytes_changed_in_the_store_stop_the_export(wf: Workflow) -> None:
    """A document whose stored bytes no longer match its journalised sha256 is not handed
    out: the export fails, naming the hash, and the CLI leaves no zip (test_aktindsigt in
    tests/cli)."""
    from sqlalchemy import update

    from workflow.errors import DocumentError

    app_id, cf, n = case_with_file(wf)
    sha = journal.entries(wf, app_id, user="legal-ishoj")[n["letter"] - 1]["sha256"]
    with store.write(wf.engine) as conn:
        conn.execute(update(t.stored_file_chunk).where(t.stored_file_chunk.c.sha256 == sha)
                     .values(data=samples.PDF.replace(b"Catalog", b"Catalgo")))
    with pytest.raises(DocumentError, match=sha):
        aktindsigt.export(wf, cf.store, app_id, io.BytesIO(), user="legal-ishoj")
    with store.write(wf.engine) as conn:    # the stream it broke off left no connection
        conn.execute(update(t.stored_file_chunk).where(t.stored_file_chunk.c.sha256 == sha)
                     .values(data=samples.PDF))
    again = export_zip(wf, cf, app_id)
    assert again.read(next(m for m in again.namelist() if "Brev fra" in m)) == samples.PDF


def test_files_in_a_folder_are_exported_exactly_and_checked(wf: Workflow,
                                                           tmp_path: Path) -> None:
    """With WORKFLOW_FILES a folder, the export reads each document's file there: the
    zip holds its exact bytes, and a file changed on disk stops the export, naming it."""
    from workflow.errors import DocumentError

    cf = CaseFile(wf, files=str(tmp_path / "files"))
    app_id = make_application(wf, state="drafting")
    body = samples.PDF + b"%" + bytes(range(256)) * 400
    number = cf.attach_file(app_id, io.BytesIO(body), "Brev.pdf", LETTER, user="legal-ishoj")
    z = export_zip(wf, cf, app_id)
    assert z.read(f"dokumenter/{number:04d}-Brev.pdf") == body
    sha = hashlib.sha256(body).hexdigest()
    cf.store.path_of(sha).write_bytes(body[:-1] + b"!")
    with pytest.raises(DocumentError, match=sha):
        aktindsigt.export(wf, cf.store, app_id, io.BytesIO(), user="legal-ishoj")


def test_the_export_is_one_snapshot_of_the_case(wf: Workflow,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """What happens to the case while its export is written (here a section edited after
    the journal is read, before the history is) is in none of the zip's parts; the next
    export has it. On PostgreSQL this takes the snapshot of REPEATABLE READ: read
    committed would let the history see the edit the journal did not."""
    from workflow.engine import casetext
    from workflow.engine.queries import history_entries as real

    app_id, cf, _ = case_with_file(wf)

    def edited_meanwhile(conn: Connection, app: int) -> list[dict[str, Any]]:
        casetext.save_section(wf, app_id, "reasons", "Skrevet under eksporten.",
                              user="legal-ishoj")
        return real(conn, app)

    monkeypatch.setattr(aktindsigt, "history_entries", edited_meanwhile)
    during = json.loads(export_zip(wf, cf, app_id).read("historik.json"))
    monkeypatch.setattr(aktindsigt, "history_entries", real)
    after = json.loads(export_zip(wf, cf, app_id).read("historik.json"))
    assert "Skrevet under eksporten" not in json.dumps(during, ensure_ascii=False)
    assert len(after) == len(during) + 1
