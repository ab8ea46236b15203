"""The API's and the dashboard's lists: the page envelope and its ``next`` link, search,
what a municipality not a party never sees, changed cursors and hostile searches
answered with 4xx (never a 500), and what OpenAPI says of it all."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.conftest import Clock
from tests.web.test_api import Api, TestClient, client  # noqa: F401  (the fixture)
from tests.web.test_bum import log_in
from workflow.engine.workflow import Workflow

SCHOOL = {"provider": "ishoj", "purchaser": "brondby", "area": "special_education",
          "service": "Specialklassepladser på Ishøj Skole for elever fra Brøndby"}


@pytest.fixture
def cases(wf: Workflow, clock: Clock) -> dict[str, Any]:
    ids = [wf.create(kind="dispensation", round=1, title=f"Ansøgning om genoptræning {i}",
                     user="pl-ishoj") for i in range(7)]
    school = wf.create(kind="bum_agreement", title="Delaftale om specialundervisning",
                       user="pl-ishoj", data=SCHOOL)
    return {"ids": ids, "school": school}


def test_the_api_pages_with_a_next_link(client: TestClient,  # noqa: F811
                                        cases: dict[str, Any]) -> None:
    pl = Api(client, "pl-vallensbaek")
    seen: list[int] = []
    url = "/api/applications?limit=3&sort=case_number"
    while url:
        got = pl.get(url)
        assert got["limit"] == 3 and len(got["items"]) <= 3
        seen += [a["id"] for a in got["items"]]
        url = got["next"] and got["next"].removeprefix("http://testserver")
    assert seen == sorted(cases["ids"])              # not the agreement: not a party
    assert pl.get("/api/applications?limit=1000")["limit"] == 100
    found = pl.get("/api/search", params={"q": "genoptræning", "limit": 5})
    assert len(found["items"]) == 5 and found["next"]
    assert {"id", "case_number", "title", "state_label", "rank"} <= set(found["items"][0])
    assert pl.items("/api/search", params={"q": "specialundervisning"}) == []
    brondby = Api(client, "pl-brondby")
    assert [a["id"] for a in brondby.items("/api/search",
                                           params={"q": "specialundervisning"})] \
        == [cases["school"]]
    assert [a["id"] for a in brondby.items("/api/applications")] == [cases["school"]]
    assert brondby.items("/api/applications", params={"q": "genoptræning"}) == []


@pytest.mark.parametrize("params", [
    {"cursor": "bm90IGEgY3Vyc29y"}, {"cursor": "x" * 401}, {"cursor": "%00"},
    {"q": "a\0b"}, {"q": "x" * 201}, {"limit": "0"}, {"sort": "id; DROP TABLE"},
    {"due_before": "2018-13-40"}])
def test_a_changed_cursor_or_bad_filter_is_422(client: TestClient,  # noqa: F811
                                               cases: dict[str, Any],
                                               params: dict[str, str]) -> None:
    pl = Api(client, "pl-ishoj")
    r = client.get("/api/applications", params=params, headers=pl.headers)
    assert r.status_code == 422, r.text
    if "cursor" in params or "q" in params:
        r = client.get("/api/search", params={"q": "ansøgning", **params}, headers=pl.headers)
        assert r.status_code == 422, r.text


@pytest.mark.parametrize("q", ['"ansøg*', "NEAR(x", "a OR AND (", "'--", ":*", "ø" * 200])
def test_hostile_searches_never_500(client: TestClient, cases: dict[str, Any],  # noqa: F811
                                    q: str) -> None:
    pl = Api(client, "pl-ishoj")
    assert isinstance(pl.items("/api/search", params={"q": q}), list)
    log_in(client, "pl-ishoj")
    assert client.get("/", params={"q": q}).status_code == 200


def test_the_dashboard_pages_and_searches(client: TestClient,  # noqa: F811
                                          cases: dict[str, Any]) -> None:
    log_in(client, "pl-vallensbaek")
    first = client.get("/", params={"sort": "case_number"})
    assert first.status_code == 200 and 'role="search"' in first.text
    assert "Næste side" not in first.text                # 7 cases: one page
    page = client.get("/", params={"q": "genoptræning 3"}).text
    listed = re.findall(r'<td><a href="/applications/(\d+)">', page)
    assert str(cases["ids"][3]) in listed and str(cases["school"]) not in listed
    assert "Delaftale om specialundervisning" not in client.get(
        "/", params={"q": "specialundervisning"}).text
    bad = client.get("/", params={"cursor": "changed"})
    assert bad.status_code == 422 and "markøren" in bad.text


def test_the_dashboard_has_a_danish_pager(client: TestClient, wf: Workflow) -> None:  # noqa: F811
    ids = [wf.create(kind="dispensation", round=1, title=f"Sag {i}", user="pl-ishoj")
           for i in range(3)]
    log_in(client, "pl-ishoj")
    seen: list[str] = []
    url: str | None = "/?sort=case_number&limit=2"
    pages = []
    while url:
        page = client.get(url.replace("&amp;", "&")).text
        pages.append(page)
        seen += re.findall(r'<td><a href="/applications/(\d+)">', page)
        nxt = re.search(r'<a href="([^"]+)" rel="next">Næste side</a>', page)
        url = nxt.group(1) if nxt else None
    assert seen == [str(i) for i in ids] and len(pages) == 2
    assert "Forrige side" not in pages[0] and "Forrige side" in pages[1]


def test_openapi_describes_the_pages(client: TestClient) -> None:  # noqa: F811
    spec = client.get("/openapi.json").json()
    listing = spec["paths"]["/api/applications"]["get"]
    names = {p["name"] for p in listing["parameters"]}
    assert {"cursor", "limit", "sort", "q", "state", "kind", "due_before"} <= names
    ref = listing["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    page = spec["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert set(page["properties"]) == {"items", "next", "cursor", "prev_cursor", "limit"}
    assert "/api/search" in spec["paths"] and "422" in spec["paths"]["/api/search"]["get"][
        "responses"]
