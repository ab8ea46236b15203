"""The commands that set an installation up or serve it: ``init``, ``setup``, ``check``,
``serve`` and ``rules``."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from . import plain
from .common import json_option, open_workflow
from .plain import emit_json

if TYPE_CHECKING:
    from ..process.spec import Definition


@click.command()
@click.option("--demo", is_flag=True,
              help="Load the whole demo, as `serve` does on an empty database: the two "
                   "installation files, Ishøj–Vallensbæk's true history of 2020–22 and the "
                   "live examples in Dragør–Tårnby.")
@click.option("--demo-setup", is_flag=True,
              help="Load only the demo's two installation files (Ishøj–Vallensbæk, "
                   "Dragør–Tårnby) and their users, no cases.")
@click.option("--examples", is_flag=True,
              help="Also add live example cases, dated up to today: in Ishøj–Vallensbæk, "
                   "or with the history in Dragør–Tårnby (implies --demo-setup).")
@click.option("--history", is_flag=True,
              help="Also replay Ishøj–Vallensbæk's true history of 2020–22 "
                   "(implies --demo-setup).")
def init(demo: bool, demo_setup: bool, examples: bool, history: bool) -> None:
    """Create or upgrade the database at WORKFLOW_DATABASE_URL."""
    from zoneinfo import ZoneInfo

    from ..config import Settings
    from ..errors import InvalidData
    from ..installation import demo as demo_data
    from ..installation.history import ENDS
    from ..process.definition import load
    from ..store import database as store

    settings = Settings.from_env()
    load(settings.states_file)  # a broken definition is reported before anything changes
    examples, history = examples or demo, history or demo
    today = settings.clock()().astimezone(ZoneInfo(settings.timezone)).date()
    if history and today < ENDS:
        raise InvalidData(f"the history runs to {ENDS.isoformat()}, after today "
                         f"({today.isoformat()}): use --demo-setup, or --examples alone")
    engine = store.make_engine(settings.database_url)
    before = store.current_revision(engine)
    store.migrate(engine)
    url = engine.url.render_as_string(hide_password=True)
    click.echo(f"Database {url}: schema {before or 'none'} -> {store.HEAD_REVISION}.")
    if demo_setup or examples or history:
        added = demo_data.load_setup(engine)
        files = "; ".join(f"{f.name} ({demo_data.describe(n)})"
                          for n, f in enumerate(demo_data.DEMO_FILES))
        click.echo(f"Loaded the demo's installation files: {files}; the users' password is "
                   "'demo'." if added else "The demo setup was already there.")
    elif demo_data.ensure_admin(engine):
        click.echo("Created the user 'admin' without a password; set one with "
                   "`workflow users set-password admin --as admin`.")
    engine.dispose()
    if history:
        from ..installation.history import load_history

        case = load_history(open_workflow, timezone=settings.timezone)
        click.echo(f"Replayed the history of 2020–22 as case {case}: from the choice of "
                   "areas to the split on 1 January 2022.")
    if examples:
        coop = "dragoer-taarnby" if history else "ishoj-vallensbaek"
        ids = demo_data.load_examples(open_workflow, today=today, timezone=settings.timezone,
                                      cooperation=coop)
        click.echo(f"Added the examples {ids[0]}–{ids[-1]} in {coop}: applications "
                   f"{ids[0]}–{ids[4]} and BUM agreements {ids[5]}–{ids[6]}, dated up to "
                   f"today ({today.isoformat()}).")


@click.command("setup")
@click.argument("file", required=False, type=click.Path(dir_okay=False))
@click.option("--export", "export_", is_flag=True,
              help="Write the database's installation out (to FILE, or to stdout).")
def setup(file: str | None, export_: bool) -> None:
    """Apply an installation file (idempotently), or --export the current one."""
    from pathlib import Path

    from ..config import Settings
    from ..installation import apply as installation
    from ..installation.file import load as load_installation
    from ..process.definition import load
    from ..store import database as store

    settings = Settings.from_env()
    engine = store.make_engine(settings.database_url)
    try:
        store.require_schema(engine)
        if export_:
            text = installation.export(engine, Path(file) if file else None)
            if file is None:
                click.echo(text, nl=False)
            else:
                click.echo(f"Wrote the installation to {file}.")
            return
        if file is None:
            raise click.UsageError("name an installation file (or --export)")
        roles = set(load(settings.states_file).roles)
        changes = installation.apply(engine, load_installation(file, roles=roles))
    finally:
        engine.dispose()
    for line in changes:
        click.echo(line)
    click.echo(f"{file}: {len(changes)} change{'s' if len(changes) != 1 else ''}."
               if changes else f"{file}: nothing to change.")


@click.command()
@click.argument("file", required=False, type=click.Path(readable=False))
@click.option("--against-database", is_flag=True,
              help="Also refuse it if it would strand live applications in the database.")
@json_option
def check(file: str | None, against_database: bool, as_json: bool) -> None:
    """Validate a process definition (default: WORKFLOW_STATES_FILE)."""

    plain.check(file, as_json=as_json, also=stranding if against_database else None)


def stranding(d: Definition) -> None:
    """Refuse ``d`` if it would strand live applications in the database."""
    from ..config import Settings
    from ..errors import StrandedApplications
    from ..process.versions import find_stranded
    from ..store import database as store

    engine = store.make_engine(Settings.from_env().database_url)
    try:
        store.require_schema(engine)
        with store.read(engine) as conn:
            stranded = find_stranded(conn, d)
    finally:
        engine.dispose()
    if stranded:
        raise StrandedApplications(d.file, stranded)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=int,
              help="Processes; use PostgreSQL for more than one in production.")
def serve(host: str, port: int, workers: int) -> None:
    """Run the web application and API (on first start: the demo with its examples)."""
    import uvicorn

    from ..config import Settings
    from ..store import database as store

    settings = Settings.from_env()
    engine = store.make_engine(settings.database_url)
    fresh = store.current_revision(engine) is None
    engine.dispose()
    if fresh:
        # the true history in Ishøj–Vallensbæk, the live examples in Dragør–Tårnby
        click.echo("First start: setting up the demo, its history and its examples.")
        click.get_current_context().invoke(init, demo=True)
        click.echo("The demo users (pl-ishoj, sec-ishoj, legal-ishoj, admin, …) log in with "
                   "the password 'demo'.")
    click.echo(f"Serving on http://{host}:{port}/ (API documentation: /docs)")
    from ..operations.metrics import prepare_multiprocess_dir
    from ..web.ops import log_config

    prepare_multiprocess_dir()  # PROMETHEUS_MULTIPROC_DIR: no values of an earlier run
    # one log line per request from workflow (web/ops.py), uvicorn's access log off
    uvicorn.run("workflow.web.app:serve_app", factory=True, host=host, port=port,
                workers=workers, log_level="info", access_log=False,
                log_config=log_config(settings.log_format))


@click.command("rules")
@json_option
def rules_(as_json: bool) -> None:
    """The guards and effects that states.yaml may name."""
    from ..process.rulesets import catalogue as rules_catalogue

    catalogue = rules_catalogue()
    if as_json:
        emit_json(catalogue)
        return
    for kind, items in catalogue.items():
        click.echo(f"{kind}:")
        for name, doc in items.items():
            click.echo(f"  {name:<26} {doc}")


COMMANDS = (init, setup, check, serve, rules_)
