"""Command line: backups and restores, and the export and import of a whole installation
(see :mod:`workflow.operations.backup`). They work on WORKFLOW_DATABASE_URL directly, as an
operator does: no acting user; but a case's aktindsigt (`export ID --aktindsigt OUT.zip`)
is made by legal staff as themselves."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from .common import as_option, json_option
from .plain import emit_json

if TYPE_CHECKING:
    from ..config import Settings
    from ..operations.checks import Report


def _database_url() -> str:
    from ..config import Settings

    return Settings.from_env().database_url


def _say(report: Report, as_json: bool) -> None:
    if as_json:
        emit_json(report.as_dict())
    else:
        click.echo(report.line())


force_option = click.option("--force", is_flag=True,
                            help="Replace what is there (a file, or a database's data).")


@click.command()
@click.argument("out", type=click.Path(path_type=Path, dir_okay=False))
@force_option
@json_option
def backup(out: Path, force: bool, as_json: bool) -> None:
    """Back up the database to OUT, safely while it is in use.

    SQLite: a copy made with SQLite's online backup API; PostgreSQL: a pg_dump archive
    (custom format) of the installation's schema."""
    from ..operations import backup as ops

    _say(ops.backup(_database_url(), out, force=force), as_json)


@click.command()
@click.argument("source", metavar="IN", type=click.Path(path_type=Path, dir_okay=False))
@force_option
@json_option
def restore(source: Path, force: bool, as_json: bool) -> None:
    """Restore a backup made by `workflow backup` into the database.

    The database must be empty, unless --force; its schema revision is checked after."""
    from ..operations import backup as ops

    _say(ops.restore(_database_url(), source, force=force), as_json)


@click.command("export")
@click.argument("target", metavar="OUT | ID")
@click.option("--all", "everything", is_flag=True,
              help="The whole installation to OUT (for `workflow import`).")
@click.option("--aktindsigt", "aktindsigt", metavar="OUT.zip",
              type=click.Path(path_type=Path, dir_okay=False),
              help="Case ID's aktindsigt to OUT.zip (legal staff: --as).")
@force_option
@as_option
@json_option
def export_(target: str, everything: bool, aktindsigt: Path | None, force: bool,
            user: str | None, as_json: bool) -> None:
    """Export the whole installation (`export OUT --all`), or one case's aktindsigt
    (`export ID --aktindsigt OUT.zip`).

    The installation: a zip of JSON lines per table with a manifest (schema revision,
    rows and sha256 per table), to import on SQLite or PostgreSQL. The aktindsigt: the
    aktliste, every document's exact bytes, the history and a manifest with hashes; what
    is exempt (`workflow exempt`) is left out and listed with its ground."""
    from ..config import Settings

    settings = Settings.from_env()
    if aktindsigt is not None:
        if everything or not target.isdigit():
            raise click.UsageError("--aktindsigt takes a case ID: export ID --aktindsigt OUT.zip")
        _export_aktindsigt(settings, int(target), aktindsigt, force=force, user=user,
                           as_json=as_json)
        return
    from ..operations import export

    if not everything:
        raise click.UsageError("say --all (the whole installation) or --aktindsigt OUT.zip "
                               "(one case)")
    _say(export.export_all(settings.database_url, Path(target), now=settings.clock()(),
                           force=force), as_json)


def _export_aktindsigt(settings: Settings, app_id: int, out: Path, *, force: bool,
                       user: str | None, as_json: bool) -> None:
    """Written beside OUT, then moved there: a failure leaves no half zip."""
    from ..engine import aktindsigt
    from ..operations.checks import new_file
    from ..store.files import FileStore
    from .common import open_workflow

    wf = open_workflow()
    with new_file(out, force=force) as tmp, tmp.open("wb") as f:
        written = aktindsigt.export(wf, FileStore(settings.files), app_id, f, user=user)
    said = {"file": str(out), "files": len(written.files), "bytes": written.bytes_written,
            "withheld": [{"number": w.number, "field": w.field or None, "ground": w.ground,
                          "cite": w.cite} for w in written.withheld]}
    if as_json:
        emit_json(said)
        return
    click.echo(f"Wrote the aktindsigt of case {app_id} to {out}: {len(written.files)} files, "
               f"{written.bytes_written:,} bytes; "
               f"{len(written.withheld) or 'nothing'} withheld"
               + "".join(f"\n  nr. {w.number}{' ' + w.field if w.field else ''}: {w.cite}"
                         for w in written.withheld))


@click.command("import")
@click.argument("source", metavar="IN", type=click.Path(path_type=Path, dir_okay=False))
@json_option
def import_(source: Path, as_json: bool) -> None:
    """Import an export made by `workflow export --all` into an empty database.

    SQLite or PostgreSQL; every table is checked against the export's sha256."""
    from ..operations import export

    _say(export.import_all(_database_url(), source), as_json)


COMMANDS = (backup, restore, export_, import_)
