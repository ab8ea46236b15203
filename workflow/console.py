"""The ``workflow`` console entry point, and the two commands it answers without click.

``workflow check`` and ``workflow diagram`` read only ``states.yaml``: an editor runs them
after every change, so they should answer at once. Importing click (with :mod:`inspect`
and :mod:`uuid` behind it) costs about as much as everything else they do, so
:func:`main` recognises their plain forms (the options listed in :data:`QUICK`) and
answers them itself, with the same functions the click commands call.
Anything else -- any other command, ``--help``, ``--against-database``, ``--application``,
an option it does not know, a mistake -- goes to the click command line in
:mod:`workflow.cli`, which stays the one definition of the interface and its messages.
``tests/test_console.py`` holds the two paths to the same output.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from . import env

if TYPE_CHECKING:
    from .spec import Definition

# command -> (options taking a value, flags, most positional arguments)
QUICK: dict[str, tuple[frozenset[str], frozenset[str], int]] = {
    "check": (frozenset(), frozenset({"--json"}), 1),
    "diagram": (frozenset({"--process", "--lang"}), frozenset({"--json"}), 0),
}
LANGUAGES = ("da", "en")


class UnknownProcess(LookupError):
    """``diagram --process`` names no process of the definition (click says it as usage)."""


def main() -> None:
    """The console entry point: a quick command, or the click command line.

    A command that opened no database (``--help``, ``check``, ``diagram``, ``rules``)
    ends without the interpreter's teardown, which is about a tenth of its start-up: its
    output is flushed, and it holds no connection, file or lock to close. Every other
    command ends the ordinary way.
    """
    try:
        code: int | str | None = quick(sys.argv[1:])
        if code is None:
            from .cli import cli

            try:
                cli.main(prog_name="workflow")
            except SystemExit as exc:
                code = exc.code
            else:  # pragma: no cover - click's standalone mode always exits
                code = 0
        if "sqlalchemy" in sys.modules:
            sys.exit(code)
        if isinstance(code, str):
            echo(code, err=True)
            code = 1
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:
                stream.flush()
    except BrokenPipeError:  # the reader went away (`| head`): as click, exit 1 quietly
        os._exit(1)
    os._exit(code or 0)


def quick(argv: Sequence[str]) -> int | None:
    """Run ``argv`` if it is a plain ``check`` or ``diagram``; its exit code, or None when
    the click command line must answer it."""
    if not argv or argv[0] not in QUICK:
        return None
    parsed = _parse(argv[1:], *QUICK[argv[0]])
    if parsed is None:
        return None
    args, opts = parsed
    from .errors import WorkflowError

    try:
        if argv[0] == "check":
            check(args[0] if args else None, as_json="--json" in opts)
        else:
            lang = str(opts.get("--lang", LANGUAGES[0]))
            if lang not in LANGUAGES:
                return None
            process = opts.get("--process")
            diagram(process if isinstance(process, str) else None, lang=lang,
                    as_json="--json" in opts)
    except UnknownProcess:
        return None
    except WorkflowError as exc:
        echo(f"error: {exc}", err=True)
        return exc.exit_code
    except SystemExit as exc:  # check --json said its problems
        return exc.code if isinstance(exc.code, int) else int(exc.code is not None)
    return 0


def _parse(args: Sequence[str], valued: frozenset[str], flags: frozenset[str],
           most: int) -> tuple[list[str], dict[str, str | bool]] | None:
    """The positional arguments and the options, or None if any is not plainly one of
    ``valued`` (``--x V`` or ``--x=V``) or ``flags``, or there are too many positionals."""
    positional: list[str] = []
    opts: dict[str, str | bool] = {}
    rest = iter(args)
    for arg in rest:
        if not arg.startswith("-") or arg == "-":
            positional.append(arg)
            continue
        name, eq, value = arg.partition("=")
        if name in flags and not eq:
            opts[name] = True
        elif name in valued:
            if not eq:
                value = next(rest, "")
                if not value or value.startswith("-"):
                    return None
            opts[name] = value
        else:
            return None
    return (positional, opts) if len(positional) <= most else None


# ------------------------------------------- what the quick path and click both run
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
    from .definition import load
    from .errors import DefinitionError

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
    from .definition import load
    from .diagram import mermaid

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
