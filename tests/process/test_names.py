"""What things are called in Danish, for the pages' messages."""

from __future__ import annotations

from datetime import date

from workflow.engine.workflow import Workflow


def test_areas_are_named_and_listed_unambiguously(wf: Workflow) -> None:
    n = wf.names
    assert n.area("rehabilitation") == "Genoptræning"
    assert n.areas(["rehabilitation", "nature_environment", "social"]) == \
        "Genoptræning, »Natur og miljø« og Det sociale område"
    assert n.areas([]) == "ingen" and n.area("atlantis") == "atlantis"


def test_parties_roles_actions_fields_and_days(wf: Workflow) -> None:
    n = wf.names
    assert n.parties(["ishoj", "vallensbaek"]) == "Ishøj Kommune og Vallensbæk Kommune"
    assert n.party(None) == "ingen kommune"
    assert n.roles(["legal", "project_lead", "admin"]) == \
        "»Administrator«, »Jurist« eller »Projektleder«"
    assert n.fields(["meeting_date", "agenda_ref"]) == "mødedato og dagsordenspunkt"
    assert n.role("nobody") == "»nobody«"
    assert n.action("approve_draft") == "»Godkend udkast«"
    assert n.state("legal_review") == "»Juridisk gennemsyn«"
    assert n.field("meeting_date") == "Mødedato"
    assert n.choices("decision", ["approved", "rejected"]) == "Godkendt eller Ikke godkendt"
    assert n.day(date(2017, 6, 19)) == n.day("2017-06-19") == "19. juni 2017"
    assert n.day("not a date") == "not a date" and n.day(None) == "—"
