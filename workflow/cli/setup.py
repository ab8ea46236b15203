"""The commands that set an installation up or serve it: ``init``, ``check``, ``serve`` and
``rules``."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from . import plain
from .common import json_option, open_workflow
from .plain import emit_json

if TYPE_CHECKING:
    from ..process.spec import Definition


@click.command()
@click.option("--demo", is_flag=True, help="Load the Ishøj–Vallensbæk demo setup.")
@click.option("--examples", is_flag=True,
              help="Also add example cases dated up to today (implies --demo).")
@click.option("--history", is_flag=True,
              help="Also replay the true history of 2020–22 (implies --demo).")
def init(demo: bool, examples: bool, history: bool) -> None:
    """Create or upgrade the database at WORKFLOW_DATABASE_URL."""
    if history and examples:
        raise click.UsageError(
            "--history and --examples tell of the same cooperation at different times: the "
            "history ends it on 1 January 2022, leaving the examples no area to apply for. "
            "Choose one.")
    from ..config import Settings
    from ..installation import demo as demo_data
    from ..process.definition import load
    from ..store import database as store

    settings = Settings.from_env()
    load(settings.states_file)  # a broken definition is reported before anything changes
    engine = store.make_engine(settings.database_url)
    before = store.current_revision(engine)
    store.migrate(engine)
    url = engine.url.render_as_string(hide_password=True)
    click.echo(f"Database {url}: schema {before or 'none'} -> {store.HEAD_REVISION}.")
    if demo or examples or history:
        added = demo_data.load_setup(engine)
        click.echo("Loaded the Ishøj–Vallensbæk demo setup: municipalities "
                   + ", ".join(m["id"] for m in demo_data.MUNICIPALITIES)
                   + f"; {len(demo_data.AREAS)} areas; users "
                   + ", ".join(u["id"] for u in demo_data.USERS) + "."
                   if added else "The demo setup was already there.")
    elif demo_data.ensure_admin(engine):
        click.echo("Created the user 'admin' without a password; set one with "
                   "`workflow users set-password admin --as admin`.")
    engine.dispose()
    if examples:
        from zoneinfo import ZoneInfo

        today = settings.clock()().astimezone(ZoneInfo(settings.timezone)).date()
        ids = demo_data.load_examples(open_workflow, today=today, timezone=settings.timezone)
        click.echo(f"Added the examples {ids[0]}–{ids[-1]}: applications 1–5 and BUM "
                   f"agreements 6–7, dated up to today ({today.isoformat()}).")
    if history:
        from ..installation.history import load_history

        case = load_history(open_workflow, timezone=settings.timezone)
        click.echo(f"Replayed the history of 2020–22 as case {case}: from the choice of "
                   "areas to the split on 1 January 2022.")


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
        click.echo("First start: setting up the Ishøj–Vallensbæk demo with its examples.")
        click.get_current_context().invoke(init, demo=True, examples=True)
        click.echo("The demo users (pl-ishoj, sec-ishoj, legal-ishoj, admin, …) log in with "
                   "the password 'demo'.")
    click.echo(f"Serving on http://{host}:{port}/ (API documentation: /docs)")
    from ..operations.metrics import prepare_multiprocess_dir
    from ..web.ops import log_config

    prepare_multiprocess_dir()  # PROMETHEUS_MULTIPROC_DIR: no values of an earlier run
    # one log line per request from workflow (web/ops.py), uvicorn's access log off
    uvicorn.run("workflow.web.app:create_app", factory=True, host=host, port=port,
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


COMMANDS = (init, check, serve, rules_)
