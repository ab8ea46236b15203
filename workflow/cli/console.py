"""The ``workflow`` console entry point, and the two commands it answers without click.

``workflow check`` and ``workflow diagram`` read only ``states.yaml``: an editor runs them
after every change, so they should answer at once. Importing click (with :mod:`inspect`
and :mod:`uuid` behind it) costs about as much as everything else they do, so
:func:`main` recognises their plain forms (the options listed in :data:`QUICK`) and
answers them itself, with the same functions the click commands call.
Anything else -- any other command, ``--help``, ``--against-database``, ``--application``,
an option it does not know, a mistake -- goes to the click command line in
:mod:`workflow.cli.app`, which stays the one definition of the interface and its messages.
``tests/cli/test_console.py`` holds the two paths to the same output.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from .plain import LANGUAGES, UnknownProcess, check, diagram, echo

# command -> (options taking a value, flags, most positional arguments)
QUICK: dict[str, tuple[frozenset[str], frozenset[str], int]] = {
    "check": (frozenset(), frozenset({"--json"}), 1),
    "diagram": (frozenset({"--process", "--lang"}), frozenset({"--json"}), 0),
}


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
            from .app import cli

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
    from ..errors import WorkflowError

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
