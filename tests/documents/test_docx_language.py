"""Word documents are Danish: language, table rows and e-mail addresses, read back.

Every document :func:`workflow.documents.docx_writer.write_docx` makes says da-DK, on every shipped
letterhead and on letterheads a municipality might bring (made in an English Word, or
saved by LibreOffice): in the document defaults, in every style, run, header, footer,
list level and footnote that names a language, and in the core properties. The bytes
are read back with zipfile and lxml, not through the writer's own helpers. Table rows
never split over a page and the header row repeats; an e-mail address stays on one line.
The layout claims are checked in the PDF the real LibreOffice makes (``pdftotext``);
under CI a missing LibreOffice or poppler-utils fails those tests instead of skipping
them. The last test runs a whole application through the engine and checks the bytes
of every version it stored.
"""

from __future__ import annotations

import functools
import io
import os
import re
import shutil
import subprocess
import tempfile
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import docx
import pytest
from docx.document import Document as DocxDocument
from docx.opc.constants import CONTENT_TYPE as CT
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.opc.packuri import PackURI
from docx.opc.part import Part
from docx.oxml import OxmlElement, parse_xml
from docx.oxml.ns import nsdecls, qn
from lxml import etree

from tests.conftest import SQLITE_ONLY, Clock
from tests.factories import DEMO_LETTERHEADS, demo_letterhead
from workflow.documents.docx_writer import write_docx
from workflow.documents.pdf import convert_to_pdf
from workflow.engine.queries import documents
from workflow.engine.workflow import Workflow

REFERENCE_DIR = Path(__file__).resolve().parents[2] / "templates" / "reference"
JOINT = demo_letterhead("joint")
HEADER = {"case_number": "00.17.15-G01-2-18", "date": "3. april 2018"}
W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
DANISH = "da-DK"
ADDRESSES = ["anders.loevengreen@vallensbaek.example", "mette.hoejgaard@ishoj.example",
             "anne-marie.hansen@vallensbaek-kommune.example"]
# too long for a table column beside two others, and a line's width in a paragraph
LONG = "anne-marie.loevengreen-hansen@vallensbaek-kommune.example"
MARKDOWN = (
    "# Ansøgning om dispensation\n\n"
    f"Tekst med **fed** og *kursiv*, og en adresse: {LONG}, og én til: {ADDRESSES[2]}.\n\n"
    "- et punkt\n- et andet punkt\n\n1. først\n2. så\n\n"
    "| Kommune | Kontaktperson | E-mail |\n|---|---|---|\n"
    "| Ishøj Kommune | Mette Højgaard | mette.hoejgaard@ishoj.example |\n"
    "| Vallensbæk Kommune | Anders Løvengreen | anders.loevengreen@vallensbaek.example |\n"
    f"| Vallensbæk Kommune | Anne-Marie Hansen | {ADDRESSES[2]} |\n\n"
    "Med venlig hilsen\n")


def w(tag: str) -> str:
    return f"{{{W}}}{tag}"


def write(markdown: str = MARKDOWN, reference: bytes = JOINT) -> bytes:
    return write_docx(markdown, reference, header=HEADER, title="Ansøgning – 00.17.15-G01-2-18",
                      author="Mette Højgaard", created=datetime(2018, 4, 3, 9, 30))


def require(tool: str, package: str) -> None:
    """Skip without ``tool``, as tests/documents/test_documents.py does for LibreOffice; under CI,
    fail."""
    if shutil.which(tool) is None:
        (pytest.fail if os.environ.get("CI") else pytest.skip)(
            f"{tool} is not installed (apt-get install {package})")


def pdf_text(content: bytes, *, layout: bool = True) -> str:
    """The text of the PDF LibreOffice makes of ``content``, pages parted by \\f."""
    require("soffice", "libreoffice-writer-nogui")
    require("pdftotext", "poppler-utils")
    pdf = convert_to_pdf(content)
    return subprocess.run(["pdftotext", *(["-layout"] if layout else []), "-", "-"],
                          input=pdf, capture_output=True, check=True).stdout.decode()


# --------------------------------------------------------------- reading back
def xml_parts(content: bytes) -> dict[str, Any]:
    with zipfile.ZipFile(io.BytesIO(content)) as z:
        return {name: etree.fromstring(z.read(name)) for name in z.namelist()
                if name.endswith(".xml") and name.startswith("word/")}


def style_language(styles: Any, style_id: str | None) -> str | None:
    """The language a style sets, itself or through the styles it is based on."""
    for _ in range(20):
        if style_id is None:
            return None
        style = styles.find(f"{w('style')}[@{w('styleId')}='{style_id}']")
        if style is None:
            return None
        lang = style.find(f"{w('rPr')}/{w('lang')}")
        if lang is not None and lang.get(w("val")):
            return str(lang.get(w("val")))
        based = style.find(w("basedOn"))
        style_id = based.get(w("val")) if based is not None else None
    raise AssertionError("a cycle of basedOn")


def run_language(run: Any, styles: Any) -> str | None:
    """The language Word gives a run: its own, else its character style's, else its
    paragraph style's (the default paragraph style if none), else its table style's,
    else the document default."""
    lang = run.find(f"{w('rPr')}/{w('lang')}")
    if lang is not None and lang.get(w("val")):
        return str(lang.get(w("val")))
    rstyle = run.find(f"{w('rPr')}/{w('rStyle')}")
    found = style_language(styles, rstyle.get(w("val"))) if rstyle is not None else None
    if found:
        return found
    p = next(a for a in run.iterancestors() if a.tag == w("p"))
    pstyle = p.find(f"{w('pPr')}/{w('pStyle')}")
    if pstyle is not None:
        found = style_language(styles, pstyle.get(w("val")))
    else:
        default = styles.find(f"{w('style')}[@{w('type')}='paragraph'][@{w('default')}='1']")
        found = style_language(styles, default.get(w("styleId"))) if default is not None \
            else None
    if found:
        return found
    tbl = next((a for a in run.iterancestors() if a.tag == w("tbl")), None)
    tstyle = tbl.find(f"{w('tblPr')}/{w('tblStyle')}") if tbl is not None else None
    found = style_language(styles, tstyle.get(w("val"))) if tstyle is not None else None
    if found:
        return found
    lang = styles.find(f"{w('docDefaults')}/{w('rPrDefault')}/{w('rPr')}/{w('lang')}")
    return str(lang.get(w("val"))) if lang is not None else None


def assert_danish(content: bytes) -> int:
    """Assert that a .docx is Danish throughout; how many runs it has in its body,
    headers, footers and notes (every one of them Danish)."""
    parts = xml_parts(content)
    styles = parts["word/styles.xml"]
    default = styles.find(f"{w('docDefaults')}/{w('rPrDefault')}/{w('rPr')}/{w('lang')}")
    assert default is not None, "no default language"
    assert (default.get(w("val")), default.get(w("eastAsia"))) == (DANISH, DANISH)
    assert default.get(w("bidi")), "no language for right-to-left text"
    for name, root in parts.items():
        for lang in root.iter(w("lang")):
            assert lang.get(w("val")) == DANISH, (name, dict(lang.attrib))
            assert lang.get(w("eastAsia")) in (None, DANISH), (name, dict(lang.attrib))
    runs = 0
    for name, root in parts.items():
        if re.fullmatch(r"word/(document|header\d*|footer\d*|footnotes|endnotes)\.xml", name):
            for run in root.iter(w("r")):
                assert run_language(run, styles) == DANISH, (name, etree.tostring(run))
                runs += 1
    theme = parts["word/settings.xml"].find(w("themeFontLang"))
    assert theme is None or theme.get(w("val")) == DANISH
    doc = docx.Document(io.BytesIO(content))
    assert doc.core_properties.language == DANISH
    return runs


def assert_rows_keep_together(content: bytes) -> int:
    """Every row of every body table may not split, and exactly its first row repeats as
    the header; how many rows."""
    rows = 0
    for tbl in xml_parts(content)["word/document.xml"].iter(w("tbl")):
        for i, tr in enumerate(tbl.findall(w("tr"))):
            assert tr.find(f"{w('trPr')}/{w('cantSplit')}") is not None, i
            assert (tr.find(f"{w('trPr')}/{w('tblHeader')}") is not None) == (i == 0), i
            rows += 1
    return rows


# ------------------------------------------------------------- the letterheads
def changed(reference: bytes, change: Callable[[DocxDocument], None]) -> bytes:
    doc = docx.Document(io.BytesIO(reference))
    change(doc)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def set_lang(rpr_parent: Any, val: str, east_asia: str | None = None) -> None:
    """Give an element's w:rPr a w:lang (replacing one it has)."""
    rpr = rpr_parent.get_or_add_rPr()
    for old in rpr.findall(qn("w:lang")):
        rpr.remove(old)
    lang = OxmlElement("w:lang")
    lang.set(qn("w:val"), val)
    if east_asia:
        lang.set(qn("w:eastAsia"), east_asia)
    rpr.insert_element_before(lang, "w:eastAsianLayout", "w:specVanish", "w:oMath")


FOOTNOTES = (f'<w:footnotes {nsdecls("w")}>'
             '<w:footnote w:type="separator" w:id="-1"><w:p><w:r><w:rPr>'
             '<w:lang w:val="en-US" w:eastAsia="en-US"/></w:rPr><w:separator/></w:r></w:p>'
             '</w:footnote><w:footnote w:id="1"><w:p><w:r><w:rPr><w:lang w:val="en-GB"/>'
             '</w:rPr><w:t>Footnote</w:t></w:r></w:p></w:footnote></w:footnotes>')


def english(doc: DocxDocument) -> None:
    """The joint letterhead as an English Word leaves it: en-US in the defaults, in
    styles, in the header's and the footer's runs and in a list level; British in a
    footnote; American separators and core language."""
    lang = doc.styles.element.find(
        f"{qn('w:docDefaults')}/{qn('w:rPrDefault')}/{qn('w:rPr')}/{qn('w:lang')}")
    for key, value in (("w:val", "en-US"), ("w:eastAsia", "en-US"), ("w:bidi", "ar-SA")):
        lang.set(qn(key), value)
    set_lang(doc.styles["Normal"].element, "en-US")
    set_lang(doc.styles["Heading 1"].element, "en-GB", east_asia="zh-CN")
    set_lang(doc.styles["Heading 1 Char"].element, "en-US")
    set_lang(doc.styles["Table Grid"].element, "en-US")
    section = doc.sections[0]
    set_lang(section.header.paragraphs[0].runs[0]._r, "en-US")
    set_lang(section.footer.paragraphs[0].runs[0]._r, "en-US")
    numbering = doc.part.numbering_part.element
    lvl = numbering.find(f"{qn('w:abstractNum')}/{qn('w:lvl')}")
    lvl.append(parse_xml(f'<w:rPr {nsdecls("w")}><w:lang w:val="en-US"/></w:rPr>'))
    settings = doc.settings.element
    settings.find(qn("w:themeFontLang")).set(qn("w:val"), "en-US")
    settings.find(qn("w:decimalSymbol")).set(qn("w:val"), ".")
    settings.find(qn("w:listSeparator")).set(qn("w:val"), ",")
    part = Part(PackURI("/word/footnotes.xml"), CT.WML_FOOTNOTES, FOOTNOTES.encode(),
                doc.part.package)
    doc.part.relate_to(part, RT.FOOTNOTES)
    doc.core_properties.language = "en-US"


def english_letterhead() -> bytes:
    english_bytes = changed(JOINT, english)
    langs = [(name, lang.get(w("val"))) for name, root in xml_parts(english_bytes).items()
             for lang in root.iter(w("lang"))]
    # the letterhead really is English where it matters: no Danish anywhere
    assert {name for name, _ in langs} >= {"word/styles.xml", "word/numbering.xml",
                                           "word/footnotes.xml"}
    assert all(val != DANISH for _, val in langs)
    assert sum(name.startswith("word/header") for name, _ in langs) == 1
    return english_bytes


def python_docx_default() -> bytes:
    """python-docx's own template: a document made in an English Word, ~160 styles."""
    out = io.BytesIO()
    docx.Document().save(out)
    return out.getvalue()


LETTERHEADS: list[tuple[str, Callable[[], bytes]]] = [
    ("base", (REFERENCE_DIR / "base.docx").read_bytes),
    *[(name, functools.partial(demo_letterhead, name)) for name in DEMO_LETTERHEADS],
    ("english", english_letterhead),
    ("python-docx default", python_docx_default),
]


def test_no_letterhead_of_a_municipality_is_shipped() -> None:
    assert [p.name for p in REFERENCE_DIR.glob("*.docx")] == ["base.docx"]


@pytest.mark.parametrize("name", DEMO_LETTERHEADS)
def test_the_made_letterheads_are_danish_themselves(name: str) -> None:
    assert_danish(demo_letterhead(name))


@pytest.mark.parametrize(("name", "letterhead"), LETTERHEADS, ids=[n for n, _ in LETTERHEADS])
def test_every_document_is_danish(name: str, letterhead: Callable[[], bytes]) -> None:
    reference = letterhead()
    content = write(reference=reference)
    runs = assert_danish(content)
    assert runs >= 20, runs
    doc = docx.Document(io.BytesIO(content))
    assert doc.paragraphs[0].text == "Ansøgning om dispensation"   # the text is all there
    assert [c.text for c in doc.tables[0].rows[3].cells][2] == ADDRESSES[2]
    settings = xml_parts(content)["word/settings.xml"]
    assert settings.find(w("decimalSymbol")).get(w("val")) == ","
    assert settings.find(w("listSeparator")).get(w("val")) == ";"


def test_a_footnote_part_is_kept_and_made_danish() -> None:
    content = write(reference=english_letterhead())
    footnotes = xml_parts(content)["word/footnotes.xml"]
    assert [t.text for t in footnotes.iter(w("t"))] == ["Footnote"]
    assert [lang.get(w("val")) for lang in footnotes.iter(w("lang"))] == [DANISH, DANISH]
    # only the languages changed: the English letterhead's other styles are kept
    doc = docx.Document(io.BytesIO(content))
    assert doc.styles["Heading 1"].element.rPr.find(qn("w:lang")).get(qn("w:eastAsia")) \
        == DANISH


@pytest.mark.parametrize(("name", "letterhead"), LETTERHEADS, ids=[n for n, _ in LETTERHEADS])
def test_table_rows_do_not_split_and_the_header_repeats(name: str,
                                                        letterhead: Callable[[], bytes]) -> None:
    content = write("| a | b |\n|---|---|\n| 1 | 2 |\n| 3 | 4 |\n\nMellem\n\n"
                    "| Eneste |\n|---|\n", letterhead())
    assert assert_rows_keep_together(content) == 4


# ------------------------------------------------------------------ LibreOffice
def test_long_e_mail_addresses_stay_on_one_line_in_libreoffice() -> None:
    text = pdf_text(write())
    lines = text.splitlines()
    for address in ADDRESSES:
        # each address whole on a line: in the table and, once more, in the paragraph
        assert sum(line.count(address) for line in lines) == \
            (2 if address == ADDRESSES[2] else 1), (address, text)
    assert sum(line.count(LONG) for line in lines) == 1, text     # in the paragraph
    # the address column is as wide as the longest address; the names wrap at spaces
    row = next(line for line in lines if ADDRESSES[0] in line)
    assert re.fullmatch(r"\s*Vallensbæk( Kommune)?\s+Anders( Løvengreen)?\s+"
                        r"anders\.loevengreen@vallensbaek\.example\s*", row), row


def test_an_address_too_long_for_its_column_breaks_alone() -> None:
    # beside two columns it cannot be as wide as the address: the address gives way,
    # the names keep their words whole
    text = pdf_text(write("| Kommune | Kontaktperson | E-mail |\n|---|---|---|\n"
                          f"| Vallensbæk Kommune | Anne-Marie Løvengreen-Hansen | {LONG} |\n"))
    table = text[text.index("Kontaktperson"):].split()
    for word in ("Vallensbæk", "Kommune", "Anne-Marie"):
        assert word in table, text                       # whole, each on its line
    assert "Løvengreen-Hansen" in table or "Løvengreen-" in table, text
    assert LONG not in table                             # the address did not fit: it broke
    assert any(w.startswith("anne-marie.loevengreen-hansen@vallensbaek") for w in table), \
        text                                             # at the end of its column
    assert re.search(r"^\s*Kommune\s+Kontaktperson\s+E-mail\s*$", text, re.M), text


def test_an_address_at_the_end_of_a_line_moves_whole_to_the_next() -> None:
    # The same sentence, shifted a letter at a time, so that the address's hyphens fall
    # on the end of a line somewhere: the address never breaks there, while a hyphenated
    # word that is no address does (LibreOffice may break after a hyphen), which shows
    # that the sentence does reach the end of the line where it matters.
    address, word = LONG, "anne-marie-loevengreen-hansen-ved-vallensbaek-kommunes"
    prefix = "Kontakt os gerne på denne adresse, hvis der er spørgsmål til sagen:"
    paragraphs = [f"{'x' * k} {prefix} {address} eller {'y' * k} {prefix} {word}"
                  for k in range(0, 40, 2)]
    text = pdf_text(write("\n\n".join(paragraphs) + "\n"), layout=False)
    words = text.split()
    assert words.count(address) == len(paragraphs), text
    assert words.count(word) < len(paragraphs), text


def test_a_header_row_repeats_and_no_row_splits_in_libreoffice() -> None:
    # rows of some seven lines each (a cell's text wraps; Markdown has no line break in
    # a table cell), thirty of them: the table runs over several pages
    rows = "".join(f"| Række {n} | " + " ".join(f"R{n}W{i}" for i in range(1, 91)) + " |\n"
                   for n in range(1, 31))
    text = pdf_text(write("Før tabellen\n\n| Række | Tekst |\n|---|---|\n" + rows))
    pages = text.split("\f")[:-1]
    assert len(pages) >= 3, "the table should run over several pages"
    for page in pages:
        assert re.search(r"^\s*Række\s+Tekst\s*$", page, re.M), page   # the header row
    lines = 0
    for n in range(1, 31):
        on = [i for i, page in enumerate(pages) if re.search(rf"\bR{n}W\d+\b", page)]
        assert len(on) == 1, (n, on)                      # the whole row on one page
        page = pages[on[0]]
        assert {f"R{n}W{i}" for i in range(1, 91)} <= set(page.split()), n
        lines += sum(f"R{n}W" in line for line in page.splitlines())
    assert lines >= 30 * 4, "rows of several lines each"


def test_a_letterhead_saved_by_libreoffice_gives_danish_documents() -> None:
    require("soffice", "libreoffice-writer-nogui")
    with tempfile.TemporaryDirectory(prefix="workflow-test-") as tmp:
        src, out = Path(tmp) / "src" / "letterhead.docx", Path(tmp) / "out"
        src.parent.mkdir()
        src.write_bytes(english_letterhead())
        subprocess.run([shutil.which("soffice") or "soffice",
                        f"-env:UserInstallation=file://{tmp}/profile", "--headless",
                        "--convert-to", "docx", "--outdir", str(out), str(src)],
                       capture_output=True, timeout=180, check=True)
        saved = (out / "letterhead.docx").read_bytes()
    languages = {lang.get(w("val")) for root in xml_parts(saved).values()
                 for lang in root.iter(w("lang"))}
    assert languages and DANISH not in languages, languages
    assert assert_danish(write(reference=saved)) >= 20


@SQLITE_ONLY
def test_the_application_letter_keeps_its_addresses_on_one_line(wf: Workflow) -> None:
    app = wf.create(kind="dispensation", round=1, title="Adresser", user="pl-ishoj")
    wf.fire(app, "propose_areas", user="pl-ishoj",
            data={"areas": "rehabilitation,special_education"})
    wf.fire(app, "confirm_areas", user="pl-ishoj")
    wf.fire(app, "confirm_areas", user="pl-vallensbaek")
    letter, = documents(wf, app, user="admin")
    require("soffice", "libreoffice-writer-nogui")
    require("pdftotext", "poppler-utils")
    pdf = wf.download(letter["id"], user="pl-ishoj", pdf=True).content
    text = subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True,
                          check=True).stdout.decode()
    for name, contact, address in (
            ("Ishøj Kommune", "Mette Højgaard", ADDRESSES[1]),
            ("Vallensbæk Kommune", "Anders Løvengreen", ADDRESSES[0])):
        assert re.search(rf"^\s*{name}\s+{contact}\s+{re.escape(address)}\s*$", text, re.M), \
            text


# ------------------------------------------------------------------ the engine
def test_every_version_of_a_whole_application_life_is_danish(wf: Workflow,
                                                             clock: Clock) -> None:
    """A dispensation from its areas to its close, with a draft sent back, a request for
    more information and a grant with conditions: every version of every draft it made
    is Danish, and its tables' rows keep together."""
    # every step at 09:00 UTC (the same day in Copenhagen), counted from the day after
    # the clock's: the dates follow the clock, whatever day it starts on
    start = datetime.combine(clock.now.date() + timedelta(days=1), time(9), tzinfo=UTC)

    def at(days: int) -> str:
        return (start + timedelta(days=days)).date().isoformat()

    def step(days: int, trigger: str, user: str, **data: str) -> None:
        clock.now = start + timedelta(days=days)
        wf.fire(app, trigger, user=user, data=data)

    clock.now = start
    app = wf.create(kind="dispensation", round=1, title="Hjemtagning – et helt forløb",
                    user="pl-ishoj")
    step(0, "propose_areas", "pl-ishoj",
         areas="rehabilitation,special_education,nature_environment")
    step(1, "confirm_areas", "pl-ishoj")
    step(1, "confirm_areas", "pl-vallensbaek")
    step(10, "submit_for_review", "pl-ishoj")
    step(12, "return_draft", "legal-ishoj", reason="§-henvisning mangler")
    step(14, "submit_for_review", "pl-ishoj")
    step(16, "approve_draft", "legal-vallensbaek")
    step(17, "schedule_council_meeting", "sec-ishoj", meeting_date=at(28),
         agenda_ref="BR pkt. 7")
    step(18, "schedule_council_meeting", "sec-vallensbaek", meeting_date=at(36),
         agenda_ref="KB pkt. 12")
    step(29, "record_council_decision", "sec-ishoj", decision="approved",
         meeting_date=at(28), agenda_ref="BR pkt. 7")
    step(37, "record_council_decision", "sec-vallensbaek", decision="approved",
         meeting_date=at(36), agenda_ref="KB pkt. 12")
    step(38, "send_to_ministry", "pl-ishoj")
    step(60, "request_info", "pl-ishoj", reference="2018-77", request_date=at(60),
         due_date=at(74), questions="Hvor mange medarbejdere berøres?")
    step(65, "answer_question", "pl-ishoj", question_no=1, answer="Cirka 200 medarbejdere.")
    step(70, "answer_info", "pl-ishoj")
    step(100, "record_decision", "pl-ishoj", outcome="granted_with_conditions",
         reference="2018-77", decision_date=at(100), conditions="Overgang senest om et år")
    step(110, "accept_conditions", "sec-ishoj", meeting_date=at(108), agenda_ref="BR pkt. 3")
    step(115, "accept_conditions", "sec-vallensbaek", meeting_date=at(114),
         agenda_ref="KB pkt. 5")
    step(120, "start_transition", "pl-ishoj", effective_date=at(200))
    step(200, "complete", "pl-ishoj")

    docs = documents(wf, app, user="admin")
    made = {(d["name"], d["party"]): len(d["versions"]) for d in docs}
    assert set(made) >= {("application_letter", None), ("agenda_item", "ishoj"),
                         ("agenda_item", "vallensbaek"), ("info_answer", None),
                         ("decision_memo", None)}, made
    versions = 0
    for d in docs:
        for v in d["versions"]:
            got = wf.download(d["id"], user="pl-ishoj", number=v["number"])
            assert assert_danish(got.content) > 0, (d["name"], d["party"], v["number"])
            assert_rows_keep_together(got.content)
            versions += 1
    assert versions == sum(made.values()) > len(made)

