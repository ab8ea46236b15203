"""Aktindsigt on the web, on SQLite and PostgreSQL: exemptions through the API and the
page's forms, the zip downloaded as an attachment, and who may do either."""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select

from tests import samples
from tests.conftest import Clock
from tests.factories import make_application
from tests.web.test_api import Api, TestClient, prepare
from tests.web.test_bum import log_in
from workflow.config import Settings
from workflow.engine.workflow import Workflow
from workflow.store import database as store
from workflow.store import tables as t
from workflow.web.app import create_app

LETTER = {"direction": "received", "date": "2018-01-08", "party": "Jens Hansen",
          "description": "Borgerhenvendelse om overgangen", "type": "letter"}


@pytest.fixture
def client(settings: Settings, clock: Clock) -> Iterator[TestClient]:
    prepare(settings)
    with TestClient(create_app(settings, clock=clock)) as c:
        yield c


def filed(client: TestClient, wf: Workflow) -> tuple[int, int]:
    app_id = make_application(wf, state="drafting")
    r = Api(client, "legal-ishoj").client.post(
        f"/api/applications/{app_id}/files", headers=Api(client, "legal-ishoj").headers,
        data=LETTER, files={"file": ("henvendelse.pdf", samples.PDF)})
    assert r.status_code == 201, r.text
    return app_id, int(r.json()["number"])


def exemptions(wf: Workflow) -> int:
    with store.read(wf.engine) as conn:
        return int(conn.execute(select(func.count()).select_from(t.journal_exemption))
                   .scalar_one())


def test_the_api_withholds_a_field_and_the_zip_lists_it(client: TestClient,
                                                        wf: Workflow) -> None:
    app_id, number = filed(client, wf)
    legal = Api(client, "legal-vallensbaek")
    r = client.post(f"/api/applications/{app_id}/journal/{number}/exemption",
                    headers=legal.headers, json={"ground": "private", "field": "party",
                                                 "reason": "Borgerens navn"})
    assert r.status_code == 200, r.text
    assert r.json()["withheld"]["cite"] == "offentlighedsloven § 30, nr. 1"
    assert [w["number"] for w in legal.get(f"/api/applications/{app_id}/exemptions")] == \
        [number]
    r = legal.get(f"/api/applications/{app_id}/aktindsigt")
    assert r.headers["content-type"] == "application/zip"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert re.match(r'attachment; filename="?aktindsigt-', r.headers["content-disposition"])
    z = zipfile.ZipFile(io.BytesIO(r.content))
    assert z.read(f"dokumenter/{number:04d}-henvendelse.pdf") == samples.PDF
    table = list(csv.reader(io.StringIO(z.read("aktliste.csv").decode("utf-8-sig")),
                            delimiter=";"))
    row = next(r for r in table if r[0] == str(number))
    assert row[4] == "[undtaget]" and "§ 30, nr. 1" in row[-1]
    assert "Jens Hansen" not in z.read("aktliste.csv").decode("utf-8-sig")
    assert json.loads(z.read("manifest.json"))["withheld"][0]["field"] == "party"


@pytest.mark.parametrize(("body", "status"), [
    ({"ground": "nope", "reason": "x"}, 422),
    ({"ground": "internal", "reason": ""}, 422),
    ({"ground": "internal", "reason": "x", "field": "title"}, 422),
    ({"ground": "internal", "reason": "\ud800"}, 422),
    ({"ground": "internal", "reason": "x" * 5000}, 422),
    ({"ground": ["internal"], "reason": "x"}, 422),
])
def test_a_bad_exemption_is_a_4xx_and_nothing_is_stored(client: TestClient, wf: Workflow,
                                                        body: dict[str, Any],
                                                        status: int) -> None:
    app_id, number = filed(client, wf)
    legal = Api(client, "legal-ishoj")
    r = client.post(f"/api/applications/{app_id}/journal/{number}/exemption",
                    headers={**legal.headers, "Content-Type": "application/json"},
                    content=json.dumps(body).encode())
    assert r.status_code == status, r.text
    assert exemptions(wf) == 0


@pytest.mark.parametrize("user", ["pl-ishoj", "sec-vallensbaek", "pl-brondby"])
def test_only_legal_staff_of_the_case_export_or_exempt(client: TestClient, wf: Workflow,
                                                       user: str) -> None:
    app_id, number = filed(client, wf)
    api = Api(client, user)
    assert client.get(f"/api/applications/{app_id}/aktindsigt",
                      headers=api.headers).status_code in (403, 404)
    r = client.post(f"/api/applications/{app_id}/journal/{number}/exemption",
                    headers=api.headers, json={"ground": "internal", "reason": "x"})
    assert r.status_code in (403, 404)
    assert exemptions(wf) == 0


def test_the_page_withholds_lifts_and_downloads(client: TestClient, wf: Workflow) -> None:
    app_id, number = filed(client, wf)
    log_in(client, "legal-ishoj")
    case_page = client.get(f"/applications/{app_id}").text
    assert f'href="/applications/{app_id}/aktindsigt"' in case_page
    page = client.get(f"/applications/{app_id}/aktindsigt").text
    assert "Aktindsigt i sag" in page and "offentlighedsloven § 23, stk. 1, nr. 1" in page
    token = re.search(r'name="csrf" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    r = client.post(f"/applications/{app_id}/aktindsigt/exemptions", data={
        "csrf": token, "number": str(number), "ground": "internal", "field": "",
        "reason": "Internt dokument"})
    assert r.status_code == 200 and f"Akt nr. {number} er undtaget" in r.text
    z = zipfile.ZipFile(io.BytesIO(client.get(f"/applications/{app_id}/aktindsigt.zip").content))
    assert not any(n.startswith("dokumenter/") and n.endswith("henvendelse.pdf")
                   for n in z.namelist())
    r = client.post(f"/applications/{app_id}/aktindsigt/exemptions", data={
        "csrf": token, "number": str(number), "field": ""})
    assert f"Undtagelsen af akt nr. {number} er ophævet" in r.text
    z = zipfile.ZipFile(io.BytesIO(client.get(f"/applications/{app_id}/aktindsigt.zip").content))
    assert f"dokumenter/{number:04d}-henvendelse.pdf" in z.namelist()
    # a form without the session's token changes nothing
    before = exemptions(wf)
    r = client.post(f"/applications/{app_id}/aktindsigt/exemptions", data={
        "csrf": "forged", "number": str(number), "ground": "internal", "reason": "x"})
    assert r.status_code in (400, 403) and exemptions(wf) == before
    # a form that does not parse says which field, in Danish
    for data, said in (({"number": "abc"}, "Aktnummeret er ikke et helt tal"),
                       ({"number": "99999999999"}, "Aktnummeret er større end tilladt"),
                       ({"number": str(number), "reason": "x" * 1001},
                        "Begrundelsen har for mange tegn")):
        r = client.post(f"/applications/{app_id}/aktindsigt/exemptions",
                        data={"csrf": token, "ground": "internal", **data})
        assert r.status_code == 400 and said in r.text, r.text
    assert exemptions(wf) == before


def test_the_page_is_not_for_a_project_lead(client: TestClient, wf: Workflow) -> None:
    app_id, _ = filed(client, wf)
    log_in(client, "pl-ishoj")
    assert f'href="/applications/{app_id}/aktindsigt"' not in \
        client.get(f"/applications/{app_id}").text
    assert client.get(f"/applications/{app_id}/aktindsigt").status_code == 403
    assert client.get(f"/applications/{app_id}/aktindsigt.zip").status_code == 403
