"""BUM agreements on the web, through the API, the pages and ``workflow bum``, on SQLite
and PostgreSQL.

Ishøj sells rehabilitation to Vallensbæk (an agreement opened from a granted dispensation
application) and special education to Brøndby; both are proposed, signed and carried
through a whole yearly cycle and the next year's true-up by HTTP only, each step at a date
inside its deadline. Then the per-municipality view: what Ishøj sells and Vallensbæk and
Brøndby buy, the year's price and a-conto, the latest true-up balance and the next
deadline, the totals exact to the øre (worked out by hand below, not by the code under
test), in three queries however many agreements there are. The refusals (another
municipality's view, a party's step taken by a non-party or the wrong role) are 403 with
nothing changed. The pages show Danish amounts, dates and æøå, every form carries the CSRF
token, and an agreement can be opened and priced from the pages.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import event

from tests.conftest import Clock
from tests.factories import make_application
from tests.web.test_api import Api, TestClient, prepare
from tests.web.test_security import snapshot
from workflow.accounts import logins as accounts
from workflow.cli.app import cli
from workflow.config import Settings
from workflow.engine import agreements
from workflow.engine.workflow import Workflow
from workflow.web.app import create_app

# ------------------------------------------------------------------ the agreements
REHAB = {"provider": "ishoj", "purchaser": "vallensbaek", "area": "rehabilitation",
         "service": "Genoptræning efter sundhedslovens § 140 for Vallensbæks borgere"}
SCHOOL = {"provider": "ishoj", "purchaser": "brondby", "area": "special_education",
          "service": "Specialklassepladser på Ishøj Skole for elever fra Brøndby"}
TERMS_REHAB = {"service_level": "Første træning senest 7 dage efter udskrivning",
               "expected_volume": "420", "direct_costs": "1.234.567,50",
               "overhead_rate": "7,5", "start_date": "2019-01-01", "notice_months": "6"}
TERMS_SCHOOL = {"service_level": "Klasser med højst 8 elever", "expected_volume": "12",
                "direct_costs": "2.100.000,00", "overhead_rate": "7,5",
                "start_date": "2019-01-01", "notice_months": "6"}

# Worked out by hand (cost price = direct costs + overhead, the overhead rounded half up
# to the øre; a-conto in quarterly instalments from the start's quarter, the last one
# takes the rest):
# rehabilitation 2019: 1.234.567,50 + 7,5 % (92.592,5625 -> 92.592,56) = 1.327.160,06,
#   per unit /420 = 3.159,90; a conto 3 x 331.790,01 + 331.790,03
# rehabilitation 2020: 1.300.000,00 + 7,5 % (97.500,00) = 1.397.500,00; /450 = 3.105,56
# rehabilitation true-up 2019: 1.250.000,00 + 93.750,00 = 1.343.750,00 - 1.327.160,06 paid
#   = 16.589,94 (Vallensbæk pays the difference)
# special education 2019: 2.100.000,00 + 157.500,00 = 2.257.500,00; /12 = 188.125,00;
#   a conto 4 x 564.375,00
# special education 2020: 2.150.000,55 + 8 % (172.000,044 -> 172.000,04) = 2.322.000,59;
#   /14 = 165.857,185 -> 165.857,19
# special education true-up 2019: 2.000.000,00 + 150.000,00 = 2.150.000,00
#   - 2.257.500,00 paid = -107.500,00 (Ishøj pays back)
REHAB_2019, REHAB_2020 = "1327160.06", "1397500.00"
SCHOOL_2019, SCHOOL_2020 = "2257500.00", "2322000.59"
SOLD_2020 = "3719500.59"       # 1.397.500,00 + 2.322.000,59
SOLD_2019 = "3584660.06"       # 1.327.160,06 + 2.257.500,00

# (when, agreement, trigger, user, data): a yearly cycle, each step before its deadline
CYCLE: list[tuple[str, str, str, str, dict[str, str]]] = [
    ("2018-06-11T09:00", "rehab", "propose_terms", "pl-ishoj", TERMS_REHAB),
    ("2018-06-11T10:00", "school", "propose_terms", "pl-ishoj", TERMS_SCHOOL),
    ("2018-06-12T09:00", "rehab", "sign", "pl-vallensbaek", {}),
    ("2018-06-12T09:05", "rehab", "sign", "pl-ishoj", {}),
    ("2018-06-12T10:00", "school", "sign", "pl-brondby", {}),
    ("2018-06-12T10:05", "school", "sign", "pl-ishoj", {}),
    ("2019-04-10T09:00", "rehab", "report_volume", "pl-vallensbaek",
     {"expected_volume": "450", "service_level": "Første træning senest 5 dage efter "
                                                 "udskrivning"}),
    ("2019-04-10T10:00", "school", "report_volume", "pl-brondby",
     {"expected_volume": "14", "service_level": "Klasser med højst 8 elever"}),
    ("2019-05-20T09:00", "rehab", "calculate_price", "pl-ishoj",
     {"direct_costs": "1.300.000,00", "overhead_rate": "7,5"}),
    ("2019-05-20T10:00", "school", "calculate_price", "pl-ishoj",
     {"direct_costs": "2150000.55", "overhead_rate": "8"}),
    ("2019-10-01T09:00", "rehab", "adopt_budget", "sec-ishoj",
     {"meeting_date": "2019-09-30", "agenda_ref": "Byrådet 30. september 2019, punkt 4"}),
    ("2019-10-01T09:05", "rehab", "adopt_budget", "sec-vallensbaek",
     {"meeting_date": "2019-09-26", "agenda_ref": "Kommunalbestyrelsen 26-09-2019, pkt. 3"}),
    ("2019-10-01T10:00", "school", "adopt_budget", "sec-ishoj",
     {"meeting_date": "2019-09-30", "agenda_ref": "Byrådet 30. september 2019, punkt 5"}),
    ("2019-10-01T10:05", "school", "adopt_budget", "sec-brondby",
     {"meeting_date": "2019-09-25", "agenda_ref": "Brøndby KB 25/9 2019, pkt. 11"}),
    ("2019-10-20T09:00", "rehab", "give_notice", "pl-vallensbaek",
     {"budget_frame": "1.400.000,00"}),
    ("2019-10-20T10:00", "school", "give_notice", "pl-brondby",
     {"budget_frame": "2.400.000,00"}),
    ("2019-11-20T09:00", "rehab", "sign_year", "pl-vallensbaek", {}),
    ("2019-11-20T09:05", "rehab", "sign_year", "pl-ishoj", {}),
    ("2019-11-20T10:00", "school", "sign_year", "pl-brondby", {}),
    ("2019-11-20T10:05", "school", "sign_year", "pl-ishoj", {}),
    ("2020-02-20T09:00", "rehab", "record_true_up", "pl-ishoj",
     {"actual_costs": "1.250.000,00"}),
    ("2020-02-20T10:00", "school", "record_true_up", "pl-ishoj",
     {"actual_costs": "2.000.000,00"}),
]


@pytest.fixture
def client(settings: Settings, clock: Clock) -> Iterator[TestClient]:
    """The app with server errors answered as 500 (not raised), so tests can see them."""
    prepare(settings)
    with TestClient(create_app(settings, clock=clock), raise_server_exceptions=False) as c:
        yield c


class Integration(Api):
    """A user's view of the API through a token an administrator issued (no expiry: the
    scenario's clock moves on by years, past any login token's twelve hours)."""

    def __init__(self, client: TestClient, user: str) -> None:
        wf: Workflow = client.app.state.wf  # type: ignore[attr-defined]
        issued = accounts.issue_token(wf.engine, user, created_by="admin", now=wf.clock(),
                                      label="BUM-test")
        self.client, self.user = client, user
        self.headers = {"Authorization": f"Bearer {issued.token}"}


class Users(dict[str, Api]):
    """The scenario's users, each with a token issued when first needed."""

    def __init__(self, client: TestClient) -> None:
        super().__init__()
        self.client = client

    def __missing__(self, user: str) -> Api:
        self[user] = Integration(self.client, user)
        return self[user]


def create(api: Api, status: int = 201, **body: Any) -> Any:
    r = api.client.post("/api/applications", headers=api.headers, json=body)
    assert r.status_code == status, r.text
    return r.json()


def step(api: Api, app_id: int, trigger: str, **data: Any) -> dict[str, Any]:
    """Fire a trigger at the version the user has just read."""
    version = api.get(f"/api/applications/{app_id}")["version"]
    out: dict[str, Any] = api.fire(app_id, trigger, version, **data)
    return out


@pytest.fixture
def scenario(client: TestClient, wf: Workflow, clock: Clock) -> dict[str, int]:
    """A granted application, two agreements carried through a yearly cycle, and a third
    one proposed but not signed; the clock stands at 10 March 2020."""
    return build(client, wf, clock)


# a third agreement, proposed for 2020 and never signed (its negotiation deadline passes)
SOCIAL = {"provider": "ishoj", "purchaser": "vallensbaek", "area": "social",
          "service": "Bostøtte efter serviceloven § 85"}
TERMS_SOCIAL = {"service_level": "Ugentligt besøg", "expected_volume": "10",
                "direct_costs": "100.000", "overhead_rate": "10", "start_date": "2020-01-01",
                "notice_months": "3"}
SOCIAL_2020 = "110000.00"      # 100.000,00 + 10 %


def build(client: TestClient, wf: Workflow, clock: Clock) -> dict[str, int]:
    users = Users(client)
    granted = make_application(wf, state="granted", title="Første dispensationsansøgning")
    clock.at("2018-06-10T09:00")
    ids = {"granted": granted}
    ids["rehab"] = create(users["pl-vallensbaek"], kind="bum_agreement", data=REHAB,
                          title="Delaftale om genoptræning", source=granted)["id"]
    ids["school"] = create(users["pl-brondby"], kind="bum_agreement", data=SCHOOL,
                           title="Delaftale om specialundervisning for Brøndby")["id"]
    for when, which, trigger, user, data in CYCLE:
        if when >= "2019-11-25" and "social" not in ids:
            clock.at("2019-11-25T09:00")
            ids["social"] = create(users["pl-ishoj"], kind="bum_agreement", data=SOCIAL,
                                   title="Delaftale om bostøtte")["id"]
            step(users["pl-vallensbaek"], ids["social"], "propose_terms", **TERMS_SOCIAL)
        clock.at(when)
        step(users[user], ids[which], trigger, **data)
    clock.at("2020-03-10T09:00")
    return ids


# ------------------------------------------------------------------------------ API
def test_agreements_are_created_and_carried_through_a_year_by_the_api(
        client: TestClient, wf: Workflow, clock: Clock) -> None:
    users = Users(client)
    granted = make_application(wf, state="granted", title="Første dispensationsansøgning")
    clock.at("2018-06-10T09:00")
    vallensbaek = users["pl-vallensbaek"]
    rehab = create(vallensbaek, kind="bum_agreement", data=REHAB, source=granted,
                   title="  Delaftale   om genoptræning ")
    assert rehab["process"] == "bum_agreement" and rehab["kind"] == "bum_agreement"
    assert rehab["state"] == "negotiation" and rehab["version"] == 1
    assert rehab["title"] == "Delaftale om genoptræning"
    assert rehab["parties"] == ["ishoj", "vallensbaek"]
    assert rehab["data"] == REHAB
    assert rehab["links"] == [{"rel": "agreement_for", "application": granted}]
    assert re.fullmatch(r"00\.17\.15-G02-\d+-18", rehab["case_number"])
    source = vallensbaek.get(f"/api/applications/{granted}")
    assert {"rel": "has_agreement", "application": rehab["id"]} in source["links"]
    assert rehab["deadlines"] == []   # a month before the start date, which is not known

    # the old shape still works: no data, no source
    plain = create(users["pl-ishoj"], kind="dispensation", round=2, title="Anden ansøgning")
    assert plain["data"] == {} and plain["links"] == []

    # what the kind needs, and only that
    r = create(vallensbaek, 422, kind="bum_agreement", title="T",
               data={"provider": "ishoj", "purchaser": "vallensbaek"})
    assert "needs area, service" in r["detail"]
    r = create(vallensbaek, 422, kind="bum_agreement", title="T",
               data={**REHAB, "price": "1"})
    assert "price" in r["detail"]
    r = create(vallensbaek, 422, kind="bum_agreement", title="T",
               data={**REHAB, "provider": "vallensbaek"})
    assert "different" in r["detail"]
    r = create(vallensbaek, 422, kind="bum_agreement", title="T",
               data={**REHAB, "area": "social"}, source=granted)
    assert "was not granted the area 'social'" in r["detail"]
    r = create(vallensbaek, 422, kind="dispensation", round=1, title="T", source=granted)
    assert "not opened from another case" in r["detail"]
    create(vallensbaek, 404, kind="bum_agreement", title="T", data=REHAB, source=999_999)
    create(vallensbaek, 422, kind="bum_agreement", title="T", data=REHAB, source=0)
    # Brøndby is no party to the dispensation application it would be opened from
    r = create(users["pl-brondby"], 403, kind="bum_agreement", title="T",
               data={**SCHOOL}, source=granted)
    assert r["error"] == "PermissionDenied"

    # one year of the cycle, by HTTP only
    school = create(users["pl-brondby"], kind="bum_agreement", data=SCHOOL,
                    title="Delaftale om specialundervisning for Brøndby")
    ids = {"rehab": rehab["id"], "school": school["id"]}
    moves = []
    for when, which, trigger, user, data in CYCLE:
        clock.at(when)
        out = step(users[user], ids[which], trigger, **data)
        moves.append((which, trigger, out["transition"]["to"]))
    assert [m for m in moves if m[0] == "rehab"] == [
        ("rehab", "propose_terms", "negotiation"), ("rehab", "sign", "negotiation"),
        ("rehab", "sign", "volume"), ("rehab", "report_volume", "pricing"),
        ("rehab", "calculate_price", "budget"), ("rehab", "adopt_budget", "budget"),
        ("rehab", "adopt_budget", "notice"), ("rehab", "give_notice", "renewal"),
        ("rehab", "sign_year", "renewal"), ("rehab", "sign_year", "true_up"),
        ("rehab", "record_true_up", "volume")]

    got = vallensbaek.get(f"/api/applications/{ids['rehab']}")
    assert got["state"] == "volume" and got["data"]["cycle_year"] == 2020
    years = got["data"]["years"]
    assert years["2019"]["price"] == REHAB_2019
    assert years["2019"]["unit_price"] == "3159.90"
    assert [a["amount"] for a in years["2019"]["a_conto"]] == \
        ["331790.01", "331790.01", "331790.01", "331790.03"]
    assert years["2019"]["true_up"]["balance"] == "16589.94"
    assert years["2020"]["price"] == REHAB_2020 and years["2020"]["unit_price"] == "3105.56"
    assert years["2020"]["budget_frame"] == "1400000.00"
    school_years = vallensbaek.client.get(
        f"/api/applications/{ids['school']}", headers=users["pl-brondby"].headers
    ).json()["data"]["years"]
    assert school_years["2019"]["price"] == SCHOOL_2019
    assert [a["amount"] for a in school_years["2019"]["a_conto"]] == ["564375.00"] * 4
    assert school_years["2020"]["price"] == SCHOOL_2020
    assert school_years["2020"]["unit_price"] == "165857.19"
    assert school_years["2019"]["true_up"]["balance"] == "-107500.00"
    # the drafts were made by the steps that make them
    names = {d["name"] for d in vallensbaek.get(f"/api/applications/{ids['rehab']}/documents")}
    assert {"bum_agreement", "price_notice", "true_up_statement"} <= names


def test_each_municipality_sees_what_it_buys_and_sells(client: TestClient,
                                                       scenario: dict[str, int]) -> None:
    ishoj = Api(client, "pl-ishoj").get("/api/municipalities/ishoj/bum")
    assert ishoj["municipality"] == {"id": "ishoj", "name": "Ishøj Kommune"}
    assert ishoj["year"] == 2020 and ishoj["today"] == "2020-03-10"
    assert ishoj["buys"] == []
    assert [a["id"] for a in ishoj["sells"]] == \
        [scenario["rehab"], scenario["school"], scenario["social"]]
    assert ishoj["totals"] == {"bought": "0.00", "sold": SOLD_2020}
    rehab, school, social = ishoj["sells"]
    assert rehab["role"] == "provider" and rehab["counterparty"] == {
        "id": "vallensbaek", "name": "Vallensbæk Kommune"}
    assert rehab["area"] == {"id": "rehabilitation", "name": "Genoptræning"}
    assert rehab["state"] == "volume" and rehab["state_label"] == "Mængde og serviceniveau"
    assert rehab["source"] == scenario["granted"] and school["source"] is None
    assert rehab["signed_on"] == "2018-06-12" and rehab["in_total"] is True
    assert rehab["year"]["year"] == 2020 and rehab["year"]["price"] == REHAB_2020
    assert rehab["year"]["a_conto_total"] == REHAB_2020
    assert [a["due"] for a in rehab["year"]["a_conto"]] == \
        ["2020-01-01", "2020-04-01", "2020-07-01", "2020-10-01"]
    assert [a["amount"] for a in rehab["year"]["a_conto"]] == ["349375.00"] * 4
    assert rehab["latest_true_up"]["year"] == 2019
    assert rehab["latest_true_up"]["balance"] == "16589.94"
    assert rehab["latest_true_up"]["paid"] == REHAB_2019
    assert rehab["next_deadline"] == {
        "due": "2020-05-01", "state": "volume", "state_label": "Mængde og serviceniveau",
        "derivation": rehab["next_deadline"]["derivation"], "overdue": False,
        "days_left": 52, "responsible": {
            "municipalities": [{"id": "vallensbaek", "name": "Vallensbæk Kommune"}],
            "roles": ["project_lead"], "role_labels": ["Projektleder"]}}
    assert school["counterparty"]["name"] == "Brøndby Kommune"
    assert school["year"]["price"] == SCHOOL_2020
    assert school["latest_true_up"]["balance"] == "-107500.00"
    # proposed, not signed: shown with its price, not counted
    assert social["state"] == "negotiation" and social["signed_on"] is None
    assert social["year"]["price"] == SOCIAL_2020 and social["in_total"] is False
    assert social["latest_true_up"] is None
    # a month before 1 January 2020 is Sunday 1 December 2019: the next working day
    assert social["next_deadline"]["due"] == "2019-12-02"
    assert social["next_deadline"]["overdue"] is True
    assert social["next_deadline"]["days_left"] == -99
    assert [m["id"] for m in social["next_deadline"]["responsible"]["municipalities"]] == \
        ["ishoj", "vallensbaek"]

    vallensbaek = Api(client, "pl-vallensbaek").get("/api/municipalities/vallensbaek/bum")
    assert vallensbaek["sells"] == []
    assert [a["id"] for a in vallensbaek["buys"]] == [scenario["rehab"], scenario["social"]]
    assert vallensbaek["buys"][0]["role"] == "purchaser"
    assert vallensbaek["buys"][0]["counterparty"]["name"] == "Ishøj Kommune"
    assert vallensbaek["totals"] == {"bought": REHAB_2020, "sold": "0.00"}

    brondby = Api(client, "sec-brondby").get("/api/municipalities/brondby/bum")
    assert [a["id"] for a in brondby["buys"]] == [scenario["school"]]
    assert brondby["totals"] == {"bought": SCHOOL_2020, "sold": "0.00"}

    # another year: the prices of 2019, the same true-ups and deadlines
    earlier = Api(client, "admin").get("/api/municipalities/ishoj/bum?year=2019")
    assert earlier["totals"] == {"bought": "0.00", "sold": SOLD_2019}
    assert earlier["sells"][0]["year"]["price"] == REHAB_2019
    assert earlier["sells"][2]["year"] is None   # the bostøtte agreement starts in 2020
    none_yet = Api(client, "admin").get("/api/municipalities/ishoj/bum?year=2021")
    assert none_yet["totals"] == {"bought": "0.00", "sold": "0.00"}
    assert all(a["year"] is None for a in none_yet["sells"])


def test_the_view_takes_three_queries_however_many_agreements(
        client: TestClient, wf: Workflow, scenario: dict[str, int]) -> None:
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    event.listen(wf.engine, "before_cursor_execute", count)
    try:
        view = agreements.municipality_view(wf, "ishoj", user="pl-ishoj")
    finally:
        event.remove(wf.engine, "before_cursor_execute", count)
    assert len(view["sells"]) == 3
    # the user, the agreements, their open deadlines, their links
    assert len(statements) == 4, "\n\n".join(statements)


def test_a_municipality_sees_only_its_own_view_and_acts_only_as_a_party(
        client: TestClient, wf: Workflow, scenario: dict[str, int]) -> None:
    vallensbaek = Api(client, "pl-vallensbaek")
    for other in ("brondby", "ishoj"):
        r = vallensbaek.get(f"/api/municipalities/{other}/bum", status=403)
        assert r["error"] == "PermissionDenied" and other in r["detail"]
    assert Api(client, "legal-vallensbaek").get(
        "/api/municipalities/vallensbaek/bum")["buys"]
    Api(client, "sec-brondby").get("/api/municipalities/ishoj/bum", status=403)
    admin = Api(client, "admin")
    for mid in ("ishoj", "vallensbaek", "brondby"):
        assert admin.get(f"/api/municipalities/{mid}/bum")["municipality"]["id"] == mid
    assert admin.get("/api/municipalities/nowhere/bum", status=404)["error"] == "NotFound"
    vallensbaek.get("/api/municipalities/nowhere/bum", status=404)
    for bad in ("Ishøj", "ishoj%00", "1;DROP", "..%2F..%2Fetc"):
        assert client.get(f"/api/municipalities/{bad}/bum",
                          headers=vallensbaek.headers).status_code in (404, 422)
    vallensbaek.get("/api/municipalities/vallensbaek/bum?year=1999", status=422)
    assert client.get("/api/municipalities/ishoj/bum").status_code == 401

    # the Ishøj–Brøndby agreement: Vallensbæk neither reads nor acts on it
    school = scenario["school"]
    before = snapshot(wf.engine, school)
    vallensbaek.get(f"/api/applications/{school}", status=403)
    for trigger, data in (("report_volume", {"expected_volume": "1",
                                             "service_level": "x"}),
                          ("terminate", {"end_date": "2021-12-31", "reason": "x"}),
                          ("change_service", {"effective_date": "2020-09-01",
                                              "expected_volume": "1", "service_level": "x"})):
        r = vallensbaek.fire(school, trigger, before[1], status=403, **data)
        assert r["error"] == "PermissionDenied" and "not a party" in r["detail"]
    r = create(vallensbaek, 403, kind="bum_agreement", title="Ishøj–Brøndby", data=SCHOOL)
    assert "not a party" in r["detail"]
    # a party, but the wrong role or the wrong side
    r = Api(client, "sec-ishoj").fire(school, "report_volume", before[1], status=403,
                                      expected_volume="1", service_level="x")
    assert "needs the role project_lead" in r["detail"]
    r = Api(client, "pl-ishoj").fire(school, "report_volume", before[1], status=422,
                                     expected_volume="1", service_level="x")
    assert "only the purchaser (brondby)" in r["detail"]
    r = create(Api(client, "sec-ishoj"), 403, kind="bum_agreement", title="T", data=REHAB)
    assert r["error"] == "PermissionDenied"
    assert snapshot(wf.engine, school) == before


def test_the_cli_prints_the_same_view(client: TestClient, db_url: str,
                                      scenario: dict[str, int]) -> None:
    env = {"WORKFLOW_DATABASE_URL": db_url}
    result = CliRunner().invoke(cli, ["bum", "--year", "2020", "--json", "--as",
                                      "pl-vallensbaek"], env=env)
    assert result.exit_code == 0, result.output
    import json

    view = json.loads(result.stdout)
    assert view["municipality"]["id"] == "vallensbaek"
    assert view["totals"] == {"bought": REHAB_2020, "sold": "0.00"}
    assert [a["id"] for a in view["buys"]] == [scenario["rehab"], scenario["social"]]
    text = CliRunner().invoke(cli, ["bum", "--municipality", "ishoj", "--year", "2020",
                                    "--as", "admin"], env=env)
    assert text.exit_code == 0, text.output
    assert "Total 2020: bought 0,00 kr., sold 3.719.500,59 kr." in text.stdout
    assert "2019: 16.589,94 kr." in text.stdout and "2019: -107.500,00 kr." in text.stdout
    refused = CliRunner().invoke(cli, ["bum", "--municipality", "brondby", "--as",
                                       "pl-vallensbaek"], env=env)
    assert refused.exit_code != 0 and "error: " in refused.stderr
    assert "Traceback" not in refused.output


# ---------------------------------------------------------------------------- pages
def log_in(client: TestClient, user: str) -> str:
    """Log ``user`` in through the login form; the session's CSRF token."""
    client.cookies.clear()
    page = client.get("/login")
    token = csrf_of(page.text)
    r = client.post("/login", data={"username": user, "password": "demo", "csrf": token},
                    follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/", r.text
    # a new session begins at login, with a token of its own
    fresh = csrf_of(client.get("/").text)
    assert fresh != token
    return fresh


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, html
    return found.group(1)


def post_forms_carry(html: str, token: str) -> int:
    """Every POST form on the page carries the session's CSRF token; how many there are."""
    forms = re.findall(r"<form[^>]*>.*?</form>", html, flags=re.S)
    posts = [f for f in forms if 'method="post"' in f]
    for form in posts:
        assert f'<input type="hidden" name="csrf" value="{token}">' in form, form
    return len(posts)


def text_of(html: str) -> str:
    """The page's visible text, one space between elements."""
    html = re.sub(r"<(style|svg)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace("&gt;", ">")


def test_the_pages_show_agreements_in_danish(client: TestClient,
                                             scenario: dict[str, int]) -> None:
    token = log_in(client, "pl-vallensbaek")

    home = client.get("/")
    assert home.status_code == 200
    assert 'href="/bum"' in home.text and post_forms_carry(home.text, token) >= 2
    text = text_of(home.text)
    assert "BUM-aftaler" in text and "Vallensbæk Kommune → Ishøj Kommune" in text
    assert "Delaftale om genoptræning" in text
    assert "Delaftale om specialundervisning for Brøndby" not in text  # not a party
    assert 'name="provider"' in home.text and 'name="source"' in home.text
    assert f'<option value="{scenario["granted"]}">' in home.text  # may open from it

    bum = client.get("/bum")
    assert bum.status_code == 200
    text = text_of(bum.text)
    assert "BUM-aftaler: Vallensbæk Kommune" in text
    assert "Køber for i 2020 1.397.500,00 kr." in text
    assert "Sælger for i 2020 0,00 kr." in text
    assert "Ishøj Kommune" in text and "Genoptræning" in text
    assert "16.589,94 kr." in text and "bestiller betaler efter" in text
    assert "1. maj 2020" in text and "Mængde og serviceniveau" in text
    assert "110.000,00 kr. ikke med i summen" in text
    assert "2. december 2019 – overskredet" in text
    assert "Brøndby" not in text
    assert client.get("/bum?year=2019").text.count("1.327.160,06 kr.") >= 2

    page = client.get(f"/applications/{scenario['rehab']}")
    assert page.status_code == 200
    assert post_forms_carry(page.text, token) >= 2   # the steps open to Vallensbæk, log out
    text = text_of(page.text)
    for expected in ("Aftalens vilkår", "Bestiller Vallensbæk Kommune",
                     "Udfører Ishøj Kommune", "Område Genoptræning",
                     "Gælder fra 1. januar 2019", "Opsigelsesvarsel 6 måneder",
                     "Underskrevet 12. juni 2018",
                     "Første træning senest 5 dage efter udskrivning",
                     "År, priser og efterregulering", "1.327.160,06 kr.",
                     "heraf overhead 92.592,56 kr. (7,5 pct.)", "3.159,90 kr.",
                     "1. oktober 2019: 331.790,03 kr.", "1.397.500,00 kr.",
                     "1.400.000,00 kr.", "1.343.750,00 kr.", "16.589,94 kr.",
                     "Bevilget ansøgning:", "Første dispensationsansøgning"):
        assert expected in text, expected
    # the step Vallensbæk may take now, with Danish number inputs filled from the terms
    form = re.search(r'<form[^>]*>(?:(?!</form>).)*name="trigger" value="report_volume".*?'
                     r"</form>", page.text, flags=re.S)
    assert form, page.text
    assert re.search(r'<input type="number" inputmode="numeric" min="0" step="1" '
                     r'id="report_volume-expected_volume" name="expected_volume" '
                     r'value="450" required>', form.group(0))

    source = text_of(client.get(f"/applications/{scenario['granted']}").text)
    assert "BUM-aftale åbnet fra denne sag:" in source and "Delaftale om genoptræning" in source

    # Brøndby's view and the Ishøj–Brøndby agreement are not Vallensbæk's
    for url in ("/bum?municipality=brondby", f"/applications/{scenario['school']}"):
        r = client.get(url)
        assert r.status_code == 403 and "Ingen adgang" in r.text

    log_in(client, "admin")
    r = client.get("/bum")
    assert r.status_code == 200 and "Vælg en kommune" in text_of(r.text)
    r = client.get("/bum?municipality=brondby")
    assert r.status_code == 200
    assert "BUM-aftaler: Brøndby Kommune" in text_of(r.text)
    assert "2.322.000,59 kr." in text_of(r.text)
    assert client.get("/bum?municipality=nowhere").status_code == 404

    client.cookies.clear()
    r = client.get("/bum", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"


def test_an_agreement_is_opened_and_priced_on_the_pages(client: TestClient, wf: Workflow,
                                                       clock: Clock) -> None:
    granted = make_application(wf, state="granted", title="Første dispensationsansøgning")
    clock.at("2018-06-10T09:00")
    fields = {"kind": "bum_agreement", "title": "Delaftale om genoptræning", "round": "1",
              **REHAB, "source": str(granted)}
    # just logged in, no page shown yet: the session has no token, and an empty one is
    # no match for it
    client.cookies.clear()
    login = csrf_of(client.get("/login").text)
    client.post("/login", data={"username": "pl-vallensbaek", "password": "demo",
                                "csrf": login}, follow_redirects=False)
    r = client.post("/applications", data={**fields, "csrf": ""}, follow_redirects=False)
    assert r.status_code == 403 and "Formularen er forældet" in r.text

    token = log_in(client, "pl-vallensbaek")

    # without the session's CSRF token nothing happens
    for bad in ({}, {"csrf": ""}, {"csrf": token + "x"}):
        r = client.post("/applications", data={**fields, **bad}, follow_redirects=False)
        assert r.status_code == 403 and "Formularen er forældet" in r.text
    assert [a["id"] for a in Api(client, "admin").items("/api/applications")] == [granted]

    r = client.post("/applications", data={**fields, "csrf": token}, follow_redirects=False)
    assert r.status_code == 303, r.text
    app_id = int(r.headers["location"].rsplit("/", 1)[1])
    page = client.get(r.headers["location"])
    assert "Sagen er oprettet." in page.text
    api = Api(client, "pl-ishoj")
    got = api.get(f"/api/applications/{app_id}")
    assert got["data"] == REHAB and got["round"] is None
    assert got["links"] == [{"rel": "agreement_for", "application": granted}]

    # Ishøj proposes the terms on its page, typed as a Dane types them
    token = log_in(client, "pl-ishoj")
    page = client.get(f"/applications/{app_id}").text
    assert post_forms_carry(page, token) >= 2
    assert re.search(r'<input type="text" inputmode="decimal" autocomplete="off" '
                     r'id="propose_terms-direct_costs" name="direct_costs"', page)
    assert re.search(r'<input type="text" inputmode="decimal" autocomplete="off" '
                     r'id="propose_terms-overhead_rate" name="overhead_rate"', page)
    assert re.search(r'<input type="number" inputmode="numeric" min="0" step="1" '
                     r'id="propose_terms-notice_months" name="notice_months"', page)
    assert 'id="propose_terms-start_date" name="start_date"' in page
    form = {"csrf": token, "trigger": "propose_terms", "version": str(got["version"]),
            "comment": "Første udspil", **TERMS_REHAB, "direct_costs": "1.234.567,50 kr."}
    r = client.post(f"/applications/{app_id}/fire", data={**form, "csrf": "forged"},
                    follow_redirects=False)
    assert r.status_code == 403
    assert api.get(f"/api/applications/{app_id}")["version"] == got["version"]
    r = client.post(f"/applications/{app_id}/fire", data=form, follow_redirects=False)
    assert r.status_code == 303
    assert "Udført: Foreslå vilkår." in client.get(r.headers["location"]).text
    data = api.get(f"/api/applications/{app_id}")["data"]
    assert data["direct_costs"] == "1234567.50" and data["overhead_rate"] == "7.5"
    assert data["expected_volume"] == 420 and data["notice_months"] == 6
    assert data["years"]["2019"]["price"] == REHAB_2019

    # a Danish number that is not one is refused with the reason, and nothing changes
    form["version"] = str(api.get(f"/api/applications/{app_id}")["version"])
    r = client.post(f"/applications/{app_id}/fire",
                    data={**form, "direct_costs": "1.234,567"}, follow_redirects=False)
    assert r.status_code == 303
    shown = client.get(r.headers["location"]).text
    assert "»1.234,567« har mere end to decimaler (øre)" in shown
    assert api.get(f"/api/applications/{app_id}")["data"]["direct_costs"] == "1234567.50"

    # the new form is offered only to who may use it; the page shows the proposal
    page = text_of(client.get(f"/applications/{app_id}").text)
    assert "Udfører Ishøj Kommune" in page and "1.327.160,06 kr." in page
    log_in(client, "sec-ishoj")
    assert 'action="/applications"' not in client.get("/").text
