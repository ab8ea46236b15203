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
from typing import Any

from docx import Document
from docx.document import Document as DocxDocument
from docx.oxml.ns import qn
from docx.table import Table
from docx.text.paragraph import Paragraph
from markdown_it import MarkdownIt
from markdown_it.token import Token

# No code blocks: an indented line in a letter is text, not code.
_MD = MarkdownIt("commonmark", {"html": False}).enable("table").disable(["code", "fence"])


def _runs(paragraph: Paragraph, inline: Token | None) -> None:
    bold = italic = False
    for child in (inline.children or []) if inline else []:
        if child.type == "text" or child.type == "code_inline":
            run = paragraph.add_run(child.content)
            run.bold, run.italic = bold or None, italic or None
        elif child.type == "strong_open":
            bold = True
        elif child.type == "strong_close":
            bold = False
        elif child.type == "em_open":
            italic = True
        elif child.type == "em_close":
            italic = False
        elif child.type == "hardbreak":
            paragraph.add_run().add_break()
        elif child.type == "softbreak":
            paragraph.add_run(" ")


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
            _table(doc, table_rows)
            table_rows = None
        elif kind == "inline" and table_rows is None:
            continuation = bool(lists) and paragraph_style is None and item_paragraphs > 0
            if continuation:  # a further paragraph of the same list item: no new number
                style: str | None = "List Paragraph"
            else:
                style = paragraph_style or _list_style(lists) or None
            paragraph = doc.add_paragraph(style=style)
            if lists and not continuation and lists[-1][1] is not None \
                    and paragraph_style is None:
                _number(paragraph, lists[-1][1], len(lists) - 1)
            if lists and paragraph_style is None:
                item_paragraphs += 1
            _runs(paragraph, tok)
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


def _number(paragraph: Paragraph, num_id: int, level: int) -> None:
    num_pr = paragraph._p.get_or_add_pPr().get_or_add_numPr()
    num_pr.get_or_add_ilvl().val = min(level, 8)
    num_pr.get_or_add_numId().val = num_id


def _table(doc: DocxDocument, rows: list[list[Token | None]]) -> Table:
    cols = max(len(r) for r in rows)
    table: Table = doc.add_table(rows=len(rows), cols=cols)
    table.style = doc.styles["Table Grid"]
    for r, cells in enumerate(rows):
        for c, inline in enumerate(cells):
            paragraph = table.cell(r, c).paragraphs[0]
            _runs(paragraph, inline)
            if r == 0:
                for run in paragraph.runs:
                    run.bold = True
    _repeat_header(table)
    return table


def _repeat_header(table: Table) -> None:
    from docx.oxml import OxmlElement

    tr_pr = table.rows[0]._tr.get_or_add_trPr()
    el: Any = OxmlElement("w:tblHeader")
    tr_pr.append(el)
