"""The case's own text and drafts edited by hand on the web, on SQLite and PostgreSQL: the
API (GET/PUT sections, a preview, a multipart upload, the diff, regenerate) and the pages
(a form per section with Forhåndsvis and Gem; the upload form and the diff on the case
page); hostile input refused with a 4xx and nothing stored."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator

import docx
import pytest
from sqlalchemy import func, select

from tests.conftest import Clock
from tests.engine.test_edited import edited_copy
from tests.factories import make_application
from tests.web.test_api import Api, TestClient, prepare
from tests.web.test_bum import log_in
from workflow.config import Settings
from workflow.engine.workflow import Workflow
from workflow.store import database as store
from workflow.store import tables as t
from workflow.web.app import create_app

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@pytest.fixture
def client(settings: Settings, clock: Clock) -> Iterator[TestClient]:
    prepare(settings)
    with TestClient(create_app(settings, clock=clock)) as c:
        yield c


def count(wf: Workflow, table: str) -> int:
    with store.read(wf.engine) as conn:
        return int(conn.execute(select(func.count()).select_from(getattr(t, table)))
                   .scalar_one())


def letter_id(api: Api, app: int) -> int:
    docs = api.get(f"/api/applications/{app}/documents")
    return int(next(d["id"] for d in docs if d["name"] == "application_letter"))


def newest(api: Api, app: int, doc: int) -> int:
    docs = api.get(f"/api/applications/{app}/documents")
    return int(next(d["latest"] for d in docs if d["id"] == doc))


def letter_paragraphs(api: Api, app: int, doc: int) -> list[str]:
    r = api.client.get(f"/api/documents/{doc}/versions/{newest(api, app, doc)}",
                       headers=api.headers)
    assert r.status_code == 200
    return [p.text for p in docx.Document(io.BytesIO(r.content)).paragraphs]


# ------------------------------------------------------------------------ API
def test_sections_through_the_api(client: TestClient, wf: Workflow) -> None:
    app = make_application(wf, state="drafting")
    legal = Api(client, "legal-vallensbaek")
    got = legal.get(f"/api/applications/{app}/sections")
    assert got["may_edit"] and [s["name"] for s in got["sections"]] == \
        ["reasons", "citizens", "transition", "staff", "economy"]
    r = client.put(f"/api/applications/{app}/sections/transition", headers=legal.headers,
                   json={"text": "1. Først dette.\n2. Så dette.", "based_on": 0})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["number"] == 1 and body["documents"][0]["name"] == "application_letter"
    doc = letter_id(legal, app)
    paragraphs = letter_paragraphs(legal, app, doc)
    assert ["Først dette.", "Så dette."] == [p for p in paragraphs if p.endswith("dette.")]
    versions = legal.get(f"/api/applications/{app}/sections/transition/versions")
    assert [(v["number"], v["created_by"]) for v in versions] == [(1, "legal-vallensbaek")]
    # someone who started from the template's text (0) is told who saved first
    r = client.put(f"/api/applications/{app}/sections/transition", headers=legal.headers,
                   json={"text": "Noget andet.", "based_on": 0})
    assert r.status_code == 409 and r.json()["changed_by"] == "legal-vallensbaek"
    r = client.post(f"/api/applications/{app}/sections/reasons/preview", headers=legal.headers,
                    json={"text": "<b>x</b> **y**"})
    assert r.json() == {"html": "<p>&lt;b&gt;x&lt;/b&gt; <strong>y</strong></p>\n"}
    # a secretary reads, but may not write; another municipality sees nothing
    sec = Api(client, "sec-ishoj")
    r = client.put(f"/api/applications/{app}/sections/reasons", headers=sec.headers,
                   json={"text": "x"})
    assert r.status_code == 403 and "sagens tekst skrives af" in r.json()["detail_da"]
    assert client.get(f"/api/applications/{app}/sections",
                      headers=Api(client, "pl-brondby").headers).status_code == 403
    assert client.put(f"/api/applications/{app}/sections/grounds", headers=legal.headers,
                      json={"text": "x"}).status_code == 404
    for name in ("../../etc", "..%2F..%2Fetc", "Reasons", "x" * 41):
        r = client.put(f"/api/applications/{app}/sections/{name}", headers=legal.headers,
                       json={"text": "x"})
        assert 400 <= r.status_code < 500, (name, r.status_code)
    assert count(wf, "case_section") == 1


@pytest.mark.parametrize(("body", "status", "said"), [
    (b'{"text": "a\\ud800b"}', 422, "surrogate"),
    (b'{"text": "a\\u0007b"}', 422, "control character"),
    (b'{"text": "a\\u0000b"}', 422, "NUL character"),
    (b'{"text": "' + b"x" * 20_001 + b'"}', 422, "at most 20,000"),
    (b'{"text": "' + b"x" * (1 << 20) + b'"}', 413, "larger than"),
    (b'{"text": 5}', 422, "string"),
])
def test_hostile_section_bodies_are_refused(client: TestClient, wf: Workflow, body: bytes,
                                            status: int, said: str) -> None:
    app = make_application(wf, state="drafting")
    pl = Api(client, "pl-ishoj")
    r = client.put(f"/api/applications/{app}/sections/reasons", content=body,
                   headers={**pl.headers, "Content-Type": "application/json"})
    assert r.status_code == status, r.text
    assert said in r.text
    assert count(wf, "case_section") == 0


def test_an_edited_draft_through_the_api(client: TestClient, wf: Workflow) -> None:
    app = make_application(wf, state="legal_review")
    legal = Api(client, "legal-ishoj")
    doc = letter_id(legal, app)
    before = newest(legal, app, doc)
    base = client.get(f"/api/documents/{doc}/versions/1", headers=legal.headers).content
    content = edited_copy(base, "Ophævelse af det", "Rettet af juristen.")
    r = client.post(f"/api/documents/{doc}/versions", headers=legal.headers,
                    files={"file": ("ansøgning.docx", content, DOCX)},
                    data={"note": "Sproglig gennemgang", "from_number": "1"})
    assert r.status_code == 201, r.text
    made = r.json()
    assert (made["edited_from"], made["origin"]) == (1, "edited")
    diff = legal.get(f"/api/documents/{doc}/versions/{made['number']}/diff")
    assert "+Rettet af juristen." in diff["lines"] and diff["from"] == 1
    assert made["number"] == before + 1
    # regenerating over it needs a confirmation and a note
    r = client.post(f"/api/documents/{doc}/regenerate", headers=legal.headers, json={})
    assert r.status_code == 422 and "confirm" in r.json()["detail"]
    r = client.post(f"/api/documents/{doc}/regenerate", headers=legal.headers,
                    json={"confirm": True, "note": "Tilbage til skabelonen"})
    assert r.status_code == 200 and r.json()["made"]["number"] == made["number"] + 1


@pytest.mark.parametrize("given", ["", "null"])
def test_an_empty_or_null_from_number_is_the_newest_version(client: TestClient, wf: Workflow,
                                                             given: str) -> None:
    """A form writes a number left out as an empty field, or as JSON's null (as the
    OpenAPI schema's ``integer | null`` reads to a client that makes the form from it)."""
    app = make_application(wf, state="legal_review")
    legal = Api(client, "legal-ishoj")
    doc = letter_id(legal, app)
    before = newest(legal, app, doc)
    base = client.get(f"/api/documents/{doc}/versions/{before}", headers=legal.headers).content
    r = client.post(f"/api/documents/{doc}/versions", headers=legal.headers,
                    files={"file": ("ansøgning.docx", edited_copy(base, "Ophævelse af det",
                                                                 "Rettet."), DOCX)},
                    data={"from_number": given})
    assert r.status_code == 201, r.text
    assert r.json()["edited_from"] == before
    for bad in ("x", "0"):
        r = client.post(f"/api/documents/{doc}/versions", headers=legal.headers,
                        files={"file": ("ansøgning.docx", base, DOCX)},
                        data={"from_number": bad})
        assert r.status_code == 422, bad


@pytest.mark.parametrize(("name", "content", "said"), [
    ("x.docx", b"%PDF-1.4 a pdf", "it is a PDF"),
    ("x.docx", b"<html><script>alert(1)</script></html>", "it is HTML"),
    ("x.pdf.exe", b"MZ\x90\x00", "it is an executable"),
    ("../../etc/passwd", b"root:x:0:0", "no zip file"),
])
def test_uploads_that_are_no_docx_are_refused(client: TestClient, wf: Workflow, name: str,
                                              content: bytes, said: str) -> None:
    app = make_application(wf, state="legal_review")
    legal = Api(client, "legal-ishoj")
    doc = letter_id(legal, app)
    before = count(wf, "document_version")
    r = client.post(f"/api/documents/{doc}/versions", headers=legal.headers,
                    files={"file": (name, content, DOCX)})
    assert r.status_code == 422 and said in r.json()["detail"], r.text
    assert count(wf, "document_version") == before
    # from another party, or too big: refused too
    other = Api(client, "pl-brondby")
    r = client.post(f"/api/documents/{doc}/versions", headers=other.headers,
                    files={"file": ("x.docx", content, DOCX)})
    assert r.status_code in (403, 422)
    r = client.post(f"/api/documents/{doc}/versions", headers=legal.headers,
                    files={"file": ("big.docx", b"PK\x03\x04" + b"\x00" * (22 << 20), DOCX)})
    assert r.status_code == 413
    assert count(wf, "document_version") == before


# ---------------------------------------------------------------------- pages
def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found
    return found.group(1)


def test_the_sections_page_previews_and_saves(client: TestClient, wf: Workflow) -> None:
    app = make_application(wf, state="drafting")
    token = log_in(client, "pl-ishoj")
    case_page = client.get(f"/applications/{app}").text
    assert f'href="/applications/{app}/sections"' in case_page
    page = client.get(f"/applications/{app}/sections")
    assert page.status_code == 200
    assert "Forhåndsvis" in page.text and "Gem" in page.text
    assert "**Faglig bæredygtighed.** Begge kommuner" in page.text   # the template's text
    hostile = "<script>alert(1)</script> **Vigtigt**"
    r = client.post(f"/applications/{app}/sections/reasons",
                    data={"csrf": token, "text": hostile, "action": "preview", "based_on": "0"})
    assert r.status_code == 200
    preview = r.text.split("Forhåndsvisning", 1)[1]
    assert "<script>" not in r.text and "&lt;script&gt;" in preview
    assert "<strong>Vigtigt</strong>" in preview
    assert count(wf, "case_section") == 0        # a preview stores nothing
    r = client.post(f"/applications/{app}/sections/reasons",
                    data={"csrf": token, "text": "Vores egen begrundelse.", "action": "save",
                          "based_on": "0"}, follow_redirects=False)
    assert r.status_code == 303, r.text
    page = client.get(r.headers["location"]).text
    assert "Afsnittet »Begrundelse« er gemt som version 1. Udkastet er dannet igen." in page
    assert "Version 1, gemt" in page
    r = client.post(f"/applications/{app}/sections/reasons",
                    data={"csrf": token, "text": "Min version.", "action": "save",
                          "based_on": "0"})
    assert r.status_code == 409 and "Min version." in r.text
    assert "Afsnittet er ændret af Mette Højgaard (version 1), efter at du begyndte" in r.text
    assert "Sagens tekst ændret</strong>: Begrundelse, version 1" in \
        client.get(f"/applications/{app}").text                            # the history
    # bad text: the form again, as typed, saying why, nothing stored
    r = client.post(f"/applications/{app}/sections/staff",
                    data={"csrf": token, "text": "a\x1bb", "action": "save"})
    assert r.status_code == 422 and "styretegnet" in r.text
    assert count(wf, "case_section") == 1
    r = client.post(f"/applications/{app}/sections/staff",
                    data={"csrf": "forkert", "text": "x", "action": "save"})
    assert r.status_code == 403 and count(wf, "case_section") == 1
    r = client.post(f"/applications/{app}/sections/staff", content=b"text=" + b"x" * (1 << 20),
                    headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 413


def test_the_case_page_files_an_edited_draft_and_shows_its_diff(
        client: TestClient, wf: Workflow) -> None:
    app = make_application(wf, state="legal_review")
    legal = Api(client, "legal-ishoj")
    doc = letter_id(legal, app)
    base = client.get(f"/api/documents/{doc}/versions/1", headers=legal.headers).content
    token = log_in(client, "legal-ishoj")
    page = client.get(f"/applications/{app}").text
    assert "Indsæt redigeret version" in page and f'action="/documents/{doc}/edited"' in page
    content = edited_copy(base, "Ophævelse af det", "Rettet <i>i hånden</i>.")
    r = client.post(f"/documents/{doc}/edited", data={"csrf": token, "note": "Rettelse"},
                    files={"file": ("rettet.docx", content, DOCX)}, follow_redirects=False)
    assert r.status_code == 303
    page = client.get(r.headers["location"]).text
    assert "Den redigerede fil er gemt som version" in page
    assert "redigeret i hånden ud fra version 1: Rettelse" in page
    assert '<span class="add">+Rettet &lt;i&gt;i hånden&lt;/i&gt;.</span>' in page
    assert "Dan igen fra skabelonen" in page
    assert "Redigeret version indsat</strong>: Ansøgning om dispensation, version" in page
    # a file that is no .docx: said on the page, nothing stored
    before = count(wf, "document_version")
    r = client.post(f"/documents/{doc}/edited", data={"csrf": token},
                    files={"file": ("x.docx", b"%PDF-1.4", DOCX)})
    assert "filen er ikke et Word-dokument (.docx): det er en PDF-fil" in r.text
    assert count(wf, "document_version") == before
    # regenerating without the confirmation is refused, with it done
    r = client.post(f"/documents/{doc}/regenerate", data={"csrf": token, "note": "x"})
    assert "redigeret i hånden" in r.text and count(wf, "document_version") == before
    r = client.post(f"/documents/{doc}/regenerate",
                    data={"csrf": token, "note": "Skabelonens tekst", "confirm": "yes"})
    assert "Dokumentet er dannet igen fra skabelonen" in r.text
    assert count(wf, "document_version") == before + 1
    # a project lead sees the diff but no upload form
    log_in(client, "pl-ishoj")
    page = client.get(f"/applications/{app}").text
    assert "Indsæt redigeret version" not in page and 'class="add"' in page
