"""Inline Markdown as the Word writer and the column widths read it: pieces of text, bold
or not, with the line breaks; and the e-mail addresses a line may not break inside."""

from __future__ import annotations

import re
from collections.abc import Iterator

from markdown_it.token import Token


def inline_pieces(inline: Token | None, *, bold: bool = False) -> Iterator[tuple[str | None, bool,
                                                                           bool]]:
    """The text of the inline tokens as (text, bold, italic), one per run; text is None
    for a line break."""
    italic = False
    for child in (inline.children or []) if inline else []:
        kind = child.type
        if kind in ("text", "code_inline", "softbreak"):
            yield (" " if kind == "softbreak" else child.content), bold, italic
        elif kind == "strong_open":
            bold = True
        elif kind == "strong_close":
            bold = False
        elif kind == "em_open":
            italic = True
        elif kind == "em_close":
            italic = False
        elif kind == "hardbreak":
            yield None, bold, italic


# An e-mail address, as it is written in a letter (no quoted local parts, no IP domains).
EMAIL = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+")
