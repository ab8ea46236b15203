"""The pages, on SQLite and PostgreSQL: a refusal said in Danish (a form posted on a page
that is out of date, an action the state does not allow, a guard that says no); Danish all
through (no id, English value or ISO date in what a page shows); people, municipalities and
cases by name and number; the create form kept as typed when refused and using only the
chosen kind's fields; the council decision prefilled from the meeting; a withdrawal that
must be confirmed; and "Mine opgaver" with only what is awaited."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.conftest import Clock
from tests.documents.test_documents import broken_letter
from tests.factories import make_application
from tests.web.test_api import TestClient, prepare
from tests.web.test_bum import log_in
from workflow.config import Settings
from workflow.engine import queries
from workflow.engine.workflow import Workflow
from workflow.store import database as store
from workflow.store import tables as t
from workflow.web import messages
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
    assert "Sagen er ændret af Anders Løvengreen, mens du havde den åben" in shown
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
        assert r.status_code == 422, r.text
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
    assert r.status_code == 400 and "<p>Forespørgslen kunne ikke læses: " in r.text
    assert "Adgangskoden mangler; Formularens nøgle mangler" in r.text
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


# ------------------------------------------------------------ Danish all through
class Shown(HTMLParser):
    """What a page shows a reader: its text (hidden parts too: a closed <details>, a
    hidden field) and its placeholders and labels for assistive technology; not its
    values, names, ids, links or title attributes (where an id may be kept)."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._skip += tag in ("script", "style")
        self.parts += [v for k, v in attrs if k in ("placeholder", "aria-label", "alt") and v]

    def handle_endtag(self, tag: str) -> None:
        self._skip -= tag in ("script", "style")

    def handle_data(self, data: str) -> None:
        if not self._skip and data.strip():
            self.parts.append(" ".join(data.split()))


def ids_of(wf: Workflow) -> set[str]:
    """Every id a page could leak: states, triggers, roles, fields and their choices,
    kinds, areas, municipalities and users (the kind `dispensation` is a Danish word too)."""
    d = wf.definition
    ids = set(d.roles) | set(d.fields) | set(wf.areas) | set(wf.municipalities)
    ids |= {c for f in d.fields.values() for c in f.choices}
    for p in d.processes.values():
        ids |= set(p.states) | {x.trigger for x in p.transitions} | set(p.kinds)
    with store.read(wf.engine) as conn:
        ids |= {r.id for r in conn.execute(select(t.user.c.id))}
    return ids - {"dispensation"}


def leaks(wf: Workflow, html: str, *, users_too: bool = True) -> list[str]:
    ids = ids_of(wf) if users_too else ids_of(wf) - set(queries.user_names(wf, ids_of(wf)))
    words = re.compile(r"(?<![\w-])(" + "|".join(sorted(map(re.escape, ids), key=len,
                                                            reverse=True))
                       + r"|True|False|None|\d{4}-\d\d-\d\d(?:T[\d:.]+)?)(?![\w-])")
    shown = Shown()
    shown.feed(html)
    return [f"{m.group(1)!r} in {part!r}" for part in shown.parts for m in words.finditer(part)]


def cases_in_many_states(wf: Workflow, clock: Clock) -> list[int]:
    """A case in each kind of state the pages show: areas proposed by one party, drafting,
    council approval with a meeting and one decision, submitted, granted with conditions,
    a withdrawal, and a BUM agreement with terms proposed and one signature."""
    council = make_application(wf, state="council_approval", title="Til byrådene")
    wf.fire(council, "schedule_council_meeting", user="sec-vallensbaek",
            data={"meeting_date": "2018-01-08", "agenda_ref": "KB 8. januar, punkt 3"})
    wf.fire(council, "record_council_decision", user="sec-ishoj",
            data={"decision": "approved", "meeting_date": "2018-01-08", "agenda_ref": "BR 7"})
    drafting = make_application(wf, kind="jobcentre", state="drafting", title="Jobcenter")
    proposed = make_application(wf, round=2, areas=["social"], title="Runde 2")
    wf.fire(proposed, "propose_areas", user="pl-ishoj", data={"areas": "social"})
    wf.fire(proposed, "confirm_areas", user="pl-vallensbaek")
    wf.fire(proposed, "withdraw", user="dir-ishoj", data={"reason": "Ikke nu"})
    clock.at("2018-02-01T09:00")
    bum = wf.create(kind="bum_agreement", title="Delaftale", user="pl-vallensbaek",
                    data={"provider": "ishoj", "purchaser": "vallensbaek",
                          "area": "rehabilitation", "service": "Genoptræning"})
    wf.fire(bum, "propose_terms", user="pl-ishoj", data={
        "service_level": "Som hidtil", "expected_volume": "420", "direct_costs": "1000000",
        "overhead_rate": "7,5", "start_date": "2019-01-01", "notice_months": "6"})
    wf.fire(bum, "sign", user="pl-vallensbaek")
    return [council, drafting, proposed, bum]


def test_no_page_shows_an_id_an_english_value_or_an_iso_date(
        client: TestClient, wf: Workflow, clock: Clock) -> None:
    """Every page, for each kind of user, with cases in many states: what it shows is
    Danish (the admin page lists user names as the login names they are)."""
    ids = cases_in_many_states(wf, clock)
    ids.append(make_application(wf, state="granted_with_conditions", round=2,
                                areas=["social"], title="Bevilget med vilkår"))
    found = {}
    for phase in ("before", "after"):
        if phase == "after":  # the case at the councils goes on to the ministry
            wf.fire(ids[0], "record_council_decision", user="sec-vallensbaek", data={
                "decision": "approved", "meeting_date": "2018-01-08", "agenda_ref": "KB 3"})
            wf.fire(ids[0], "send_to_ministry", user="pl-ishoj")
        for user in ("pl-ishoj", "pl-vallensbaek", "sec-ishoj", "legal-ishoj", "dir-ishoj",
                     "admin"):
            log_in(client, user)
            paths = ["/", "/bum", "/profile"] + [f"/applications/{i}{page}" for i in ids
                                                  for page in ("", "/historik")]
            for path in paths + (["/admin"] if user == "admin" else []):
                r = client.get(path)
                assert r.status_code == 200, (user, path, r.text[:500])
                if got := leaks(wf, r.text, users_too=path != "/admin"):
                    found[phase, user, path] = got
    assert not found, found
    assert leaks(wf, '<p>Afventer <span title="pl-ishoj">x</span> rejected</p>') == [
        "'rejected' in 'rejected'"]  # the check itself finds an id


def test_the_profile_turns_the_turn_notices_off_and_on(client: TestClient, wf: Workflow
                                                        ) -> None:
    token = log_in(client, "pl-vallensbaek")
    page = client.get("/profile").text
    assert "Anders Løvengreen · Projektleder · Vallensbæk Kommune" in page
    assert 'name="turn_notices" value="on" checked' in page
    assert client.post("/profile", data={"csrf": "forged"}).status_code == 403
    assert 'value="on" checked' in client.get("/profile").text   # (unchanged)
    r = client.post("/profile", data={"csrf": token})        # the box unticked
    assert r.status_code == 200 and "Du får ikke længere en e-mail" in r.text
    assert 'value="on" checked' not in r.text
    with store.read(wf.engine) as conn:
        assert conn.execute(select(t.user.c.turn_notices)
                            .where(t.user.c.id == "pl-vallensbaek")).scalar() is False
    r = client.post("/profile", data={"csrf": token, "turn_notices": "on"})
    assert "Du får nu en e-mail, når det er din tur." in r.text and 'value="on" checked' in r.text
    client.cookies.clear()
    assert client.get("/profile", follow_redirects=False).status_code in (303, 401)


def test_a_condition_is_said_with_the_choices_danish_label(
        client: TestClient, wf: Workflow, clock: Clock) -> None:
    council = make_application(wf, state="council_approval")
    log_in(client, "sec-ishoj")
    page = client.get(f"/applications/{council}").text
    assert ('<label for="record_council_decision-reason">Begrundelse (kræves når '
            'beslutningen er Ikke godkendt)</label>') in page
    submitted = make_application(wf, state="submitted", kind="satellite")
    log_in(client, "pl-ishoj")
    page = client.get(f"/applications/{submitted}").text
    assert "Vilkår (kræves når afgørelsen er Bevilget med vilkår)" in page
    assert "Bevilgede områder (kræves når afgørelsen er Delvist bevilget)" in page


def test_required_when_names_each_condition_in_danish(wf: Workflow) -> None:
    say = messages.required_when
    assert say(wf, [{"outcome": "granted"}, {"outcome": "partly_granted"}]) == \
        "kræves når afgørelsen er Bevilget eller Delvist bevilget"
    assert say(wf, [{"outcome": "refused", "kind": "jobcentre"}]) == \
        "kræves når afgørelsen er Afslag og sagstypen er Hjemtagning af jobcenteret"
    assert say(wf, [{"due_date": "x"}]) == "kræves når »Ministeriets frist« er x"
    assert say(wf, []) == ""


# -------------------------------------------------------- names, not ids
def test_people_municipalities_and_cases_are_named(
        client: TestClient, wf: Workflow, clock: Clock) -> None:
    council, *_ = cases_in_many_states(wf, clock)
    log_in(client, "pl-ishoj")
    page = client.get(f"/applications/{council}").text
    history = page[page.index('id="history"'):]
    assert '<span title="pl-ishoj">Mette Højgaard</span>' in history
    assert '<span title="sec-ishoj">Birthe Ærenlund</span>' in history
    assert "· pl-ishoj ·" not in history
    documents = page[page.index('id="documents"'):page.index('id="history"')]
    assert '<span title="legal-ishoj">Lærke Østergaard</span>' in documents
    dashboard = client.get("/").text
    assert "Politisk behandling (Vallensbæk Kommune)" in dashboard
    assert "(vallensbaek)" not in dashboard

    log_in(client, "admin")
    admin = client.get("/admin").text
    assert "<td>Ishøj Kommune</td>" in admin and "<td>ishoj</td>" not in admin
    assert '<option value="pl-ishoj">Mette Højgaard (pl-ishoj)</option>' in admin


def test_a_refusal_names_another_case_by_its_case_number(
        client: TestClient, wf: Workflow) -> None:
    first = make_application(wf, state="drafting")
    second = make_application(wf, round=2, areas=[])
    number = queries.get_application(wf, first, user="admin")["case_number"]
    token = log_in(client, "pl-ishoj")
    shown = post(client, second, token, "propose_areas", version_of(wf, second),
                 areas=["rehabilitation"])
    assert f"sag {number}" in shown and f"ansøgning {first}" not in shown, shown
    log_in(client, "pl-brondby")  # a case of others: the error page names it by number
    r = client.get(f"/applications/{first}")
    assert r.status_code == 403
    assert f"<p>Brøndby Kommune er ikke part i sag {number}" in r.text, r.text[-1500:]


# ------------------------------------------------------------ the create form
def form_controls(html: str) -> dict[str, str]:
    """The create form's controls as shown: {name: value or the selected option}."""
    form = html[html.index('id="new-case"'):html.index("</form>", html.index('id="new-case"'))]
    out = {m[1]: m[2] for m in re.finditer(r'<input type="text" id="[^"]+" name="(\w+)"'
                                           r'[^>]*value="([^"]*)"', form)}
    out |= {m[1]: m[2] for m in re.finditer(r'<textarea[^>]*name="(\w+)"[^>]*>([^<]*)<', form)}
    for name, body in re.findall(r'<select id="[^"]+" name="(\w+)">(.*?)</select>', form,
                                 flags=re.S):
        chosen = re.search(r'<option value="([^"]*)" selected>', body)
        out[name] = chosen[1] if chosen else ""
    return out


def test_a_refused_create_form_comes_back_as_it_was_typed(client: TestClient) -> None:
    token = log_in(client, "pl-vallensbaek")
    typed = {"kind": "bum_agreement", "title": "Delaftale om genoptræning – Ålholm",
             "purchaser": "vallensbaek", "provider": "ishoj", "area": "rehabilitation",
             "service": ""}
    r = client.post("/applications", data={"csrf": token, **typed})
    assert r.status_code == 422
    assert error_shown(r.text).startswith("Oplysningerne er ikke i orden: ")
    assert "ydelsesbeskrivelse" in error_shown(r.text)
    shown = form_controls(r.text)
    assert {k: shown[k] for k in typed} == typed
    assert 'name="title" required maxlength="300" value="Delaftale om genoptræning – Ålholm"' \
        ' autofocus' in r.text

    typed = {"kind": "dispensation", "round": "", "title": "Tredje runde <b>?</b>"}
    r = client.post("/applications", data={"csrf": token, **typed})
    assert r.status_code == 422
    assert "skal have runde 1 eller 2" in error_shown(r.text)
    shown = form_controls(r.text)
    assert shown["kind"] == "dispensation" and shown["round"] == ""
    assert shown["title"] == "Tredje runde &lt;b&gt;?&lt;/b&gt;"  # escaped, as typed
    assert shown["purchaser"] == ""   # not the user's own: the form is as it was sent

    fresh = form_controls(client.get("/").text)  # a new form starts with the own one
    assert fresh["purchaser"] == "vallensbaek" and fresh["title"] == ""


def test_the_create_form_marks_each_field_with_its_kinds(client: TestClient) -> None:
    log_in(client, "pl-ishoj")
    page = client.get("/").text
    assert '<div data-kinds="dispensation"><label for="round">' in page
    for name in ("purchaser", "provider", "area", "service", "source"):
        assert re.search(rf'<div data-kinds="bum_agreement"><label for="new-{name}">', page), \
            name
    assert '<fieldset data-kinds="bum_agreement">' in page


def test_the_server_takes_only_the_chosen_kinds_fields(client: TestClient, wf: Workflow
                                                       ) -> None:
    """Without JavaScript the form sends every field; only the kind's are used."""
    token = log_in(client, "pl-ishoj")
    others = {"provider": "ishoj", "purchaser": "vallensbaek", "area": "rehabilitation",
              "service": "Genoptræning", "source": "1"}
    r = client.post("/applications", data={"csrf": token, "kind": "jobcentre", "round": "2",
                                           "title": "Jobcenteret hjem", **others},
                    follow_redirects=False)
    assert r.status_code == 303, r.text
    app_id = int(r.headers["location"].rsplit("/", 1)[1])
    app = queries.get_application(wf, app_id, user="pl-ishoj")
    assert app["kind"] == "jobcentre" and app["round"] is None
    assert not set(others) & set(app["data"] or {})
    assert [x["application"] for x in app["links"]] == []


# ------------------------------------------------- the secretary types it once
def test_the_council_decision_is_prefilled_from_the_meeting(
        client: TestClient, wf: Workflow) -> None:
    app_id = make_application(wf, state="council_approval")
    wf.fire(app_id, "schedule_council_meeting", user="sec-ishoj",
            data={"meeting_date": "2018-01-08", "agenda_ref": "Byrådet, punkt 7"})
    log_in(client, "sec-ishoj")
    page = client.get(f"/applications/{app_id}").text
    assert ('<input type="date" id="record_council_decision-meeting_date" '
            'name="meeting_date" value="2018-01-08" required>') in page
    assert re.search(r'<textarea id="record_council_decision-agenda_ref" name="agenda_ref" '
                     r'rows="2" required>Byrådet, punkt 7</textarea>', page)
    # the meeting's own form is not filled in from itself, nor a committee's from the council's
    assert re.search(r'<textarea id="record_committee_decision-agenda_ref"[^>]*></textarea>',
                     page)
    assert re.search(r'<textarea id="schedule_council_meeting-agenda_ref"[^>]*></textarea>',
                     page)
    # the picker offers the own municipality only
    pickers = re.findall(r'<select id="(\w+)-municipality" name="municipality">(.*?)</select>',
                         page)
    assert [p[0] for p in pickers] == ["schedule_council_meeting", "record_committee_decision",
                                       "record_council_decision"]
    assert all(p[1] == '<option value="ishoj" selected>Ishøj Kommune</option>'
               for p in pickers), pickers

    log_in(client, "sec-vallensbaek")  # Vallensbæk has no meeting yet: nothing to fill in
    page = client.get(f"/applications/{app_id}").text
    assert '<input type="date" id="record_council_decision-meeting_date" ' \
           'name="meeting_date" required>' in page
    assert '<option value="vallensbaek" selected>Vallensbæk Kommune</option>' in page
    assert '<option value="ishoj"' not in page

    token = log_in(client, "sec-ishoj")  # the prefilled form goes through as it is
    r = client.post(f"/applications/{app_id}/fire", data={
        "csrf": token, "trigger": "record_council_decision",
        "version": str(version_of(wf, app_id)), "decision": "approved",
        "meeting_date": "2018-01-08", "agenda_ref": "Byrådet, punkt 7",
        "municipality": "ishoj"})
    assert "Udført: Registrér politisk beslutning." in r.text, r.text[:2000]


# ---------------------------------------------------------- confirm a withdrawal
def test_a_withdrawal_must_be_confirmed(client: TestClient, wf: Workflow) -> None:
    app_id = make_application(wf)      # only Ishøj has acted: its project lead withdraws alone
    token = log_in(client, "pl-ishoj")
    page = client.get(f"/applications/{app_id}").text
    box = page[page.index("<summary>Træk tilbage</summary>"):]
    box = box[:box.index("</form>")]
    assert ('<input type="checkbox" name="confirm" value="yes" required> Ja, træk '
            'ansøgningen tilbage</label>') in box
    version = version_of(wf, app_id)
    shown = post(client, app_id, token, "withdraw", version, reason="Vi venter et år")
    assert shown == ("»Træk tilbage« er ikke udført: sæt kryds ved »Ja, træk ansøgningen "
                     "tilbage« for at bekræfte. Intet er ændret.")
    assert version_of(wf, app_id) == version
    assert queries.get_application(wf, app_id, user="admin")["state"] == "area_selection"
    r = client.post(f"/applications/{app_id}/fire", data={
        "csrf": token, "trigger": "withdraw", "version": str(version),
        "reason": "Vi venter et år", "confirm": "yes"})
    assert "Udført: Træk tilbage." in r.text
    assert queries.get_application(wf, app_id, user="admin")["state"] == "withdrawn"


def test_only_an_action_that_ends_the_case_aside_asks_for_confirmation(wf: Workflow) -> None:
    assert messages.confirmations(wf) == {"withdraw": "Ja, træk ansøgningen tilbage",
                                          "abandon": "Ja, opgiv aftalen"}


# ---------------------------------------------------------------- Mine opgaver
def test_my_tasks_are_what_is_awaited_from_me(client: TestClient, wf: Workflow,
                                              clock: Clock) -> None:
    drafting = make_application(wf, kind="jobcentre", state="drafting", title="Jobcenter")
    area = make_application(wf, title="Områder")
    log_in(client, "pl-ishoj")
    page = client.get("/").text
    tasks = page[page.index('id="tasks"'):page.index('id="deadlines"')]
    rows = re.findall(r"<tr><td><a href=\"/applications/(\d+)\">.*?</tr>", tasks, flags=re.S)
    assert rows == [str(drafting)]  # the new case waits for nobody: no task
    assert "Send til juridisk gennemsyn" in tasks and "Træk tilbage" not in tasks
    assert "Foreslå områder" not in tasks and str(area) not in rows
    assert "om 28 dage" in tasks, tasks  # 20 working days from 8 January 2018: 5 February
    clock.at("2018-02-07T09:00")
    page = client.get("/").text
    assert "overskredet med 2 dage" in page[page.index('id="tasks"'):]


# ---------------------------------------------- the case page keeps what happened
def test_the_case_page_keeps_the_councils_and_shows_the_ministrys_decision(
        client: TestClient, wf: Workflow) -> None:
    from tests.factories import walk_fire

    app_id = make_application(wf, state="submitted")
    walk_fire(wf, app_id, "record_decision", user="pl-ishoj", data={
        "outcome": "partly_granted", "reference": "2018-77", "decision_date": "2018-06-01",
        "granted_areas": "rehabilitation"})
    log_in(client, "pl-vallensbaek")
    page = client.get(f"/applications/{app_id}").text
    councils = page[page.index('id="councils"'):page.index('id="deadlines"')]
    assert councils.count("Godkendt") == 2 and "–</td>" not in councils
    assert "3. april 2018" in councils and "25. april 2018" in councils
    decision = councils[councils.index('id="decision"'):]
    for shown in ("Delvist bevilget", "1. juni 2018", "2018-77", "Genoptræning",
                  "Specialundervisning", "Natur og miljø"):
        assert shown in decision, shown


def test_a_secretary_records_her_committees_on_the_case_page(
        client: TestClient, wf: Workflow, clock: Clock) -> None:
    app_id = make_application(wf, state="council_approval")
    clock.at("2018-03-10T09:00:00")
    token = log_in(client, "sec-ishoj")
    page = client.get(f"/applications/{app_id}").text
    form = page[page.index('value="record_committee_decision"'):]
    form = form[:form.index("</form>")]
    assert re.findall(r'<option value="([^"]*)">', form.split('name="committee"')[1]
                      .split("</select>")[0]) == ["Fagudvalget", "Økonomi- og Planudvalget"]
    said = post(client, app_id, token, "record_committee_decision", version_of(wf, app_id),
                committee="Økonomiudvalget", decision="approved",
                committee_date="2018-03-06", agenda_ref="ØPU 6. marts 2018, punkt 2")
    assert "»Økonomiudvalget« er ikke et udvalg i Ishøj Kommune" in said
    r = client.post(f"/applications/{app_id}/fire", data={
        "csrf": token, "trigger": "record_committee_decision",
        "version": str(version_of(wf, app_id)), "committee": "Økonomi- og Planudvalget",
        "decision": "approved", "committee_date": "2018-03-06",
        "agenda_ref": "ØPU 6. marts 2018, punkt 2"})
    assert r.status_code == 200
    page = client.get(f"/applications/{app_id}").text
    shown = page[page.index("Udvalgsbehandling"):page.index("</table>",
                                                             page.index("Udvalgsbehandling"))]
    for text in ("Ishøj Kommune", "Økonomi- og Planudvalget", "6. marts 2018",
                 "ØPU 6. marts 2018, punkt 2", "Anbefalet"):
        assert text in shown, text


def test_the_case_page_shows_the_newest_history_and_the_history_page_pages_it(
        client: TestClient, wf: Workflow, clock: Clock) -> None:
    app_id = make_application(wf, state="drafting")
    letter = next(d for d in queries.documents(wf, app_id, user="admin")
                  if d["name"] == "application_letter")
    for _ in range(130):
        clock.advance(seconds=1)
        wf.download(letter["id"], user="legal-ishoj")
    whole = queries.history(wf, app_id, user="pl-ishoj")
    log_in(client, "pl-ishoj")
    page = client.get(f"/applications/{app_id}").text
    shown = re.search(r'<ol class="timeline">(.*?)</ol>', page, re.S)
    assert shown and shown.group(1).count("<li>") == 50
    assert "De nyeste 50 hændelser." in page
    assert f'<a href="/applications/{app_id}/historik">Vis hele historikken</a>' in page
    # the newest first: the last download is at the top, the case's opening is not shown
    assert "Oprettet" not in shown.group(1) and "Oprettet" in client.get(
        f"/applications/{app_id}/historik").text
    seen, url, pages = 0, f"/applications/{app_id}/historik", 0
    while url:
        r = client.get(url)
        assert r.status_code == 200, r.text[:300]
        pages += 1
        items = re.search(r'<ol class="timeline">(.*?)</ol>', r.text, re.S)
        assert items is not None
        seen += items.group(1).count("<li>")
        following = re.search(r'href="([^"]+)" rel="next"', r.text)
        url = following.group(1).replace("&amp;", "&") if following else ""
        assert ('rel="first"' in r.text) == (pages > 1)
    assert seen == len(whole) and pages == -(-len(whole) // 100) == 2
    assert "Historik: Testansøgning" in client.get(f"/applications/{app_id}/historik").text
    for bad in ("xyz", "A" * 401, "æøå"):
        r = client.get(f"/applications/{app_id}/historik", params={"efter": bad})
        assert r.status_code == 422 and "markøren" in r.text.lower(), r.text[:300]
    client.cookies.clear()
    assert client.get(f"/applications/{app_id}/historik",
                      follow_redirects=False).status_code in (303, 401)
