"""What a document template sees: the case, gathered from the database into plain values.

:func:`gather` reads everything a draft may use in a few queries; :func:`build_context`
shapes it into the names listed in ``templates/README.md``. The template checker builds
its samples with the same function, so what it checks is what the documents get.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, tzinfo
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.engine import Connection

from . import tables as t
from .context import current_acts
from .spec import Definition, Ministry

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


def municipality_view(row: Mapping[str, Any], contact: Mapping[str, Any] | None) -> dict[str, Any]:
    name = str(row["name"])
    return {"id": row["id"], "name": name, "short": name.removesuffix(" Kommune"),
            "council": row["council"], "address": row["address"],
            "contact": {"name": contact["name"] if contact else None,
                        "email": contact["email"] if contact else None}}


def _date(value: Any) -> date | None:
    if isinstance(value, date) or value is None:
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        return None


def build_context(inputs: Inputs, *, letter_date: date, ministry: Ministry | None,
                  party: str | None = None) -> dict[str, Any]:
    """The template context for one draft (and, for per-party drafts, one municipality)."""
    by_id = {m["id"]: m for m in inputs.municipalities} | {
        k: v for k, v in inputs.all_municipalities.items() if k not in
        {m["id"] for m in inputs.municipalities}}
    areas = [{"id": a["id"], "name": a["name"], "law_ref": a["law_ref"],
              "run_by": by_id.get(a["run_by"]), "outcome": a.get("outcome")}
             for a in inputs.areas]
    councils = []
    for m in inputs.municipalities:
        council = inputs.acts.get("council", {}).get(m["id"], {})
        meeting = inputs.acts.get("meeting", {}).get(m["id"], {})
        councils.append({
            "municipality": m,
            "meeting_date": _date(council.get("meeting_date") or meeting.get("meeting_date")),
            "agenda_ref": council.get("agenda_ref") or meeting.get("agenda_ref"),
            "decision": council.get("decision"), "reason": council.get("reason")})
    data = inputs.data
    decision = None
    if data.get("outcome"):
        decision = {"reference": data.get("reference"), "date": _date(data.get("decision_date")),
                    "outcome": data["outcome"], "outcome_text": OUTCOME_DA[data["outcome"]],
                    "conditions": data.get("conditions"),
                    "granted": [a for a in areas if a["outcome"] == "granted"],
                    "refused": [a for a in areas if a["outcome"] == "refused"]}
    ctx: dict[str, Any] = {
        "case": inputs.case, "letter_date": letter_date,
        "ministry": {"name": ministry.name if ministry else None,
                     "address": ministry.address or None if ministry else None},
        "municipalities": inputs.municipalities, "areas": areas, "councils": councils,
        "decision": decision, "effective_date": _date(data.get("effective_date")),
        "info_request": inputs.info_request, "previous": inputs.previous,
    }
    if party is not None:
        ctx["municipality"] = by_id[party]
        ctx["other"] = next((m for m in inputs.municipalities if m["id"] != party), None)
    return ctx


# What a council approves is the substance of a draft: not its date, and not the councils'
# own records (meeting dates, decisions), which the draft reports as the process moves on.
NOT_APPROVED = ("letter_date", "councils")


def _sha(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def input_digest(context: Mapping[str, Any]) -> tuple[str, str, dict[str, Any]]:
    """sha256 of the context's data (not its letter date), sha256 of what a council
    approves, and the context as JSON."""
    plain = json.loads(json.dumps(context, default=str, sort_keys=True, ensure_ascii=False))
    data = _sha({k: v for k, v in plain.items() if k != "letter_date"})
    substance = _sha({k: v for k, v in plain.items() if k not in NOT_APPROVED})
    return data, substance, plain


def gather(conn: Connection, definition: Definition, app: Mapping[str, Any],
           tz: tzinfo) -> Inputs:
    """Read what the drafts of ``app`` (an application row as a mapping) may use."""
    m, u, ar, aa = t.municipality, t.user, t.area, t.application_area
    munis = {r.id: dict(r._mapping) for r in conn.execute(select(m))}
    contacts: dict[str, Any] = {}
    for r in conn.execute(select(u.c.name, u.c.email, u.c.municipality)
                          .where(u.c.role == "project_lead", u.c.active).order_by(u.c.id)):
        contacts.setdefault(r.municipality, r._mapping)
    views = {k: municipality_view(v, contacts.get(k)) for k, v in munis.items()}
    rows = conn.execute(select(ar.c.id, ar.c.name_da, ar.c.law_ref, ar.c.run_by, aa.c.outcome)
                        .join(aa, and_(aa.c.area_id == ar.c.id,
                                       aa.c.application_id == app["id"]))
                        .where(aa.c.live | aa.c.outcome.is_not(None))
                        .order_by(ar.c.position))
    areas = [{"id": r.id, "name": r.name_da, "law_ref": r.law_ref, "run_by": r.run_by,
              "outcome": r.outcome} for r in rows]
    process = definition.processes[app["process"]]
    kind = process.kinds[app["kind"]]
    case = {"id": app["id"], "number": app["case_number"], "title": app["title"],
            "kind": app["kind"], "kind_label": kind.label.da, "round": app["round"]}
    ae = t.audit_entry
    req = conn.execute(select(ae.c.at, ae.c.data).where(
        ae.c.application_id == app["id"], ae.c.trigger == "request_info")
        .order_by(ae.c.version.desc()).limit(1)).first()
    info = None if req is None else {
        "reference": req.data.get("reference"), "due_date": _date(req.data.get("due_date")),
        "received": req.at.astimezone(tz).date()}
    previous = None
    lk, a = t.link, t.application
    prev = conn.execute(select(a.c.case_number, a.c.title, a.c.data)
                        .join(lk, lk.c.to_id == a.c.id)
                        .where(lk.c.from_id == app["id"], lk.c.kind == "fallback_for")).first()
    if prev is not None:
        previous = {"number": prev.case_number, "title": prev.title,
                    "decision_date": _date(prev.data.get("decision_date")),
                    "reference": prev.data.get("reference")}
    return Inputs(case=case, municipalities=[views[p] for p in app["parties"] if p in views],
                  areas=areas, acts=current_acts(conn, app["id"], 0), data=dict(app["data"]),
                  info_request=info, previous=previous, all_municipalities=views)


def sample_inputs(full: bool) -> Inputs:
    """A case as complete as can be (``full``), or as bare as at its start."""
    from .demo import AREAS, MUNICIPALITIES, USERS

    contacts = {u["municipality"]: u for u in USERS if u["role"] == "project_lead"}
    munis = [municipality_view(m, contacts.get(m["id"]) if full else None)
             for m in MUNICIPALITIES]
    areas = [{"id": a["id"], "name": a["name_da"], "law_ref": a["law_ref"],
              "run_by": a["run_by"], "outcome": ("granted" if i < 2 else "refused")
              if full else None} for i, a in enumerate(AREAS[1:4])]
    case = {"id": 2, "number": "00.17.15-G01-2-18", "title": "Første dispensationsansøgning",
            "kind": "dispensation", "kind_label": "Dispensation fra det forpligtende samarbejde",
            "round": 1}
    if not full:
        return Inputs(case=case, municipalities=munis, areas=areas, acts={}, data={})
    acts = {"council": {"ishoj": {"decision": "approved", "meeting_date": "2018-04-03",
                                  "agenda_ref": "Byrådet 3. april 2018, punkt 7"},
                        "vallensbaek": {"decision": "rejected", "meeting_date": "2018-04-25",
                                        "agenda_ref": "Kommunalbestyrelsen 25-04-2018, pkt. 12",
                                        "reason": "Ønsker flere områder med"}}}
    data = {"outcome": "partly_granted", "reference": "2018-4711",
            "decision_date": "2018-06-15", "conditions": "Overgang senest 1. januar 2019",
            "effective_date": "2019-01-01"}
    return Inputs(case=case, municipalities=munis, areas=areas, acts=acts, data=data,
                  info_request={"reference": "2018-1234", "due_date": date(2018, 3, 26),
                                "received": date(2018, 3, 12)},
                  previous={"number": "00.17.15-G01-3-18", "title": "Hjemtagning af jobcenteret",
                            "decision_date": date(2018, 4, 13), "reference": "2018-1234"})
