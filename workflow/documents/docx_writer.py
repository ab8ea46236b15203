"""Markdown to Word: markdown-it-py tokens laid out with python-docx on a reference document.

The reference ``.docx`` (one per municipality, editable in Word) brings the letterhead,
styles, header and footer; its header may hold ``{{ case_number }}`` and ``{{ date }}``,
which are filled in here. Headings become Heading 1–3, lists real Word lists (List
Bullet, List Number with numbering restarted per list), tables real tables: columns as
wide as their content needs, rows that do not split over a page, a header row repeated
on every page. The document is Danish whatever language the reference was made in
(:func:`set_danish`), and an e-mail address is never broken at its hyphens.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any, cast

from docx import Document
from docx.document import Document as DocxDocument
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.opc.oxml import serialize_part_xml
from docx.opc.part import XmlPart
from docx.opc.parts.coreprops import CorePropertiesPart
from docx.oxml import OxmlElement, parse_xml
from docx.oxml.ns import qn
from docx.oxml.text.paragraph import CT_P
from docx.table import Table
from docx.text.paragraph import Paragraph
from markdown_it import MarkdownIt
from markdown_it.token import Token

from .docx_columns import fit_columns
from .inline import EMAIL, inline_pieces

# No code blocks: an indented line in a letter is text, not code.
_MD = MarkdownIt("commonmark", {"html": False}).enable("table").disable(["code", "fence"])


_XML_SPACE = qn("xml:space")


def _el(tag: str, parent: Any = None, **attrs: str) -> Any:
    """A new python-docx element, appended to ``parent`` (elements are built in document
    order here, so appending is right and skips python-docx's search for the slot)."""
    el = OxmlElement(tag, {qn(k.replace("_", ":", 1)): v for k, v in attrs.items()})
    if parent is not None:
        parent.append(el)
    return el


def _paragraph(style_id: str | None, num: tuple[int, int] | None = None) -> CT_P:
    p = _el("w:p")
    if style_id is not None or num is not None:
        ppr = _el("w:pPr", p)
        if style_id is not None:
            _el("w:pStyle", ppr, w_val=style_id)
        if num is not None:
            num_pr = _el("w:numPr", ppr)
            _el("w:ilvl", num_pr, w_val=str(num[1]))
            _el("w:numId", num_pr, w_val=str(num[0]))
    return cast(CT_P, p)


def _runs(p: Any, inline: Token | None, *, bold: bool = False) -> None:
    """The inline tokens as runs of ``p``."""
    for text, b, i in inline_pieces(inline, bold=bold):
        if text is None:
            _el("w:br", _el("w:r", p))
            continue
        r = _el("w:r", p)
        if b or i:
            rpr = _el("w:rPr", r)
            if b:
                _el("w:b", rpr)
            if i:
                _el("w:i", rpr)
        _text(r, text)


def _text(r: Any, text: str) -> None:
    """``text`` as the content of run ``r``. Word and LibreOffice may break a line after
    any hyphen, but within an e-mail address they break nowhere else (not at '.' or
    '@'); so its hyphens become non-breaking hyphens (``w:noBreakHyphen``, which both
    show, print and put into a PDF as a plain '-') and the address stays on one line."""
    cuts = [i for m in EMAIL.finditer(text) for i in range(m.start(), m.end())
            if text[i] == "-"] if "@" in text and "-" in text else []
    start = 0
    for end in [*cuts, len(text)]:
        if end > start:
            t = _el("w:t", r)
            t.text = text[start:end]
            if t.text != t.text.strip():
                t.set(_XML_SPACE, "preserve")
        if end < len(text):
            _el("w:noBreakHyphen", r)
        start = end + 1
    if not text:
        _el("w:t", r).text = ""


class _Numbering:
    """New numbering instances so that every numbered list starts at 1."""

    def __init__(self, doc: DocxDocument) -> None:
        self.doc = doc
        self.abstract_id: int | None = None
        style = doc.styles["List Number"].element
        num_pr = style.pPr.numPr if style.pPr is not None else None
        if num_pr is not None and num_pr.numId is not None:
            numbering = doc.part.numbering_part.element
            num = numbering.num_having_numId(num_pr.numId.val)
            self.abstract_id = num.abstractNumId.val

    def restart(self) -> int | None:
        if self.abstract_id is None:
            return None
        num = self.doc.part.numbering_part.element.add_num(self.abstract_id)
        num.add_lvlOverride(ilvl=0).add_startOverride(1)
        return int(num.numId)


def _paragraphs(part: Any) -> Iterator[Paragraph]:
    """Every paragraph of a header or footer, also those inside its tables."""
    yield from part.paragraphs
    for table in part.tables:
        for row in table.rows:
            for cell in row.cells:
                yield from cell.paragraphs


def _fill_placeholders(doc: DocxDocument, values: Mapping[str, str]) -> None:
    """Replace ``{{ key }}`` in headers and footers, touching only the runs that hold it
    (Word may split a placeholder over several runs; fields and formatting around it
    stay as they are)."""
    for section in doc.sections:
        for part in (section.header, section.first_page_header, section.even_page_header,
                     section.footer, section.first_page_footer, section.even_page_footer):
            for paragraph in _paragraphs(part):
                if "{{" in paragraph.text:
                    for key, value in values.items():
                        _replace_in_runs(paragraph, "{{ " + key + " }}", value)


def _replace_in_runs(paragraph: Paragraph, needle: str, value: str) -> None:
    while True:
        runs = paragraph.runs
        texts = [r.text for r in runs]
        full = "".join(texts)
        start = full.find(needle)
        if start < 0:
            return
        end, offset, first = start + len(needle), 0, None
        for i, text in enumerate(texts):
            lo, hi = offset, offset + len(text)
            offset = hi
            if hi <= start or lo >= end:
                continue
            if first is None:  # the run where the placeholder begins gets the value
                first = i
                tail = text[end - lo:] if end <= hi else ""
                runs[i].text = text[:start - lo] + value + tail
            else:  # later runs lose the placeholder's remaining characters
                runs[i].text = text[max(end - lo, 0):] if end < hi else ""


def write_docx(markdown: str, reference: bytes, *, header: Mapping[str, str], title: str,
               author: str, created: datetime) -> bytes:
    """Lay ``markdown`` out on a copy of ``reference``; returns the .docx bytes."""
    doc = Document(io.BytesIO(reference))
    _standard_core_properties(doc)
    body = doc.element.body
    for child in list(body):
        if child.tag != qn("w:sectPr"):
            body.remove(child)
    style_ids = {s.name: s.style_id for s in doc.styles}  # once, not per paragraph
    end = body.sectPr  # new blocks go before the section properties, in order
    place = end.addprevious if end is not None else body.append
    numbering = _Numbering(doc)
    lists: list[tuple[str, int | None]] = []   # (bullet|ordered, numId) per open list
    item_paragraphs = 0   # paragraphs so far in the innermost list item
    table_rows: list[list[Token | None]] | None = None
    row: list[Token | None] = []
    paragraph_style: str | None = None
    tokens = _MD.parse(markdown)
    for i, tok in enumerate(tokens):
        kind = tok.type
        if kind == "heading_open":
            paragraph_style = f"Heading {min(int(tok.tag[1]), 3)}"
        elif kind == "bullet_list_open":
            lists.append(("bullet", None))
        elif kind == "ordered_list_open":
            lists.append(("ordered", numbering.restart()))
        elif kind in ("bullet_list_close", "ordered_list_close"):
            lists.pop()
        elif kind == "list_item_open":
            item_paragraphs = 0
        elif kind == "table_open":
            table_rows = []
        elif kind == "tr_open":
            row = []
        elif kind == "tr_close" and table_rows is not None:
            table_rows.append(row)
        elif kind in ("th_open", "td_open"):
            nxt = tokens[i + 1] if i + 1 < len(tokens) else None
            row.append(nxt if nxt is not None and nxt.type == "inline" else None)
        elif kind == "table_close" and table_rows:
            _table(doc, table_rows, style_ids.get("Table Grid"))
            table_rows = None
        elif kind == "inline" and table_rows is None:
            continuation = bool(lists) and paragraph_style is None and item_paragraphs > 0
            if continuation:  # a further paragraph of the same list item: no new number
                style: str | None = "List Paragraph"
            else:
                style = paragraph_style or _list_style(lists) or None
            num = None
            if lists and not continuation and lists[-1][1] is not None \
                    and paragraph_style is None:
                num = (int(lists[-1][1]), min(len(lists) - 1, 8))
            p = _paragraph(style_ids.get(style) if style else None, num)
            place(p)
            if lists and paragraph_style is None:
                item_paragraphs += 1
            _runs(p, tok)
            paragraph_style = None
    _fill_placeholders(doc, header)
    set_danish(doc)
    props = doc.core_properties   # all of them from the input: nothing from the clock
    props.title, props.author, props.last_modified_by = title, author, author
    props.created = props.modified = created.replace(tzinfo=None)
    props.revision = 1
    out = io.BytesIO()
    doc.save(out)
    return reproducible(out.getvalue(), created)


def reproducible(package: bytes, moment: datetime) -> bytes:
    """The package made byte for byte reproducible: every zip entry stamped ``moment`` (the
    letter's date; python-docx stamps the time of writing), in a fixed order
    (``[Content_Types].xml`` first, then by name), with fixed attributes and compression,
    so that the same input, template and engine give the same bytes and sha256."""
    stamp = max(moment.timetuple()[:6], (1980, 1, 1, 0, 0, 0))
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(package)) as src, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        names = sorted(src.namelist(), key=lambda n: (n != "[Content_Types].xml",
                                                      n != "_rels/.rels", n))
        for name in names:
            entry = zipfile.ZipInfo(name, date_time=stamp)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.create_system = 0
            entry.external_attr = 0
            dst.writestr(entry, src.read(name), compresslevel=6)
    return out.getvalue()


# ------------------------------------------------------------------------- language
DANISH = "da-DK"


COMPLEX_SCRIPT = "ar-SA"   # Word's own default for right-to-left text; Danish has none


_LANG, _VAL = qn("w:lang"), qn("w:val")


_EAST_ASIA, _BIDI = qn("w:eastAsia"), qn("w:bidi")


def set_danish(doc: DocxDocument) -> None:
    """Make the document Danish, so that Word spell-checks and hyphenates it as Danish:
    the document default language (styles.xml, ``w:docDefaults``), every language any
    style, run, header, footer, list level or note of the reference sets (a letterhead
    made in an English Word says en-US all over), the theme fonts' language, the
    decimal and list separators Danish Word writes (``,`` and ``;``), and the
    document's core property ``language``."""
    styles = doc.styles.element
    defaults = styles.find(qn("w:docDefaults"))
    if defaults is None:
        defaults = _el("w:docDefaults")
        styles.insert(0, defaults)
    rpr_default = defaults.find(qn("w:rPrDefault"))
    if rpr_default is None:
        rpr_default = _el("w:rPrDefault")
        defaults.insert(0, rpr_default)
    rpr = rpr_default.find(qn("w:rPr"))
    if rpr is None:
        rpr = _el("w:rPr", rpr_default)
    lang = rpr.find(_LANG)
    if lang is None:
        lang = _el("w:lang")
        rpr.insert_element_before(lang, "w:eastAsianLayout", "w:specVanish", "w:oMath")
    lang.set(_VAL, DANISH)
    lang.set(_EAST_ASIA, DANISH)
    if lang.get(_BIDI) is None:
        lang.set(_BIDI, COMPLEX_SCRIPT)
    for part in doc.part.package.iter_parts():
        if isinstance(part, XmlPart):
            _danish_langs(part.element)
        elif part.content_type.endswith("+xml") and b"lang" in part.blob \
                and b"wordprocessingml" in part.blob:
            # a part python-docx reads as bytes only (footnotes, endnotes, glossary)
            root = parse_xml(part.blob)
            if _danish_langs(root):
                part._blob = serialize_part_xml(root)
    settings = doc.settings.element
    theme = settings.find(qn("w:themeFontLang"))
    if theme is not None:
        theme.set(_VAL, DANISH)
    for tag, value in (("w:decimalSymbol", ","), ("w:listSeparator", ";")):
        el = settings.find(qn(tag))
        if el is not None:
            el.set(_VAL, value)
    doc.core_properties.language = DANISH


def _danish_langs(root: Any) -> int:
    """Every ``w:lang`` under ``root`` Danish (its East Asian language too, if it names
    one; a right-to-left language stays); how many there were."""
    langs = list(root.iter(_LANG))
    for lang in langs:
        lang.set(_VAL, DANISH)
        if lang.get(_EAST_ASIA) is not None:
            lang.set(_EAST_ASIA, DANISH)
    return len(langs)


def _standard_core_properties(doc: DocxDocument) -> None:
    """LibreOffice relates the core properties (``docProps/core.xml``) with its own
    spelling of the relationship type (``.../officedocument/2006/relationships/metadata/
    core-properties``); python-docx does not see them and would add a second part of
    the same name, a duplicate entry in the zip. Relate the same properties the standard
    way instead."""
    package = doc.part.package
    for rel_id, rel in list(package.rels.items()):
        if rel.is_external or rel.reltype == RT.CORE_PROPERTIES \
                or not rel.reltype.lower().endswith("/metadata/core-properties"):
            continue
        part = rel.target_part
        package.rels.pop(rel_id)
        package.relate_to(CorePropertiesPart.load(part.partname, part.content_type,
                                                  part.blob, package), RT.CORE_PROPERTIES)


def _list_style(lists: list[tuple[str, int | None]]) -> str | None:
    if not lists:
        return None
    base = "List Bullet" if lists[-1][0] == "bullet" else "List Number"
    return base if len(lists) == 1 else f"{base} 2"


def _table(doc: DocxDocument, rows: list[list[Token | None]], style_id: str | None) -> Table:
    cols = max(len(r) for r in rows)
    table: Table = doc.add_table(rows=len(rows), cols=cols)
    if style_id is not None:
        table._tbl.tblPr.style = style_id
    for r, (tr, cells) in enumerate(zip(table._tbl.tr_lst, rows, strict=True)):
        for tc, inline in zip(tr.tc_lst, cells, strict=False):
            _runs(tc.p_lst[0], inline, bold=r == 0)  # the header row in bold
        tr_pr = tr.get_or_add_trPr()
        _el("w:cantSplit", tr_pr)       # a row is never split over two pages
        if r == 0:
            _el("w:tblHeader", tr_pr)   # and the header row starts every page again
    fit_columns(doc, table, rows, style_id)
    return table
