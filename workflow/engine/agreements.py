"""Read side of BUM agreements: one agreement's terms and years, one municipality's view.

A BUM agreement is a case of the ``bum_agreement`` process; its terms and its years
(price, a-conto, budget frame, true-up) live in the case's data (see :mod:`workflow.bum.rules`).
This module turns them into what the pages, the API and ``workflow bum`` show:

* :func:`describe` – an agreement's parties, area, service, notice and a row per year;
* :func:`municipality_view` – what one municipality buys (as purchaser) and sells (as
  provider): per agreement the counterparty, area, state, the year's price and a-conto,
  the latest true-up and the next open deadline, with the year's totals. Three queries
  however many agreements there are (the agreements, their open deadlines, their links).

Amounts are ``Decimal`` here; :func:`jsonable` writes them as exact strings ("1234.50").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from ..bum.views import as_date, as_decimal, as_int, year_views
from ..errors import NotFound, PermissionDenied, Said
from ..store import database as store
from ..store import tables as t
from .workflow import Actor, Workflow

PROCESS = "bum_agreement"
ZERO = Decimal("0.00")


def _municipality(wf: Workflow, mid: Any) -> dict[str, Any] | None:
    if not mid:
        return None
    row = wf.municipalities.get(str(mid))
    return {"id": str(mid), "name": row.name if row is not None else str(mid)}


def _area(wf: Workflow, aid: Any) -> dict[str, Any] | None:
    if not aid:
        return None
    row = wf.areas.get(str(aid))
    return {"id": str(aid), "name": row.name_da if row is not None else str(aid)}


# ------------------------------------------------------------------------------ years
def latest_true_up(rows: Iterable[dict[str, Any]]) -> dict[str, Any] | None:
    """The newest year that has been trued up: its year, actual cost, paid and balance."""
    done = [r for r in rows if r["true_up"]]
    if not done:
        return None
    last = done[-1]
    return {"year": last["year"], **last["true_up"]}


def describe(wf: Workflow, data: Mapping[str, Any]) -> dict[str, Any]:
    """An agreement's terms and years, from its data (``application.data``)."""
    rows = year_views(data)
    changes = [{"effective_date": as_date(c.get("effective_date")),
                "expected_volume": as_int(c.get("expected_volume")),
                "service_level": c.get("service_level"),
                "noticed_on": as_date(c.get("noticed_on")), "by": _municipality(wf, c.get("by"))}
               for c in data.get("changes") or [] if isinstance(c, Mapping)]
    return {
        "provider": _municipality(wf, data.get("provider")),
        "purchaser": _municipality(wf, data.get("purchaser")),
        "area": _area(wf, data.get("area")),
        "service": data.get("service"), "service_level": data.get("service_level"),
        "expected_volume": as_int(data.get("expected_volume")),
        "direct_costs": as_decimal(data.get("direct_costs")),
        "overhead_rate": as_decimal(data.get("overhead_rate")),
        "start_date": as_date(data.get("start_date")),
        "notice_months": as_int(data.get("notice_months")),
        "signed_on": as_date(data.get("signed_on")),
        "cycle_year": as_int(data.get("cycle_year")),
        "budget_frame": as_decimal(data.get("budget_frame")),
        "end_date": as_date(data.get("end_date")), "reason": data.get("reason"),
        "changes": changes, "years": rows, "latest_true_up": latest_true_up(rows),
    }


def linked_cases(wf: Workflow, ids: Iterable[int], *, user: str | None
                 ) -> dict[int, dict[str, Any]]:
    """Case number, title and kind of linked cases, and whether this user may open them
    (a Vallensbæk user sees that an Ishøj–Brøndby agreement exists, not its title)."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    a = t.application
    with store.read(wf.engine) as conn:
        actor = wf.actor(conn, user)
        rows = conn.execute(select(a.c.id, a.c.process, a.c.kind, a.c.case_number, a.c.title,
                                   a.c.state, a.c.parties).where(a.c.id.in_(wanted)))
        out = {}
        for r in rows:
            visible = actor.role == "admin" or actor.municipality in (r.parties or [])
            process = wf.definition.processes.get(r.process)
            state = process.states.get(r.state) if process else None
            out[r.id] = {"id": r.id, "process": r.process, "case_number": r.case_number,
                         "visible": visible, "title": r.title if visible else None,
                         "state_label": (state.label.da if state else r.state)
                         if visible else None}
        return out


# ---------------------------------------------------------------- a municipality's view
def check_view(wf: Workflow, actor: Actor, municipality: str) -> None:
    """Unknown municipalities are 404; a user sees only their own municipality (admin any)."""
    if municipality not in wf.municipalities:
        known = ", ".join(sorted(wf.municipalities))
        raise NotFound(Said(f"no municipality {municipality!r}; known: {known}",
                            f"kommunen »{municipality}« findes ikke; kendte: {known}"))
    if actor.role != "admin" and actor.municipality != municipality:
        raise PermissionDenied(Said(
            f"{actor.id} ({actor.municipality or 'no municipality'}) may see only its own "
            f"municipality's BUM agreements, not {municipality}'s",
            f"du kan kun se {wf.names.party(actor.municipality)}s BUM-aftaler, ikke "
            f"{wf.names.party(municipality)}s"))


def municipality_view(wf: Workflow, municipality: str | None, *, user: str | None,
                      year: int | None = None) -> dict[str, Any]:
    """What ``municipality`` (default: the user's own) buys and sells under BUM agreements.

    ``year`` (default: this year) picks the price and a-conto shown and totalled. The
    totals count the agreements that are signed, not abandoned, and not ended before
    the year; an agreement still in negotiation shows its proposed price uncounted.
    """
    a, d, lk = t.application, t.deadline, t.link
    today = wf.today()
    year = year or today.year
    process = wf.process_of(PROCESS)
    with store.read(wf.engine) as conn:
        actor = wf.actor(conn, user)
        if municipality is None:
            if actor.municipality is None:
                raise NotFound(Said(f"{actor.id} belongs to no municipality; name one",
                                    "du hører ikke til nogen kommune; vælg en"))
            municipality = actor.municipality
        check_view(wf, actor, municipality)
        rows = [r for r in conn.execute(
            select(a.c.id, a.c.case_number, a.c.title, a.c.state, a.c.version, a.c.data,
                   a.c.parties).where(a.c.process == PROCESS).order_by(a.c.id)).mappings()
            if municipality in ((r["data"] or {}).get("provider"),
                                (r["data"] or {}).get("purchaser"))]
        ids = [r["id"] for r in rows]
        deadlines: dict[int, list[Any]] = {}
        sources: dict[int, int] = {}
        if ids:
            for r in conn.execute(select(d).where(d.c.application_id.in_(ids), d.c.active)
                                  .order_by(d.c.due, d.c.id)):
                deadlines.setdefault(r.application_id, []).append(r)
            for r in conn.execute(select(lk.c.from_id, lk.c.to_id).where(
                    lk.c.kind == "agreement_for", lk.c.from_id.in_(ids))):
                sources[r.from_id] = r.to_id
    buys: list[dict[str, Any]] = []
    sells: list[dict[str, Any]] = []
    totals = {"bought": ZERO, "sold": ZERO}
    for row in rows:
        data = row["data"] or {}
        sells_it = data.get("provider") == municipality
        other = data.get("purchaser") if sells_it else data.get("provider")
        state = process.states.get(row["state"])
        all_years = year_views(data)
        this = next((y for y in all_years if y["year"] == year), None)
        end = as_date(data.get("end_date"))
        counts = bool(this and this["price"] is not None and data.get("signed_on")
                      and row["state"] != "cancelled" and (end is None or end.year >= year))
        item = {
            "id": row["id"], "case_number": row["case_number"], "title": row["title"],
            "state": row["state"], "state_label": state.label.da if state else row["state"],
            "final": bool(state and state.final), "version": row["version"],
            "role": "provider" if sells_it else "purchaser",
            "counterparty": _municipality(wf, other),
            "provider": _municipality(wf, data.get("provider")),
            "purchaser": _municipality(wf, data.get("purchaser")),
            "area": _area(wf, data.get("area")), "service": data.get("service"),
            "signed_on": as_date(data.get("signed_on")), "end_date": end,
            "year": _year_summary(this), "in_total": counts,
            "latest_true_up": latest_true_up(all_years),
            "next_deadline": _next_deadline(wf, process, deadlines.get(row["id"], []),
                                            row["parties"], municipality, today),
            "source": sources.get(row["id"]),
        }
        if counts and this is not None and this["price"] is not None:
            totals["sold" if sells_it else "bought"] += this["price"]
        (sells if sells_it else buys).append(item)
    return {"municipality": _municipality(wf, municipality), "year": year,
            "today": today, "buys": buys, "sells": sells, "totals": totals}


def _year_summary(row: dict[str, Any] | None) -> dict[str, Any] | None:
    if row is None:
        return None
    return {k: row[k] for k in ("year", "expected_volume", "service_level", "price",
                                "unit_price", "a_conto", "a_conto_total", "budget_frame")}


def _next_deadline(wf: Workflow, process: Any, rows: list[Any], parties: list[str],
                   municipality: str, today: date) -> dict[str, Any] | None:
    """The soonest open deadline; of two on the same day (one per party), the viewer's."""
    if not rows:
        return None
    soonest = rows[0].due
    same_day = [r for r in rows if r.due == soonest]
    r = next((x for x in same_day if x.party == municipality), same_day[0])
    state = process.states.get(r.state)
    roles = list(process.responsible_roles(r.state)) if r.state in process.states else []
    whom = [r.party] if r.party else list(parties or [])
    return {"due": r.due, "state": r.state,
            "state_label": state.label.da if state else r.state,
            "derivation": r.derivation, "overdue": r.due < today,
            "days_left": (r.due - today).days,
            "responsible": {"municipalities": [_municipality(wf, m) for m in whom],
                            "roles": roles,
                            "role_labels": [wf.definition.roles[x].da
                                            if x in wf.definition.roles else x
                                            for x in roles]}}


def jsonable(value: Any) -> Any:
    """Decimals as exact strings ("1234.50"), dates as ISO text; the rest as it is."""
    if isinstance(value, Decimal):
        return f"{value:f}"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value
