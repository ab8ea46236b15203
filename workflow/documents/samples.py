"""Sample cases for the template checker (and the benchmarks): an application and a BUM
agreement, each as complete as can be or as bare as at its start, as :class:`Inputs`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from ..danish import in_sentence
from .context import Inputs, municipality_view

Rows = Sequence[Mapping[str, Any]]


def _contact(row: Mapping[str, Any]) -> dict[str, Any]:
    """A municipality's project lead in a complete sample: the demo's, else an invented one."""
    from ..installation.demo import demo_rows

    lead = next((u for u in demo_rows()[2] if u["role"] == "project_lead"
                 and u["municipality"] == row["id"]), None)
    return dict(lead) if lead else {"name": "Projektleder (eksempel)",
                                    "email": f"projektleder@{row['id']}.example"}


def _demo_rows() -> list[dict[str, Any]]:
    from ..installation.demo import demo_rows

    return [dict(m) for m in demo_rows()[0]]


def _areas() -> list[dict[str, Any]]:
    from ..installation.demo import demo_rows

    return demo_rows()[1]


def _cooperation() -> dict[str, Any]:
    """The demo cooperation as the templates see it (``context.cooperation_view``)."""
    from ..installation.demo import demo_installation

    coop = demo_installation(0).cooperations[0]
    return {"id": coop["id"], "name": coop["name"], "texts": coop["texts"],
            "short_name": str(coop["texts"].get("short_name", "")).strip() or coop["name"]}


def sample_inputs(full: bool, process: str = "application", *,
                  members: Rows | None = None, everyone: Rows | None = None) -> Inputs:
    """A case of ``process`` as complete as can be (``full``), or as bare as at its start.

    ``members``: the municipality rows of the cooperation the case is in (by default the
    demo's); ``everyone``: every municipality row the drafts may name (a BUM provider)."""
    demo = _demo_rows()
    members = list(members) if members is not None else [m for m in demo if m["cooperation"]]
    everyone = list(everyone) if everyone is not None else demo
    if process == "bum_agreement":
        return sample_agreement_inputs(full, members=members, everyone=everyone)
    a, b = members[0]["id"], members[1 % len(members)]["id"]
    munis = [municipality_view(m, _contact(m) if full else None) for m in members]
    run_by = {"ishoj": a, "vallensbaek": b}
    areas = [{"id": x["id"], "name": x["name_da"], "law_ref": x["law_ref"], "parts": None,
              "phrase": in_sentence(x["name_da"]),
              "run_by": run_by.get(x["run_by"], a), "outcome": ("granted" if i < 2 else
                                                                "refused")
              if full else None} for i, x in enumerate(_areas()[1:4])]
    case = {"id": 2, "number": "00.17.15-G01-2-18", "title": "Første dispensationsansøgning",
            "kind": "dispensation", "kind_label": "Dispensation fra det forpligtende samarbejde",
            "round": 1, "satellite_fallback": True}
    rows = {m["id"]: dict(m) for m in [*everyone, *members]}
    cooperation = _cooperation()
    if not full:
        return Inputs(case=case, municipalities=munis, areas=areas, acts={}, data={},
                      rows=rows, cooperation=cooperation)
    acts = {"council": {a: {"decision": "approved", "meeting_date": "2018-04-03",
                            "agenda_ref": "Byrådet 3. april 2018, punkt 7"},
                        b: {"decision": "rejected", "meeting_date": "2018-04-25",
                            "agenda_ref": "Kommunalbestyrelsen 25-04-2018, pkt. 12",
                            "reason": "Ønsker flere områder med"}},
            "conditions": {a: {"meeting_date": "2018-07-03",
                                     "agenda_ref": "Byrådet 3. juli 2018, punkt 2"}}}
    data = {"outcome": "partly_granted", "reference": "2018-4711",
            "decision_date": "2018-06-15", "conditions": "Overgang senest 1. januar 2019",
            "effective_date": "2019-01-01", "requested_effective_date": "2019-01-01"}
    announced = {"reference": "2018-4711", "date": date(2018, 5, 28), "due_date": date(2018, 7, 6),
                 "conditions": ["Overdragelsen af personale sker efter reglerne om "
                                "virksomhedsoverdragelse.",
                                "Ændringen har virkning fra 1. januar 2019."],
                 "granted_areas": [a["id"] for a in areas[:2]]}
    committees = {
        "committee": {a: {"Fagudvalget": {
            "decision": "approved", "committee_date": "2018-03-20",
            "agenda_ref": "Fagudvalget 20. marts 2018, punkt 4"}}},
        "conditions_committee": {b: {"Økonomiudvalget": {
            "decision": "rejected", "committee_date": "2018-06-27",
            "agenda_ref": "Økonomiudvalget 27-06-2018, pkt. 3", "reason": "Afventer MED"}}}}
    return Inputs(case=case, municipalities=munis, areas=areas, acts=acts, data=data,
                  announced=announced, committees=committees, rows=rows,
                  cooperation=cooperation,
                  info_request={"reference": "2018-1234", "due_date": date(2018, 3, 26),
                                "date": date(2018, 3, 9), "received": date(2018, 3, 12),
                                "questions": [
                                    {"number": 1, "text": "Hvor mange medarbejdere berøres?",
                                     "answer": "Cirka 200 medarbejdere."},
                                    {"number": 2, "text": "Hvordan sikres borgerne i "
                                     "overgangen?", "answer": None}]},
                  previous={"number": "00.17.15-G01-3-18", "title": "Hjemtagning af jobcenteret",
                            "decision_date": date(2018, 4, 13), "reference": "2018-1234"})


def _sample_year(year: int, direct: str, rate: str, volume: int, level: str,
                 quarters: list[date]) -> dict[str, Any]:
    from ..bum.pricing import cost_price, instalments, to_øre

    price = cost_price(Decimal(direct), Decimal(rate))
    return {"expected_volume": volume, "service_level": level, "direct_costs": direct,
            "overhead_rate": rate, "overhead": f"{price.overhead:f}",
            "price": f"{price.total:f}", "unit_price": f"{to_øre(price.total / volume):f}",
            "a_conto": [{"due": q.isoformat(), "amount": f"{a:f}"} for q, a in
                        zip(quarters, instalments(price.total, len(quarters)), strict=True)]}


def sample_agreement_inputs(full: bool, *, members: Rows | None = None,
                            everyone: Rows | None = None) -> Inputs:
    """A BUM agreement (the demo: Vallensbæk buys rehabilitation from Ishøj): ``full`` is
    signed and two cycles on, with a true-up, a notice below the price, a change and a
    termination; otherwise just created, with no terms yet."""
    demo = _demo_rows()
    members = list(members) if members is not None else [m for m in demo if m["cooperation"]]
    everyone = list(everyone) if everyone is not None else demo
    rows = {m["id"]: dict(m) for m in [*everyone, *members]}
    views = {k: municipality_view(m, _contact(m) if full else None) for k, m in rows.items()}
    provider, purchaser = members[0]["id"], members[1 % len(members)]["id"]
    area = next(a for a in _areas() if a["id"] == "rehabilitation")
    case = {"id": 6, "number": "00.17.15-G02-6-18", "title": "Delaftale om genoptræning",
            "kind": "bum_agreement", "kind_label": "Delaftale om køb af ydelser (BUM)",
            "round": None}
    data: dict[str, Any] = {
        "provider": provider, "purchaser": purchaser, "area": area["id"],
        "service": "Genoptræning efter sundhedslovens § 140 for Vallensbæks borgere på "
                   "Ishøj Genoptræningscenter"}
    common: dict[str, Any] = {
        "case": case, "municipalities": [views[provider], views[purchaser]], "areas": [],
        "all_municipalities": views, "process": "bum_agreement",
        "area": {"id": area["id"], "name": area["name_da"], "law_ref": area["law_ref"]},
        "rows": rows}
    if not full:
        return Inputs(acts={}, data=data, **common)
    quarters = [date(2019, m, 1) for m in (1, 4, 7, 10)]
    first = _sample_year(2019, "1234567.89", "7.5", 420,
                         "Første træning senest 7 dage efter udskrivning", quarters)
    first["signed_on"] = "2018-05-29"
    first["true_up"] = {"actual_direct": "1301234.56", "actual_overhead": "97592.59",
                        "actual_total": "1398827.15", "paid": first["price"],
                        "balance": "71666.67", "until": None}
    second = _sample_year(2020, "1290000.00", "7.5", 440,
                          "Første træning senest 5 dage efter udskrivning",
                          [date(2020, m, 1) for m in (1, 4, 7, 10)])
    second.update(budget_frame="1350000.00", notice_on="2019-10-30", signed_on="2019-11-28")
    data.update({
        "service_level": first["service_level"], "expected_volume": 420,
        "direct_costs": "1234567.89", "overhead_rate": "7.5", "start_date": "2019-01-01",
        "notice_months": 6, "cycle_year": 2019, "signed_on": "2018-05-29",
        "end_date": "2021-12-31", "reason": "Vallensbæk Kommune hjemtager genoptræningen",
        "last_true_up": 2019, "years": {"2019": first, "2020": second},
        "changes": [{"effective_date": "2019-10-01", "expected_volume": 450,
                     "service_level": "Første træning senest 5 dage efter udskrivning",
                     "noticed_on": "2019-06-20", "by": purchaser}]})
    acts = {"budget": {provider: {"meeting_date": "2019-10-08",
                                  "agenda_ref": "Byrådet 8. oktober 2019, punkt 3"},
                       purchaser: {"meeting_date": "2019-10-09",
                                       "agenda_ref": "Kommunalbestyrelsen 09-10-2019, pkt. 4"}}}
    source = {"number": "00.17.15-G01-2-18", "title": "Første dispensationsansøgning",
              "decision_date": date(2018, 6, 15), "reference": "2018-4711"}
    return Inputs(acts=acts, data=data, source=source, **common)
