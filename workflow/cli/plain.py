"""What the quick path and the click commands both run, without importing click: output
neutralised for a terminal, JSON, and the bodies of ``check`` and ``diagram``."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .. import env

if TYPE_CHECKING:
    from ..process.spec import Definition

LANGUAGES = ("da", "en")


class UnknownProcess(LookupError):
    """``diagram --process`` names no process of the definition (click says it as usage)."""


# What a terminal would obey rather than show: the C0 controls but tab and newline, DEL and
# the C1 controls (ESC starts a sequence that can retitle the window, rewrite the screen,
# or a link; U+009B is CSI on its own).
_CONTROLS = {c: f"\\u{c:04x}" for c in (*range(0x20), *range(0x7F, 0xA0)) if c not in (9, 10)}


def neutralise(text: str) -> str:
    """``text`` as a terminal may be given it: its control characters (see
    :data:`_CONTROLS`) and lone surrogates written as visible escapes (``\\u001b``,
    ``\\ud800``), which are the same characters again inside a JSON string."""
    text = text.translate(_CONTROLS)
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate: no encoding can write it
            text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def echo(text: str, *, err: bool = False, nl: bool = True) -> None:
    """``text`` on standard output (or error), neutralised (:func:`neutralise`), in UTF-8
    where the stream's own encoding cannot say it (as ``click.echo``); nothing when the
    stream is closed."""
    stream = sys.stderr if err else sys.stdout
    if stream is None:
        return
    text = neutralise(text + "\n" if nl else text)
    try:
        stream.write(text)
    except UnicodeEncodeError:
        stream.flush()
        stream.buffer.write(text.encode("utf-8"))


def emit_json(obj: Any) -> None:
    import json

    echo(json.dumps(obj, ensure_ascii=False, indent=2, default=str))


def check(file: str | None, *, as_json: bool,
          also: Callable[[Definition], None] | None = None) -> None:
    """Validate ``file`` (default: WORKFLOW_STATES_FILE), then ``also(definition)``, and
    print what it holds; a :class:`DefinitionError` is printed as JSON with ``as_json``
    (and ends the program with its exit code), else raised for the caller to say."""
    from ..errors import DefinitionError
    from ..process.definition import load

    path = file or env.states_file()
    try:
        d = load(path)
        if also is not None:
            also(d)
    except DefinitionError as exc:
        if as_json:
            emit_json({"file": path, "ok": False, "problems": [
                {"file": p.file, "line": p.line, "key": p.key, "message": p.message}
                for p in exc.problems]})
            sys.exit(exc.exit_code)
        raise
    summary: dict[str, dict[str, Any]] = {
        name: {"states": len(p.states), "transitions": len(p.transitions),
               "kinds": list(p.kinds)} for name, p in d.processes.items()}
    if as_json:
        emit_json({"file": path, "ok": True, "hash": d.hash, "processes": summary})
        return
    echo(f"{path}: OK ({d.hash[:12]})")
    for name, s in summary.items():
        echo(f"  {name}: {s['states']} states, {s['transitions']} transitions, "
             f"kinds {', '.join(s['kinds'])}")


def diagram(process: str | None, *, lang: str, as_json: bool, current: str | None = None,
            application: int | None = None) -> None:
    """Print ``process`` (default: the first) of WORKFLOW_STATES_FILE as Mermaid, with
    ``current`` marked; :class:`UnknownProcess` if the definition has no such process."""
    from ..process.definition import load
    from ..process.diagram import mermaid

    d = load(env.states_file())
    name = process or next(iter(d.processes))
    if name not in d.processes:
        raise UnknownProcess(name)
    text = mermaid(d.processes[name], current=current, lang=lang)
    if as_json:
        emit_json({"process": name, "application": application, "current": current,
                   "definition": d.hash, "lang": lang, "mermaid": text})
    else:
        echo(text, nl=False)
