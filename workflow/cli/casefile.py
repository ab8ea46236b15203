"""Command line: the case file — documents filed in a case, notes and the journal
(registered on ``workflow.cli.app.cli``)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import click

from .common import as_option, clip, json_option, open_workflow, table
from .documents import needs_file, write_file
from .plain import emit_json

if TYPE_CHECKING:
    from ..engine.casefile import CaseFile

# the choices of engine/casefile.py (tests/cli/test_casefile.py checks): --help stays fast
DIRECTIONS = ("received", "sent")
DOC_TYPES = ("ministry_request", "ministry_decision", "economy_note", "timeline",
             "attachment", "signed_letter", "application_sent", "letter", "other")


def _casefile() -> CaseFile:
    from ..config import Settings
    from ..engine.casefile import CaseFile

    return CaseFile.from_settings(open_workflow(), Settings.from_env())


@click.command()
@click.argument("app_id", type=int, metavar="ID")
@click.argument("path", type=click.Path(exists=True, dir_okay=False), metavar="FILE")
@click.option("--direction", type=click.Choice(DIRECTIONS), required=True,
              help="Received or sent.")
@click.option("--date", "day", type=click.DateTime(["%Y-%m-%d"]), required=True,
              help="The day it was received or sent (YYYY-MM-DD).")
@click.option("--party", required=True, help="The sender or the recipient.")
@click.option("--description", required=True, help="A short description of its content.")
@click.option("--type", "doc_type", type=click.Choice(DOC_TYPES), required=True,
              help="What kind of document it is.")
@as_option
@json_option
def attach(app_id: int, path: str, direction: str, day: datetime, party: str,
           description: str, doc_type: str, user: str | None, as_json: bool) -> None:
    """File a document received or sent in case ID: its exact bytes, journalised."""
    from pathlib import Path

    from ..engine import journal
    from ..engine.casefile import Filing

    cf = _casefile()
    filing = Filing(direction=direction, dated=day.date(), party=party,
                    description=description, doc_type=doc_type)
    with Path(path).open("rb") as source:
        number = cf.attach_file(app_id, source, Path(path).name, filing, user=user)
    entry = next(e for e in journal.entries(cf.wf, app_id, user=user)
                 if e["number"] == number)
    if as_json:
        emit_json(entry)
        return
    click.echo(f"Filed {entry['filename']} in case {app_id} as document {number} "
               f"({entry['size']:,} bytes, sha256 {entry['sha256']}).")


@click.command()
@click.argument("app_id", type=int, metavar="ID")
@click.option("--text", required=True, help="The note; it can never be changed.")
@click.option("--corrects", type=int, metavar="N",
              help="The journal number of the note this one corrects.")
@as_option
@json_option
def note(app_id: int, text: str, corrects: int | None, user: str | None,
         as_json: bool) -> None:
    """Write a note (journalnotat) in case ID."""
    from ..engine import journal

    cf = _casefile()
    number = cf.add_note(app_id, text, user=user, corrects=corrects)
    if as_json:
        emit_json(next(e for e in journal.entries(cf.wf, app_id, user=user)
                       if e["number"] == number))
        return
    fixed = f", correcting note {corrects}" if corrects else ""
    click.echo(f"Noted in case {app_id} as document {number}{fixed}.")


@click.command("journal")
@click.argument("app_id", type=int, metavar="ID")
@click.option("--csv", "as_csv", is_flag=True, help="Print the aktliste as CSV.")
@click.option("--pdf", metavar="FILE", is_flag=False, flag_value="",
              callback=needs_file("aktliste.pdf"), help="Write the aktliste as PDF to FILE.")
@click.option("--get", "number", type=int, metavar="N",
              help="Write the stored bytes of document N to --out.")
@click.option("--out", metavar="FILE", is_flag=False, flag_value="",
              callback=needs_file("brev.pdf"), help="Where --get writes.")
@as_option
@json_option
def journal_command(app_id: int, as_csv: bool, pdf: str | None, number: int | None,
                    out: str | None, user: str | None, as_json: bool) -> None:
    """Show the journal (aktliste) of case ID: every document and note, numbered."""
    import sys

    from ..engine import journal

    wf = open_workflow()
    if number is not None:
        if not out:
            raise click.UsageError("--get N needs --out FILE")
        got = journal.open_entry(wf, _casefile().store, app_id, number, user=user)
        with open(out, "wb") as f:
            for data in got.chunks:
                f.write(data)
        click.echo(f"Wrote {out}: document {number}, {got.size:,} bytes, sha256 {got.sha256}.")
        return
    if as_csv or pdf:
        name, content = journal.aktliste(wf, app_id, user=user, fmt="pdf" if pdf else "csv")
        if pdf:
            write_file(pdf, content)
            click.echo(f"Wrote {pdf}: the aktliste, {len(content):,} bytes.")
        else:
            sys.stdout.buffer.write(content.removeprefix(b"\xef\xbb\xbf"))
        return
    listed = journal.entries(wf, app_id, user=user)
    if as_json:
        emit_json(listed)
        return
    if not listed:
        click.echo("The journal is empty.")
        return
    rows = [[str(e["number"]), e["dated"], e["kind"], e["direction"], e["doc_type"],
             clip(e["party"], 24), clip(_said(e), 48), e["registered_by"]] for e in listed]
    table(rows, ["no", "date", "kind", "direction", "type", "party", "description", "by"])


def _said(entry: dict[str, Any]) -> str:
    text = str(entry["description"])
    if entry.get("corrects"):
        text += f" (corrects {entry['corrects']})"
    if entry.get("corrected_by"):
        text += " (corrected by " + ", ".join(map(str, entry["corrected_by"])) + ")"
    return text


FIELDS = ("description", "party", "text")   # documents/aktindsigt.py's (checked by a test)


@click.command()
@click.argument("app_id", type=int, metavar="ID")
@click.argument("number", type=int, metavar="N", required=False)
@click.option("--ground", metavar="KEY", help="The ground (documents.exemptions in "
              "states.yaml); without N: list the grounds and what is withheld.")
@click.option("--reason", default="", help="Why, as the requester is told.")
@click.option("--field", type=click.Choice(FIELDS), default=None,
              help="Only this field of the entry's line (default: the whole document).")
@click.option("--lift", is_flag=True, help="Lift the exemption of N (or of its --field).")
@as_option
@json_option
def exempt(app_id: int, number: int | None, ground: str | None, reason: str,
           field: str | None, lift: bool, user: str | None, as_json: bool) -> None:
    """Withhold journal entry N of case ID from aktindsigt (offentlighedsloven).

    The export (`workflow export ID --aktindsigt OUT.zip`) leaves it out and lists it with
    its ground and reason. Every decision is kept; --lift ends one."""
    from dataclasses import asdict

    from ..engine import aktindsigt

    wf = open_workflow()
    if number is None:
        held = aktindsigt.withheld(wf, app_id, user=user)
        if as_json:
            emit_json([asdict(w) for w in held])
            return
        click.echo("Grounds:")
        for g in wf.definition.exemptions.values():
            click.echo(f"  {g.key:<16} {g.cite} ({g.label.en})")
        if not held:
            click.echo("Withheld: nothing.")
            return
        click.echo("Withheld:")
        table([[str(w.number), w.field or "document", w.cite, clip(w.reason, 40),
                w.decided_by] for w in held], ["no", "what", "ground", "reason", "by"])
        return
    if lift == (ground is not None):
        raise click.UsageError("say --ground KEY --reason TEXT, or --lift")
    now = aktindsigt.exempt(wf, app_id, number, ground=None if lift else ground,
                            reason=reason, field=field or "", user=user)
    what = f"the {field} of entry {number}" if field else f"entry {number}"
    if as_json:
        emit_json(asdict(now) if now else None)
    elif now is None:
        click.echo(f"Lifted: {what} of case {app_id} is no longer withheld.")
    else:
        ground_of = wf.definition.exemptions.get(now.ground)
        label = ground_of.label.en if ground_of else now.label
        click.echo(f"Withheld {what} of case {app_id}: {now.cite} ({label}).")


COMMANDS = [attach, note, journal_command, exempt]
