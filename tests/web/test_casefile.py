"""The case file on the web, on SQLite and PostgreSQL: uploads through the API's multipart
endpoint and the case page's form, notes, the journal and the aktliste, downloads by
journal number; and every bad upload refused with a 4xx and nothing stored."""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import func, select
from starlette.requests import Request

from tests import samples
from tests.conftest import Clock
from tests.factories import make_application
from tests.web.test_api import Api, TestClient, prepare, require_libreoffice
from tests.web.test_bum import log_in
from workflow.config import Settings
from workflow.engine.casefile import CaseFile
from workflow.engine.workflow import Workflow
from workflow.errors import TooLarge
from workflow.store import database as store
from workflow.store import tables as t
from workflow.store.files import Spool
from workflow.web.app import create_app
from workflow.web.uploads import read_upload

LETTER = {"direction": "received", "date": "2018-01-08", "party": "Indenrigsministeriet",
          "description": "Ministeriets anmodning om oplysninger", "type": "ministry_request"}


@pytest.fixture
def client(settings: Settings, clock: Clock) -> Iterator[TestClient]:
    prepare(settings)
    small = replace(settings, upload_max_bytes=2 * 1024 * 1024)
    with TestClient(create_app(small, clock=clock)) as c:
        yield c


def stored(wf: Workflow) -> tuple[int, int, int]:
    with store.read(wf.engine) as conn:
        return tuple(conn.execute(select(func.count()).select_from(tb)).scalar_one()  # type: ignore[return-value]
                     for tb in (t.journal_entry, t.stored_file, t.stored_file_chunk))


def upload(api: Api, app_id: int, content: bytes, name: str, status: int = 201,
           **fields: str) -> Any:
    r = api.client.post(f"/api/applications/{app_id}/files", headers=api.headers,
                        data={**LETTER, **fields}, files={"file": (name, content)})
    assert r.status_code == status, r.text
    return r.json()


def test_an_upload_through_the_api_is_journalised_and_downloaded_as_an_attachment(
        client: TestClient, wf: Workflow) -> None:
    app_id = make_application(wf, state="drafting")
    legal = Api(client, "legal-ishoj")
    entry = upload(legal, app_id, samples.PDF, "Anmodning fra IM.pdf")
    assert entry["kind"] == "upload" and entry["doc_type_da"] == "Ministeriets anmodning"
    assert entry["dated_da"] == "8. januar 2018" and entry["media_type"] == "application/pdf"
    listed = Api(client, "sec-vallensbaek").get(f"/api/applications/{app_id}/journal")
    assert listed[-1] == entry and [e["number"] for e in listed] == \
        list(range(1, len(listed) + 1))
    r = legal.get(f"/api/applications/{app_id}/journal/{entry['number']}/file")
    assert r.content == samples.PDF
    assert r.headers["content-disposition"].startswith("attachment;")
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["x-content-sha256-stored"] == hashlib.sha256(samples.PDF).hexdigest()


def test_a_docx_an_xlsx_an_email_and_an_image_are_accepted(client: TestClient,
                                                           wf: Workflow) -> None:
    app_id = make_application(wf, state="drafting")
    pl = Api(client, "pl-ishoj")
    for content, name, media in ((samples.docx(), "økonominotat.docx", "wordprocessingml"),
                                 (samples.xlsx(), "tidsplan.xlsx", "spreadsheetml"),
                                 (samples.EML, "mail.eml", "message/rfc822"),
                                 (samples.PNG, "skema.png", "image/png")):
        assert media in upload(pl, app_id, content, name, type="attachment")["media_type"]


def test_notes_through_the_api_cannot_be_changed(client: TestClient, wf: Workflow) -> None:
    app_id = make_application(wf, state="drafting")
    pl = Api(client, "pl-ishoj")
    r = client.post(f"/api/applications/{app_id}/notes", headers=pl.headers,
                    json={"text": "Aftalt med IM: svar inden 1. marts."})
    assert r.status_code == 201, r.text
    first = r.json()
    r = client.post(f"/api/applications/{app_id}/notes", headers=pl.headers,
                    json={"text": "Rettelse: 1. april.", "corrects": first["number"]})
    assert r.status_code == 201 and r.json()["corrects"] == first["number"]
    for method in ("put", "patch", "delete"):
        r = client.request(method, f"/api/applications/{app_id}/notes", headers=pl.headers,
                           json={"text": "ændret"})
        assert r.status_code == 405
    listed = pl.get(f"/api/applications/{app_id}/journal")
    assert [e["text"] for e in listed if e["kind"] == "note"] == \
        ["Aftalt med IM: svar inden 1. marts.", "Rettelse: 1. april."]
    assert listed[-2]["corrected_by"] == [listed[-1]["number"]]


def test_the_aktliste_exports_as_csv(client: TestClient, wf: Workflow) -> None:
    app_id = make_application(wf, state="drafting")
    pl = Api(client, "pl-ishoj")
    upload(pl, app_id, samples.PDF, "brev.pdf")
    r = pl.get(f"/api/applications/{app_id}/aktliste?format=csv")
    assert r.headers["content-disposition"].startswith("attachment;")
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:6] == ["Aktnr.", "Dato", "Type", "Retning", "Afsender/modtager",
                           "Beskrivelse"]
    assert rows[-1][1:5] == ["8. januar 2018", "Ministeriets anmodning", "Modtaget",
                             "Indenrigsministeriet"]
    # a cell a spreadsheet would run as a formula is written as text
    upload(pl, app_id, samples.PDF + b"%2", "brev2.pdf", party='=HYPERLINK("http://x")',
           description="@SUM(1)")
    r = pl.get(f"/api/applications/{app_id}/aktliste?format=csv")
    last = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig")), delimiter=";"))[-1]
    assert last[4:6] == ['\'=HYPERLINK("http://x")', "'@SUM(1)"]


def test_the_aktliste_exports_as_pdf(client: TestClient, wf: Workflow, tmp_path: Any) -> None:
    require_libreoffice()
    import subprocess

    app_id = make_application(wf, state="drafting")
    pl = Api(client, "pl-ishoj")
    upload(pl, app_id, samples.PDF, "brev.pdf")
    r = pl.get(f"/api/applications/{app_id}/aktliste?format=pdf")
    assert r.content.startswith(b"%PDF-")
    (tmp_path / "a.pdf").write_bytes(r.content)
    shown = subprocess.run(["pdftotext", "-layout", str(tmp_path / "a.pdf"), "-"],
                           capture_output=True, text=True, check=True).stdout
    assert "Aktliste for sag" in shown and "8. januar 2018" in shown
    assert "Indenrigsministeriet" in shown


BAD = [
    (samples.PASSWD, "../../etc/passwd", 415, "plain text"),
    (samples.PDF, "../../etc/passwd", 415, "name says without an extension"),
    (samples.EXE, "x.pdf.exe", 415, "named .exe"),
    (samples.HTML, "brev.pdf", 415, "the content is HTML"),
    (samples.zip_bomb(), "bombe.docx", 415, "zip bomb"),
    (samples.PDF + b"\0" * (3 * 1024 * 1024), "stor.pdf", 413, "larger than the limit"),
]


@pytest.mark.parametrize(("content", "name", "status", "why"), BAD)
def test_bad_uploads_are_refused_with_nothing_stored(client: TestClient, wf: Workflow,
                                                     content: bytes, name: str, status: int,
                                                     why: str) -> None:
    app_id = make_application(wf, state="drafting")
    before = stored(wf)
    body = upload(Api(client, "legal-ishoj"), app_id, content, name, status)
    assert why in body["detail"] and body["detail_da"]
    assert stored(wf) == before


def test_an_upload_to_another_partys_case_is_refused_before_it_is_read(
        client: TestClient, wf: Workflow) -> None:
    app_id = make_application(wf, state="drafting")
    before = stored(wf)
    body = upload(Api(client, "pl-brondby"), app_id, samples.PDF, "brev.pdf", 403)
    assert "is not a party" in body["detail"]
    assert upload(Api(client, "dir-ishoj"), app_id, samples.PDF, "brev.pdf", 403)
    Api(client, "pl-brondby").get(f"/api/applications/{app_id}/journal", 403)
    assert stored(wf) == before


def test_a_2_gb_upload_is_refused_by_its_content_length(client: TestClient,
                                                        wf: Workflow) -> None:
    app_id = make_application(wf, state="drafting")
    pl = Api(client, "pl-ishoj")
    r = client.post(f"/api/applications/{app_id}/files", content=b"x" * 1000, headers={
        **pl.headers, "Content-Type": "multipart/form-data; boundary=xyz",
        "Content-Length": str(2 * 1024 ** 3)})
    assert r.status_code == 413 and "larger than the limit" in r.json()["detail"]


def test_an_endless_upload_is_read_only_up_to_the_limit() -> None:
    """A body without a Content-Length, 2 GB if it were read to its end: refused at the
    limit, with not much more than the limit read."""
    sent = 0
    boundary = b"b0undary"
    head = (b"--" + boundary + b'\r\nContent-Disposition: form-data; name="file"; '
            b'filename="stor.pdf"\r\n\r\n%PDF-')

    async def receive() -> dict[str, Any]:
        nonlocal sent
        piece = head if sent == 0 else b"\0" * 65536
        sent += len(piece)
        return {"type": "http.request", "body": piece, "more_body": sent < 2 * 1024 ** 3}

    scope = {"type": "http", "method": "POST", "path": "/", "headers": [
        (b"content-type", b"multipart/form-data; boundary=" + boundary)]}
    with pytest.raises(TooLarge):
        asyncio.run(read_upload(Request(scope, receive), lambda: Spool(1024 * 1024)))
    assert sent < 1024 * 1024 + 200 * 1024


# ------------------------------------------------------------------------ pages
def csrf_page(client: TestClient, app_id: int) -> str:
    import re

    page = client.get(f"/applications/{app_id}").text
    assert "Journal (aktliste)" in page and 'enctype="multipart/form-data"' in page
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found
    return found.group(1)


def test_the_case_page_files_an_upload_and_a_note_and_shows_the_journal(
        client: TestClient, wf: Workflow) -> None:
    app_id = make_application(wf, state="drafting")
    log_in(client, "sec-ishoj")
    token = csrf_page(client, app_id)
    r = client.post(f"/applications/{app_id}/files", data={**LETTER, "csrf": token},
                    files={"file": ("Svar fra ministeriet.pdf", samples.PDF)})
    assert r.status_code == 200 and "Registreret som akt nr." in r.text
    assert "Svar fra ministeriet.pdf" in r.text and "8. januar 2018" in r.text
    r = client.post(f"/applications/{app_id}/notes", data={"csrf": token,
                                                          "text": "Ringede til IM."})
    assert "Notatet er registreret som akt nr." in r.text and "Ringede til IM." in r.text
    number = max(e.number for e in _entries(wf, app_id))
    r = client.post(f"/applications/{app_id}/notes", data={
        "csrf": token, "text": "Det var Styrelsen, ikke IM.", "corrects": str(number)})
    assert f"retter nr. {number}" in r.text and f"rettet ved nr. {number + 1}" in r.text
    upload_number = number - 1
    r = client.get(f"/applications/{app_id}/journal/{upload_number}")
    assert r.content == samples.PDF and r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["content-disposition"].startswith("attachment;")
    r = client.get(f"/applications/{app_id}/aktliste.csv")
    assert "Ringede til IM." in r.content.decode("utf-8-sig")


def _notes(wf: Workflow, app_id: int, n: int) -> list[int]:
    """``n`` notes in the case (the quickest entries); every journal number it has then."""
    cf = CaseFile(wf)
    for k in range(n):
        cf.add_note(app_id, f"Notat {k + 1}", user="pl-ishoj")
    return sorted(e.number for e in _entries(wf, app_id))


def test_the_journal_api_pages_by_an_opaque_cursor_and_refuses_an_altered_one(
        client: TestClient, wf: Workflow) -> None:
    app_id = make_application(wf, state="drafting")
    numbers = _notes(wf, app_id, 7)
    pl = Api(client, "pl-ishoj")
    seen: list[int] = []
    url: str | None = f"/api/applications/{app_id}/journal?limit=3"
    cursors = []
    while url:
        r = client.get(url, headers=pl.headers)
        assert r.status_code == 200, r.text
        assert 1 <= len(r.json()) <= 3
        seen += [e["number"] for e in r.json()]
        following = r.headers.get("x-next-cursor")
        assert ("link" in r.headers) == (following is not None)
        if following:
            cursors.append(following)
            assert r.headers["link"] == (f"</api/applications/{app_id}/journal?limit=3"
                                         f'&cursor={following}>; rel="next"')
        url = r.headers["link"][1:].split(">;")[0] if following else None
    assert seen == numbers and len(cursors) == (len(numbers) - 1) // 3
    good = cursors[0]
    for bad in (good[:-1] + ("A" if good[-1] != "A" else "B"), "A" + good[1:], good[:-2],
                "x" * 40, "!!", "æøå"):
        r = client.get(f"/api/applications/{app_id}/journal", headers=pl.headers,
                       params={"cursor": bad})
        assert r.status_code == 422, (bad, r.text)
        assert "cursor" in r.text
    # a cursor of one case is no cursor of another
    r = client.get(f"/api/applications/{app_id + 1}/journal", headers=pl.headers,
                   params={"cursor": good})
    assert r.status_code == 422
    r = client.get(f"/api/applications/{app_id}/journal", headers=pl.headers,
                   params={"limit": 0})
    assert r.status_code == 422
    assert pl.get(f"/api/applications/{app_id}/journal") == \
        pl.get(f"/api/applications/{app_id}/journal?limit=500")


def test_the_case_page_shows_the_newest_entries_and_the_journal_page_pages_in_danish(
        client: TestClient, wf: Workflow, monkeypatch: pytest.MonkeyPatch) -> None:
    from workflow.web import casefile, pages

    monkeypatch.setattr(pages, "CASE_PAGE_JOURNAL", 4)
    monkeypatch.setattr(casefile, "JOURNAL_PAGE", 5)
    app_id = make_application(wf, state="drafting")
    numbers = _notes(wf, app_id, 9)
    total = len(numbers)
    log_in(client, "pl-ishoj")
    page = client.get(f"/applications/{app_id}").text
    shown = [n for n in numbers if f'id="akt-{n}"' in page]
    assert shown == numbers[-4:]
    assert f"De nyeste 4 af {total} akter." in page
    assert f'<a href="/applications/{app_id}/journal">Vis hele journalen</a>' in page
    # the correcting note's choices still list every note, not only the newest
    assert all(f'<option value="{n}">{n}: ' in page for n in numbers if n in
               {e.number for e in _entries(wf, app_id) if e.kind == "note"})

    def rows(text: str) -> list[int]:
        return [n for n in numbers if f'id="akt-{n}"' in text]

    first = client.get(f"/applications/{app_id}/journal")
    assert first.status_code == 200 and rows(first.text) == numbers[:5]
    assert f"1.–5. af {total}" in first.text and "Forrige side" not in first.text
    assert f'href="/applications/{app_id}/journal?efter={numbers[4]}" rel="next">' \
           "Næste side ›" in first.text
    second = client.get(f"/applications/{app_id}/journal", params={"efter": numbers[4]})
    assert rows(second.text) == numbers[5:10]
    assert f"6.–{min(10, total)}. af {total}" in second.text
    assert f'journal?foer={numbers[5]}" rel="prev">‹ Forrige side' in second.text
    back = client.get(f"/applications/{app_id}/journal", params={"foer": numbers[5]})
    assert rows(back.text) == numbers[:5]
    last = client.get(f"/applications/{app_id}/journal?foer=2147483647")
    assert rows(last.text) == numbers[-5:] and "Næste side" not in last.text
    for bad in ("abc", "-1", "1e3"):
        r = client.get(f"/applications/{app_id}/journal", params={"efter": bad})
        assert r.status_code == 422 and "aktnummer" in r.text
    link = f'<a href="/applications/{app_id}/aktindsigt">Aktindsigt: undtag og udlever</a>'
    assert link not in first.text           # the project lead decides no aktindsigt
    log_in(client, "legal-ishoj")
    assert link in client.get(f"/applications/{app_id}/journal").text
    log_in(client, "pl-brondby")
    assert client.get(f"/applications/{app_id}/journal").status_code == 403


def _entries(wf: Workflow, app_id: int) -> list[Any]:
    with store.read(wf.engine) as conn:
        return conn.execute(select(t.journal_entry).where(
            t.journal_entry.c.application_id == app_id)).all()


@pytest.mark.parametrize(("content", "name", "shown"), [
    (samples.HTML, "brev.pdf", "navnet siger .pdf, men indholdet er HTML"),
    (samples.EXE, "x.pdf.exe", "en fil, der hedder .exe, modtages ikke"),
    (samples.PASSWD, "../../etc/passwd", "indholdet er ren tekst"),
])
def test_the_case_page_refuses_a_bad_file_in_danish(client: TestClient, wf: Workflow,
                                                    content: bytes, name: str,
                                                    shown: str) -> None:
    app_id = make_application(wf, state="drafting")
    log_in(client, "legal-ishoj")
    token = csrf_page(client, app_id)
    before = stored(wf)
    r = client.post(f"/applications/{app_id}/files", data={**LETTER, "csrf": token},
                    files={"file": (name, content)})
    assert r.status_code == 200 and shown in r.text
    assert stored(wf) == before


def test_the_upload_form_needs_the_csrf_token_and_a_party(client: TestClient,
                                                          wf: Workflow) -> None:
    app_id = make_application(wf, state="drafting")
    log_in(client, "pl-ishoj")
    before = stored(wf)
    r = client.post(f"/applications/{app_id}/files", data={**LETTER, "csrf": "forkert"},
                    files={"file": ("brev.pdf", samples.PDF)})
    assert "formularen er forældet" in r.text.lower()
    log_in(client, "pl-brondby")
    page = client.get(f"/applications/{app_id}")
    assert page.status_code == 403
    assert stored(wf) == before


@pytest.mark.parametrize("corrects", ["99999999999999999999", "²", "-1", "abc", "0"])
def test_the_note_form_refuses_a_corrects_that_is_no_journal_number(
        client: TestClient, wf: Workflow, corrects: str) -> None:
    """Found by a probe: a number past the database's, or a digit that is no ASCII
    digit, was a 500; a negative or a word was dropped and the note stored anyway."""
    app_id = make_application(wf, state="drafting")
    before = len(_entries(wf, app_id))
    log_in(client, "pl-ishoj")
    token = csrf_page(client, app_id)
    r = client.post(f"/applications/{app_id}/notes",
                    data={"csrf": token, "text": "Et notat.", "corrects": corrects})
    assert r.status_code == 200 and "Retter:" in r.text and "aktnummer" in r.text, r.text
    assert len(_entries(wf, app_id)) == before


def _multipart(parts: list[tuple[str, str | None, bytes]]) -> tuple[bytes, str]:
    boundary = "grense-7f3a"
    out = b""
    for name, filename, value in parts:
        disposition = f'form-data; name="{name}"' + \
            (f'; filename="{filename}"' if filename is not None else "")
        out += (f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n").encode() + \
            value + b"\r\n"
    return out + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


@pytest.mark.parametrize(("extra", "said"), [
    ([("file", "a.pdf", b"MZevil")], "one file"),            # a second file part
    ([("party", None, b"Andre")], "sent twice"),             # a field twice
    ([("description", None, b"\xff\xfe")], "UTF-8"),          # bytes that are no text
])
def test_an_upload_with_a_part_twice_or_no_text_is_refused_and_nothing_stored(
        client: TestClient, wf: Workflow, extra: list[tuple[str, str | None, bytes]],
        said: str) -> None:
    app_id = make_application(wf, state="drafting")
    before = len(_entries(wf, app_id))
    pl = Api(client, "pl-ishoj")
    replaced = {name for name, _, _ in extra} - {"party", "file"}   # party: sent twice
    parts = [(k, None, v.encode()) for k, v in LETTER.items() if k not in replaced]
    body, kind = _multipart([*parts, ("file", "a.pdf", samples.PDF), *extra])
    r = client.post(f"/api/applications/{app_id}/files", content=body,
                    headers={**pl.headers, "content-type": kind})
    assert 400 <= r.status_code < 500 and said in r.text, (r.status_code, r.text)
    assert len(_entries(wf, app_id)) == before


@pytest.mark.parametrize("party", ["a\u2028b", "Borger\u202eJensen", "a\x9b2J", "a\tb"])
def test_a_filing_with_a_character_that_is_no_letter_is_refused(
        client: TestClient, wf: Workflow, party: str) -> None:
    app_id = make_application(wf, state="drafting")
    pl = Api(client, "pl-ishoj")
    r = upload(pl, app_id, samples.PDF, "brev.pdf", status=422, party=party)
    assert "control character" in str(r), r
    assert [e for e in _entries(wf, app_id) if e.kind == "upload"] == []


@pytest.mark.parametrize("day", ["20180108", "2018-W02-1", "2018-02-30", "0000-00-00", ""])
def test_a_filing_date_is_a_day_written_yyyy_mm_dd(client: TestClient, wf: Workflow,
                                                   day: str) -> None:
    app_id = make_application(wf, state="drafting")
    r = upload(Api(client, "pl-ishoj"), app_id, samples.PDF, "brev.pdf", status=422, date=day)
    assert "YYYY-MM-DD" in str(r)
    assert [e for e in _entries(wf, app_id) if e.kind == "upload"] == []


@pytest.mark.parametrize(("text", "said"), [
    (b"%ED%A0%80", "Formularen indeholder tegn, der ikke er UTF-8-tekst"),
    (b"%FF%FE", "Formularen indeholder tegn, der ikke er UTF-8-tekst"),
    (b"a%1B%5B2J", "Notatet indeholder styretegnet \\x1b"),
    (b"Borger%E2%80%AEJensen", "Notatet indeholder styretegnet \\u202e"),
])
def test_a_page_form_that_is_no_text_is_refused_and_nothing_stored(
        client: TestClient, wf: Workflow, text: bytes, said: str) -> None:
    """Found by a probe: a form's bytes that are not UTF-8 were stored as U+FFFD."""
    from urllib.parse import quote

    app_id = make_application(wf, state="drafting")
    before = len(_entries(wf, app_id))
    log_in(client, "pl-ishoj")
    token = csrf_page(client, app_id)
    r = client.post(f"/applications/{app_id}/notes",
                    content=b"csrf=" + quote(token).encode() + b"&text=" + text,
                    headers={"content-type": "application/x-www-form-urlencoded"})
    assert r.status_code in (200, 422) and said in r.text, r.text[-800:]
    assert len(_entries(wf, app_id)) == before
