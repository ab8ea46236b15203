"""Filing documents and notes in a case: what is recorded, who may, and every bad input
refused with nothing stored (SQLite and PostgreSQL)."""

from __future__ import annotations

import gc
import hashlib
import io
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select, text, update

from tests import samples
from tests.documents.test_incoming import EICAR, clamd  # noqa: F401  (clamd: a fixture)
from tests.factories import make_application
from workflow.engine import journal
from workflow.engine.casefile import CaseFile, Filing
from workflow.engine.workflow import Workflow
from workflow.errors import FileRefused, InvalidData, PermissionDenied, TooLarge
from workflow.store import database as store
from workflow.store import tables as t

LETTER = Filing(direction="received", dated=date(2018, 1, 8), party="Indenrigsministeriet",
                description="Anmodning om supplerende oplysninger",
                doc_type="ministry_request")


def counts(wf: Workflow) -> tuple[int, int, int]:
    with store.read(wf.engine) as conn:
        return tuple(conn.execute(select(func.count()).select_from(tb)).scalar_one()
                     for tb in (t.journal_entry, t.stored_file, t.stored_file_chunk))  # type: ignore[return-value]


def attach(cf: CaseFile, app_id: int, content: bytes, name: str, *, user: str = "legal-ishoj",
           filing: Filing = LETTER) -> int:
    return cf.attach_file(app_id, io.BytesIO(content), name, filing, user=user)


@pytest.fixture(params=["database", "folder"])
def cf(wf: Workflow, request: pytest.FixtureRequest, tmp_path: Path) -> CaseFile:
    return CaseFile(wf, files="database" if request.param == "database"
                    else str(tmp_path / "files"), max_bytes=2 * 1024 * 1024)


def test_an_upload_is_journalised_with_its_exact_bytes(wf: Workflow, cf: CaseFile) -> None:
    app_id = make_application(wf, state="drafting")
    before = journal.entries(wf, app_id, user="pl-ishoj")
    number = attach(cf, app_id, samples.PDF, "Brev fra ministeriet.pdf")
    assert number == len(before) + 1
    entry = journal.entries(wf, app_id, user="sec-vallensbaek")[-1]
    assert entry["number"] == number and entry["kind"] == "upload"
    assert (entry["direction_da"], entry["doc_type_da"], entry["dated_da"]) == \
        ("Modtaget", "Ministeriets anmodning", "8. januar 2018")
    assert entry["party"] == "Indenrigsministeriet" and entry["registered_by"] == "legal-ishoj"
    assert entry["filename"] == "Brev fra ministeriet.pdf"
    assert entry["media_type"] == "application/pdf"
    assert entry["sha256"] == hashlib.sha256(samples.PDF).hexdigest()
    got = journal.open_entry(wf, cf.store, app_id, number, user="pl-vallensbaek")
    assert b"".join(got.chunks) == samples.PDF
    assert got.filename == f"{number}-Brev fra ministeriet.pdf"


def test_the_same_bytes_twice_are_stored_once(wf: Workflow, cf: CaseFile) -> None:
    app_id = make_application(wf, state="drafting")
    content = samples.docx() + b""
    first = attach(cf, app_id, content, "økonominotat.docx")
    second = attach(cf, app_id, content, "økonominotat igen.docx")
    assert second == first + 1
    with store.read(wf.engine) as conn:
        assert conn.execute(select(func.count()).select_from(t.stored_file)).scalar_one() == 1


def test_a_large_upload_is_stored_in_chunks_and_read_back_as_a_stream(wf: Workflow) -> None:
    cf = CaseFile(wf, max_bytes=5 * 1024 * 1024)
    app_id = make_application(wf, state="drafting")
    content = samples.PDF + bytes(range(256)) * 12_000   # 3 MB
    number = attach(cf, app_id, content, "stor.pdf")
    assert counts(wf)[2] == 3
    chunks = list(journal.open_entry(wf, cf.store, app_id, number, user="pl-ishoj").chunks)
    assert len(chunks) == 3 and b"".join(chunks) == content


def test_generated_versions_are_in_the_journal_and_can_be_opened(wf: Workflow) -> None:
    app_id = make_application(wf, state="council_approval")
    listed = journal.entries(wf, app_id, user="pl-ishoj")
    assert listed and all(e["kind"] == "generated" for e in listed)
    assert [e["number"] for e in listed] == list(range(1, len(listed) + 1))
    first = listed[0]
    assert first["doc_type_da"] == "Udkast" and ", version 1" in first["description"]
    got = journal.open_entry(wf, CaseFile(wf).store, app_id, 1, user="pl-ishoj")
    content = b"".join(got.chunks)
    assert hashlib.sha256(content).hexdigest() == first["sha256"]


def test_a_note_is_dated_authored_and_corrected_by_another(wf: Workflow, cf: CaseFile) -> None:
    app_id = make_application(wf, state="drafting")
    n = cf.add_note(app_id, "Telefonsamtale med ministeriet:\nFristen er 1. marts.",
                    user="pl-ishoj")
    m = cf.add_note(app_id, "Fristen er 1. april, ikke 1. marts.", user="legal-vallensbaek",
                    corrects=n)
    k = cf.add_note(app_id, "Og fristen gælder begge kommuner.", user="pl-ishoj", corrects=n)
    listed = {e["number"]: e for e in journal.entries(wf, app_id, user="pl-ishoj")}
    assert listed[n]["text"].startswith("Telefonsamtale")
    assert listed[n]["corrected_by"] == (m, k) and listed[m]["corrected_by"] == ()
    assert listed[n]["description"] == "Telefonsamtale med ministeriet:"
    assert listed[m]["corrects"] == n and listed[m]["registered_by"] == "legal-vallensbaek"
    assert listed[m]["dated"] == "2018-01-08" and listed[m]["kind_da"] == "Journalnotat"
    with pytest.raises(InvalidData, match="no note number 999"):
        cf.add_note(app_id, "Retter intet", user="pl-ishoj", corrects=999)
    with pytest.raises(InvalidData, match="empty"):
        cf.add_note(app_id, "  \n ", user="pl-ishoj")


def test_uploads_and_notes_leave_the_garbage_collector_nothing_to_trace(wf: Workflow,
                                                                        cf: CaseFile) -> None:
    """An upload's or a note's entry holds only atomic values, so the collector does not
    track it: reading a journal of a thousand letters promotes nothing into the old
    generation, and no full collection over the process's heap falls inside the read (a
    generated version's entry holds its document as a mapping, so it is tracked)."""
    app_id = make_application(wf, state="council_approval")
    attach(cf, app_id, samples.PDF, "Brev.pdf")
    n = cf.add_note(app_id, "Notat", user="pl-ishoj")
    cf.add_note(app_id, "Rettelse", user="pl-ishoj", corrects=n)
    listed = journal.entries(wf, app_id, user="pl-ishoj")
    assert {e["kind"] for e in listed} == {"generated", "upload", "note"}
    assert [e["kind"] for e in listed if gc.is_tracked(e)] == \
        [e["kind"] for e in listed if e["kind"] == "generated" or e["corrected_by"]]


def test_a_journal_entry_cannot_be_changed_once_saved(wf: Workflow, cf: CaseFile) -> None:
    app_id = make_application(wf, state="drafting")
    n = cf.add_note(app_id, "Oprindelig tekst", user="pl-ishoj")
    assert not hasattr(cf, "update_note") and not hasattr(journal, "update")
    with pytest.raises(Exception, match="journal entries cannot be changed"):
        with store.write(wf.engine) as conn:
            conn.execute(update(t.journal_entry).where(t.journal_entry.c.number == n)
                         .values(text="Ændret tekst"))
    with pytest.raises(Exception, match="journal entries cannot be changed"):
        with store.write(wf.engine) as conn:
            conn.execute(text("UPDATE journal_entry SET description = 'x'"))
    assert journal.entries(wf, app_id, user="pl-ishoj")[-1]["text"] == "Oprindelig tekst"


@pytest.mark.parametrize(("user", "why"), [
    ("pl-brondby", "is not a party"),          # another municipality
    ("dir-ishoj", "may not file"),             # the steering group
    ("admin", "may not file"),
])
def test_only_the_filing_roles_of_the_parties_may_file(wf: Workflow, cf: CaseFile, user: str,
                                                        why: str) -> None:
    app_id = make_application(wf, state="drafting")
    before = counts(wf)
    with pytest.raises(PermissionDenied, match=why):
        attach(cf, app_id, samples.PDF, "brev.pdf", user=user)
    with pytest.raises(PermissionDenied, match=why):
        cf.add_note(app_id, "Notat", user=user)
    assert counts(wf) == before


BAD = [
    (samples.PASSWD, "../../etc/passwd", "plain text"),
    (samples.PDF, "../../etc/passwd", "the name says without an extension, but the content is PDF"),
    (samples.EXE, "x.pdf.exe", "a file named .exe is not accepted"),
    (samples.PDF, "x.pdf.exe", "a file named .exe is not accepted"),
    (samples.EXE, "brev.pdf", "a program"),
    (samples.HTML, "brev.pdf", "the content is HTML"),
    (samples.PDF, "brev.docx", "the name says .docx, but the content is PDF"),
    (samples.docx(), "brev.pdf", "the name says .pdf, but the content is Word"),
    (samples.zip_bomb(), "bombe.docx", "zip bomb"),
    (b"", "tom.pdf", "empty"),
    (samples.PDF, "\x00\x01", "no name left"),
]


@pytest.mark.parametrize(("content", "name", "why"), BAD)
def test_bad_files_are_refused_with_nothing_stored(wf: Workflow, cf: CaseFile, content: bytes,
                                                   name: str, why: str) -> None:
    app_id = make_application(wf, state="drafting")
    before = counts(wf)
    with pytest.raises(FileRefused, match=why):
        attach(cf, app_id, content, name)
    assert counts(wf) == before
    if cf.store.folder is not None:
        assert not cf.store.folder.exists() or not any(cf.store.folder.rglob("*"))


def test_names_are_kept_safe(wf: Workflow, cf: CaseFile) -> None:
    app_id = make_application(wf, state="drafting")
    n = attach(cf, app_id, samples.PDF, "C:\\Users\\x\\..\\brev\x07 til\x00 IM.pdf")
    assert journal.entries(wf, app_id, user="pl-ishoj")[-1]["filename"] == "brev til IM.pdf"
    assert n > 0


def test_an_upload_over_the_limit_is_refused_without_reading_it_all(wf: Workflow) -> None:
    cf = CaseFile(wf, max_bytes=1024 * 1024)
    app_id = make_application(wf, state="drafting")
    read = 0

    class Endless(io.RawIOBase):
        def readinto(self, b: bytearray) -> int:  # type: ignore[override]
            nonlocal read
            n = len(b)
            b[:n] = b"\0" * n
            read += n
            return n

    before = counts(wf)
    with pytest.raises(TooLarge, match="larger than the limit"):
        cf.attach_file(app_id, Endless(), "stor.pdf", LETTER, user="pl-ishoj")  # type: ignore[arg-type]
    assert read <= 3 * 1024 * 1024 and counts(wf) == before


@pytest.mark.parametrize(("day", "why"), [(date(2018, 1, 9), "in the future"),
                                          (date(2018, 1, 7), "before the case was opened")])
def test_the_date_received_is_bounded_as_a_steps_day(wf: Workflow, cf: CaseFile, day: date,
                                                     why: str) -> None:
    app_id = make_application(wf, state="drafting")
    before = counts(wf)
    with pytest.raises(InvalidData, match=why):
        attach(cf, app_id, samples.PDF, "brev.pdf",
               filing=Filing("received", day, "IM", "Brev", "ministry_request"))
    assert counts(wf) == before


def test_a_filing_must_say_what_it_is(wf: Workflow, cf: CaseFile) -> None:
    app_id = make_application(wf, state="drafting")
    with pytest.raises(InvalidData, match="direction must be received or sent") as exc:
        attach(cf, app_id, samples.PDF, "brev.pdf",
               filing=Filing("lost", LETTER.dated, "", "", "bogus"))
    assert "type must be one of" in str(exc.value) and "missing" in str(exc.value)
    assert exc.value.da is not None and "Afsender eller modtager mangler" in exc.value.da


def test_with_clamd_set_a_virus_is_refused_and_a_clean_file_filed(
        wf: Workflow, clamd: tuple[str, list[bytes]]) -> None:  # noqa: F811
    where, received = clamd
    cf = CaseFile(wf, clamd=where)
    app_id = make_application(wf, state="drafting")
    before = counts(wf)
    with pytest.raises(FileRefused, match="virus scan found"):
        attach(cf, app_id, samples.PDF + EICAR, "virus.pdf")
    assert counts(wf) == before
    attach(cf, app_id, samples.PDF, "ren.pdf")
    assert received[-1] == samples.PDF and counts(wf)[0] == before[0] + 1
