"""Drafts edited by hand: filed as a new version (checked by content), diffed against the
version they came from, approved and sent as exactly those bytes, never replaced by a
regeneration without a confirmation and a note."""

from __future__ import annotations

import hashlib
import io
import zipfile

import docx
import pytest
from sqlalchemy import func, select

from tests.conftest import Clock
from tests.factories import make_application, walk_fire
from workflow.documents.edits import MAX_DOCX, check_docx, paragraphs
from workflow.engine import casetext, edited
from workflow.engine.queries import documents, history
from workflow.engine.workflow import Workflow
from workflow.errors import GuardFailed, InvalidData, NotFound, PermissionDenied
from workflow.store import database as store
from workflow.store import tables as t

ISHOJ_OK = {"decision": "approved", "meeting_date": "2018-04-03",
            "agenda_ref": "BR 3/4-18 pkt. 7"}
VALLENSBAEK_OK = {"decision": "approved", "meeting_date": "2018-04-25",
                  "agenda_ref": "KB 25-04-2018 pkt. 12"}


def letter(wf: Workflow, app: int) -> dict:
    return next(d for d in documents(wf, app, user="admin") if d["name"] == "application_letter")


def edited_copy(content: bytes, old: str, new: str) -> bytes:
    """The .docx with the first paragraph starting ``old`` rewritten to ``new``, as Word
    would save it."""
    document = docx.Document(io.BytesIO(content))
    p = next(p for p in document.paragraphs if p.text.startswith(old))
    for run in p.runs[1:]:
        run.text = ""
    p.runs[0].text = new
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def versions_count(wf: Workflow) -> int:
    with store.read(wf.engine) as conn:
        return int(conn.execute(select(func.count()).select_from(t.document_version))
                   .scalar_one())


def filed(wf: Workflow, app: int) -> tuple[int, bytes, int]:
    doc = letter(wf, app)
    base = wf.download(doc["id"], user="legal-ishoj")
    content = edited_copy(base.content, "Ophævelse af det forpligtende",
                          "Kommunerne vil fortsat samarbejde frivilligt.")
    made, from_number = edited.file_edited(wf, doc["id"], content, user="legal-ishoj",
                                           note="Juridisk gennemlæsning")
    assert from_number == base.number
    return doc["id"], content, made.number


def test_an_edited_draft_is_a_new_version_naming_its_source_with_a_diff(
        wf: Workflow, clock: Clock) -> None:
    app = make_application(wf, state="legal_review")
    doc_id, content, number = filed(wf, app)
    doc = letter(wf, app)
    newest, before = doc["versions"][-1], doc["versions"][-2]
    assert (newest["number"], newest["origin"], newest["edited_from"], newest["note"],
            newest["created_by"], newest["trigger"]) == \
        (number, "edited", before["number"], "Juridisk gennemlæsning", "legal-ishoj",
         "file_edited")
    assert before["stale"] and not newest["stale"] and before["origin"] == "generated"
    assert newest["sha256"] == hashlib.sha256(content).hexdigest()
    assert wf.download(doc_id, user="pl-ishoj").content == content   # exactly the bytes
    got = edited.diff(wf, doc_id, number, user="sec-ishoj")
    assert got["from"] == before["number"]
    assert [ln for ln in got["lines"] if ln[:1] in "+-"] == [
        "-Ophævelse af det forpligtende samarbejde på et område er ikke til hinder for, at "
        "kommunerne fortsat samarbejder på området, men det vil ske på frivillig basis og "
        "gerne sammen med andre kommuner.",
        "+Kommunerne vil fortsat samarbejde frivilligt."]
    with pytest.raises(InvalidData, match="not edited by hand"):
        edited.diff(wf, doc_id, before["number"], user="legal-ishoj")
    entry, = [e for e in history(wf, app, user="pl-ishoj") if e["trigger"] == "file_edited"]
    assert (entry["user"], entry["comment"], entry["data"]["number"],
            entry["data"]["edited_from"]) == ("legal-ishoj", "Juridisk gennemlæsning", number,
                                              before["number"])


def test_steps_keep_the_edited_version_and_councils_approve_and_send_its_bytes(
        wf: Workflow, clock: Clock) -> None:
    clock.at("2018-03-01T09:00")
    app = make_application(wf, state="legal_review")
    doc_id, content, number = filed(wf, app)
    sha = hashlib.sha256(content).hexdigest()
    wf.fire(app, "approve_draft", user="legal-ishoj")
    walk_fire(wf, app, "record_council_decision", user="sec-ishoj", data=ISHOJ_OK)
    walk_fire(wf, app, "record_council_decision", user="sec-vallensbaek", data=VALLENSBAEK_OK)
    doc = letter(wf, app)
    assert doc["latest"] == number          # the councils' meetings did not replace it
    assert {(a["party"], a["number"], a["sha256"], a["matches"]) for a in doc["approvals"]} \
        == {("ishoj", number, sha, True), ("vallensbaek", number, sha, True)}
    out = wf.fire(app, "send_to_ministry", user="pl-ishoj")
    assert out.documents == ()               # nothing made: the edited version is sent
    assert letter(wf, app)["latest"] == number
    with store.read(wf.engine) as conn:
        ae = t.audit_entry
        sent = conn.execute(select(ae.c.data).where(ae.c.application_id == app,
                                                    ae.c.trigger == "send_to_ministry")).one()
    assert sent.data["issued"] == [{"document": doc_id, "name": "application_letter",
                                    "party": None, "number": number, "sha256": sha}]
    # once sent, the draft is no longer worked on
    with pytest.raises(GuardFailed, match="no longer be changed"):
        edited.file_edited(wf, doc_id, edited_copy(content, "Kommunerne vil", "Igen."),
                           user="legal-ishoj")


def test_regenerating_over_an_edited_version_needs_a_confirmation_and_a_note(
        wf: Workflow) -> None:
    app = make_application(wf, state="legal_review")
    doc_id, _, number = filed(wf, app)
    before = versions_count(wf)
    for confirm, note in ((False, ""), (True, ""), (False, "fordi")):
        with pytest.raises(GuardFailed, match=f"version {number} of document {doc_id} was "
                                              "edited by hand by legal-ishoj"):
            edited.regenerate(wf, doc_id, user="legal-ishoj", confirm=confirm, note=note)
    assert versions_count(wf) == before
    # a section edit renews the letter, but not over the edited version
    casetext.save_section(wf, app, "staff", "Ingen medarbejdere berøres.", user="pl-ishoj")
    assert letter(wf, app)["latest"] == number
    made = edited.regenerate(wf, doc_id, user="pl-ishoj", confirm=True,
                             note="Den nye personaletekst skal med")
    assert made is not None and made.number == number + 1
    newest = letter(wf, app)["versions"][-1]
    assert (newest["origin"], newest["note"], newest["trigger"]) == \
        ("generated", "Den nye personaletekst skal med", "regenerate")
    wanted = wf.download(doc_id, user="pl-ishoj").content
    assert "Ingen medarbejdere berøres." in paragraphs(wanted)
    assert edited.regenerate(wf, doc_id, user="pl-ishoj") is None   # nothing changed


def test_who_may_file_an_edited_draft(wf: Workflow) -> None:
    app = make_application(wf, state="legal_review")
    doc = letter(wf, app)
    content = edited_copy(wf.download(doc["id"], user="legal-ishoj").content,
                          "Ophævelse", "Ændret.")
    for user, error, said in (("pl-ishoj", PermissionDenied, "may not file an edited draft"),
                              ("sec-ishoj", PermissionDenied, "may not file"),
                              ("pl-brondby", PermissionDenied, "not a party")):
        with pytest.raises(error, match=said):
            edited.file_edited(wf, doc["id"], content, user=user)
    with pytest.raises(NotFound, match="no document 999"):
        edited.file_edited(wf, 999, content, user="legal-ishoj")
    with pytest.raises(NotFound, match="has no version 99"):
        edited.file_edited(wf, doc["id"], content, user="legal-ishoj", from_number=99)
    same = wf.download(doc["id"], user="legal-ishoj").content
    with pytest.raises(InvalidData, match="nothing was edited"):
        edited.file_edited(wf, doc["id"], same, user="legal-ishoj")
    with pytest.raises(InvalidData, match="the note contains a NUL"):
        edited.file_edited(wf, doc["id"], content, user="legal-ishoj", note="a\x00")
    assert letter(wf, app)["latest"] == doc["latest"]


# ------------------------------------------------------------------ check_docx
def zipped(entries: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", method) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return out.getvalue()


TYPES = (b'<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
         b'content-types"><Override PartName="/word/document.xml" ContentType="application/'
         b'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>')


@pytest.mark.parametrize(("data", "said"), [
    (b"%PDF-1.7\n...", "it is a PDF"),
    (b"<!DOCTYPE html><html><body>x</body></html>", "it is HTML"),
    (b"MZ\x90\x00" + b"\x00" * 60, "it is an executable"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Word document"),
    (b"PK\x03\x04 not really a zip", "a damaged zip file"),
    (zipped({"hello.txt": b"hi"}), "no word/document.xml"),
    (zipped({"[Content_Types].xml": TYPES, "word/document.xml": b"<not-word/>"}),
     "Word cannot read it"),
    (zipped({"[Content_Types].xml": TYPES.replace(b"document.main", b"template.main"),
             "word/document.xml": b"<x/>"}), "main part is not a Word document"),
    (zipped({"[Content_Types].xml": TYPES, "word/document.xml": b"<x/>",
             "word/vbaProject.bin": b"\x00"}), "macros"),
    (zipped({"[Content_Types].xml": TYPES, "word/document.xml": b"<x/>",
             "word/media/big.bin": b"\x00" * (50 << 20)}), "zip bomb"),
    (zipped({"[Content_Types].xml": TYPES, "word/document.xml": b"<x/>",
             "../../etc/passwd": b"x"}), "an entry named '../../etc/passwd'"),
    (b"PK\x03\x04" + b"\x00" * MAX_DOCX, "at most 20,971,520 are allowed"),
])
def test_check_docx_refuses_what_is_no_word_document(data: bytes, said: str) -> None:
    with pytest.raises(InvalidData, match=said.replace("(", r"\(").replace(")", r"\)")):
        check_docx(data)


def test_check_docx_accepts_a_word_document() -> None:
    out = io.BytesIO()
    document = docx.Document()
    document.add_paragraph("Æblegrød")
    document.save(out)
    check_docx(out.getvalue())
    assert paragraphs(out.getvalue()) == ["Æblegrød"]
