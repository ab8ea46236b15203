"""Command line: BUM agreements, what a municipality buys and sells and an agreement's
terms (registered on ``workflow.cli.app.cli``)."""

from __future__ import annotations

from typing import Any

import click

from .common import as_option, json_option, open_workflow, table
from .plain import emit_json


@click.command()
@click.option("--municipality", metavar="ID",
              help="Whose agreements (default: the user's own; an administrator names one).")
@click.option("--year", type=click.IntRange(2000, 2100), help="Price year (default: this year).")
@as_option
@json_option
def bum(municipality: str | None, year: int | None, user: str | None, as_json: bool) -> None:
    """What a municipality buys and sells under BUM agreements, with the totals."""
    from ..danish import amount
    from ..engine import agreements

    view = agreements.municipality_view(open_workflow(), municipality, user=user, year=year)
    if as_json:
        emit_json(agreements.jsonable(view))
        return
    y = view["year"]
    click.echo(f"BUM agreements of {view['municipality']['name']}, {y}")
    for key, title, other in (("buys", "buys (purchaser)", "provider"),
                              ("sells", "sells (provider)", "purchaser")):
        click.echo(f"\n{view['municipality']['id']} {title}:")
        rows = []
        for a in view[key]:
            year_ = a["year"] or {}
            tu = a["latest_true_up"]
            d = a["next_deadline"]
            price = amount(year_["price"]) if year_.get("price") is not None else ""
            rows.append([
                str(a["id"]), a["case_number"], a["counterparty"]["id"] if a["counterparty"]
                else "", a["area"]["id"] if a["area"] else "", a["state"],
                price + ("" if a["in_total"] or not price else " (not counted)"),
                amount(year_["a_conto_total"]) if year_.get("a_conto_total") is not None
                else "",
                f"{tu['year']}: {amount(tu['balance'])}" if tu and tu["balance"] is not None
                else "",
                f"{d['due']}{' OVERDUE' if d['overdue'] else ''} {d['state']} "
                f"({'/'.join(m['id'] for m in d['responsible']['municipalities'])} "
                f"{'/'.join(d['responsible']['roles'])})" if d else ""])
        if rows:
            table(rows, ["id", "case", other, "area", "state", f"price {y}", f"a conto {y}",
                         "last true-up", "next deadline"])
        else:
            click.echo("  (none)")
    click.echo(f"\nTotal {y}: bought {amount(view['totals']['bought'])}, "
               f"sold {amount(view['totals']['sold'])}")


def show_agreement(data: dict[str, Any]) -> None:
    """A BUM agreement's parties, terms and years, amounts in Danish."""
    from ..bum.views import year_views
    from ..danish import amount

    click.echo(f"  udfører: {data.get('provider')}   bestiller: {data.get('purchaser')}   "
               f"area: {data.get('area')}")
    click.echo(f"  service: {data.get('service')}")
    for key in ("service_level", "start_date", "notice_months", "cycle_year", "end_date"):
        if data.get(key) is not None:
            click.echo(f"  {key}: {data[key]}")
    for y in year_views(data):
        money = {k: amount(y[k]) if y[k] is not None else "–"
                 for k in ("price", "a_conto_total", "budget_frame")}
        line = (f"  year {y['year']}: volume {y['expected_volume'] or '–'}, price "
                f"{money['price']}, a conto {money['a_conto_total']}, budget frame "
                f"{money['budget_frame']}")
        if y["true_up"]:
            line += f", true-up {amount(y['true_up']['balance'])}"
        click.echo(line)


COMMANDS = (bum,)
