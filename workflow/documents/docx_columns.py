"""Column widths for a Word table, fitted to its text: each character's width in the
letterhead's font (regular and bold), a cell's longest word and line, the font size and
cell padding of the table's style, and the widths shared out within the page."""

from __future__ import annotations

import math
import unicodedata
from typing import Any

from docx.document import Document as DocxDocument
from docx.enum.style import WD_STYLE_TYPE
from docx.oxml.ns import qn
from docx.shared import Twips
from docx.table import Table
from markdown_it.token import Token

from .inline import EMAIL, inline_pieces

# --------------------------------------------------------------------- column widths
# Advance widths (1/1000 em) of Arial, the letterheads' font (Liberation Sans, which
# LibreOffice shows for it, has the same): printable ASCII, then the letters below.
_EXTRA = "ÆØÅæøåÉéÜüÖöÄä§½€–—«»·"


_REGULAR = (
    "278 278 355 556 556 889 667 191 333 333 389 584 278 333 278 278 556 556 556 556 556 "
    "556 556 556 556 556 278 278 584 584 584 556 1015 667 667 722 722 667 611 778 722 278 "
    "500 667 556 833 722 778 667 778 722 667 611 722 667 944 667 667 611 278 278 278 469 "
    "556 333 556 556 500 556 556 278 556 556 222 222 500 222 833 556 556 556 556 333 500 "
    "278 556 500 722 500 500 500 334 260 334 584 "
    "1000 778 667 889 611 556 667 556 722 556 778 556 667 556 556 834 556 556 1000 556 556 278")


_BOLD = (
    "278 333 474 556 556 889 722 238 333 333 389 584 278 333 278 278 556 556 556 556 556 "
    "556 556 556 556 556 333 333 584 584 584 611 975 722 722 722 722 667 611 778 722 278 "
    "556 722 611 833 722 778 667 778 722 667 611 722 667 944 667 667 611 333 278 333 584 "
    "556 333 556 611 556 611 556 333 611 611 278 278 556 278 889 611 611 611 611 389 556 "
    "333 611 556 778 556 556 500 389 280 389 584 "
    "1000 778 722 889 611 556 667 556 722 611 778 611 722 556 556 834 556 556 1000 556 556 278")


_CHARS = "".join(map(chr, range(32, 127))) + _EXTRA


_WIDTHS = {False: dict(zip(_CHARS, map(int, _REGULAR.split()), strict=True)),
           True: dict(zip(_CHARS, map(int, _BOLD.split()), strict=True))}


_NO_BREAK_SPACES = "\u00a0\u2007\u202f\u2060"


def _char_width(ch: str, bold: bool) -> int:
    widths = _WIDTHS[bold]
    if ch in widths:
        return widths[ch]
    base = unicodedata.normalize("NFD", ch)[:1]   # é → e
    if base in widths:
        return widths[base]
    return 1000 if unicodedata.east_asian_width(ch) in ("W", "F") else 600


def _line_widths(inline: Token | None, bold: bool) -> tuple[float, float]:
    """(widest word, widest line) of a cell's text, in 1/1000 em. A line breaks at
    spaces and after hyphens, never inside an e-mail address (see :func:`.docx_writer._text`)."""
    lines: list[list[tuple[str, bool]]] = [[]]
    for text, b, _ in inline_pieces(inline, bold=bold):
        if text is None:
            lines.append([])
        else:
            lines[-1].extend((ch, b) for ch in text)
    word = line = 0.0
    for chars in lines:
        text = "".join(ch for ch, _ in chars)
        fixed = {i for m in EMAIL.finditer(text) for i in range(m.start(), m.end())}
        current = total = 0.0
        for i, (ch, b) in enumerate(chars):
            if ch.isspace() and ch not in _NO_BREAK_SPACES:
                current = 0.0
                total += _char_width(" ", b)
                continue
            width = _char_width(ch, b)
            current += width
            total += width
            word = max(word, current)
            if ch == "-" and i not in fixed:
                current = 0.0
        line = max(line, total)
    return word, line


def _font_size(doc: DocxDocument, style_id: str | None) -> float:
    """The font size (pt) of table text: the Normal style's (else the document default's,
    else Word's 10 pt), or the table style's if that is larger."""
    def size_of(style: Any) -> float | None:
        for _ in range(20):   # a basedOn chain, guarded against a cycle
            if style is None:
                return None
            size = style.font.size if hasattr(style, "font") else None
            if size is not None:
                return float(size.pt)
            style = style.base_style
        return None

    styles = doc.styles
    default = styles.element.xpath("w:docDefaults/w:rPrDefault/w:rPr/w:sz/@w:val")
    normal = size_of(styles.default(WD_STYLE_TYPE.PARAGRAPH)) or \
        (int(default[0]) / 2 if default else 10.0)
    table = next((size_of(s) for s in styles if s.style_id == style_id), None) \
        if style_id else None
    return max(normal, table or 0.0)


def _cell_padding(doc: DocxDocument, style_id: str | None) -> int:
    """Left plus right cell margin (twips) of the table style, Word's 0.19 cm if none."""
    styles = doc.styles.element
    style = styles.get_by_id(style_id) if style_id else styles.default_for(
        WD_STYLE_TYPE.TABLE)
    found: dict[str, int] = {}
    for _ in range(20):
        if style is None:
            break
        for side, tags in (("left", ("w:left", "w:start")), ("right", ("w:right", "w:end"))):
            for tag in tags:
                mar = style.find(f"{qn('w:tblPr')}/{qn('w:tblCellMar')}/{qn(tag)}")
                if side not in found and mar is not None \
                        and mar.get(qn("w:type"), "dxa") == "dxa":
                    found[side] = int(mar.get(qn("w:w"), "0"))
        based_on = style.basedOn_val
        style = styles.get_by_id(based_on) if based_on else None
    return found.get("left", 108) + found.get("right", 108)


def _cap(needs: list[int], available: int) -> float:
    """The width ``c`` at which ``sum(min(n, c) for n in needs)`` is ``available``
    (less than the sum of ``needs``)."""
    rest, count = available, len(needs)
    for need in sorted(needs):
        if need * count > rest:
            return rest / count
        rest, count = rest - need, count - 1
    return float(max(needs))


def fit_columns(doc: DocxDocument, table: Table, rows: list[list[Token | None]],
                 style_id: str | None) -> None:
    """Column widths that fit the content, the way Word's AutoFit and a browser share out
    a table: every column as wide as its longest line if they all fit; else every column
    at least as wide as its longest word (an e-mail address is one word), the rest of
    the width shared in proportion to what each column would need for its longest line;
    only if even the words do not fit do the widest columns give way, cut to one width
    so that the other columns keep their words whole. LibreOffice does not fit a table
    itself but draws the widths written here (python-docx writes equal ones), and Word
    starts from them. Widths are measured in Arial, the letterheads' font; most other
    fonts of letters (Calibri, Times New Roman) are narrower."""
    grid = table._tbl.tblGrid.gridCol_lst
    available = sum(g.w.twips for g in grid if g.w is not None)
    size = _font_size(doc, style_id)
    pad = _cell_padding(doc, style_id) + 30   # and a little for borders and rounding
    lo, hi = [pad] * len(grid), [pad] * len(grid)
    for r, cells in enumerate(rows):
        for c, inline in enumerate(cells):
            word, line = _line_widths(inline, bold=r == 0)
            # 1/1000 em at ``size`` pt, in twips (20 a point), with 5 % to spare
            lo[c] = max(lo[c], pad + math.ceil(word * size * 0.02 * 1.05))
            hi[c] = max(hi[c], pad + math.ceil(line * size * 0.02 * 1.05))
    if sum(hi) <= available:
        widths = [h + (available - sum(hi)) * h / sum(hi) for h in hi]
    elif sum(lo) <= available:
        spare, wanted = available - sum(lo), sum(h - w for w, h in zip(lo, hi, strict=True))
        widths = [w + spare * (h - w) / wanted for w, h in zip(lo, hi, strict=True)]
    else:   # the widest words break, cut to one width; the others' words stay whole
        widths = [float(min(w, _cap(lo, available))) for w in lo]
    twips = [int(w) for w in widths]
    twips[-1] += available - sum(twips)
    for g, w in zip(grid, twips, strict=True):
        g.w = Twips(w)
    for tr in table._tbl.tr_lst:
        for tc, w in zip(tr.tc_lst, twips, strict=False):
            tc.width = Twips(w)
