"""Helpers the click commands share: output neutralised for a terminal, the ``--as`` and
``--json`` options, opening the workflow, tables and local times."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any

import click

from .plain import neutralise

if TYPE_CHECKING:
    from ..engine.workflow import Workflow


class Neutralised:
    """A text stream that writes what it is given neutralised
    (:func:`~workflow.cli.plain.neutralise`): no text read from the database (a title, a
    reason, a user's name) can send a terminal a control sequence, whichever command
    prints it. Text its encoding cannot say goes out in UTF-8, as ``click.echo`` would.

    It says it is no terminal and shows no binary buffer, so click writes through it
    (rather than to the buffer beneath) and nothing prints colours through it.
    """

    def __init__(self, stream: Any) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        if not isinstance(text, str):  # (click asks whether this is a binary stream)
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        text = neutralise(text)
        try:
            return int(self.stream.write(text))
        except UnicodeEncodeError:
            self.stream.flush()
            self.stream.buffer.write(text.encode("utf-8"))
            return len(text)

    def isatty(self) -> bool:
        return False

    @property
    def buffer(self) -> Any:
        raise AttributeError("buffer")

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


@contextmanager
def neutralised_output() -> Iterator[None]:
    """Standard output and error neutralised (:class:`Neutralised`) while it lasts."""
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = (s if s is None or isinstance(s, Neutralised) else Neutralised(s)
                              for s in saved)
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved


def as_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--as", "user", envvar="WORKFLOW_USER", metavar="USER",
                        help="Acting user (default: $WORKFLOW_USER).")(f)


def json_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON.")(f)


def case_view(f: Callable[..., Any]) -> click.Command:
    """A command that shows one case: ``ID``, ``--as`` and ``--json``."""
    return click.command()(click.argument("app_id", type=int, metavar="ID")(
        as_option(json_option(f))))


def open_workflow(clock: Callable[[], datetime] | None = None) -> Workflow:
    from ..config import Settings
    from ..engine.workflow import Workflow

    wf = Workflow.open(Settings.from_env(), clock=clock)
    ctx = click.get_current_context(silent=True)
    if ctx is not None:
        ctx.call_on_close(wf.close)
    return wf


def table(rows: list[list[str]], headers: list[str] | None = None, *,
          limits: dict[str, int] | None = None, indent: str = "",
          at_least: list[int] | None = None) -> None:
    """Print ``rows`` in aligned columns, under ``headers`` if given.

    Every cell is put on one line; a cell of a column named in ``limits`` is shortened to
    that many columns, visibly (:func:`clip`). Widths are counted as a terminal shows them
    (:func:`width`), so the columns stay aligned; ``at_least`` widens columns to line up
    with another table's.
    """
    limit = [(limits or {}).get(h) for h in headers] if headers else []
    cells = [[clip(str(x), limit[i] if i < len(limit) else None) for i, x in enumerate(row)]
             for row in ([headers] if headers else []) + rows]
    widths = [max(width(x) for x in col) for col in zip(*cells, strict=False)]
    widths = [max(w, (at_least or [])[i] if i < len(at_least or []) else 0)
              for i, w in enumerate(widths)]
    if headers:
        cells.insert(1, ["-" * w for w in widths])
    for line in cells:
        click.echo(indent + "  ".join(x + " " * (w - width(x))
                                      for x, w in zip(line, widths, strict=False)).rstrip())


ELLIPSIS = "\N{HORIZONTAL ELLIPSIS}"


def clip(text: str, limit: int | None = None) -> str:
    """``text`` on one line (its whitespace runs made single spaces) and, given ``limit``,
    at most that many columns wide: a shortened text ends with "…", which takes the last
    of the columns. The one place a table's cell is shortened."""
    text = " ".join(text.split())
    if limit is None or width(text) <= limit:
        return text
    kept: list[str] = []
    used = 0
    for char in text:
        used += width(char)
        if used > limit - 1:
            break
        kept.append(char)
    return "".join(kept).rstrip() + ELLIPSIS


def width(text: str) -> int:
    """How many columns a terminal gives ``text``: a combining mark or a format character
    none, a wide (East Asian) character two, anything else one."""
    if text.isascii():
        return len(text)
    import unicodedata

    return sum(0 if unicodedata.combining(c) or unicodedata.category(c) == "Cf"
               else 2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def pairs_text(data: dict[str, Any]) -> str:
    """``k=v, …`` of a step's data: a list as ``a,b``, a mapping as ``{k=v, …}`` (its
    None values left out), never a Python repr."""
    def said(v: Any) -> str:
        if isinstance(v, list):
            return ",".join(map(said, v))
        if isinstance(v, dict):
            return "{" + pairs_text({k: x for k, x in v.items() if x is not None}) + "}"
        return str(v)

    return ", ".join(f"{k}={said(v)}" for k, v in data.items())


def happened(entry: dict[str, Any]) -> str:
    """The day a history entry happened, where it is not the day it was recorded."""
    on = entry.get("happened_on")
    return on if on and on != local(entry["at"])[:10] else ""


def local(iso: str) -> str:
    from zoneinfo import ZoneInfo

    from ..config import Settings

    moment = datetime.fromisoformat(iso).astimezone(ZoneInfo(Settings.from_env().timezone))
    return moment.strftime("%Y-%m-%d %H:%M")
