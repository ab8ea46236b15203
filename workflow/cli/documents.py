"""Command line: Word drafts, deadlines and reminders (registered on ``workflow.cli.app.cli``)."""

from __future__ import annotations

import sys
from collections.abc import Callable

import click

from .common import (
    as_option,
    case_view,
    clip,
    json_option,
    local,
    open_workflow,
    table,
    width,
)
from .plain import emit_json


def needs_file(example: str) -> Callable[[click.Context, click.Parameter, str | None],
                                         str | None]:
    """A callback for an option that writes a FILE (declared with ``is_flag=False,
    flag_value=""``, so that click does not take the next option for the file's name): a
    usage error naming the option and ``example`` when it came without one (last, before
    another option, or as ``--ics=``)."""
    def check(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
        if value == "":
            name = param.opts[0]
            raise click.BadOptionUsage(name, f"{name} needs a FILE to write to, e.g. "
                                             f"{name} {example}", ctx)
        return value

    return check


def write_file(path: str, content: bytes) -> None:
    """Write ``content`` to ``path``; a file that cannot be written is a one-line error."""
    from pathlib import Path

    try:
        Path(path).write_bytes(content)
    except OSError as exc:
        raise click.FileError(path, exc.strerror or str(exc)) from None


@case_view
def documents(app_id: int, user: str | None, as_json: bool) -> None:
    """List an application's Word drafts and their versions."""
    from ..engine.queries import documents as get_documents

    docs = get_documents(open_workflow(), app_id, user=user)
    if as_json:
        emit_json(docs)
        return
    if not docs:
        click.echo("No documents yet.")
    rows = {doc["id"]: [[f"v{v['number']}", local(v["created_at"]), v["created_by"],
                         v["trigger"] + (f" (by hand, from v{v['edited_from']})"
                                         if v["origin"] == "edited" else ""),
                         "stale" if v["stale"] else "current",
                         f"sha256 {clip(v['sha256'], 17)}", f"{v['size']:,} bytes"]
                        for v in doc["versions"]] for doc in docs}
    every = [row for block in rows.values() for row in block]
    widths = [max(width(row[i]) for row in every) for i in range(len(every[0]))] if every else []
    for doc in docs:
        who = f" ({doc['party']})" if doc["party"] else ""
        click.echo(f"document {doc['id']}: {doc['name']}{who} – {doc['label']}")
        # one column width across the documents, so that their versions line up
        table(rows[doc["id"]], indent="  ", at_least=widths)
        for a in doc["approvals"]:
            if not a["matches"]:
                match = "NO LONGER MATCHES the current version"
            elif a["same_bytes"]:
                match = "matches the current version"
            else:
                match = (f"matches v{doc['latest']} in substance (it only adds the councils' "
                         f"handling)")
            click.echo(f"  approved by {a['party']}: v{a['number']} – {match}")


@click.command()
@click.argument("document_id", type=int, metavar="DOC")
@click.option("--version", "number", type=int, metavar="N", help="Default: the newest.")
@click.option("--pdf", is_flag=True, help="Convert to PDF with LibreOffice.")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, writable=True),
              help="Where to write the file.")
@as_option
def download(document_id: int, number: int | None, pdf: bool, out: str,
             user: str | None) -> None:
    """Write a document version's exact stored bytes (or a PDF of them) to a file."""
    got = open_workflow().download(document_id, user=user, number=number, pdf=pdf)
    write_file(out, got.content)
    click.echo(f"Wrote {got.filename} (version {got.number}, {len(got.content):,} bytes) "
               f"to {out}; sha256 of the stored version {got.sha256}.")


@click.group()
def templates() -> None:
    """The document templates."""


@templates.command("check")
@json_option
def templates_check(as_json: bool) -> None:
    """Check every template for every municipality of the installation: syntax, unknown
    names, errors, leftover placeholders, logos, agenda layouts and own templates."""
    from zoneinfo import ZoneInfo

    from ..config import Settings
    from ..documents.checking import installation_municipalities
    from ..documents.drafts import Drafts
    from ..process.definition import load
    from ..store import database as store

    settings = Settings.from_env()
    drafts = Drafts(load(settings.states_file), settings.templates_dir,
                    ZoneInfo(settings.timezone))
    engine = store.make_engine(settings.database_url)
    try:
        found = installation_municipalities(engine)
    finally:
        engine.dispose()
    members, everyone = found if found is not None else (None, None)
    problems = drafts.check(members, everyone)
    if as_json:
        emit_json([{"file": p.file, "line": p.line, "message": p.message} for p in problems])
    else:
        for p in problems:
            click.echo(str(p), err=True)
        n = len(drafts.definition.drafts)
        which = "the demo's municipalities (the database has no schema yet)" \
            if everyone is None else "municipalities " + ", ".join(m["id"] for m in everyone)
        click.echo(f"{len(problems)} problem(s) in the templates of {n} drafts "
                   f"({settings.templates_dir}), for {which}.", err=bool(problems))
    if problems:
        sys.exit(3)


@click.command("deadlines")
@click.option("--overdue", is_flag=True, help="Only deadlines that have passed.")
@click.option("--application", "app_id", type=int, metavar="ID", help="Only this one.")
@click.option("--mine", is_flag=True, help="Only those this user is responsible for.")
@click.option("--ics", "ics_out", type=click.Path(dir_okay=False), metavar="FILE",
              is_flag=False, flag_value="", callback=needs_file("deadlines.ics"),
              help="Write them as an iCalendar file (for Outlook) instead, e.g. "
                   "--ics deadlines.ics.")
@as_option
@json_option
def deadlines_(overdue: bool, app_id: int | None, mine: bool, ics_out: str | None,
               user: str | None, as_json: bool) -> None:
    """Open deadlines of the applications this user may see, soonest first."""
    from ..engine.queries import deadlines as get_deadlines

    wf = open_workflow()
    items = get_deadlines(wf, user=user, overdue=overdue, application=app_id, mine=mine)
    if ics_out:
        from ..calendar.ics import deadlines_calendar
        from ..engine.cooperations import short_names
        from ..store import database as store

        with store.read(wf.engine) as conn:
            whose = short_names(wf, wf.actor(conn, user))
        name = f"Frister – sag {app_id}" if app_id else f"Frister – {user}"
        write_file(ics_out, deadlines_calendar(items, name=name, now=wf.clock(),
                                               product=whose.replace(" og ", "-")))
        click.echo(f"Wrote {len(items)} deadline(s) to {ics_out}.")
        return
    if as_json:
        emit_json(items)
        return
    table([[str(d["application"]), d["case_number"], d["due"],
            "OVERDUE" if d["overdue"] else f"{d['days_left']} d", d["state_label"]
            + (f" ({d['party']})" if d["party"] else ""), d["derivation"]] for d in items],
          ["id", "case", "due", "left", "state", "derived from"])


@click.command("reminders")
@click.option("--failed", is_flag=True, help="Only reminders that could not be sent.")
@click.option("--status", type=click.Choice(["pending", "sending", "sent", "failed",
                                             "cancelled"]), help="Only this status.")
@click.option("--application", "app_id", type=int, metavar="ID", help="Only this one.")
@as_option
@json_option
def reminders_(failed: bool, status: str | None, app_id: int | None, user: str | None,
               as_json: bool) -> None:
    """Reminder e-mails: pending, sent and failed, from the ledger."""
    from ..engine.queries import reminders as get_reminders

    items = get_reminders(open_workflow(), user=user, status="failed" if failed else status,
                          application=app_id).rows
    if as_json:
        emit_json(items)
        return
    table([[str(r["id"]), str(r["application"]), r["step"], local(r["due_at"]),
            r["status"] + (" (late)" if r["late"] else ""),
            ", ".join(p["name"] for p in r["recipients"]), r["last_error"] or ""]
           for r in items], ["id", "case", "step", "send at", "status", "to", "error"],
          limits={"error": 40})


@click.command()
@click.option("--once", is_flag=True, help="Send what is due now, then stop.")
@click.option("--poll", type=float, default=60, show_default=True,
              help="Seconds between checks of the ledger.")
@click.option("--batch", type=click.IntRange(1, 1000), default=20, show_default=True,
              help="Reminders claimed at a time (a killed service's wait their lease).")
def scheduler(once: bool, poll: float, batch: int) -> None:
    """Run the reminder service: hand each due reminder to the SMTP server once."""
    import logging
    from datetime import timedelta

    from ..config import Settings, SmtpSettings
    from ..reminders.mailer import Mailer
    from ..reminders.service import ReminderService

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    settings = Settings.from_env()
    service = ReminderService(open_workflow(), Mailer(SmtpSettings.from_env()),
                              templates_dir=settings.templates_dir, batch=batch,
                              lease=timedelta(seconds=settings.reminder_lease))
    if once:
        done = service.tick()
        click.echo(f"Sent {done.sent} reminder(s) ({done.late} late); {done.retried} to "
                   f"retry, {done.failed} failed.")
        return
    service.run(poll=poll)


COMMANDS = (documents, download, templates, deadlines_, reminders_, scheduler)
