"""The pages say a refusal in Danish, on SQLite and PostgreSQL: a form posted on a page
that is out of date, an action the state does not allow, and a guard that says no."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from tests.conftest import Clock
from tests.factories import make_application
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
         **data: str) -> str:
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
