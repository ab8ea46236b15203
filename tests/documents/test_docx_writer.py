"""Markdown to Word on the shipped letterheads, read back with python-docx.

Each test lays Markdown out with :func:`workflow.documents.docx_writer.write_docx` on a real
reference document (the ones under ``templates/reference/``, or a copy changed here the
way a municipality might change it in Word) and reads the bytes back. The language
(da-DK), table rows and e-mail addresses are covered further in test_docx_language.py.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import docx
import pytest
from docx.document import Document as DocxDocument
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm
from docx.text.paragraph import Paragraph

from tests.factories import demo_letterhead
from workflow.documents.docx_writer import write_docx

REFERENCE_DIR = Path(__file__).resolve().parents[2] / "templates" / "reference"
JOINT = demo_letterhead("joint")
HEADER = {"case_number": "00.17.15-G01-2-18", "date": "3. april 2018"}
CREATED = datetime(2018, 4, 3, 9, 30)


def write(markdown: str, reference: bytes = JOINT, **kwargs: Any) -> DocxDocument:
    args: dict[str, Any] = {"header": HEADER, "title": "Ansøgning – 00.17.15-G01-2-18",
                            "author": "Mette Højgaard", "created": CREATED, **kwargs}
    return docx.Document(io.BytesIO(write_docx(markdown, reference, **args)))


def body(doc: DocxDocument) -> list[tuple[str, str]]:
    return [(p.style.name, p.text) for p in doc.paragraphs]


def num_of(p: Paragraph) -> tuple[int, int] | None:
    """(numId, ilvl) set on the paragraph itself, or None."""
    ppr = p._p.pPr
    if ppr is None or ppr.numPr is None or ppr.numPr.numId is None:
        return None
    ilvl = ppr.numPr.ilvl.val if ppr.numPr.ilvl is not None else 0
    return int(ppr.numPr.numId.val), int(ilvl)


def reference_with(change: Callable[[DocxDocument], None]) -> bytes:
    """A copy of the joint letterhead changed as someone might change it in Word."""
    doc = docx.Document(io.BytesIO(JOINT))
    change(doc)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def add_field(paragraph: Paragraph, instr: str) -> None:
    run = paragraph.add_run()
    for kind, text in (("begin", None), (None, f" {instr} "), ("separate", None),
                       (None, "1"), ("end", None)):
        if kind:
            el: Any = OxmlElement("w:fldChar")
            el.set(qn("w:fldCharType"), kind)
        elif text and text.startswith(" "):
            el = OxmlElement("w:instrText")
            el.set(qn("xml:space"), "preserve")
            el.text = text
        else:
            el = OxmlElement("w:t")
            el.text = text
        run._r.append(el)


def instr_texts(part: Any) -> list[str]:
    return [e.text.strip() for e in part._element.iter(qn("w:instrText"))]


# ------------------------------------------------------------------------- blocks
def test_headings_become_heading_styles_up_to_level_three() -> None:
    doc = write("# Én\n\n## To\n\n### Tre\n\n#### Fire\n\n###### Seks\n\nSetext\n===\n\nTekst\n")
    assert body(doc) == [("Heading 1", "Én"), ("Heading 2", "To"), ("Heading 3", "Tre"),
                         ("Heading 3", "Fire"), ("Heading 3", "Seks"),
                         ("Heading 1", "Setext"), ("Normal", "Tekst")]


def test_bold_italic_and_links_keep_their_text() -> None:
    doc = write("Almindelig **fed** og *kursiv*, ***begge*** og [et link](https://x.dk) "
                "samt `kode`.\n")
    p, = doc.paragraphs
    assert p.text == "Almindelig fed og kursiv, begge og et link samt kode."
    runs = {r.text: (bool(r.bold), bool(r.italic)) for r in p.runs}
    assert runs["fed"] == (True, False)
    assert runs["kursiv"] == (False, True)
    assert runs["begge"] == (True, True)
    assert runs["Almindelig "] == (False, False)
    assert runs["et link"] == (False, False)


def test_hard_breaks_stay_in_the_paragraph_and_soft_breaks_are_spaces() -> None:
    doc = write("Borgmester, Ishøj Kommune\\\nKommunaldirektør, Ishøj Kommune\n\n"
                "To mellemrum  \nsom linjeskift\n\nBlødt\nskift\n")
    assert body(doc) == [
        ("Normal", "Borgmester, Ishøj Kommune\nKommunaldirektør, Ishøj Kommune"),
        ("Normal", "To mellemrum\nsom linjeskift"), ("Normal", "Blødt skift")]
    assert len(doc.paragraphs[0]._p.findall(f".//{qn('w:br')}")) == 1


def test_lists_are_word_lists_and_every_numbered_list_restarts() -> None:
    doc = write("- a\n- b\n  - b1\n  - b2\n- c\n\n"
                "1. en\n2. to\n   1. to.en\n   2. to.to\n3. tre\n\n"
                "Mellem\n\n1. igen\n2. igen to\n\n"
                "- punkt\n  1. x\n  2. y\n- punkt\n  1. z\n")
    assert body(doc) == [
        ("List Bullet", "a"), ("List Bullet", "b"), ("List Bullet 2", "b1"),
        ("List Bullet 2", "b2"), ("List Bullet", "c"),
        ("List Number", "en"), ("List Number", "to"), ("List Number 2", "to.en"),
        ("List Number 2", "to.to"), ("List Number", "tre"), ("Normal", "Mellem"),
        ("List Number", "igen"), ("List Number", "igen to"),
        ("List Bullet", "punkt"), ("List Number 2", "x"), ("List Number 2", "y"),
        ("List Bullet", "punkt"), ("List Number 2", "z")]
    nums = [num_of(p) for p in doc.paragraphs]
    # bullets are numbered by their style, which is a real Word list
    for name in ("List Bullet", "List Bullet 2"):
        style = doc.styles[name].element
        assert style.pPr is not None and style.pPr.numPr is not None, name
    assert all(nums[i] is None for i in (0, 1, 2, 3, 4, 10, 13, 16))
    first, nested, again, x, z = nums[5], nums[7], nums[11], nums[14], nums[17]
    assert first is not None and nested is not None and again is not None
    assert x is not None and z is not None
    assert nums[6] == nums[9] == first and first[1] == 0          # one list, continued
    assert nums[8] == nested and nested[1] == 1                   # the nested list
    assert nums[12] == again and again[1] == 0
    assert nums[15] == x and x[1] == 1 and z[1] == 1
    ids = [first[0], nested[0], again[0], x[0], z[0]]
    assert len(set(ids)) == 5, ids                                # every list its own
    # each list's numbering instance starts at 1, on the List Number definition
    numbering = doc.part.numbering_part.element
    style_num = doc.styles["List Number"].element.pPr.numPr.numId.val
    abstract = numbering.num_having_numId(style_num).abstractNumId.val
    for num_id in ids:
        num = numbering.num_having_numId(num_id)
        assert num.abstractNumId.val == abstract
        starts = {int(o.get(qn("w:ilvl"))): int(o.find(qn("w:startOverride")).get(qn("w:val")))
                  for o in num.findall(qn("w:lvlOverride"))}
        assert starts.get(0) == 1, (num_id, starts)


def test_a_reference_without_list_numbering_still_gets_list_styles() -> None:
    def plain_lists(doc: DocxDocument) -> None:
        for name in ("List Number", "List Number 2"):
            ppr = doc.styles[name].element.pPr
            ppr.remove(ppr.numPr)

    doc = write("1. a\n2. b\n\nx\n\n1. c\n", reference_with(plain_lists))
    assert body(doc) == [("List Number", "a"), ("List Number", "b"), ("Normal", "x"),
                         ("List Number", "c")]
    assert [num_of(p) for p in doc.paragraphs] == [None] * 4


def test_tables_have_a_bold_repeated_header_row() -> None:
    doc = write("Før\n\n| Kommune | Kontakt | E-mail |\n|---|:---:|---:|\n"
                "| Ishøj Kommune | Mette *Højgaard* | a\\|b@x.dk |\n"
                "| Vallensbæk Kommune | Anders Løvengreen |\n\nEfter\n")
    assert body(doc) == [("Normal", "Før"), ("Normal", "Efter")]
    table, = doc.tables
    assert table.style.name == "Table Grid"
    assert [[c.text for c in row.cells] for row in table.rows] == [
        ["Kommune", "Kontakt", "E-mail"],
        ["Ishøj Kommune", "Mette Højgaard", "a|b@x.dk"],
        ["Vallensbæk Kommune", "Anders Løvengreen", ""]]
    for cell in table.rows[0].cells:
        assert cell.paragraphs[0].runs and all(r.bold for r in cell.paragraphs[0].runs)
    assert not any(r.bold for r in table.rows[1].cells[0].paragraphs[0].runs)
    assert [bool(r.italic) for r in table.rows[1].cells[1].paragraphs[0].runs] == [False, True]
    assert table.rows[0]._tr.trPr.find(qn("w:tblHeader")) is not None
    assert table.rows[1]._tr.trPr is None or \
        table.rows[1]._tr.trPr.find(qn("w:tblHeader")) is None
    # no row splits over two pages, the header row included
    assert all(row._tr.trPr.find(qn("w:cantSplit")) is not None for row in table.rows)
    # the table sits between the paragraphs it was written between
    order = [child.tag.rsplit("}", 1)[1] for child in doc.element.body]
    assert order[:3] == ["p", "tbl", "p"]


CONTACTS = ("| Kommune | Kontaktperson | E-mail |\n|---|---|---|\n"
            "| Ishøj Kommune | Mette Højgaard | mette.hoejgaard@ishoj.example |\n"
            "| Vallensbæk Kommune | Anders Løvengreen | {address} |\n")



def text_width(doc: DocxDocument) -> int:
    """The width between the margins, in twips (16 cm on the shipped letterheads)."""
    section = doc.sections[-1]
    return int(section.page_width.twips - section.left_margin.twips
               - section.right_margin.twips)


def column_widths(doc: DocxDocument, index: int = 0) -> list[int]:
    """The table's grid widths (twips), checked against every cell's own width."""
    tbl = doc.tables[index]._tbl
    grid = [int(g.w.twips) for g in tbl.tblGrid.gridCol_lst]
    for tr in tbl.tr_lst:
        assert [int(tc.width.twips) for tc in tr.tc_lst] == grid
        assert all(tc.tcPr.tcW.type == "dxa" for tc in tr.tc_lst)
    return grid


def test_table_columns_are_as_wide_as_their_content_needs() -> None:
    doc = write(CONTACTS.format(address="anders.loevengreen@vallensbaek.example"))
    kommune, kontakt, email = widths = column_widths(doc)
    width = text_width(doc)
    assert abs(width - Cm(16).twips) <= 1 and sum(widths) == width
    # python-docx made three equal columns, too narrow for the address; now the address
    # column is the widest, wider than a third of the text width
    assert email > max(kommune, kontakt) and email > width / 3 + Cm(1).twips
    # columns whose longest lines fit are each given what they need and a share of the rest
    doc = write("| Nr. | Beskrivelse |\n|---|---|\n| 1 | Genoptræning efter sygehusophold |\n")
    nr, text = column_widths(doc)
    assert nr + text == width and 0 < nr < text / 4


def test_words_too_wide_for_the_table_break_only_in_the_widest_column() -> None:
    long = "anne-marie.loevengreen-hansen@vallensbaek-kommune.example"
    docs = [write(CONTACTS.format(address=address))
            for address in (long, long.replace("@", "." * 10 + "@"), "x" * 90)]
    got = [column_widths(doc) for doc in docs]
    assert all(sum(w) == text_width(doc) for w, doc in zip(got, docs, strict=True))
    # the names keep the width of their longest word, whatever the address, and the
    # address column gets the rest
    assert got[0] == got[1] == got[2], got
    assert got[0][2] > text_width(docs[0]) / 2


def test_hyphens_in_e_mail_addresses_do_not_break() -> None:
    doc = write("Skriv til **anne-marie.hansen@vallensbaek-kommune.example** eller ring - "
                "gerne før kl. 12 - til Jens-Ole.\n\n| E-mail |\n|---|\n| a-b@c-d.dk |\n")
    p, = doc.paragraphs
    assert p.text == ("Skriv til anne-marie.hansen@vallensbaek-kommune.example eller ring - "
                      "gerne før kl. 12 - til Jens-Ole.")
    address = next(r for r in p.runs if r.bold)   # the address is one run, still bold
    assert address.text == "anne-marie.hansen@vallensbaek-kommune.example"
    r = address._r
    assert len(r.findall(qn("w:noBreakHyphen"))) == 2
    assert "".join(t.text for t in r.findall(qn("w:t"))) == \
        "anne-marie.hansen@vallensbaek-kommune.example".replace("-", "")
    # a hyphen elsewhere is an ordinary one, where a line may break
    others = [t.text for t in p._p.iter(qn("w:t")) if t.getparent() is not r]
    assert "-" in "".join(others) and "Jens-Ole." in "".join(others)
    assert len(p._p.findall(f".//{qn('w:noBreakHyphen')}")) == 2
    cell = doc.tables[0].rows[1].cells[0]
    assert cell.text == "a-b@c-d.dk"
    assert len(cell._tc.findall(f".//{qn('w:noBreakHyphen')}")) == 2


def test_danish_letters_and_xml_characters_are_kept() -> None:
    text = "Æbler, øl og Åbenrå – «citat» § 11 a, stk. 2 < & > \" ' ½ €"
    doc = write(f"# {text}\n\n{text.replace('<', '&lt;')}\n")
    assert body(doc) == [("Heading 1", text), ("Normal", text)]


# -------------------------------------------------------------- the reference
@pytest.mark.parametrize(("name", "letterhead"), [
    ("ishoj", "Ishøj Kommune"), ("vallensbaek", "Vallensbæk Kommune"),
    ("joint", "Ishøj Kommune  ·  Vallensbæk Kommune")])
def test_the_letterhead_header_and_footer_are_kept_and_filled(name: str,
                                                              letterhead: str) -> None:
    reference = demo_letterhead(name)
    ref = docx.Document(io.BytesIO(reference))
    doc = write("# Overskrift\n\nTekst\n", reference)
    section = doc.sections[0]
    header = [p.text for p in section.header.paragraphs]
    assert header[0] == letterhead
    assert header[-1] == "Sagsnr. 00.17.15-G01-2-18  ·  3. april 2018"
    assert not any("{{" in t for t in header)
    assert instr_texts(section.footer) == ["PAGE", "NUMPAGES"]
    assert section.footer.paragraphs[0].text == "Side 1 af 1"
    # the page set-up and the styles come from the reference
    assert (section.page_width, section.page_height) == \
        (ref.sections[0].page_width, ref.sections[0].page_height)
    assert abs(section.page_width - Cm(21.0)) < Cm(0.01)      # A4
    assert section.left_margin == ref.sections[0].left_margin
    assert doc.styles["Heading 1"].font.color.rgb == ref.styles["Heading 1"].font.color.rgb
    assert body(doc) == [("Heading 1", "Overskrift"), ("Normal", "Tekst")]


def test_the_reference_body_is_replaced() -> None:
    def with_text(doc: DocxDocument) -> None:
        doc.add_paragraph("Skabelonens egen tekst")
        doc.add_table(rows=1, cols=1).cell(0, 0).text = "Skabelonens tabel"

    doc = write("Ny tekst\n", reference_with(with_text))
    assert body(doc) == [("Normal", "Ny tekst")]
    assert doc.tables == []
    assert doc.element.body[-1].tag == qn("w:sectPr")


def test_placeholders_split_over_runs_and_on_the_first_page_are_filled() -> None:
    def split(doc: DocxDocument) -> None:
        section = doc.sections[0]
        p = section.header.paragraphs[-1]
        for run in p.runs[1:]:
            run._r.getparent().remove(run._r)
        p.runs[0].text = "Sagsnr. {{ case_"
        p.add_run("number }} af {{ date }}").bold = True
        section.different_first_page_header_footer = True
        section.first_page_header.paragraphs[0].text = "Første side: {{ case_number }}"
        section.first_page_header.add_paragraph("Ukendt: {{ andet }}")

    doc = write("Tekst\n", reference_with(split))
    section = doc.sections[0]
    assert section.header.paragraphs[-1].text == "Sagsnr. 00.17.15-G01-2-18 af 3. april 2018"
    assert [p.text for p in section.first_page_header.paragraphs] == [
        "Første side: 00.17.15-G01-2-18", "Ukendt: {{ andet }}"]


def test_placeholders_in_a_header_table_are_filled() -> None:
    def table_header(doc: DocxDocument) -> None:
        section = doc.sections[0]
        table = section.header.add_table(1, 2, section.page_width - Cm(5))
        table.cell(0, 0).text = "Ishøj Kommune"
        table.cell(0, 1).text = "Sagsnr. {{ case_number }}, {{ date }}"

    doc = write("Tekst\n", reference_with(table_header))
    table, = doc.sections[0].header.tables
    assert table.cell(0, 1).text == "Sagsnr. 00.17.15-G01-2-18, 3. april 2018"


def test_a_placeholder_next_to_page_fields_keeps_the_fields() -> None:
    def footer(doc: DocxDocument) -> None:
        p = doc.sections[0].footer.paragraphs[0]
        for run in p.runs:
            run._r.getparent().remove(run._r)
        p.add_run("Sagsnr. {{ case_number }} – Side ")
        add_field(p, "PAGE")
        p.add_run(" af ")
        add_field(p, "NUMPAGES")

    doc = write("Tekst\n", reference_with(footer))
    footer_part = doc.sections[0].footer
    assert footer_part.paragraphs[0].text == "Sagsnr. 00.17.15-G01-2-18 – Side 1 af 1"
    assert instr_texts(footer_part) == ["PAGE", "NUMPAGES"]


def test_core_properties() -> None:
    doc = write("Tekst\n", title="Dagsordenspunkt – 00.17.15-G01-2-18", author="Søren Å. Bøgh")
    props = doc.core_properties
    assert props.title == "Dagsordenspunkt – 00.17.15-G01-2-18"
    assert props.author == props.last_modified_by == "Søren Å. Bøgh"
    assert props.created == props.modified == CREATED.replace(tzinfo=UTC)
    assert props.revision == 1
    assert props.language == "da-DK"


# ---------------------------------------------------------------- known losses
def test_indented_text_is_not_lost() -> None:
    doc = write("Før\n\n    indrykket tekst\n\nEfter\n\n```\nindhegnet\n```\n")
    text = "\n".join(p.text for p in doc.paragraphs)
    assert "indrykket tekst" in text and "indhegnet" in text


def test_a_continuation_paragraph_is_not_a_new_item() -> None:
    doc = write("1. a\n\n   fortsat\n2. b\n")
    numbered = []
    for p in doc.paragraphs:
        own = num_of(p)
        style_num = p.style.element.pPr.numPr if p.style.element.pPr is not None else None
        if (own is not None and own[0] != 0) or (own is None and style_num is not None):
            numbered.append(p.text)
    assert numbered == ["a", "b"]


def test_the_same_input_gives_the_same_bytes_whenever_it_is_written() -> None:
    """Every zip entry is stamped with the document's own moment, not the time of writing,
    so a version's sha256 can be made again from its inputs."""
    import hashlib
    import time
    import zipfile

    reference = demo_letterhead("joint")
    moment = datetime(2018, 1, 8, 9, 30)

    def write(when: datetime) -> bytes:
        return write_docx("# Overskrift\n\nTekst med æøå.\n", reference,
                          header={"case_number": "00.17.15-G01-1-18", "date": "8. januar 2018"},
                          title="T", author="A", created=when)

    first = write(moment)
    time.sleep(2.1)   # zip stamps have a resolution of two seconds
    assert hashlib.sha256(write(moment)).digest() == hashlib.sha256(first).digest()
    with zipfile.ZipFile(io.BytesIO(first)) as z:
        assert {i.date_time for i in z.infolist()} == {(2018, 1, 8, 9, 30, 0)}
        assert z.testzip() is None
    assert write(datetime(2018, 1, 9, 9, 30)) != first
