"""Command line: backups and restores, and the export and import of a whole installation
(see :mod:`workflow.operations.backup`). They work on WORKFLOW_DATABASE_URL directly, as an
operator does: no acting user."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from .common import json_option
from .plain import emit_json

if TYPE_CHECKING:
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
@click.argument("out", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--all", "everything", is_flag=True,
              help="The whole installation (required: nothing less is exported yet).")
@force_option
@json_option
def export_(out: Path, everything: bool, force: bool, as_json: bool) -> None:
    """Export the whole installation to OUT, for `workflow import`.

    A zip of JSON lines per table with a manifest (schema revision, rows and sha256 per
    table), to import on SQLite or PostgreSQL."""
    from ..config import Settings
    from ..operations import export

    if not everything:
        raise click.UsageError("say --all: an export is of the whole installation")
    settings = Settings.from_env()
    _say(export.export_all(settings.database_url, out, now=settings.clock()(), force=force),
         as_json)


@click.command("import")
@click.argument("source", metavar="IN", type=click.Path(path_type=Path, dir_okay=False))
@json_option
def import_(source: Path, as_json: bool) -> None:
    """Import an export made by `workflow export --all` into an empty database.

    SQLite or PostgreSQL; every table is checked against the export's sha256."""
    from ..operations import export

    _say(export.import_all(_database_url(), source), as_json)


COMMANDS = (backup, restore, export_, import_)
