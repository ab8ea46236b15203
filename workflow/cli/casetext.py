"""Command line: the case's own text for the sections of its letter, and drafts edited by
hand (registered on ``workflow.cli.app.cli``)."""

from __future__ import annotations

import click

from .common import as_option, case_view, clip, json_option, local, open_workflow, table
from .plain import emit_json


def read_text_file(path: str, limit: int) -> str:
    """The UTF-8 text of ``path`` (``-``: standard input), at most ``limit`` bytes; a file
    that cannot be read, is larger or is not UTF-8 is a one-line error (InvalidData)."""
    import sys

    from ..errors import InvalidData

    raw = sys.stdin.buffer.read(limit + 1) if path == "-" else read_bytes(path, limit)
    if len(raw) > limit:
        raise InvalidData(f"{path}: larger than {limit:,} bytes")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidData(f"{path}: not UTF-8 text (byte {exc.start})") from None


@case_view
def sections(app_id: int, user: str | None, as_json: bool) -> None:
    """The sections of an application's letter: its own text or the template's."""
    from ..engine import casetext

    got = casetext.sections(open_workflow(), app_id, user=user)
    if as_json:
        emit_json(got)
        return
    if not got["uses_sections"]:
        click.echo(f"Application {app_id} has no letter with sections of its own text.")
        return
    rows = []
    for s in got["sections"]:
        source = (f"v{s['number']} {local(s['created_at'])} {s['created_by']}"
                  if s["written"] else "template")
        first = next((ln for ln in s["text"].splitlines() if ln.strip()), "")
        rows.append([s["name"], s["label"], source, str(s["versions"]), clip(first, 50)])
    table(rows, ["section", "label", "text from", "versions", "begins"])
    state = "may be written" if got["editable"] else "can no longer be changed"
    click.echo(f"The text {state}; `workflow section {app_id} NAME` prints one, "
               f"`--file F.md` saves a new version.")


@click.command()
@click.argument("app_id", type=int, metavar="ID")
@click.argument("name", metavar="NAME")
@click.option("--file", "path", metavar="F.md", type=click.Path(dir_okay=False),
              help="Save this Markdown file (- for standard input) as the next version.")
@click.option("--based-on", type=int, metavar="N",
              help="The version you started from (0: the template's text); refused if "
                   "someone saved a newer one.")
@as_option
def section(app_id: int, name: str, path: str | None, based_on: int | None,
            user: str | None) -> None:
    """Print a section's current text, or save a file as its next version."""
    from ..documents.sections import MAX_CHARS, SECTIONS, check_name
    from ..engine import casetext

    wf = open_workflow()
    check_name(name)
    if path is None:
        got = casetext.sections(wf, app_id, user=user)
        click.echo(next(s for s in got["sections"] if s["name"] == name)["text"])
        return
    body = read_text_file(path, MAX_CHARS * 4)
    number, made = casetext.save_section(wf, app_id, name, body, user=user, based_on=based_on)
    drafts = ", ".join(f"{m.name}{' (' + m.party + ')' if m.party else ''} v{m.number}"
                       for m in made)
    click.echo(f"Application {app_id}: {name} ({SECTIONS[name][1].lower()}) is version "
               f"{number}" + (f"; new draft versions: {drafts}." if drafts else "."))


@click.command("file-edited")
@click.argument("document_id", type=int, metavar="DOC")
@click.argument("path", metavar="FILE.docx", type=click.Path(dir_okay=False))
@click.option("--from", "from_number", type=int, metavar="N",
              help="The version it was edited from (default: the newest).")
@click.option("--note", default="", help="What was changed, in a few words.")
@as_option
def file_edited(document_id: int, path: str, from_number: int | None, note: str,
                user: str | None) -> None:
    """File a draft edited in Word as the draft's next version (legal staff)."""
    from ..documents.edits import MAX_DOCX
    from ..engine import edited

    content = read_bytes(path, MAX_DOCX)
    made, base = edited.file_edited(open_workflow(), document_id, content, user=user,
                                    from_number=from_number, note=note)
    click.echo(f"Document {document_id}: filed {path} as version {made.number}, edited by "
               f"hand from version {base}; sha256 {made.sha256}.")


@click.command()
@click.argument("document_id", type=int, metavar="DOC")
@click.option("--confirm", is_flag=True,
              help="Replace a version edited by hand with one made from the template.")
@click.option("--note", default="", help="Why (needed with --confirm).")
@as_option
def regenerate(document_id: int, confirm: bool, note: str, user: str | None) -> None:
    """Make a draft again from its template (over one edited by hand: --confirm).

    Over a version edited by hand it takes --confirm and a --note saying why."""
    from ..engine import edited

    made = edited.regenerate(open_workflow(), document_id, user=user, confirm=confirm,
                             note=note)
    if made is None:
        click.echo(f"Document {document_id} is up to date: nothing to make.")
    else:
        click.echo(f"Document {document_id}: made version {made.number} from the template; "
                   f"sha256 {made.sha256}.")


@click.command("diff")
@click.argument("document_id", type=int, metavar="DOC")
@click.argument("number", type=int, metavar="N")
@as_option
@json_option
def diff(document_id: int, number: int, user: str | None, as_json: bool) -> None:
    """The text of a version edited by hand against the one it was edited from."""
    from ..engine import edited

    got = edited.diff(open_workflow(), document_id, number, user=user)
    if as_json:
        emit_json(got)
        return
    click.echo(f"--- v{got['from']}\n+++ v{got['number']}")
    for line in got["lines"]:
        click.echo(line)


def read_bytes(path: str, limit: int) -> bytes:
    """The bytes of ``path``, at most ``limit``; else a one-line error (InvalidData)."""
    from pathlib import Path

    from ..errors import InvalidData

    try:
        with Path(path).open("rb") as f:
            raw = f.read(limit + 1)
    except OSError as exc:
        raise InvalidData(f"cannot read {path}: {exc.strerror or exc}") from None
    if len(raw) > limit:
        raise InvalidData(f"{path}: larger than {limit:,} bytes")
    return raw


COMMANDS = (sections, section, file_edited, regenerate, diff)
