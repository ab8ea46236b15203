"""What a document template sees: the case, gathered from the database into plain values.

:func:`gather` reads everything a draft may use in a few queries; :func:`build_context`
shapes it into the names listed in ``templates/README.md``. The template checker builds
its samples with the same function, so what it checks is what the documents get.

A BUM agreement's drafts also get ``agreement``: the parties, the area, the terms and the
priced years with their a-conto payments and true-ups, as ``Decimal`` amounts and
``date`` dates (the case's data hold them as exact strings).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, tzinfo
from typing import Any

from sqlalchemy import case as when_then
from sqlalchemy import select
from sqlalchemy.engine import Connection

from ..bum.views import as_decimal, as_int, year_views
from ..process.acts import committee_acts, current_acts
from ..process.spec import Definition, Facts
from ..process.values import as_date
from ..store import tables as t
from .areas import application_areas
from .committees import committee_views
from .ministry import acceptances_view, conditions_view, questions_view
from .sections import bodies as section_bodies
from .sections import context_sections, digestible

OUTCOME_DA = {"granted": "bevilget", "granted_with_conditions": "bevilget med vilkår",
              "partly_granted": "delvist bevilget", "refused": "afslag"}


@dataclass
class Inputs:
    """Everything about one application that any draft may use."""

    case: dict[str, Any]
    municipalities: list[dict[str, Any]]          # the parties, in order
    areas: list[dict[str, Any]]                   # with run_by as a municipality id
    acts: dict[str, dict[str, dict[str, Any]]]    # name -> party -> data (latest, not void)
    data: dict[str, Any]
    info_request: dict[str, Any] | None = None
    previous: dict[str, Any] | None = None
    all_municipalities: dict[str, dict[str, Any]] = field(default_factory=dict)
    process: str = "application"
    area: dict[str, Any] | None = None            # a BUM agreement's area (id, name, law_ref)
    source: dict[str, Any] | None = None          # the application a BUM agreement follows
    announced: dict[str, Any] | None = None       # the ministry's announced conditions
    # committee decisions: act name (committee, conditions_committee) -> party -> committee
    committees: dict[str, dict[str, dict[str, dict[str, Any]]]] = field(default_factory=dict)
    sections: dict[str, str] = field(default_factory=dict)   # the case's own text, by name
    cooperation: dict[str, Any] | None = None     # whose case: id, name, short_name, texts
    # the municipality rows by id (letterhead, logo, own templates): not in the context
    rows: dict[str, dict[str, Any]] = field(default_factory=dict)


# How a council is called by its type (``municipality.council_type``), in the definite form
COUNCIL_DEFINITE = {"byraad": "Byrådet", "kommunalbestyrelse": "Kommunalbestyrelsen"}
# The layouts of the agenda item (templates/documents/agenda_item.md.j2), by
# ``municipality.agenda_layout``: see templates/README.md
AGENDA_LAYOUTS = ("standard", "summary_first", "recommendation_first")
# Who signs a municipality's letters when its row names no one (the titles only)
DEFAULT_SIGNATORIES = ({"name": None, "title": "Borgmester"},
                       {"name": None, "title": "Kommunaldirektør"})


def municipality_view(row: Mapping[str, Any], contact: Mapping[str, Any] | None) -> dict[str, Any]:
    name = str(row["name"])
    council_type = str(row.get("council_type") or "kommunalbestyrelse")
    signatories = [{"name": s.get("name") or None, "title": s.get("title") or None}
                   for s in row.get("signatories") or []] or [dict(s) for s in
                                                             DEFAULT_SIGNATORIES]
    return {"id": row["id"], "name": name, "short": name.removesuffix(" Kommune"),
            "council": row["council"], "address": row["address"],
            "council_type": council_type,
            "council_definite": COUNCIL_DEFINITE.get(council_type, "Kommunalbestyrelsen"),
            "committees": list(row.get("committees") or []),
            "signatories": signatories,
            "contacts": [{k: c.get(k) or None for k in ("name", "title", "email", "phone")}
                         for c in row.get("contacts") or []],
            "agenda_layout": str(row.get("agenda_layout") or "standard"),
            "contact": {"name": contact["name"] if contact else None,
                        "email": contact["email"] if contact else None}}


def current_agreement_year(by_year: Mapping[int, dict[str, Any]], start: date | None,
                           cycle: int | None, signed: date | None) -> int | None:
    """The year an agreement's drafts are about: before signing, the start year; once
    signed, the next year while it is being prepared (volume, price or notice recorded),
    else the year last signed (the year's agreement, or the start year of the agreement
    itself), so that a signed version shows the price, volume and a-conto that were signed."""
    if signed is None or cycle is None:
        return start.year if start is not None else None
    if cycle + 1 in by_year:
        return cycle + 1
    if by_year.get(cycle, {}).get("signed_on") is not None or start is None:
        return cycle
    return start.year


def agreement_view(inputs: Inputs, by_id: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
    """The ``agreement`` of a BUM agreement's drafts (see templates/README.md)."""
    data = inputs.data
    years = year_views(data)
    by_year = {y["year"]: y for y in years}
    start = as_date(data.get("start_date"))
    cycle = as_int(data.get("cycle_year"))
    signed = as_date(data.get("signed_on"))
    current_year = current_agreement_year(by_year, start, cycle, signed)
    trued = [y for y in years if y["true_up"] is not None]
    last = as_int(data.get("last_true_up"))
    changes = [{"effective_date": as_date(c.get("effective_date")),
                "expected_volume": as_int(c.get("expected_volume")),
                "service_level": c.get("service_level"),
                "noticed_on": as_date(c.get("noticed_on")),
                "by": by_id.get(c.get("by") or "")} for c in data.get("changes") or []]
    budgets = []
    for m in inputs.municipalities:
        act = inputs.acts.get("budget", {}).get(m["id"])
        meeting = as_date(act.get("meeting_date")) if act else None
        if act and meeting is not None and cycle is not None and meeting.year == cycle:
            budgets.append({"municipality": m, "meeting_date": meeting,
                            "agenda_ref": act.get("agenda_ref")})
    return {
        "provider": by_id.get(str(data.get("provider"))),
        "purchaser": by_id.get(str(data.get("purchaser"))),
        "area": inputs.area, "service": data.get("service"),
        "service_level": data.get("service_level"),
        "expected_volume": as_int(data.get("expected_volume")),
        "direct_costs": as_decimal(data.get("direct_costs")),
        "overhead_rate": as_decimal(data.get("overhead_rate")),
        "start_date": start, "notice_months": as_int(data.get("notice_months")),
        "cycle_year": cycle, "signed_on": signed, "end_date": as_date(data.get("end_date")),
        "reason": data.get("reason") if data.get("end_date") else None,
        "changes": changes, "years": years, "budgets": budgets,
        "current": by_year.get(current_year) if current_year is not None else None,
        "last_true_up": by_year.get(last) if last in by_year and by_year[last]["true_up"]
        else trued[-1] if trued else None,
        "source": inputs.source,
    }


def build_context(inputs: Inputs, *, letter_date: date, facts: Facts,
                  party: str | None = None) -> dict[str, Any]:
    """The template context for one draft (and, for per-party drafts, one municipality);
    ``facts``: the ministry, the law and the populations as on the draft's day."""
    by_id = {m["id"]: m for m in inputs.municipalities} | {
        k: v for k, v in inputs.all_municipalities.items() if k not in
        {m["id"] for m in inputs.municipalities}}
    areas = [{**a, "run_by": by_id.get(a["run_by"])} for a in inputs.areas]
    councils = []
    for m in inputs.municipalities:
        council = inputs.acts.get("council", {}).get(m["id"], {})
        meeting = inputs.acts.get("meeting", {}).get(m["id"], {})
        councils.append({
            "municipality": m,
            "meeting_date": as_date(council.get("meeting_date") or meeting.get("meeting_date")),
            "agenda_ref": council.get("agenda_ref") or meeting.get("agenda_ref"),
            "decision": council.get("decision"), "reason": council.get("reason")})
    data = inputs.data
    ministry = facts.ministry
    decision = None
    if data.get("outcome"):
        accepted = []
        for m in inputs.municipalities:
            act = inputs.acts.get("conditions", {}).get(m["id"])
            if act:
                accepted.append({"municipality": m,
                                 "meeting_date": as_date(act.get("meeting_date")),
                                 "agenda_ref": act.get("agenda_ref")})
        decision = {"reference": data.get("reference"), "date": as_date(data.get("decision_date")),
                    "outcome": data["outcome"], "outcome_text": OUTCOME_DA[data["outcome"]],
                    "conditions": data.get("conditions"),
                    "granted": [a for a in areas if a["outcome"] == "granted"],
                    "refused": [a for a in areas if a["outcome"] == "refused"],
                    "accepted": accepted,
                    "accepted_by_all": bool(accepted) and len(accepted) == len(
                        inputs.municipalities)}
    ctx: dict[str, Any] = {
        "case": inputs.case, "letter_date": letter_date,
        "ministry": {"name": ministry.name if ministry else None,
                     "address": ministry.address or None if ministry else None},
        "law": {"cite": facts.law.cite if facts.law else None},
        "population": {k: {"inhabitants": f.inhabitants, "on": f.on}
                       for k, f in facts.population.items()},
        "municipalities": inputs.municipalities, "areas": areas, "councils": councils,
        "decision": decision, "effective_date": as_date(data.get("effective_date")),
        "requested_effective_date": as_date(data.get("requested_effective_date")),
        "conditions": conditions_view(inputs, areas), "acceptances": acceptances_view(inputs),
        "info_request": inputs.info_request, "previous": inputs.previous,
        "sections": context_sections(inputs.sections),
        "cooperation": inputs.cooperation,
    }
    if inputs.process == "bum_agreement":
        ctx["agreement"] = agreement_view(inputs, by_id)
    if party is not None:
        ctx["municipality"] = by_id[party]
        ctx["other"] = next((m for m in inputs.municipalities if m["id"] != party), None)
        ctx |= committee_views(by_id[party], inputs.committees, inputs.acts)
    return ctx


# What a council approves is the substance of a draft: not its date, and not the councils'
# own records (meeting dates, decisions), which the draft reports as the process moves on.
NOT_APPROVED = ("letter_date", "councils", "acceptances", "committees", "conditions_committees")


def _sha(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def input_digest(context: Mapping[str, Any]) -> tuple[str, str, dict[str, Any]]:
    """sha256 of the context's data (not its letter date), sha256 of what a council
    approves, and the context as JSON."""
    plain = json.loads(json.dumps({**context, "sections": digestible(context.get("sections"))},
                                  default=str, sort_keys=True, ensure_ascii=False))
    if plain["sections"] is None:
        del plain["sections"]
    data = _sha({k: v for k, v in plain.items() if k != "letter_date"})
    substance = _sha({k: v for k, v in plain.items() if k not in NOT_APPROVED})
    return data, substance, plain


def gather(conn: Connection, definition: Definition, app: Mapping[str, Any],
           tz: tzinfo) -> Inputs:
    """Read what the drafts of ``app`` (an application row as a mapping) may use."""
    m, u = t.municipality, t.user
    named = set(app["parties"]) | {   # the logos of those a letterhead may name only
        v for v in (app["data"] or {}).values() if isinstance(v, str)}
    munis = {r.id: dict(r._mapping) for r in conn.execute(select(
        *[c for c in m.c if c.name != "logo"],
        when_then((m.c.id.in_(sorted(named)), m.c.logo), else_=None).label("logo")))}
    contacts: dict[str, Any] = {}
    for r in conn.execute(select(u.c.name, u.c.email, u.c.municipality)
                          .where(u.c.role == "project_lead", u.c.active).order_by(u.c.id)):
        contacts.setdefault(r.municipality, r._mapping)
    views = {k: municipality_view(v, contacts.get(k)) for k, v in munis.items()}
    process = definition.processes[app["process"]]
    kind = process.kinds[app["kind"]]
    case = {"id": app["id"], "number": app["case_number"], "title": app["title"],
            "kind": app["kind"], "kind_label": kind.label.da, "round": app["round"],
            "satellite_fallback": (app["data"] or {}).get("satellite_fallback", "yes") == "yes"}
    parties = [views[p] for p in app["parties"] if p in views]
    acts = current_acts(conn, app["id"], 0)
    if app["process"] == "bum_agreement":
        return _gather_agreement(conn, app, case, parties, views, acts, munis)
    areas = application_areas(conn, app["id"])
    req = _latest_step(conn, app["id"], "request_info", tz)
    info = None if req is None else {
        "reference": req[0].get("reference"), "due_date": as_date(req[0].get("due_date")),
        "date": as_date(req[0].get("request_date")), "received": req[1],
        "questions": questions_view(app["data"] or {})}
    ann = _latest_step(conn, app["id"], "announce_conditions", tz)
    announced = None if ann is None else {
        "reference": ann[0].get("reference"), "date": as_date(ann[0].get("request_date")),
        "due_date": as_date(ann[0].get("due_date")),
        "conditions": list(ann[0].get("announced_conditions") or []),
        "granted_areas": list(ann[0].get("granted_areas") or [])}
    previous = _linked(conn, app["id"], "fallback_for")
    committees = {name: committee_acts(conn, app["id"], name)
                  for name in ("committee", "conditions_committee")}
    return Inputs(case=case, municipalities=parties, areas=areas, acts=acts,
                  data=dict(app["data"]), info_request=info, previous=previous,
                  all_municipalities=views, announced=announced, committees=committees,
                  sections=section_bodies(conn, app["id"]), rows=munis,
                  cooperation=cooperation_view(conn, app.get("cooperation_id")))


def cooperation_view(conn: Connection, cooperation: str | None) -> dict[str, Any] | None:
    """A case's cooperation as the templates see it: its names and local texts."""
    c = t.cooperation
    row = conn.execute(select(c).where(c.c.id == cooperation)).mappings().first() \
        if cooperation else None
    if row is None:
        return None
    texts = dict(row["texts"] or {})
    return {"id": row["id"], "name": row["name"], "texts": texts,
            "short_name": str(texts.get("short_name", "")).strip() or row["name"]}


def _latest_step(conn: Connection, app_id: int, trigger: str, tz: tzinfo
                 ) -> tuple[dict[str, Any], date] | None:
    """The data of the case's latest ``trigger`` step, and the day it happened."""
    ae = t.audit_entry
    got = conn.execute(select(ae.c.data, ae.c.happened_on, ae.c.at).where(
        ae.c.application_id == app_id, ae.c.trigger == trigger)
        .order_by(ae.c.version.desc()).limit(1)).first()
    return None if got is None else (got.data, got.happened_on or got.at.astimezone(tz).date())


def _linked(conn: Connection, app_id: int, kind: str) -> dict[str, Any] | None:
    """The application ``app_id`` links to with a link of ``kind``, if any."""
    lk, a = t.link, t.application
    row = conn.execute(select(a.c.case_number, a.c.title, a.c.data)
                       .join(lk, lk.c.to_id == a.c.id)
                       .where(lk.c.from_id == app_id, lk.c.kind == kind)).first()
    if row is None:
        return None
    return {"number": row.case_number, "title": row.title,
            "decision_date": as_date(row.data.get("decision_date")),
            "reference": row.data.get("reference")}


def _gather_agreement(conn: Connection, app: Mapping[str, Any], case: dict[str, Any],
                      parties: list[dict[str, Any]], views: dict[str, dict[str, Any]],
                      acts: dict[str, dict[str, dict[str, Any]]],
                      rows: dict[str, dict[str, Any]]) -> Inputs:
    """A BUM agreement: its area and the application it follows (no application areas,
    no ministry's requests)."""
    ar = t.area
    data = dict(app["data"])
    area_id, _, part = str(data.get("area")).partition(":")   # an area or a part of one
    row = conn.execute(select(ar.c.id, ar.c.name_da, ar.c.law_ref, ar.c.parts)
                       .where(ar.c.id == area_id)).first()
    named = next((p for p in (row.parts or []) if p["id"] == part), None) if row else None
    area = None if row is None else {
        "id": row.id, "law_ref": (named or {}).get("law_ref") or row.law_ref,
        "name": f"{row.name_da}: {named['name_da']}" if named else row.name_da,
        "part": part or None}
    return Inputs(case=case, municipalities=parties, areas=[], acts=acts, data=data,
                  all_municipalities=views, process="bum_agreement", area=area,
                  source=_linked(conn, app["id"], "agreement_for"), rows=rows)
