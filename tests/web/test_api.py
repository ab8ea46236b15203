"""The JSON API under /api, through FastAPI's TestClient, on SQLite and PostgreSQL.

A whole life cycle driven through HTTP only (each POST carries the version of the
previous answer), the shapes of every read route, document downloads (exact bytes, the
filename in Content-Disposition, the download in the history, PDFs by LibreOffice), the
satellite a refused jobcentre opens, and the OpenAPI description.
"""

from __future__ import annotations

import dataclasses
import email.message
import functools
import hashlib
import os
import re
import shutil
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from sqlalchemy import delete, update

from tests.conftest import Clock
from tests.factories import make_application, walk_to
from workflow.config import Settings
from workflow.engine.workflow import Workflow
from workflow.installation import demo
from workflow.store import database as store
from workflow.store import tables as t
from workflow.web.app import create_app

with warnings.catch_warnings():
    # Starlette warns about httpx (it wants httpx2) with a UserWarning subclass, which the
    # DeprecationWarning filter in pyproject.toml does not match.
    warnings.filterwarnings("ignore", "Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
COUNCIL_ISHOJ = {"decision": "approved", "meeting_date": "2018-04-03",
                 "agenda_ref": "BR 3/4-18 pkt. 7"}
COUNCIL_VALLENSBAEK = {"decision": "approved", "meeting_date": "2018-04-25",
                       "agenda_ref": "KB 25-04-2018 pkt. 12"}
DECISION = {"reference": "2018-77", "decision_date": "2018-06-01"}
FIXED_ROUTES = {
    "/api/token": {"post"},
    "/api/applications": {"get", "post"},
    "/api/applications/{app_id}": {"get"},
    "/api/applications/{app_id}/transitions": {"post"},
    "/api/applications/{app_id}/history": {"get"},
    "/api/applications/{app_id}/documents": {"get"},
    "/api/documents/{document_id}/versions/{number}": {"get"},
}
# RFC 5987 ext-value: charset'language'value-chars (attr-char or %XX)
EXT_VALUE = re.compile(r"UTF-8''((?:[A-Za-z0-9!#$&+\-.^_`|~]|%[0-9A-F]{2})+)")


# --------------------------------------------------------------------- fixtures
@functools.cache
def quick_demo_hash() -> str:
    """An argon2id hash of "demo" with small costs: the demo hash costs 0.3 s a check,
    and these tests log in (and fail to) many times."""
    from argon2 import PasswordHasher

    return str(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
               .hash(demo.DEMO_PASSWORD))


def prepare(settings: Settings, *, quick_hashes: bool = True) -> None:
    """Forget failed logins and (unless told not to) give the users quick hashes.

    The PostgreSQL reset in conftest truncates only the tables tied to ``user`` by a key;
    ``login_attempt`` has none, so one test's failed logins would lock the next test out.
    """
    engine = store.make_engine(settings.database_url)
    try:
        with store.write(engine) as conn:
            conn.execute(delete(t.login_attempt))
            if quick_hashes:
                conn.execute(update(t.user).where(t.user.c.password_hash.is_not(None))
                             .values(password_hash=quick_demo_hash()))
    finally:
        engine.dispose()


@pytest.fixture
def client(settings: Settings, clock: Clock) -> Iterator[TestClient]:
    prepare(settings)
    with TestClient(create_app(settings, clock=clock)) as c:
        yield c


def token(client: TestClient, user: str, password: str = demo.DEMO_PASSWORD) -> str:
    r = client.post("/api/token", data={"username": user, "password": password})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "bearer" and body["access_token"].startswith("wf_")
    return str(body["access_token"])


class Api:
    """A logged-in user's view of the API: the bearer token on every request."""

    def __init__(self, client: TestClient, user: str) -> None:
        self.client = client
        self.user = user
        self.headers = {"Authorization": f"Bearer {token(client, user)}"}

    def get(self, url: str, status: int = 200, **kw: Any) -> Any:
        r = self.client.get(url, headers=self.headers, **kw)
        assert r.status_code == status, r.text
        return r.json() if r.headers.get("content-type", "").startswith(
            "application/json") else r

    def items(self, url: str, **kw: Any) -> list[Any]:
        """The rows of a list's first page (``{"items", "next", ...}``)."""
        got = self.get(url, **kw)
        assert set(got) == {"items", "next", "cursor", "prev_cursor", "limit"}, got
        return list(got["items"])

    def fire(self, app_id: int, trigger: str, version: int, status: int = 200,
             **data: Any) -> Any:
        r = self.client.post(f"/api/applications/{app_id}/transitions", headers=self.headers,
                             json={"trigger": trigger, "data": data, "version": version})
        assert r.status_code == status, r.text
        return r.json()


def require_libreoffice() -> None:
    if shutil.which("soffice") is None:
        (pytest.fail if os.environ.get("CI") else pytest.skip)(
            "LibreOffice is not installed (apt-get install libreoffice-writer-nogui)")


# --------------------------------------------------------------- the life cycle
def test_a_whole_life_cycle_through_the_api(client: TestClient, wf: Workflow) -> None:
    users = {u: Api(client, u) for u in ("pl-ishoj", "pl-vallensbaek", "legal-ishoj",
                                         "sec-ishoj", "sec-vallensbaek")}
    pl = users["pl-ishoj"]
    r = client.post("/api/applications", headers=pl.headers,
                    json={"kind": "dispensation", "round": 1, "title": "  Første   ansøgning "})
    assert r.status_code == 201, r.text
    app = r.json()
    app_id = app["id"]
    assert (app["state"], app["version"], app["kind"], app["round"]) == \
        ("area_selection", 1, "dispensation", 1)
    assert app["title"] == "Første ansøgning" and app["created_by"] == "pl-ishoj"
    assert app["parties"] == ["ishoj", "vallensbaek"]

    road: list[tuple[str, str, dict[str, Any], str]] = [
        ("pl-ishoj", "propose_areas",
         {"areas": ["nature_environment", "rehabilitation", "special_education"]},
         "area_selection"),
        ("pl-ishoj", "confirm_areas", {}, "area_selection"),
        ("pl-vallensbaek", "confirm_areas", {}, "drafting"),
        ("pl-ishoj", "submit_for_review", {}, "legal_review"),
        ("legal-ishoj", "approve_draft", {}, "council_approval"),
        ("sec-ishoj", "record_council_decision", COUNCIL_ISHOJ, "council_approval"),
        ("sec-vallensbaek", "record_council_decision", COUNCIL_VALLENSBAEK,
         "council_approval"),
        ("pl-ishoj", "send_to_ministry", {}, "submitted"),
        ("pl-ishoj", "record_decision", {**DECISION, "outcome": "granted"}, "granted"),
        ("pl-ishoj", "start_transition", {"effective_date": "2019-01-01"},
         "transition_period"),
        ("pl-ishoj", "complete", {}, "closed"),
    ]
    version = app["version"]
    made: dict[str, list[dict[str, Any]]] = {}
    for user, trigger, data, expected in road:
        before = wf.clock()
        walk_to(wf, trigger, data)   # the app's clock is the test's: after the meeting held
        if wf.clock() != before:     # months later: log in again
            users = {u: Api(client, u) for u in users}
        out = users[user].fire(app_id, trigger, version, **data)
        step = out["transition"]
        assert step["trigger"] == trigger and step["to"] == expected
        assert step["version"] == out["application"]["version"] == version + 1
        assert out["application"]["state"] == expected
        made[trigger] = made.get(trigger, []) + step["documents"]
        if (user, trigger) == ("pl-ishoj", "confirm_areas"):
            assert step["waiting_for"] == ["vallensbaek"]
        version = out["application"]["version"]

    # the transition answers list the drafts they made
    assert [(d["name"], d["party"], d["number"]) for d in made["confirm_areas"]] == \
        [("application_letter", None, 1)]
    assert sorted((d["name"], d["party"]) for d in made["approve_draft"]) == \
        [("agenda_item", "ishoj"), ("agenda_item", "vallensbaek")]
    assert [d["name"] for d in made["record_decision"]] == ["decision_memo"]
    for d in (x for docs in made.values() for x in docs):
        assert set(d) == {"document", "name", "party", "number"}

    pl = users["pl-ishoj"]
    final = pl.get(f"/api/applications/{app_id}")
    assert final["state"] == "closed" and final["final"] is True
    assert final["version"] == len(road) + 1
    assert final["areas"] == ["rehabilitation", "special_education", "nature_environment"]
    assert final["data"]["reference"] == "2018-77"
    hist = pl.get(f"/api/applications/{app_id}/history")
    assert [e["trigger"] for e in hist] == ["create"] + [trig for _, trig, _, _ in road]
    assert [e["version"] for e in hist] == list(range(1, len(road) + 2))
    assert [e["user"] for e in hist[1:]] == [u for u, _, _, _ in road]
    assert hist[-1]["to"] == "closed" and hist[6]["municipality"] == "ishoj"
    assert hist[7]["data"]["agenda_ref"] == "KB 25-04-2018 pkt. 12"
    # the other party sees the same application in its list
    listed = users["pl-vallensbaek"].items("/api/applications")
    assert [a["id"] for a in listed] == [app_id]
    assert users["pl-vallensbaek"].items("/api/applications", params={"state": "closed"}) \
        == listed
    assert users["pl-vallensbaek"].items("/api/applications", params={"state": "drafting"}) \
        == []


def test_read_routes_have_their_shapes(client: TestClient, wf: Workflow) -> None:
    app_id = make_application(wf, state="council_approval")
    pl = Api(client, "pl-ishoj")
    assert pl.get("/api/me") == {"id": "pl-ishoj", "name": "Mette Højgaard",
                                 "role": "project_lead", "municipality": "ishoj"}
    assert Api(client, "admin").get("/api/me")["municipality"] is None

    app = pl.get(f"/api/applications/{app_id}")
    assert {"id", "process", "kind", "kind_label", "round", "title", "case_number", "state",
            "state_label", "final", "version", "parties", "areas", "area_details",
            "deadlines", "links", "acts", "documents", "data", "definition_hash",
            "created_at", "created_by", "updated_at", "updated_by"} <= set(app)
    assert app["state"] == "council_approval" and app["state_label"] == "Politisk behandling"
    assert app["case_number"] == f"00.17.15-G01-{app_id}-18"
    assert {d["name"] for d in app["documents"]} == {"application_letter", "agenda_item"}
    assert all("versions" not in d for d in app["documents"])
    assert {(d["party"], d["active"]) for d in app["deadlines"] if d["active"]} == \
        {("ishoj", True), ("vallensbaek", True)}

    hist = pl.get(f"/api/applications/{app_id}/history")
    assert hist[0]["trigger"] == "create" and hist[-1]["to"] == "council_approval"
    for e in hist:
        assert set(e) == {"version", "trigger", "from", "to", "user", "role",
                          "municipality", "at", "happened_on", "comment", "data"}

    triggers = {x["trigger"]: x for x in pl.get(f"/api/applications/{app_id}/triggers")}
    assert set(triggers) == {"schedule_council_meeting", "record_committee_decision",
                             "record_council_decision", "send_to_ministry", "withdraw"}
    assert triggers["withdraw"]["allowed"] is True and triggers["withdraw"]["reason"] is None
    assert triggers["send_to_ministry"]["allowed"] is False
    assert "council_secretary" in triggers["record_council_decision"]["reason"]
    fields = {f["name"]: f for f in triggers["record_council_decision"]["fields"]}
    assert fields["decision"]["choices"] == ["approved", "rejected"]
    assert fields["reason"]["required_when"] == [{"decision": "rejected"}]

    docs = pl.get(f"/api/applications/{app_id}/documents")
    assert sorted((d["name"], d["party"]) for d in docs) == [
        ("agenda_item", "ishoj"), ("agenda_item", "vallensbaek"), ("application_letter", None)]
    for d in docs:
        assert d["latest"] == d["versions"][-1]["number"]
        assert re.fullmatch(r"[0-9a-f]{64}", d["versions"][-1]["sha256"])

    deadlines = pl.items("/api/deadlines")
    assert {d["party"] for d in deadlines} == {"ishoj", "vallensbaek"}
    assert all(d["application"] == app_id and d["active"] for d in deadlines)
    assert {"id", "application", "case_number", "title", "state_label", "due", "overdue",
            "days_left"} <= set(deadlines[0])
    assert pl.items("/api/deadlines", params={"mine": "true"}) == []  # secretaries' deadline
    mine = Api(client, "sec-ishoj").items("/api/deadlines", params={"mine": "true"})
    assert [d["party"] for d in mine] == ["ishoj"]

    reminders = pl.items("/api/reminders")
    assert reminders and all(r["application"] == app_id for r in reminders)
    assert {"id", "deadline", "step", "due_at", "status", "recipients"} <= set(reminders[0])
    assert pl.items("/api/reminders", params={"status": "sent"}) == []
    pl.get("/api/reminders", 422, params={"status": "bogus"})

    areas = pl.get("/api/areas")
    assert [a["id"] for a in areas] == ["employment", "rehabilitation", "social",
                                        "special_education", "nature_environment"]
    by_id = {a["id"]: a for a in areas}
    assert by_id["social"]["available"] is True and by_id["rehabilitation"]["available"] is False
    assert set(areas[0]) == {"id", "cooperation", "name", "name_en", "law_ref", "run_by",
                             "released_on", "parts", "available", "status"}


def test_errors_have_one_shape(client: TestClient, wf: Workflow) -> None:
    app_id = make_application(wf)
    pl = Api(client, "pl-ishoj")
    body = pl.get("/api/applications/999", 404)
    assert body == {"detail": "no application 999", "detail_da": "sag 999 findes ikke",
                    "error": "NotFound"}
    guard = pl.fire(app_id, "confirm_areas", 1, 422)
    assert guard["error"] == "GuardFailed" and guard["reasons"] == \
        ["no areas have been proposed yet"]
    assert guard["reasons_da"] == ["der er endnu ikke foreslået områder"]
    assert guard["detail_da"] == "der er endnu ikke foreslået områder"
    r = client.post("/api/applications", headers=pl.headers,
                    json={"kind": "dispensation", "title": "x"})
    assert r.status_code == 422 and r.json()["error"] == "InvalidData"
    assert "round" in r.json()["detail"]


# ----------------------------------------------------------------- downloads
def test_download_sends_the_stored_bytes_and_is_logged(client: TestClient, wf: Workflow,
                                                       clock: Clock) -> None:
    app_id = make_application(wf, state="drafting")
    pl = Api(client, "pl-ishoj")
    (letter,) = pl.get(f"/api/applications/{app_id}/documents")
    version = letter["versions"][-1]
    clock.advance(hours=1)
    r = pl.get(f"/api/documents/{letter['id']}/versions/{version['number']}")
    assert r.content[:2] == b"PK" and len(r.content) == version["size"]
    assert hashlib.sha256(r.content).hexdigest() == version["sha256"]
    assert r.headers["content-type"] == DOCX
    assert r.headers["x-content-sha256-stored"] == version["sha256"]
    expected = f"00.17.15-G01-{app_id}-18-application_letter-v1.docx"
    assert filename_of(r.headers["content-disposition"]) == (expected, expected)

    hist = pl.get(f"/api/applications/{app_id}/history")
    last = hist[-1]
    assert last["trigger"] == "download" and last["user"] == "pl-ishoj"
    assert last["version"] is None and last["at"].startswith("2018-01-08T10:00")
    assert last["data"] == {"document": letter["id"], "name": "application_letter",
                            "party": None, "number": 1, "sha256": version["sha256"],
                            "format": "docx"}
    # a legal officer of the other municipality may download too
    Api(client, "legal-vallensbaek").get(f"/api/documents/{letter['id']}/versions/1")
    assert [e["user"] for e in pl.get(f"/api/applications/{app_id}/history")
            if e["trigger"] == "download"] == ["pl-ishoj", "legal-vallensbaek"]
    # a version that does not exist
    assert pl.get(f"/api/documents/{letter['id']}/versions/9", 404)["error"] == "NotFound"
    pl.get("/api/documents/4242/versions/1", 404)


def filename_of(header: str) -> tuple[str, str]:
    """(filename, filename*) of a Content-Disposition, checked against RFC 6266/5987."""
    msg = email.message.EmailMessage()
    msg["Content-Disposition"] = header
    assert msg.get_content_disposition() == "attachment"
    m = re.search(r"filename\*=" + EXT_VALUE.pattern + r"(?:;|$)", header)
    assert m, f"filename* is not an RFC 5987 UTF-8 ext-value: {header}"
    plain = msg.get_param("filename", header="content-disposition")
    assert isinstance(plain, str) and plain.isascii() and "/" not in plain
    assert re.search(r'filename="[\x20-\x7e]+"', header)
    decoded = unquote(m.group(1), encoding="utf-8", errors="strict")
    star = email.message.EmailMessage()  # email's RFC 2231 parser reads it the same way
    star["Content-Disposition"] = f"attachment; filename*=UTF-8''{m.group(1)}"
    assert star.get_filename() == decoded
    return plain, decoded


def settings_with_case_number(settings: Settings, tmp_path: Path, fmt: str) -> Settings:
    text = Path(settings.states_file).read_text(encoding="utf-8")
    old = 'case_number: "00.17.15-G01-{id}-{yy}"'
    assert old in text
    states = tmp_path / "states.yaml"
    states.write_text(text.replace(old, f"case_number: {fmt}"), encoding="utf-8")
    return dataclasses.replace(settings, states_file=states)


def test_download_filename_with_danish_letters(settings: Settings, clock: Clock,
                                               tmp_path: Path) -> None:
    """Case numbers are ASCII today; a municipality may choose one with æøå and quotes."""
    danish = settings_with_case_number(settings, tmp_path, """'Ishøj-Vallensbæk "Å" {id}-{yy}'""")
    prepare(settings)
    with TestClient(create_app(danish, clock=clock)) as client:
        wf = client.app.state.wf  # type: ignore[attr-defined]
        app_id = make_application(wf, state="drafting")
        pl = Api(client, "pl-ishoj")
        (letter,) = pl.get(f"/api/applications/{app_id}/documents")
        r = pl.get(f"/api/documents/{letter['id']}/versions/1")
        assert hashlib.sha256(r.content).hexdigest() == letter["versions"][0]["sha256"]
    name = f'Ishøj-Vallensbæk "Å" {app_id}-18-application_letter-v1.docx'
    plain, decoded = filename_of(r.headers["content-disposition"])
    assert decoded == name
    assert plain == f"Ish_j-Vallensb_k ___ {app_id}-18-application_letter-v1.docx"
    assert "%C3%B8" in r.headers["content-disposition"]  # ø as UTF-8, percent-encoded


def test_download_filename_with_a_slash_in_the_case_number(settings: Settings, clock: Clock,
                                                           tmp_path: Path) -> None:
    slashed = settings_with_case_number(settings, tmp_path, "'{yy}/{id}'")
    prepare(settings)
    with TestClient(create_app(slashed, clock=clock)) as client:
        wf = client.app.state.wf  # type: ignore[attr-defined]
        app_id = make_application(wf, state="drafting")
        pl = Api(client, "pl-ishoj")
        (letter,) = pl.get(f"/api/applications/{app_id}/documents")
        r = pl.get(f"/api/documents/{letter['id']}/versions/1")
    plain, decoded = filename_of(r.headers["content-disposition"])
    assert decoded == f"18/{app_id}-application_letter-v1.docx"


def test_download_as_pdf(client: TestClient, wf: Workflow) -> None:
    require_libreoffice()
    app_id = make_application(wf, state="drafting")
    pl = Api(client, "pl-ishoj")
    (letter,) = pl.get(f"/api/applications/{app_id}/documents")
    r = pl.get(f"/api/documents/{letter['id']}/versions/1", params={"format": "pdf"})
    assert r.content.startswith(b"%PDF")
    assert r.headers["content-type"] == "application/pdf"
    assert r.headers["x-content-sha256-stored"] == letter["versions"][0]["sha256"]
    plain, _ = filename_of(r.headers["content-disposition"])
    assert plain == f"00.17.15-G01-{app_id}-18-application_letter-v1.pdf"
    last = pl.get(f"/api/applications/{app_id}/history")[-1]
    assert last["trigger"] == "download" and last["data"]["format"] == "pdf"


# ------------------------------------------------------------------ satellites
def test_a_refused_jobcentre_opens_a_satellite_seen_through_the_api(
        client: TestClient, wf: Workflow) -> None:
    job = make_application(wf, kind="jobcentre", state="submitted")
    pl = Api(client, "pl-ishoj")
    version = pl.get(f"/api/applications/{job}")["version"]
    walk_to(wf, "record_decision", DECISION)
    pl = Api(client, "pl-ishoj")     # a new login, months later
    out = pl.fire(job, "record_decision", version, outcome="refused", **DECISION)
    assert out["application"]["state"] == "refused"
    (sat,) = out["transition"]["spawned"]
    assert {"rel": "has_fallback", "application": sat} in out["application"]["links"]
    shown = Api(client, "pl-vallensbaek").get(f"/api/applications/{sat}")
    assert (shown["kind"], shown["state"], shown["areas"]) == \
        ("satellite", "area_selection", ["employment"])
    assert shown["links"] == [{"rel": "fallback_for", "application": job}]
    assert f"sag {out['application']['case_number']}" in shown["title"]
    assert [a["id"] for a in pl.items("/api/applications", params={"kind": "satellite"})] == [sat]
    created = pl.get(f"/api/applications/{sat}/history")
    assert created[0]["trigger"] == "create" and created[0]["data"]["link"] == \
        {"kind": "fallback_for", "application": job}


# -------------------------------------------------------------------- OpenAPI
def test_openapi_lists_every_fixed_route_and_docs_answer(client: TestClient) -> None:
    r = client.get("/openapi.json")
    assert r.status_code == 200
    paths = r.json()["paths"]
    for path, methods in FIXED_ROUTES.items():
        assert path in paths, path
        assert methods <= set(paths[path]), (path, set(paths[path]))
    token_op = paths["/api/token"]["post"]
    assert "application/x-www-form-urlencoded" in token_op["requestBody"]["content"]
    assert "bearer" in str(r.json()["components"]["securitySchemes"]).lower()
    docs = client.get("/docs")
    assert docs.status_code == 200 and "text/html" in docs.headers["content-type"]
    assert "/openapi.json" in docs.text


def test_the_history_pages_by_cursor_with_its_headers(client: TestClient, wf: Workflow) -> None:
    app_id = make_application(wf, state="council_approval")
    make_application(wf, state="area_selection")   # so the list below has a next page
    pl = Api(client, "pl-ishoj")
    whole = pl.get(f"/api/applications/{app_id}/history?limit=500")
    assert len(whole) > 5
    seen: list[dict[str, Any]] = []
    url: str | None = f"/api/applications/{app_id}/history?limit=2"
    while url:
        r = client.get(url, headers=pl.headers)
        assert r.status_code == 200, r.text
        seen += r.json()
        following = r.headers.get("x-next-cursor")
        assert ("link" in r.headers) == (following is not None)
        if following:
            assert r.headers["link"] == (f"</api/applications/{app_id}/history?limit=2"
                                         f'&cursor={following}>; rel="next"')
        url = r.headers["link"][1:].split(">;")[0] if following else None
    assert seen == whole and pl.get(f"/api/applications/{app_id}/history") == whole
    good = client.get(f"/api/applications/{app_id}/history?limit=1",
                      headers=pl.headers).headers["x-next-cursor"]
    of_the_list = client.get("/api/applications?limit=1", headers=pl.headers).json()["cursor"]
    assert of_the_list
    for bad in (good[:-2] + ("AA" if good[-2:] != "AA" else "BB"), "!!", of_the_list):
        r = client.get(f"/api/applications/{app_id}/history", headers=pl.headers,
                       params={"cursor": bad})
        assert r.status_code == 422 and "cursor" in r.text, (bad, r.text)
    for limit in (0, 501):
        r = client.get(f"/api/applications/{app_id}/history", headers=pl.headers,
                       params={"limit": limit})
        assert r.status_code == 422
    assert client.get(f"/api/applications/{app_id}/history", params={"cursor": good}
                      ).status_code == 401
    # the OpenAPI description names the paging
    spec = client.get("/openapi.json").json()["paths"]["/api/applications/{app_id}/history"]
    assert {p["name"] for p in spec["get"]["parameters"]} >= {"limit", "cursor"}
    assert "X-Next-Cursor" in spec["get"]["description"]
