"""The commands that work on cases: ``new``, ``list``, ``search``, ``show``, ``history``,
``triggers``, ``advance``, ``diagram`` and ``areas``."""

from __future__ import annotations

import click

from . import plain
from .common import (
    as_option,
    case_view,
    clip,
    happened,
    json_option,
    local,
    open_workflow,
    pairs_text,
    table,
)
from .plain import LANGUAGES, emit_json


@click.command()
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
    from ..engine.queries import get_application
    from ..process.values import parse_cli_pairs

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
    from ..engine.agreements import PROCESS

    return "agreement" if process == PROCESS else "application"


@click.command("list")
@click.option("--state", help="Only applications in this state.")
@click.option("--kind", help="Only applications of this kind.")
@as_option
@json_option
def list_(state: str | None, kind: str | None, user: str | None, as_json: bool) -> None:
    """List the applications this user can see."""
    from ..engine.queries import list_applications

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


@click.command()
@click.argument("query")
@click.option("--sort", type=click.Choice(["relevance", "updated"]), default="relevance",
              show_default=True, help="The best match first, or the newest change.")
@click.option("--limit", type=click.IntRange(1, 100), default=20, show_default=True,
              help="How many cases to show.")
@as_option
@json_option
def search(query: str, sort: str, limit: int, user: str | None, as_json: bool) -> None:
    """Find the cases this user can see by their title, case number or text."""
    from ..engine import lists, overview
    from ..store import database as store

    wf = open_workflow()
    with store.read(wf.engine) as conn:
        actor = wf.actor(conn, user)
        page = lists.search(wf, conn, actor, query, sort=sort, limit=limit)
        found = overview.summaries(wf, conn, page.rows)
    if as_json:
        emit_json([{**f, "updated_at": f["updated_at"].isoformat()} for f in found])
        return
    table([[str(f["id"]), f["case_number"], f["state"], f["title"]] for f in found],
          ["id", "case", "state", "title"], limits={"title": 60})


@case_view
def show(app_id: int, user: str | None, as_json: bool) -> None:
    """Show one application: state, areas, council decisions, deadlines, links."""
    from ..engine.queries import get_application

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
        from .agreements import show_agreement

        show_agreement(a["data"])
    for name, by_party in a["record"].items():   # what each party did, kept after moving on
        if name in ("committee", "conditions_committee"):
            continue          # every committee decision follows, not the latest only
        for party, act in by_party.items():
            extra = pairs_text({k: v for k, v in act.items()
                                if k not in ("user", "at", "version", "void", "approved")})
            void = " (set aside by a later step)" if act.get("void") else ""
            click.echo(f"  {name}: {party} by {act['user']}{': ' + extra if extra else ''}"
                       f"{void}")
    for c in a["committees"]:
        about = " on the conditions" if c["on"] == "conditions" else ""
        void = " (set aside by a later step)" if c["void"] else ""
        click.echo(f"  committee: {c['municipality']} {c['committee']}{about} "
                   f"{c['committee_date']}: {c['decision']} ({c['agenda_ref']}) by "
                   f"{c['user']}{void}")
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


@case_view
def history(app_id: int, user: str | None, as_json: bool) -> None:
    """Show every recorded step of an application."""
    from ..engine.queries import history as get_history

    entries = get_history(open_workflow(), app_id, user=user)
    if as_json:
        emit_json(entries)
        return
    rows = [[str(e["version"]), local(e["at"]), happened(e), e["user"], e["trigger"],
             f"{e['from'] or '-'} -> {e['to']}" if e["to"] else "",
             clip(pairs_text(e["data"]), 70) + (f" «{e['comment']}»" if e["comment"] else "")]
            for e in entries]
    table(rows, ["v", "recorded", "happened", "user", "trigger", "state", "data"])


@case_view
def triggers(app_id: int, user: str | None, as_json: bool) -> None:
    """What this user may do now with an application, and for the rest why not."""
    from ..engine.tasks import triggers as get_triggers

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


@click.command()
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
    from ..process.values import parse_cli_pairs

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


@click.command()
@click.option("--application", "app_id", type=int, metavar="ID",
              help="Mark this application's current state.")
@click.option("--process", default=None, help="Process to draw (default: the first).")
@click.option("--lang", type=click.Choice(LANGUAGES), default=LANGUAGES[0])
@as_option
@json_option
def diagram(app_id: int | None, process: str | None, lang: str, user: str | None,
            as_json: bool) -> None:
    """Print the process as a Mermaid stateDiagram-v2."""

    current = None
    if app_id is not None:
        from ..engine.queries import get_application

        app = get_application(open_workflow(), app_id, user=user)
        process, current = app["process"], app["state"]
    try:
        plain.diagram(process, lang=lang, as_json=as_json, current=current,
                        application=app_id)
    except plain.UnknownProcess as exc:
        raise click.BadParameter(f"unknown process {exc.args[0]!r}",
                                param_hint="--process") from None


@click.command()
@click.option("--cooperation", default=None, help="Only this cooperation's areas.")
@json_option
def areas(cooperation: str | None, as_json: bool) -> None:
    """The cooperations' areas: who runs each, and whether it is free to apply for."""
    from ..engine.queries import areas as get_areas

    wf = open_workflow()
    if cooperation is not None and cooperation not in wf.cooperations:
        raise click.BadParameter(f"unknown cooperation {cooperation!r}; known: "
                                 f"{', '.join(wf.cooperations)}", param_hint="--cooperation")
    items = get_areas(wf, [cooperation] if cooperation else None)
    if as_json:
        emit_json(items)
        return
    several = len({a["cooperation"] for a in items}) > 1   # then each row says whose
    table([([a["cooperation"]] if several else [])
           + [a["id"], a["name"], a["law_ref"], a["run_by"], a["status"]] for a in items],
          (["cooperation"] if several else []) + ["id", "name", "law", "run by", "status"])


COMMANDS = (new, list_, search, show, history, triggers, advance, diagram, areas)
