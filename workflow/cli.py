"""The ``workflow`` command line: a thin layer over the engine and the queries.

Errors are translated in one place (:class:`WorkflowGroup`): a one-line message on
stderr and the error's exit code, never a traceback. Heavy modules are imported inside
the commands, so ``workflow --help`` starts fast; the entry point
(:mod:`workflow.console`) answers the plain forms of ``check`` and ``diagram`` without
importing this module at all.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any

import click

from . import __version__
from .console import LANGUAGES, emit_json, neutralise
from .console import main as main  # the entry point of installs made before console.py

if TYPE_CHECKING:
    from .engine import Workflow
    from .spec import Definition


class Neutralised:
    """A text stream that writes what it is given neutralised
    (:func:`~workflow.console.neutralise`): no text read from the database (a title, a
    reason, a user's name) can send a terminal a control sequence, whichever command
    prints it. Text its encoding cannot say goes out in UTF-8, as ``click.echo`` would.

    It says it is no terminal and shows no binary buffer, so click writes through it
    (rather than to the buffer beneath) and nothing prints colours through it.
    """

    def __init__(self, stream: Any) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        if not isinstance(text, str):  # (click asks whether this is a binary stream)
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        text = neutralise(text)
        try:
            return int(self.stream.write(text))
        except UnicodeEncodeError:
            self.stream.flush()
            self.stream.buffer.write(text.encode("utf-8"))
            return len(text)

    def isatty(self) -> bool:
        return False

    @property
    def buffer(self) -> Any:
        raise AttributeError("buffer")

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


@contextmanager
def neutralised_output() -> Iterator[None]:
    """Standard output and error neutralised (:class:`Neutralised`) while it lasts."""
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = (s if s is None or isinstance(s, Neutralised) else Neutralised(s)
                              for s in saved)
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved


class WorkflowGroup(click.Group):
    def main(self, *args: Any, **kwargs: Any) -> Any:
        with neutralised_output():
            return super().main(*args, **kwargs)

    def invoke(self, ctx: click.Context) -> Any:
        from .errors import WorkflowError

        try:
            return super().invoke(ctx)
        except WorkflowError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(exc.exit_code)
        except UnicodeEncodeError as exc:  # an argument with a byte that is not UTF-8
            if exc.reason != "surrogates not allowed":
                raise
            click.echo(f"error: {exc.object!r} is not text: it holds a byte that is not "
                       f"UTF-8", err=True)
            ctx.exit(2)
        except Exception as exc:
            if type(exc).__module__.startswith(("sqlalchemy", "psycopg", "sqlite3")):
                orig = getattr(exc, "orig", None) or exc
                click.echo(f"error: database: {str(orig).strip().splitlines()[0]}", err=True)
                ctx.exit(8)
            raise


@click.group(cls=WorkflowGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="workflow")
def cli() -> None:
    """Carry dispensation applications from the choice of areas to the ministry's decision.

    Settings come from WORKFLOW_* environment variables (WORKFLOW_DATABASE_URL,
    WORKFLOW_STATES_FILE, WORKFLOW_USER, ...); see README.md.
    """


# ------------------------------------------------------------------------ helpers
def as_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--as", "user", envvar="WORKFLOW_USER", metavar="USER",
                        help="Acting user (default: $WORKFLOW_USER).")(f)


def json_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON.")(f)


def open_workflow(clock: Callable[[], datetime] | None = None) -> Workflow:
    from .config import Settings
    from .engine import Workflow

    wf = Workflow.open(Settings.from_env(), clock=clock)
    ctx = click.get_current_context(silent=True)
    if ctx is not None:
        ctx.call_on_close(wf.close)
    return wf


def table(rows: list[list[str]], headers: list[str] | None = None, *,
          limits: dict[str, int] | None = None, indent: str = "") -> None:
    """Print ``rows`` in aligned columns, under ``headers`` if given.

    Every cell is put on one line; a cell of a column named in ``limits`` is shortened to
    that many columns, visibly (:func:`clip`). Widths are counted as a terminal shows them
    (:func:`width`), so the columns stay aligned.
    """
    limit = [(limits or {}).get(h) for h in headers] if headers else []
    cells = [[clip(str(x), limit[i] if i < len(limit) else None) for i, x in enumerate(row)]
             for row in ([headers] if headers else []) + rows]
    widths = [max(width(x) for x in col) for col in zip(*cells, strict=False)]
    if headers:
        cells.insert(1, ["-" * w for w in widths])
    for line in cells:
        click.echo(indent + "  ".join(x + " " * (w - width(x))
                                      for x, w in zip(line, widths, strict=False)).rstrip())


ELLIPSIS = "\N{HORIZONTAL ELLIPSIS}"


def clip(text: str, limit: int | None = None) -> str:
    """``text`` on one line (its whitespace runs made single spaces) and, given ``limit``,
    at most that many columns wide: a shortened text ends with "…", which takes the last
    of the columns. The one place a table's cell is shortened."""
    text = " ".join(text.split())
    if limit is None or width(text) <= limit:
        return text
    kept: list[str] = []
    used = 0
    for char in text:
        used += width(char)
        if used > limit - 1:
            break
        kept.append(char)
    return "".join(kept).rstrip() + ELLIPSIS


def width(text: str) -> int:
    """How many columns a terminal gives ``text``: a combining mark or a format character
    none, a wide (East Asian) character two, anything else one."""
    if text.isascii():
        return len(text)
    import unicodedata

    return sum(0 if unicodedata.combining(c) or unicodedata.category(c) == "Cf"
               else 2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def pairs_text(data: dict[str, Any]) -> str:
    return ", ".join(f"{k}={','.join(map(str, v)) if isinstance(v, list) else v}"
                     for k, v in data.items())


def local(iso: str) -> str:
    from zoneinfo import ZoneInfo

    from .config import Settings

    moment = datetime.fromisoformat(iso).astimezone(ZoneInfo(Settings.from_env().timezone))
    return moment.strftime("%Y-%m-%d %H:%M")


# ----------------------------------------------------------------------- commands
@cli.command()
@click.option("--demo", is_flag=True, help="Load the Ishøj–Vallensbæk demo setup.")
@click.option("--examples", is_flag=True,
              help="Also add example cases dated up to today (implies --demo).")
def init(demo: bool, examples: bool) -> None:
    """Create or upgrade the database at WORKFLOW_DATABASE_URL."""
    from . import demo as demo_data
    from . import store
    from .config import Settings
    from .definition import load

    settings = Settings.from_env()
    load(settings.states_file)  # a broken definition is reported before anything changes
    engine = store.make_engine(settings.database_url)
    before = store.current_revision(engine)
    store.migrate(engine)
    url = engine.url.render_as_string(hide_password=True)
    click.echo(f"Database {url}: schema {before or 'none'} -> {store.HEAD_REVISION}.")
    if demo or examples:
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


@cli.command()
@click.option("--kind", required=True,
              help="dispensation, jobcentre, satellite or bum_agreement.")
@click.option("--round", "round_", type=int, help="1 or 2, for a dispensation.")
@click.option("--title", required=True, help="The case title.")
@click.option("--data", "pairs", multiple=True, metavar="KEY=VALUE",
              help="What the kind needs, e.g. provider=ishoj for a bum_agreement.")
@click.option("--from", "source", type=int, metavar="ID",
              help="Open it from this case (a BUM agreement from a granted application).")
@as_option
@json_option
def new(kind: str, round_: int | None, title: str, pairs: tuple[str, ...],
        source: int | None, user: str | None, as_json: bool) -> None:
    """Open a new application or BUM agreement."""
    from .queries import get_application
    from .values import parse_cli_pairs

    wf = open_workflow()
    app_id = wf.create(kind=kind, round=round_, title=title, user=user,
                       data=parse_cli_pairs(pairs), source=source)
    app = get_application(wf, app_id, user=user)
    if as_json:
        emit_json(app)
    else:
        click.echo(f"Created {noun(app['process'])} {app_id} ({app['case_number']}) in state "
                   f"{app['state']} ({app['state_label']}).")


def noun(process: str) -> str:
    """What the command line calls a case of ``process``."""
    from .agreements import PROCESS

    return "agreement" if process == PROCESS else "application"


@cli.command("list")
@click.option("--state", help="Only applications in this state.")
@click.option("--kind", help="Only applications of this kind.")
@as_option
@json_option
def list_(state: str | None, kind: str | None, user: str | None, as_json: bool) -> None:
    """List the applications this user can see."""
    from .queries import list_applications

    apps = list_applications(open_workflow(), user=user, state=state, kind=kind)
    if as_json:
        emit_json(apps)
        return
    rows = []
    for a in apps:
        nxt = next((d for d in a["deadlines"] if d["active"]), None)
        due = (f"{nxt['due']}{' OVERDUE' if nxt['overdue'] else ''}" if nxt else "")
        rows.append([str(a["id"]), a["case_number"], a["kind"] + (f" {a['round']}" if
                    a["round"] else ""), a["state"], ",".join(a["areas"]), due,
                     a["title"]])
    table(rows, ["id", "case", "kind", "state", "areas", "next deadline", "title"],
          limits={"title": 50})


@cli.command()
@click.argument("app_id", type=int, metavar="ID")
@as_option
@json_option
def show(app_id: int, user: str | None, as_json: bool) -> None:
    """Show one application: state, areas, council decisions, deadlines, links."""
    from .queries import get_application

    a = get_application(open_workflow(), app_id, user=user)
    if as_json:
        emit_json(a)
        return
    click.echo(f"Application {a['id']}  {a['case_number']}  (version {a['version']})")
    click.echo(f"  {a['title']}")
    click.echo(f"  kind:    {a['kind']}{' round ' + str(a['round']) if a['round'] else ''}"
               f" ({a['kind_label']})")
    click.echo(f"  state:   {a['state']} ({a['state_label']})")
    click.echo(f"  parties: {', '.join(a['parties'])}")
    for ar in a["area_details"]:
        status = ar["outcome"] or ("claimed" if ar["live"] else "released")
        click.echo(f"  area:    {ar['id']} ({ar['name']}) – {status}")
    if a["process"] == "bum_agreement":
        from .cli_agreements import show_agreement

        show_agreement(a["data"])
    for name, by_party in a["record"].items():   # what each party did, kept after moving on
        for party, act in by_party.items():
            extra = pairs_text({k: v for k, v in act.items()
                                if k not in ("user", "at", "version", "void", "approved")})
            void = " (set aside by a later step)" if act.get("void") else ""
            click.echo(f"  {name}: {party} by {act['user']}{': ' + extra if extra else ''}"
                       f"{void}")
    if a["decision"]:
        d = a["decision"]
        granted = f", granted {','.join(d['granted_areas'])}" if d["granted_areas"] else ""
        refused = f", refused {','.join(d['refused_areas'])}" if d["refused_areas"] else ""
        click.echo(f"  decision: {d['outcome']} on {d['decision_date']} (ref. {d['reference']})"
                   f"{granted}{refused}")
        if d["conditions"]:
            click.echo(f"  conditions: {d['conditions']}")
        if d["effective_date"]:
            click.echo(f"  takes effect: {d['effective_date']}")
    for d in a["deadlines"]:
        flag = " OVERDUE" if d["overdue"] else (
            "" if d["active"] else f" (closed {local(d['met_at'])[:10]})")
        click.echo(f"  deadline: {d['due']} {d['state']}{flag} – {d['derivation']}")
    for link in a["links"]:
        click.echo(f"  link:    {link['rel']} application {link['application']}")
    for doc in a["documents"]:
        mismatched = [x["party"] for x in doc["approvals"] if not x["matches"]]
        note = f" – approval by {', '.join(mismatched)} no longer matches" if mismatched else ""
        party = f" ({doc['party']})" if doc["party"] else ""
        click.echo(f"  document {doc['id']}: {doc['name']}{party} v{doc['latest']}{note}")


@cli.command()
@click.argument("app_id", type=int, metavar="ID")
@as_option
@json_option
def history(app_id: int, user: str | None, as_json: bool) -> None:
    """Show every recorded step of an application."""
    from .queries import history as get_history

    entries = get_history(open_workflow(), app_id, user=user)
    if as_json:
        emit_json(entries)
        return
    rows = [[str(e["version"]), local(e["at"]), e["user"], e["trigger"],
             f"{e['from'] or '-'} -> {e['to']}" if e["to"] else "",
             clip(pairs_text(e["data"]), 70) + (f" «{e['comment']}»" if e["comment"] else "")]
            for e in entries]
    table(rows, ["v", "at", "user", "trigger", "state", "data"])


@cli.command()
@click.argument("app_id", type=int, metavar="ID")
@as_option
@json_option
def triggers(app_id: int, user: str | None, as_json: bool) -> None:
    """What this user may do now with an application, and for the rest why not."""
    from .queries import triggers as get_triggers

    items = get_triggers(open_workflow(), app_id, user=user)
    if as_json:
        emit_json(items)
        return
    if not items:
        click.echo("No triggers: the application is in a final state.")
    for it in items:
        fields = " ".join(f"{f['name']}=…" if f["required"] else f"[{f['name']}=…]"
                          for f in it["fields"])
        mark = "yes" if it["allowed"] else "no "
        click.echo(f"  {mark}  {it['trigger']} {fields}".rstrip()
                   + ("" if it["allowed"] else f"   – {it['reason']}"))


@cli.command()
@click.argument("app_id", type=int, metavar="ID")
@click.argument("trigger")
@click.option("--comment", default="", help="A note for the history.")
@click.option("--data", "pairs", multiple=True, metavar="KEY=VALUE",
              help="Data for the transition, e.g. --data areas=social,employment.")
@click.option("--expect-version", type=int, metavar="N",
              help="Refuse if the application is no longer at version N.")
@as_option
@json_option
def advance(app_id: int, trigger: str, comment: str, pairs: tuple[str, ...],
            expect_version: int | None, user: str | None, as_json: bool) -> None:
    """Fire TRIGGER on application ID."""
    from .values import parse_cli_pairs

    data = parse_cli_pairs(pairs)
    out = open_workflow().fire(app_id, trigger, user=user, data=data, comment=comment,
                               expected_version=expect_version)
    if as_json:
        emit_json({"application": out.application_id, "trigger": out.trigger,
                   "from": out.from_state, "to": out.to_state, "version": out.version,
                   "waiting_for": list(out.waiting_for), "spawned": list(out.spawned)})
        return
    msg = f"{noun(out.process).capitalize()} {out.application_id}: {out.trigger}: " \
          f"{out.from_state} -> {out.to_state} (version {out.version})."
    if out.waiting_for:
        msg += f" Waiting for {', '.join(out.waiting_for)}."
    for sid in out.spawned:
        msg += f" Opened linked application {sid}."
    click.echo(msg)


@cli.command()
@click.argument("file", required=False, type=click.Path(readable=False))
@click.option("--against-database", is_flag=True,
              help="Also refuse it if it would strand live applications in the database.")
@json_option
def check(file: str | None, against_database: bool, as_json: bool) -> None:
    """Validate a process definition (default: WORKFLOW_STATES_FILE)."""
    from . import console

    console.check(file, as_json=as_json, also=stranding if against_database else None)


def stranding(d: Definition) -> None:
    """Refuse ``d`` if it would strand live applications in the database."""
    from . import store
    from .config import Settings
    from .errors import StrandedApplications
    from .versions import find_stranded

    engine = store.make_engine(Settings.from_env().database_url)
    try:
        store.require_schema(engine)
        with store.read(engine) as conn:
            stranded = find_stranded(conn, d)
    finally:
        engine.dispose()
    if stranded:
        raise StrandedApplications(d.file, stranded)


@cli.command()
@click.option("--application", "app_id", type=int, metavar="ID",
              help="Mark this application's current state.")
@click.option("--process", default=None, help="Process to draw (default: the first).")
@click.option("--lang", type=click.Choice(LANGUAGES), default=LANGUAGES[0])
@as_option
@json_option
def diagram(app_id: int | None, process: str | None, lang: str, user: str | None,
            as_json: bool) -> None:
    """Print the process as a Mermaid stateDiagram-v2."""
    from . import console

    current = None
    if app_id is not None:
        from .queries import get_application

        app = get_application(open_workflow(), app_id, user=user)
        process, current = app["process"], app["state"]
    try:
        console.diagram(process, lang=lang, as_json=as_json, current=current,
                        application=app_id)
    except console.UnknownProcess as exc:
        raise click.BadParameter(f"unknown process {exc.args[0]!r}",
                                param_hint="--process") from None


@cli.command()
@json_option
def areas(as_json: bool) -> None:
    """The cooperation's areas: who runs each, and whether it is free to apply for."""
    from .queries import areas as get_areas

    items = get_areas(open_workflow())
    if as_json:
        emit_json(items)
        return
    table([[a["id"], a["name"], a["law_ref"], a["run_by"], a["status"]] for a in items],
          ["id", "name", "law", "run by", "status"])


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=int,
              help="Processes; use PostgreSQL for more than one in production.")
def serve(host: str, port: int, workers: int) -> None:
    """Run the web application and API (on first start: the demo with its examples)."""
    import uvicorn

    from . import store
    from .config import Settings

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
    from .metrics import prepare_multiprocess_dir
    from .web.ops import log_config

    prepare_multiprocess_dir()  # PROMETHEUS_MULTIPROC_DIR: no values of an earlier run
    # one log line per request from workflow (web/ops.py), uvicorn's access log off
    uvicorn.run("workflow.web.app:create_app", factory=True, host=host, port=port,
                workers=workers, log_level="info", access_log=False,
                log_config=log_config(settings.log_format))


@cli.command("rules")
@json_option
def rules_(as_json: bool) -> None:
    """The guards and effects that states.yaml may name."""
    from .rules import catalogue as rules_catalogue

    catalogue = rules_catalogue()
    if as_json:
        emit_json(catalogue)
        return
    for kind, items in catalogue.items():
        click.echo(f"{kind}:")
        for name, doc in items.items():
            click.echo(f"  {name:<26} {doc}")


# The other command modules add their commands to `cli` when imported (last: they import
# the helpers above).
from . import cli_admin, cli_agreements, cli_documents, cli_ops  # noqa: E402, F401
