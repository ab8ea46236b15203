"""A case's own text for the sections of its letter: reasons, citizens, transition plan,
staff and economy.

Each section of ``application_letter.md.j2`` prints the case's newest text when it has
one, else the template's own (``templates/documents/sections/NAME.md.j2``, rendered with
the case's context: that is also what the editor starts from). The text is Markdown,
written by people: it is checked here (no control characters or lone surrogates, at most
:data:`MAX_CHARS`), stored as a new version in ``case_section`` (never overwritten) and
printed as Markdown (:class:`~.rendering.RawMarkdown`); raw HTML in it stays text, in
the Word draft as in the preview (:func:`preview_html`).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2.sandbox import SandboxedEnvironment
from markdown_it import MarkdownIt
from sqlalchemy import func, insert, select
from sqlalchemy.engine import Connection

from ..errors import InvalidData, NotFound, Said
from ..process.values import check_text, shown
from ..store import keyset, search
from ..store import tables as t
from ..store.keyset import Entry, Position
from .rendering import RawMarkdown, make_environment, markdown_escape

# name -> (Danish label, English label), in the order of the letter
SECTIONS: dict[str, tuple[str, str]] = {
    "reasons": ("Begrundelse", "Reasons"),
    "citizens": ("Borgerne", "Citizens"),
    "transition": ("Overgangsplan", "Transition plan"),
    "staff": ("Personale", "Staff"),
    "economy": ("Økonomi", "Economy"),
}

MAX_CHARS = 20_000   # a section of a letter: a few pages at most

_NON_CHARACTER = re.compile("[\ufffe\uffff]")

# the Markdown of the Word drafts (docx_writer): no raw HTML, no code blocks
_PREVIEW = MarkdownIt("commonmark", {"html": False}).enable("table").disable(["code", "fence"])


def check_name(name: str) -> str:
    """``name`` if it is a section's, else NotFound naming the sections."""
    if name not in SECTIONS:
        raise NotFound(Said(
            f"no section {shown(name)!r}; the sections are {', '.join(SECTIONS)}",
            f"afsnittet »{shown(name)}« findes ikke; afsnittene er "
            f"{', '.join(label for label, _ in SECTIONS.values())}"))
    return name


def clean_text(body: str) -> str:
    """The text to store: line breaks as LF, no trailing blank lines; refused (InvalidData)
    when empty, too long, or holding a control character or a lone surrogate."""
    if not isinstance(body, str):
        raise InvalidData(Said("the text must be text", "teksten skal være tekst"))
    if len(body) > MAX_CHARS:
        raise InvalidData(Said(
            f"the text is {len(body):,} characters; at most {MAX_CHARS:,} are allowed",
            f"teksten er på {len(body):,} tegn; højst {MAX_CHARS:,} er tilladt"
            .replace(",", ".")))
    check_text(body, "the text", "teksten")
    text = body.replace("\r\n", "\n").replace("\r", "\n")
    odd = _NON_CHARACTER.search(text)
    if odd is not None:
        bad = shown(odd.group())
        raise InvalidData(Said(f"the text contains the non-character {bad}",
                               f"teksten indeholder {bad}, som ikke er et tegn"))
    text = "\n".join(line.rstrip() for line in text.split("\n")).strip("\n")
    if not text.strip():
        raise InvalidData(Said("the text is empty", "teksten er tom"))
    return text


def preview_html(markdown: str) -> str:
    """The text as HTML for a page: Markdown as the Word drafts read it, raw HTML as text
    (markdown-it escapes it), links only of safe schemes."""
    return str(_PREVIEW.render(markdown))


# ------------------------------------------------------------------------- storage
def latest(conn: Connection, app_id: int) -> dict[str, dict[str, Any]]:
    """The newest version of each section the case has written: name -> version."""
    cs = t.case_section
    newest = select(cs.c.name, func.max(cs.c.number).label("number")).where(
        cs.c.application_id == app_id).group_by(cs.c.name).subquery()
    rows = conn.execute(select(cs).join(newest, (newest.c.name == cs.c.name)
                                        & (newest.c.number == cs.c.number))
                        .where(cs.c.application_id == app_id))
    return {r.name: _version(r) for r in rows}


def bodies(conn: Connection, app_id: int) -> dict[str, str]:
    """The newest text of each section the case has written."""
    return {name: v["body"] for name, v in latest(conn, app_id).items()}


def versions(conn: Connection, app_id: int, name: str | None = None) -> list[dict[str, Any]]:
    """Every version of the case's sections (of one, with ``name``), oldest first."""
    cs = t.case_section
    q = select(cs).where(cs.c.application_id == app_id)
    if name is not None:
        q = q.where(cs.c.name == name)
    return [_version(r) for r in conn.execute(q.order_by(cs.c.name, cs.c.number))]


def add_version(conn: Connection, app_id: int, name: str, body: str, *, user: str,
                now: datetime) -> int:
    """Store ``body`` as the section's next version; its number."""
    cs = t.case_section
    last = conn.execute(select(func.max(cs.c.number)).where(
        cs.c.application_id == app_id, cs.c.name == name)).scalar()
    number = (last or 0) + 1
    conn.execute(insert(cs).values(application_id=app_id, name=name, number=number,
                                   body=body, created_at=now, created_by=user))
    search.index_text(conn, app_id, f"section:{name}", body, now)
    return number


def for_history(conn: Connection, app_id: int, *, after: Position | None = None,
                limit: int | None = None, newest: bool = False) -> list[Entry]:
    """The case's section edits as history entries with their keys, by time (those after
    ``after``, at most ``limit``)."""
    cs = t.case_section
    rows = conn.execute(select(cs.c.id, cs.c.name, cs.c.number, cs.c.created_at,
                               cs.c.created_by)
                        .where(cs.c.application_id == app_id,
                               keyset.after(cs.c.created_at, cs.c.id, after))
                        .order_by(*keyset.order(cs.c.created_at, cs.c.id, newest)).limit(limit))
    return [((r.created_at, keyset.SECTIONS, r.id),
             {"version": None, "trigger": "edit_section", "from": None, "to": None,
              "user": r.created_by, "role": None, "municipality": None,
              "at": r.created_at.isoformat(), "comment": "",
              "data": {"section": r.name, "number": r.number}}) for r in rows]


def _version(r: Any) -> dict[str, Any]:
    return {"name": r.name, "number": r.number, "body": r.body,
            "created_at": r.created_at.isoformat(), "created_by": r.created_by}


# ------------------------------------------------------------------------ drafting
def context_sections(stored: Mapping[str, str]) -> dict[str, RawMarkdown | None]:
    """What a template sees as ``sections``: every section, its case's text or none."""
    return {name: RawMarkdown(stored[name]) if stored.get(name) else None
            for name in SECTIONS}


def digestible(sections: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The sections as part of a draft's input digest: only those the case wrote, none at
    all when it wrote none (so a case without its own text keeps its digests)."""
    written = {k: v for k, v in (sections or {}).items() if v}
    return written or None


# what markdown_escape escapes that means nothing inside a line of Markdown
_NEEDLESS = re.compile(r"(?<!^)(?<!\\)\\([.\-():=\"'!+{}~#])", re.MULTILINE)


def gentle_escape(value: Any) -> str:
    """:func:`~.rendering.markdown_escape` without the escapes a person would not write:
    a value reads back the same, and the text in the editor stays readable."""
    return _NEEDLESS.sub(r"\1", markdown_escape(value))


@functools.lru_cache(maxsize=8)
def default_environment(directory: Path) -> SandboxedEnvironment:
    """The sandbox the sections' default text is rendered in for the editor."""
    env = make_environment(directory)
    env.finalize = gentle_escape
    return env


def default_text(directory: Path, name: str, context: Mapping[str, Any]) -> str:
    """The template's own text of a section for this case, as Markdown (``directory``:
    the templates' ``documents`` folder)."""
    template = default_environment(directory).get_template(f"sections/{name}.md.j2")
    return str(template.render(context)).strip("\n")
