"""Two cooperations in one installation, on SQLite and PostgreSQL: Ishøj–Vallensbæk and
Dragør–Tårnby. Each applies for the same areas on its own; a Dragør user gets 403 or 404
for an Ishøj case everywhere (pages, API, downloads, uploads, aktindsigt, the journal, the
deadlines and .ics), and no list shows it; a turn notice of an Ishøj case goes to no one
in Dragør; an admin of Dragør–Tårnby only sees and manages its cases and users."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from tests.conftest import Clock
from tests.factories import make_application
from tests.web.test_api import Api, TestClient, prepare
from tests.web.test_bum import log_in
from workflow.config import Settings
from workflow.engine import queries
from workflow.engine.workflow import Workflow
from workflow.errors import InvalidData, PermissionDenied
from workflow.installation import demo
from workflow.store import database as store
from workflow.store import tables as t
from workflow.web.app import create_app


@pytest.fixture
def two(settings: Settings, clock: Clock) -> Iterator[tuple[Workflow, int, int]]:
    """Both cooperations; an Ishøj case with its drafts and a Dragør case, both in legal
    review, each having claimed the same two areas of round 1."""
    engine = store.make_engine(settings.database_url)
    demo.load_setup(engine, files=(1,))
    engine.dispose()
    wf = Workflow.open(settings, clock=clock)
    ishoj = make_application(wf, state="legal_review")
    dragoer = wf.create(kind="dispensation", round=1, title="Dragør og Tårnbys første",
                        user="pl-dragoer")
    wf.fire(dragoer, "propose_areas", user="pl-dragoer",
            data={"areas": "rehabilitation,special_education"})
    yield wf, ishoj, dragoer
    wf.close()


def test_each_cooperation_has_its_own_cases_parties_and_areas(
        two: tuple[Workflow, int, int]) -> None:
    wf, ishoj, dragoer = two
    case = queries.get_application(wf, dragoer, user="pl-taarnby")
    assert case["parties"] == ["dragoer", "taarnby"]
    assert queries.get_application(wf, ishoj, user="pl-ishoj")["parties"] == \
        ["ishoj", "vallensbaek"]
    with store.read(wf.engine) as conn:
        coops = {r.id: r.cooperation_id for r in conn.execute(
            select(t.application.c.id, t.application.c.cooperation_id))}
    assert coops == {ishoj: "ishoj-vallensbaek", dragoer: "dragoer-taarnby"}
    # the same areas claimed live in both cooperations; a second claim in one is refused
    free = {(a["cooperation"], a["id"]): a["available"] for a in queries.areas(wf)}
    assert free[("ishoj-vallensbaek", "rehabilitation")] is False
    assert free[("dragoer-taarnby", "rehabilitation")] is False
    assert free[("dragoer-taarnby", "social")] is True
    other = wf.create(kind="dispensation", round=2, title="Anden", user="pl-taarnby")
    with pytest.raises(Exception, match="rehabilitation|Genoptræning"):
        wf.fire(other, "propose_areas", user="pl-taarnby",
                data={"areas": "rehabilitation,social,nature_environment,employment"})
    # a user of two cooperations must say which; a user of none is refused
    with store.write(wf.engine) as conn:
        conn.execute(t.cooperation_member.insert().values(cooperation_id="dragoer-taarnby",
                                                          municipality_id="ishoj"))
    both = Workflow.open(Settings(database_url=str(wf.engine.url.render_as_string(
        hide_password=False))), clock=wf.clock)
    try:
        with pytest.raises(InvalidData, match="several cooperations"):
            both.create(kind="dispensation", round=2, title="Hvilken?", user="pl-ishoj")
        made = both.create(kind="dispensation", round=2, title="Denne", user="pl-ishoj",
                           cooperation="dragoer-taarnby")
        assert queries.get_application(both, made, user="pl-ishoj")["parties"] == \
            ["dragoer", "ishoj", "taarnby"]
        with pytest.raises(PermissionDenied, match="not in the cooperation"):
            both.create(kind="dispensation", round=2, title="Nej", user="pl-vallensbaek",
                        cooperation="dragoer-taarnby")
    finally:
        both.close()


def test_a_dragoer_user_sees_and_does_nothing_of_an_ishoj_case(
        two: tuple[Workflow, int, int]) -> None:
    wf, ishoj, dragoer = two
    for user in ("pl-dragoer", "legal-taarnby"):
        assert [a["id"] for a in queries.list_applications(wf, user=user)] == [dragoer]
        assert {d["application"] for d in queries.deadlines(wf, user=user)} <= {dragoer}
        with pytest.raises(PermissionDenied):
            queries.get_application(wf, ishoj, user=user)
        with pytest.raises(PermissionDenied):
            wf.fire(ishoj, "approve_draft", user=user.replace("pl-", "legal-"))
    # the Ishøj case's your-turn notices go to no one in Dragør or Tårnby
    with store.read(wf.engine) as conn:
        rows = conn.execute(select(t.reminder.c.application_id, t.reminder.c.municipality,
                                   t.reminder.c.recipients)).all()
    for app, municipality, recipients in rows:
        if app == ishoj:
            assert municipality in (None, "ishoj", "vallensbaek")
            assert not any("dragoer" in str(p) or "taarnby" in str(p) for p in recipients)


@pytest.fixture
def client(settings: Settings, clock: Clock, two: tuple[Workflow, int, int]
           ) -> Iterator[TestClient]:
    prepare(settings)
    with TestClient(create_app(settings, clock=clock)) as c:
        yield c


def test_the_walls_hold_on_pages_api_and_downloads(
        client: TestClient, two: tuple[Workflow, int, int]) -> None:
    wf, ishoj, dragoer = two
    number = queries.get_application(wf, ishoj, user="admin")["case_number"]
    docs = queries.documents(wf, ishoj, user="admin") if hasattr(queries, "documents") else []
    api = Api(client, "pl-dragoer")
    listed = api.get("/api/applications")
    items = listed["items"] if isinstance(listed, dict) else listed
    assert [a["id"] for a in items] == [dragoer]
    assert {a["cooperation"] for a in api.get("/api/areas")} == {"dragoer-taarnby"}
    for url in (f"/api/applications/{ishoj}", f"/api/applications/{ishoj}/history",
                f"/api/applications/{ishoj}/triggers", f"/api/applications/{ishoj}/documents",
                f"/api/applications/{ishoj}/journal", f"/api/applications/{ishoj}/sections",
                f"/api/applications/{ishoj}/aktindsigt", f"/api/applications/{ishoj}/aktliste",
                f"/api/applications/{ishoj}/journal/1/file"):
        r = client.get(url, headers=api.headers)
        assert r.status_code in (403, 404), (url, r.status_code, r.text[:200])
    assert all(d["application"] == dragoer for d in api.get("/api/deadlines")["items"])
    with store.read(wf.engine) as conn:
        doc = conn.execute(select(t.document.c.id)
                           .where(t.document.c.application_id == ishoj)).scalars().first()
    assert doc is not None or docs == []
    if doc is not None:
        r = client.get(f"/api/documents/{doc}/versions/1", headers=api.headers)
        assert r.status_code in (403, 404), r.text[:200]
    # the pages: the dashboard never shows the case; its page, drafts, journal, uploads
    # and aktindsigt are refused
    token = log_in(client, "pl-dragoer")
    home = client.get("/").text
    assert number not in home and "Dragør og Tårnby" in home
    for url in (f"/applications/{ishoj}", f"/applications/{ishoj}/journal/1",
                f"/applications/{ishoj}/aktindsigt", f"/applications/{ishoj}/aktindsigt.zip",
                f"/applications/{ishoj}/aktliste.pdf", f"/applications/{ishoj}/sections",
                f"/applications/{ishoj}/historik", f"/applications/{ishoj}/journal"):
        r = client.get(url)
        assert r.status_code in (403, 404), (url, r.status_code)
        assert number not in r.text or r.status_code == 403
    if doc is not None:
        assert client.get(f"/documents/{doc}/versions/1").status_code in (403, 404)
    r = client.post(f"/applications/{ishoj}/files", data={"csrf": token, "title": "x"},
                    files={"file": ("x.pdf", b"%PDF-1.4\n", "application/pdf")})
    assert r.status_code in (403, 404) or "ikke part" in r.text
    with store.read(wf.engine) as conn:
        filed = conn.execute(select(t.journal_entry.c.id).where(
            t.journal_entry.c.application_id == ishoj,
            t.journal_entry.c.kind != "generated")).all()
    assert filed == []


def test_an_admin_of_one_cooperation_sees_and_manages_only_it(
        two: tuple[Workflow, int, int], settings: Settings,
        monkeypatch: pytest.MonkeyPatch) -> None:
    wf, ishoj, dragoer = two
    assert [a["id"] for a in queries.list_applications(wf, user="admin-dt")] == [dragoer]
    with pytest.raises(PermissionDenied):
        queries.get_application(wf, ishoj, user="admin-dt")
    assert {a["id"] for a in queries.list_applications(wf, user="admin")} == {ishoj, dragoer}
    from workflow.cli.app import cli

    monkeypatch.setenv("WORKFLOW_DATABASE_URL", settings.database_url)
    run = CliRunner().invoke
    out = run(cli, ["users", "list", "--as", "admin-dt"])
    assert out.exit_code == 0, out.output
    assert "pl-dragoer" in out.output and "pl-ishoj" not in out.output
    out = run(cli, ["users", "add", "pl2-ishoj", "--name", "X", "--role", "project_lead",
                    "--municipality", "ishoj", "--as", "admin-dt"])
    assert out.exit_code != 0 and "manages the users of dragoer-taarnby" in out.output
    out = run(cli, ["users", "deactivate", "pl-ishoj", "--as", "admin-dt"])
    assert out.exit_code != 0 and "manages the users of dragoer-taarnby" in out.output
    out = run(cli, ["users", "add", "pl2-dragoer", "--name", "Ny Dragørbo", "--role",
                    "project_lead", "--municipality", "dragoer", "--as", "admin-dt"])
    assert out.exit_code == 0, out.output
