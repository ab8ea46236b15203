"""Documents that prove themselves: the same inputs, template and engine give the same
bytes, a stored version can be made again and compared, and PDFs are PDF/A-2b.

The drafts are made by real steps on SQLite and PostgreSQL and read back with python-docx;
the PDFs come from the real LibreOffice and are read with pikepdf.
"""

from __future__ import annotations

import hashlib
import io
import shutil
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import docx
import pikepdf
from click.testing import CliRunner
from sqlalchemy import update

from tests.conftest import Clock
from tests.documents.test_documents import (
    copy_templates,
    doc_id,
    docs_of,
    insert_line,
    require_libreoffice,
    touch_later,
)
from tests.factories import make_application
from workflow.cli.app import cli
from workflow.config import Settings
from workflow.documents.recipe import AUTHOR, decode, encode, engine_version
from workflow.engine.workflow import Workflow
from workflow.store import database as store
from workflow.store import tables as t


def letter_bytes(wf: Workflow, app: int) -> bytes:
    return wf.download(doc_id(wf, app, "application_letter"), user="legal-ishoj").content


def sqlite_at(template: Path, tmp_path: Path, name: str, clock: Clock) -> Workflow:
    path = tmp_path / f"{name}.db"
    shutil.copy(template, path)
    return Workflow.open(Settings(database_url=f"sqlite:///{path}"), clock=clock)


def test_the_same_draft_at_another_time_is_the_same_bytes(
        wf: Workflow, clock: Clock, sqlite_template: Path, tmp_path: Path) -> None:
    """A case walked to drafting at 09:00 (on SQLite and PostgreSQL) and again on another
    database at 14:37:13 the same day gives the same letter, byte for byte; a day later,
    or with other areas, it does not."""
    app = make_application(wf, state="drafting")
    first = letter_bytes(wf, app)
    other = sqlite_at(sqlite_template, tmp_path, "later", Clock(clock.now.replace(
        hour=14, minute=37, second=13)))
    try:
        again = make_application(other, state="drafting")
        assert (again, other.clock().date()) == (app, clock.now.date())
        second = letter_bytes(other, again)
    finally:
        other.close()
    assert hashlib.sha256(second).hexdigest() == hashlib.sha256(first).hexdigest()
    assert second == first

    for name, moment, areas in (("next-day", clock.now.replace(day=9), None),
                                ("other-areas", clock.now, ["social", "rehabilitation"])):
        changed = sqlite_at(sqlite_template, tmp_path, name, Clock(moment))
        try:
            assert letter_bytes(changed, make_application(changed, state="drafting",
                                                          areas=areas)) != first
        finally:
            changed.close()


def test_the_package_is_stamped_with_the_letter_date_in_a_fixed_order(wf: Workflow) -> None:
    app = make_application(wf, state="drafting")
    content = letter_bytes(wf, app)
    with zipfile.ZipFile(io.BytesIO(content)) as z:
        names = z.namelist()
        assert names[0] == "[Content_Types].xml" and names[1] == "_rels/.rels"
        assert names[2:] == sorted(names[2:])
        assert {i.date_time for i in z.infolist()} == {(2018, 1, 8, 0, 0, 0)}
        assert z.testzip() is None
    props = docx.Document(io.BytesIO(content)).core_properties
    assert props.author == props.last_modified_by == AUTHOR
    assert props.created == props.modified == datetime(2018, 1, 8, tzinfo=UTC)
    assert props.revision == 1


def test_every_stored_version_regenerates_identically(wf: Workflow, clock: Clock) -> None:
    """Every version of every draft of a case approved by one council, made again from its
    recipe at a later moment: "identisk"."""
    app = make_application(wf, state="council_approval")
    clock.advance(days=40, hours=3)
    checked = 0
    for doc in docs_of(wf, app).values():
        for v in doc["versions"]:
            got = wf.reproduce(doc["id"], user="legal-ishoj", number=v["number"])
            assert got.identical, str(got)
            assert got.new_sha256 == got.stored_sha256 == v["sha256"]
            assert str(got).startswith(f"dokument {doc['id']} version {v['number']}: identisk")
            checked += 1
    assert checked >= 3


def test_a_changed_template_is_reported_with_its_reason(
        db_url: str, clock: Clock, tmp_path: Path) -> None:
    templates = copy_templates(tmp_path)
    wf = Workflow.open(Settings(database_url=db_url, templates_dir=templates), clock=clock)
    try:
        app = make_application(wf, state="drafting")
        letter = doc_id(wf, app, "application_letter")
        assert wf.reproduce(letter, user="legal-ishoj").identical
        path = templates / "documents" / "application_letter.md.j2"
        insert_line(path, "{#", "En sætning, der kom til bagefter.")
        touch_later(path)
        got = wf.reproduce(letter, user="legal-ishoj")
    finally:
        wf.close()
    assert not got.identical and got.new_sha256 != got.stored_sha256
    said = str(got)
    assert "afviger" in said
    assert "skabelonen application_letter.md.j2 eller brevpapirets grundlag " \
        "(reference/base.docx) er ændret" in said
    assert "forskel i word/document.xml" in said
    assert "identisk" not in said


def test_a_version_without_a_recipe_says_it_cannot_be_made_again(wf: Workflow) -> None:
    app = make_application(wf, state="drafting")
    letter = doc_id(wf, app, "application_letter")
    with store.write(wf.engine) as conn:
        conn.execute(update(t.document_version).values(recipe=None))
    got = wf.reproduce(letter, user="legal-ishoj")
    assert not got.identical and got.new_sha256 is None
    assert "før skemarevision 0014" in str(got)


def test_a_version_on_a_letterhead_file_says_it_cannot_be_made_again(wf: Workflow) -> None:
    """Before 0020 a recipe named its letterhead file (``joint``), which is gone."""
    app = make_application(wf, state="drafting")
    letter = doc_id(wf, app, "application_letter")
    dv = t.document_version
    with store.write(wf.engine) as conn:
        row = conn.execute(dv.select().where(dv.c.number == 1)).mappings().first()
        assert row is not None and row["recipe"]["letterhead"]["kind"] == "joint"
        assert [m["name"] for m in row["recipe"]["letterhead"]["municipalities"]] == \
            ["Ishøj Kommune", "Vallensbæk Kommune"]
        conn.execute(update(dv).values(recipe={**row["recipe"], "letterhead": "joint"}))
    got = wf.reproduce(letter, user="legal-ishoj")
    assert not got.identical and got.new_sha256 is None
    assert "brevpapiret joint.docx, som ikke findes længere" in str(got)


def test_another_engine_is_named(wf: Workflow) -> None:
    app = make_application(wf, state="drafting")
    letter = doc_id(wf, app, "application_letter")
    dv = t.document_version
    with store.write(wf.engine) as conn:
        row = conn.execute(dv.select().where(dv.c.number == 1)).mappings().first()
        assert row is not None and row["recipe"]["engine"] == engine_version()
        conn.execute(update(dv).values(recipe={**row["recipe"], "engine": "workflow 0.0.1"}))
    got = wf.reproduce(letter, user="legal-ishoj")
    # the bytes are still the same: identical, with a note of the other engine
    assert got.identical and "en anden motor: versionen blev lavet med workflow 0.0.1" in str(got)


def test_the_context_round_trips_with_its_types() -> None:
    from datetime import date
    from decimal import Decimal

    ctx = {"d": date(2018, 1, 8), "m": datetime(2018, 1, 8, 9, tzinfo=UTC),
           "x": Decimal("1234.50"), "years": {2019: {"price": Decimal("1")}},
           "list": [(1, "a"), None, True], "s": "æøå"}
    back = decode(encode(ctx))
    assert back == {**ctx, "list": [[1, "a"], None, True]}
    assert type(back["x"]) is Decimal and type(back["d"]) is date


def test_the_command_line_says_identisk_or_what_differs(
        db_url: str, clock: Clock, tmp_path: Path) -> None:
    templates = copy_templates(tmp_path)
    wf = Workflow.open(Settings(database_url=db_url, templates_dir=templates), clock=clock)
    try:
        app = make_application(wf, state="drafting")
        letter = str(doc_id(wf, app, "application_letter"))
    finally:
        wf.close()
    env = {"WORKFLOW_DATABASE_URL": db_url, "WORKFLOW_TEMPLATES_DIR": str(templates),
           "WORKFLOW_NOW": "2018-03-01T10:00"}
    ok = CliRunner().invoke(cli, ["reproduce", letter, "--as", "legal-ishoj"], env=env)
    assert ok.exit_code == 0, ok.output
    assert ok.stdout.startswith(f"dokument {letter} version 1: identisk (sha256 ")
    stranger = CliRunner().invoke(cli, ["reproduce", letter, "--as", "pl-brondby"], env=env)
    assert stranger.exit_code == 6 and "not a party" in stranger.stderr   # read rights
    insert_line(templates / "documents" / "application_letter.md.j2", "{#", "Ny tekst.")
    differs = CliRunner().invoke(cli, ["reproduce", letter, "--as", "legal-ishoj"], env=env)
    assert differs.exit_code == 11, differs.output
    assert "afviger: skabelonen application_letter.md.j2" in differs.stdout
    assert differs.stderr.startswith("error: document ")


# ========================================================================== PDF/A
def test_pdf_exports_are_pdf_a_2b(sqlite_template: Path, tmp_path: Path, clock: Clock) -> None:
    require_libreoffice()
    wf = sqlite_at(sqlite_template, tmp_path, "pdf", clock)
    try:
        app = make_application(wf, state="drafting")
        got = wf.download(doc_id(wf, app, "application_letter"), user="legal-ishoj", pdf=True)
    finally:
        wf.close()
    with pikepdf.open(io.BytesIO(got.content)) as pdf:
        meta = pdf.open_metadata()
        assert meta.pdfa_status == "2B"
        assert meta["pdfaid:part"] == "2" and meta["pdfaid:conformance"] == "B"
        assert len(pdf.pages) >= 1
