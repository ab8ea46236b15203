"""The pages say a refusal in Danish, on SQLite and PostgreSQL: a form posted on a page
that is out of date, an action the state does not allow, and a guard that says no."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from tests.conftest import Clock
from tests.factories import make_application
from tests.test_documents import broken_letter
from tests.test_web_api import TestClient, prepare
from tests.test_web_bum import log_in
from workflow import queries
from workflow.config import Settings
from workflow.engine import Workflow
from workflow.web.app import create_app


@pytest.fixture
def client(settings: Settings, clock: Clock) -> Iterator[TestClient]:
    prepare(settings)
    with TestClient(create_app(settings, clock=clock)) as c:
        yield c


def error_shown(html: str) -> str:
    found = re.search(r'class="flash error"[^>]*>(.*?)<', html, flags=re.S)
    assert found, html[:3000]
    return found.group(1).strip()


def version_of(wf: Workflow, app_id: int) -> int:
    return int(queries.get_application(wf, app_id, user="admin")["version"])


def post(client: TestClient, app_id: int, token: str, trigger: str, version: int,
         **data: str | list[str]) -> str:
    r = client.post(f"/applications/{app_id}/fire",
                    data={"csrf": token, "trigger": trigger, "version": str(version), **data})
    assert r.status_code == 200, r.text
    return error_shown(r.text)


def test_a_form_from_an_out_of_date_page_says_who_changed_the_case(
        client: TestClient, wf: Workflow) -> None:
    app_id = make_application(wf, state="drafting")
    token = log_in(client, "pl-ishoj")
    wf.fire(app_id, "submit_for_review", user="pl-vallensbaek")  # meanwhile, elsewhere
    shown = post(client, app_id, token, "submit_for_review", 1)
    assert "Sagen er ændret af pl-vallensbaek, mens du havde den åben" in shown
    assert "Se siden igen, og prøv så igen." in shown


def test_an_action_the_state_does_not_allow_is_named_with_what_is_allowed(
        client: TestClient, wf: Workflow) -> None:
    app_id = make_application(wf, state="drafting")
    token = log_in(client, "pl-ishoj")
    shown = post(client, app_id, token, "approve_draft", version_of(wf, app_id))
    assert shown.startswith("»Godkend udkast« kan ikke gøres, når sagen er i tilstanden »")
    assert "Send til juridisk gennemsyn" in shown and "approve_draft" not in shown


def test_a_refused_step_leads_in_danish(client: TestClient, wf: Workflow) -> None:
    app_id = make_application(wf, state="drafting")
    token = log_in(client, "legal-ishoj")  # legal staff may not submit a draft
    shown = post(client, app_id, token, "submit_for_review", version_of(wf, app_id))
    assert shown.startswith("Det må du ikke: ")


ENGLISH = re.compile(r"\b(needs|is not|not yet|must|round|got|the|areas?)\b")


def test_a_wrong_role_is_said_in_danish_with_the_names(client: TestClient, wf: Workflow) -> None:
    app_id = make_application(wf, state="drafting")
    token = log_in(client, "legal-ishoj")
    shown = post(client, app_id, token, "submit_for_review", version_of(wf, app_id))
    assert shown == ("Det må du ikke: »Send til juridisk gennemsyn« kræver rollen "
                     "»Projektleder«; du har rollen »Jurist«")


def test_a_guard_says_no_in_danish_naming_the_areas(client: TestClient, wf: Workflow) -> None:
    app_id = make_application(wf)
    token = log_in(client, "pl-ishoj")
    four = ["rehabilitation", "social", "special_education", "nature_environment"]
    shown = post(client, app_id, token, "propose_areas", version_of(wf, app_id), areas=four)
    assert shown == ("Det kan ikke gøres nu: runde 1 skal have 2–3 områder, ikke 4 "
                     "(Genoptræning, Det sociale område, Specialundervisning og "
                     "»Natur og miljø«)")
    assert not ENGLISH.search(shown)
    assert version_of(wf, app_id) == 1  # nothing changed


def test_malformed_data_is_said_in_danish_field_by_field(
        client: TestClient, wf: Workflow) -> None:
    app_id = make_application(wf, state="council_approval")
    token = log_in(client, "sec-ishoj")
    shown = post(client, app_id, token, "record_council_decision", version_of(wf, app_id),
                 decision="maybe", meeting_date="3. april 2018", agenda_ref="BR 7")
    assert shown == ("Oplysningerne er ikke i orden: Beslutning: »maybe« er ikke et af "
                     "valgene Godkendt eller Ikke godkendt; Mødedato: »3. april 2018« er ikke "
                     "en dato (ÅÅÅÅ-MM-DD)")


def test_a_joint_step_already_done_names_who_is_awaited(
        client: TestClient, wf: Workflow) -> None:
    app_id = make_application(wf)
    wf.fire(app_id, "propose_areas", user="pl-ishoj",
            data={"areas": "rehabilitation,special_education"})
    wf.fire(app_id, "confirm_areas", user="pl-ishoj")
    token = log_in(client, "pl-ishoj")
    shown = post(client, app_id, token, "confirm_areas", version_of(wf, app_id))
    assert shown == ("Det kan ikke gøres nu: Ishøj Kommune har allerede gjort sin del af "
                     "»Bekræft områder«; afventer Vallensbæk Kommune")


def test_what_the_user_cannot_do_now_is_said_in_danish(
        client: TestClient, wf: Workflow) -> None:
    app_id = make_application(wf, state="legal_review")
    log_in(client, "pl-ishoj")
    page = client.get(f"/applications/{app_id}").text
    found = re.search(r"Ikke muligt for dig nu:</p><ul[^>]*>(.*?)</ul>", page, flags=re.S)
    assert found, page[:3000]
    items = re.findall(r"<li>(.*?)</li>", found.group(1))
    assert "Godkend udkast – kræver rollen »Jurist«" in items
    assert not any(ENGLISH.search(i) for i in items), items


def test_a_case_the_form_cannot_open_is_said_in_danish(client: TestClient) -> None:
    token = log_in(client, "pl-ishoj")
    for form, expected in [
            ({"kind": "dispensation", "round": "1", "title": " "},
             "Oplysningerne er ikke i orden: titlen skal være på 1–300 tegn"),
            ({"kind": "dispensation", "title": "Runde?"},
             "Oplysningerne er ikke i orden: »Dispensation fra det forpligtende samarbejde« "
             "skal have runde 1 eller 2")]:
        r = client.post("/applications", data={"csrf": token, **form})
        assert r.status_code == 200, r.text
        assert error_shown(r.text) == expected


def test_an_error_page_says_it_in_danish(client: TestClient) -> None:
    log_in(client, "pl-ishoj")
    r = client.get("/applications/999")
    assert r.status_code == 404 and "<p>Sag 999 findes ikke</p>" in r.text
    r = client.get("/admin")
    assert r.status_code == 403 and "<p>Kun en administrator kan se denne side</p>" in r.text


def test_a_page_that_does_not_exist_says_so_in_danish(client: TestClient) -> None:
    """A malformed id, a path with no page, a form without its fields, a wrong method:
    a Danish page for the pages; the API answers as before, in JSON."""
    log_in(client, "pl-ishoj")
    for path in ("/applications/abc", "/applications/1.5", "/no-such-page"):
        r = client.get(path)
        assert r.status_code == 404, path
        assert r.headers["content-type"].startswith("text/html")
        assert "<p>Siden findes ikke</p>" in r.text and "Til forsiden" in r.text, path
    r = client.post("/login", data={"username": "pl-ishoj"})   # no password, no csrf
    assert r.status_code == 400 and "<p>Forespørgslen kunne ikke læses." in r.text
    r = client.delete("/")
    assert r.status_code == 405 and "<p>Siden kan ikke bruges sådan</p>" in r.text

    r = client.get("/api/applications/abc")   # the API, without its token: JSON
    assert r.status_code == 401 and "detail" in r.json()
    r = client.get("/api/no-such-route")
    assert r.status_code == 404 and r.json() == {"detail": "Not Found"}


def test_a_draft_that_cannot_be_made_leads_in_danish(
        settings: Settings, clock: Clock, wf: Workflow, tmp_path: Path) -> None:
    """A template fault stops the step: the page says so in Danish, the detail (for whoever
    keeps the templates) follows, and nothing is written."""
    templates, _ = broken_letter(tmp_path, "Ukendt: {{ ukendt_navn }}")
    app_id = make_application(wf)
    wf.fire(app_id, "propose_areas", user="pl-ishoj",
            data={"areas": "rehabilitation,special_education"})
    wf.fire(app_id, "confirm_areas", user="pl-ishoj")
    version = version_of(wf, app_id)
    prepare(settings)
    with TestClient(create_app(replace(settings, templates_dir=templates), clock=clock)) as c:
        token = log_in(c, "pl-vallensbaek")
        shown = post(c, app_id, token, "confirm_areas", version)
    assert shown.startswith("Dokumentet kunne ikke dannes, så intet er ændret. Teknisk "
                            "årsag: cannot make application_letter: ")
    assert "ukendt_navn" in shown and version_of(wf, app_id) == version
