"""Markdown to Word: markdown-it-py tokens laid out with python-docx on a reference document.

The reference ``.docx`` (one per municipality, editable in Word) brings the letterhead,
styles, header and footer; its header may hold ``{{ case_number }}`` and ``{{ date }}``,
which are filled in here. Headings become Heading 1–3, lists real Word lists (List
Bullet, List Number with numbering restarted per list), tables real tables.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any, cast

from docx import Document
from docx.document import Document as DocxDocument
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.oxml.text.paragraph import CT_P
from docx.table import Table
from docx.text.paragraph import Paragraph
from markdown_it import MarkdownIt
from markdown_it.token import Token

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
    italic = False
    for child in (inline.children or []) if inline else []:
        kind = child.type
        if kind in ("text", "code_inline", "softbreak"):
            r = _el("w:r", p)
            if bold or italic:
                rpr = _el("w:rPr", r)
                if bold:
                    _el("w:b", rpr)
                if italic:
                    _el("w:i", rpr)
            t = _el("w:t", r)
            t.text = " " if kind == "softbreak" else child.content
            if t.text != t.text.strip():
                t.set(_XML_SPACE, "preserve")
        elif kind == "strong_open":
            bold = True
        elif kind == "strong_close":
            bold = False
        elif kind == "em_open":
            italic = True
        elif kind == "em_close":
            italic = False
        elif kind == "hardbreak":
            _el("w:br", _el("w:r", p))


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
    props = doc.core_properties
    props.title, props.author, props.last_modified_by = title, author, author
    props.created = props.modified = created.replace(tzinfo=None)
    props.revision = 1
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


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
    _repeat_header(table)
    return table


def _repeat_header(table: Table) -> None:
    _el("w:tblHeader", table.rows[0]._tr.get_or_add_trPr())
