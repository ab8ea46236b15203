"""BUM agreements on both databases: the yearly cycle, its deadlines as guards, money to the øre.

Every step goes through the real engine with a settable clock; the deadlines are checked
against the Danish calendar worked out by hand (weekends, pinse, grundlovsdag).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from tests.conftest import Clock
from tests.factories import make_application, walk_fire
from tests.reminders.test_reminders import SmtpServer
from workflow.bum import pricing
from workflow.bum import rules as bum
from workflow.engine.queries import documents, get_application, history, list_applications
from workflow.engine.workflow import Workflow
from workflow.errors import (
    DefinitionError,
    GuardFailed,
    InvalidData,
    InvalidTransition,
    NotFound,
    PermissionDenied,
    StrandedApplications,
)
from workflow.process.definition import load, loads
from workflow.reminders.ledger import list_reminders
from workflow.reminders.mailer import Mailer
from workflow.reminders.service import ReminderService
from workflow.store import tables as t

STATES = Path(__file__).resolve().parents[2] / "states.yaml"
SERVICE = "Genoptræning efter sundhedslovens § 140 på Ishøj Genoptræningscenter"
TERMS = {"service_level": "Første træning senest 7 dage efter udskrivning",
         "expected_volume": "420", "direct_costs": "1.234.567,89", "overhead_rate": "7,5",
         "notice_months": "6"}


def agreement(wf: Workflow, clock: Clock, *, purchaser: str = "vallensbaek",
              provider: str = "ishoj", area: str = "rehabilitation", when: str,
              user: str | None = None, source: int | None = None) -> int:
    clock.at(when)
    return wf.create(kind="bum_agreement", title=f"Delaftale om {area}",
                     user=user or f"pl-{purchaser}", source=source,
                     data={"provider": provider, "purchaser": purchaser, "area": area,
                           "service": SERVICE})


def go(wf: Workflow, clock: Clock, app: int, when: str, trigger: str, user: str,
       **data: str) -> str:
    clock.at(when)
    return wf.fire(app, trigger, user=user, data=data).to_state


def data_of(wf: Workflow, app: int) -> dict[str, Any]:
    return dict(get_application(wf, app, user="admin")["data"])


def open_deadlines(wf: Workflow, app: int) -> list[tuple[str, str | None, str]]:
    return [(d["state"], d["party"], d["due"])
            for d in get_application(wf, app, user="admin")["deadlines"] if d["active"]]


def signed(wf: Workflow, clock: Clock, *, purchaser: str = "vallensbaek",
           start: str = "2027-01-01", on: str = "2026-06-01") -> int:
    """An agreement signed by both parties on ``on`` (terms proposed the day before)."""
    app = agreement(wf, clock, purchaser=purchaser, when=f"{on}T08:00")
    go(wf, clock, app, f"{on}T09:00", "propose_terms", "pl-ishoj", start_date=start, **TERMS)
    go(wf, clock, app, f"{on}T10:00", "sign", f"pl-{purchaser}")
    go(wf, clock, app, f"{on}T11:00", "sign", "pl-ishoj")
    return app


def to_notice(wf: Workflow, clock: Clock, app: int) -> None:
    """A signed agreement through 2027's volume, price and budgets, to the notice."""
    go(wf, clock, app, "2027-04-01T10:00", "report_volume", "pl-vallensbaek",
       expected_volume="400", service_level="Som hidtil")
    go(wf, clock, app, "2027-05-03T10:00", "calculate_price", "pl-ishoj",
       direct_costs="1000000", overhead_rate="7.5")
    go(wf, clock, app, "2027-10-01T10:00", "adopt_budget", "sec-ishoj",
       meeting_date="2027-09-30", agenda_ref="BR pkt. 4")
    go(wf, clock, app, "2027-10-15T10:00", "adopt_budget", "sec-vallensbaek",
       meeting_date="2027-10-14", agenda_ref="KB pkt. 9")


# ---------------------------------------------------------------- the whole cycle
def test_a_full_yearly_cycle(wf: Workflow, clock: Clock) -> None:
    app = agreement(wf, clock, when="2026-06-01T08:00")
    assert get_application(wf, app, user="pl-ishoj")["parties"] == ["ishoj", "vallensbaek"]
    go(wf, clock, app, "2026-06-01T09:00", "propose_terms", "pl-ishoj",
       start_date="2027-01-01", **TERMS)
    # the agreement must be signed a month before it takes effect
    assert open_deadlines(wf, app) == [("negotiation", None, "2026-12-01")]
    first = data_of(wf, app)["years"]["2027"]
    assert (first["overhead"], first["price"]) == ("92592.59", "1327160.48")
    assert [a["amount"] for a in first["a_conto"]] == ["331790.12"] * 4
    assert go(wf, clock, app, "2026-06-02T10:00", "sign", "pl-vallensbaek") == "negotiation"
    assert go(wf, clock, app, "2026-06-03T10:00", "sign", "pl-ishoj") == "volume"
    assert data_of(wf, app)["cycle_year"] == 2027
    # 1 May 2027 is a Saturday: the purchaser's deadline moves to Monday 3 May
    [(state, party, due)] = open_deadlines(wf, app)
    assert (state, party, due) == ("volume", "vallensbaek", "2027-05-03")
    [d] = [d for d in get_application(wf, app, user="admin")["deadlines"] if d["active"]]
    assert d["derivation"] == ("1. maj 2027 i årshjul 2027 (flyttet fra lørdag den 1. maj 2027)"
                               " (Vallensbæk Kommune)")

    steps = [
        ("2027-04-30T10:00", "report_volume", "pl-vallensbaek",
         {"expected_volume": "450", "service_level": "Første træning inden 5 dage"},
         "pricing", ("pricing", "ishoj", "2027-06-01")),
        ("2027-05-31T10:00", "calculate_price", "pl-ishoj",
         {"direct_costs": "1.400.000,00", "overhead_rate": "8"},
         "budget", ("budget", "ishoj", "2027-10-15")),
        ("2027-10-13T10:00", "adopt_budget", "sec-ishoj",
         {"meeting_date": "2027-10-12", "agenda_ref": "Byrådet 12. oktober 2027, punkt 3"},
         "budget", ("budget", "vallensbaek", "2027-10-15")),
        ("2027-10-14T10:00", "adopt_budget", "sec-vallensbaek",
         {"meeting_date": "2027-10-13", "agenda_ref": "KB 13-10-2027, pkt. 5"},
         "notice", ("notice", "vallensbaek", "2027-11-01")),
        ("2027-11-01T10:00", "give_notice", "pl-vallensbaek", {"budget_frame": "1.600.000"},
         "renewal", ("renewal", None, "2027-12-01")),
        ("2027-11-29T10:00", "sign_year", "pl-ishoj", {}, "renewal",
         ("renewal", None, "2027-12-01")),
        ("2027-11-30T10:00", "sign_year", "pl-vallensbaek", {}, "true_up",
         ("true_up", "ishoj", "2028-03-01")),
        ("2028-02-28T10:00", "record_true_up", "pl-ishoj", {"actual_costs": "1.250.000,10"},
         "volume", ("volume", "vallensbaek", "2028-05-01")),
    ]
    for when, trigger, user, data, state, deadline in steps:
        assert go(wf, clock, app, when, trigger, user, **data) == state, trigger
        assert deadline in open_deadlines(wf, app), (trigger, open_deadlines(wf, app))

    data = data_of(wf, app)
    assert data["cycle_year"] == 2028
    nxt = data["years"]["2028"]
    assert nxt["expected_volume"] == 450
    assert (nxt["overhead"], nxt["price"], nxt["unit_price"]) == \
        ("112000.00", "1512000.00", "3360.00")
    assert nxt["budget_frame"] == "1600000.00"
    # the true-up of 2027: 1.250.000,10 + 7,5 % = 1.343.750,11 against 1.327.160,48 paid
    trued = data["years"]["2027"]["true_up"]
    assert trued == {"actual_direct": "1250000.10", "actual_overhead": "93750.01",
                     "actual_total": "1343750.11", "paid": "1327160.48",
                     "balance": "16589.63", "until": None}
    # the history tells the cycle in order, and every step was on time
    triggers = [h.get("trigger") for h in history(wf, app, user="pl-vallensbaek")]
    assert triggers.count("sign_year") == 2 and "grant_exception" not in triggers


def test_an_agreement_starting_mid_year_opens_with_the_true_up(wf: Workflow,
                                                               clock: Clock) -> None:
    # signed in June for 1 August: next year's volume date has passed, so the first cycle
    # is next year's, and it starts by truing up the months of this one
    app = signed(wf, clock, start="2027-08-01", on="2027-06-15")
    assert get_application(wf, app, user="admin")["state"] == "true_up"
    data = data_of(wf, app)
    assert data["cycle_year"] == 2028
    # five months of 2027 (August to December): 5/12 of the annual direct costs
    first = data["years"]["2027"]
    assert (first["months"], first["direct_costs"]) == (5, "514403.29")
    assert [a["due"] for a in first["a_conto"]] == ["2027-08-01", "2027-10-01"]
    # 2028 would have been priced in 2027's cycle, which it missed: the agreed terms hold
    second = data["years"]["2028"]
    assert (second["months"], second["direct_costs"], second["price"]) == \
        (12, "1234567.89", "1327160.48")
    assert [a["due"] for a in second["a_conto"]] == \
        ["2028-01-01", "2028-04-01", "2028-07-01", "2028-10-01"]
    assert open_deadlines(wf, app) == [("true_up", "ishoj", "2028-03-01")]
    assert bum.first_cycle(date(2027, 1, 1), date(2026, 11, 30)) == (2027, "volume")
    assert bum.first_cycle(date(2027, 1, 1), date(2027, 2, 1)) == (2027, "volume")
    assert bum.first_cycle(date(2027, 1, 1), date(2027, 5, 1)) == (2028, "true_up")


# ---------------------------------------------------------------- deadlines as guards
def test_a_late_notice_is_refused_without_a_recorded_exception(wf: Workflow,
                                                               clock: Clock) -> None:
    app = signed(wf, clock)
    to_notice(wf, clock, app)
    version = get_application(wf, app, user="admin")["version"]
    clock.at("2027-11-02T09:00")   # a day late
    with pytest.raises(GuardFailed, match=r"1\. november 2027.*grant_exception"):
        wf.fire(app, "give_notice", user="pl-vallensbaek", data={"budget_frame": "1100000"})
    assert get_application(wf, app, user="admin")["version"] == version  # nothing written
    # only the steering group may record an exception, and only with a reason
    with pytest.raises(PermissionDenied, match="steering_group"):
        wf.fire(app, "grant_exception", user="pl-vallensbaek", data={"reason": "Travlt"})
    with pytest.raises(InvalidData, match="reason"):
        wf.fire(app, "grant_exception", user="dir-vallensbaek")
    wf.fire(app, "grant_exception", user="dir-vallensbaek",
            data={"reason": "Budgetforliget blev først indgået 30. oktober"})
    assert go(wf, clock, app, "2027-11-02T10:00", "give_notice", "pl-vallensbaek",
              budget_frame="1100000") == "renewal"
    [exception] = [h for h in history(wf, app, user="pl-ishoj")
                   if h.get("trigger") == "grant_exception"]
    assert exception["user"] == "dir-vallensbaek"
    assert exception["data"]["reason"] == "Budgetforliget blev først indgået 30. oktober"
    # the exception was for that state's deadline: the next one is a guard again
    clock.at("2027-12-02T09:00")
    with pytest.raises(GuardFailed, match=r"1\. december 2027"):
        wf.fire(app, "sign_year", user="pl-ishoj")


def test_a_late_signature_of_the_agreement_needs_an_exception(wf: Workflow,
                                                              clock: Clock) -> None:
    app = agreement(wf, clock, when="2026-11-20T08:00")
    go(wf, clock, app, "2026-11-20T09:00", "propose_terms", "pl-ishoj",
       start_date="2027-01-01", **TERMS)
    go(wf, clock, app, "2026-11-30T09:00", "sign", "pl-ishoj")       # in time
    clock.at("2026-12-02T09:00")
    with pytest.raises(GuardFailed, match=r"1\. december 2026"):
        wf.fire(app, "sign", user="pl-vallensbaek")
    wf.fire(app, "grant_exception", user="dir-ishoj", data={"reason": "Ferie"})
    assert wf.fire(app, "sign", user="pl-vallensbaek").to_state == "volume"


def test_each_step_is_for_its_party(wf: Workflow, clock: Clock) -> None:
    app = signed(wf, clock)
    clock.at("2027-04-01T10:00")
    with pytest.raises(GuardFailed, match=r"only the purchaser \(vallensbaek\)"):
        wf.fire(app, "report_volume", user="pl-ishoj",
                data={"expected_volume": "1", "service_level": "x"})
    go(wf, clock, app, "2027-04-01T10:00", "report_volume", "pl-vallensbaek",
       expected_volume="400", service_level="Som hidtil")
    with pytest.raises(GuardFailed, match=r"only the provider \(ishoj\)"):
        wf.fire(app, "calculate_price", user="pl-vallensbaek",
                data={"direct_costs": "1", "overhead_rate": "1"})


# ---------------------------------------------------------------- the calendar
CYCLE_2020 = [  # (state, due in 2020, why)
    ("true_up", date(2020, 3, 2), "1 March is a Sunday"),
    ("volume", date(2020, 5, 1), "a Friday, and no longer a holiday"),
    ("pricing", date(2020, 6, 2), "1 June is 2. pinsedag"),
    ("budget", date(2020, 10, 15), "a Thursday"),
    ("notice", date(2020, 11, 2), "1 November is a Sunday"),
    ("renewal", date(2020, 12, 1), "a Tuesday"),
]


@pytest.mark.parametrize(("state", "due", "why"), CYCLE_2020)
def test_cycle_deadlines_move_past_weekends_and_holidays(wf: Workflow, state: str, due: date,
                                                         why: str) -> None:
    from workflow.calendar import expressions as dl

    spec = wf.definition.processes["bum_agreement"].states[state].deadline
    assert spec is not None
    got = dl.evaluate(spec.expr, entered=date(2020, 1, 1), values={"cycle_year": 2020},
                      calendar=wf.calendar, label=wf.deadlines.field_label)
    assert got is not None and got.due == due, why
    assert ("flyttet fra" in got.derivation) == (due.day != int(spec.expr.text[3:5]))


def test_reminders_of_a_cycle_deadline_skip_pinse_and_grundlovsdag(wf: Workflow,
                                                                   clock: Clock) -> None:
    # signed in 2019 for 2020: the 2020 price calculation is due 2 June (1 June is pinse)
    app = signed(wf, clock, start="2020-01-01", on="2019-06-03")
    go(wf, clock, app, "2020-04-15T10:00", "report_volume", "pl-vallensbaek",
       expected_volume="400", service_level="Som hidtil")
    assert ("pricing", "ishoj", "2020-06-02") in open_deadlines(wf, app)
    with wf.engine.connect() as conn:
        rows = [r for r in list_reminders(conn, app_ids=[app]) if r["status"] == "pending"]
    by_step = {r["step"]: r for r in rows}
    # 5 working days before Tuesday 2 June: back over pinse to Monday 25 May
    assert by_step["before_5"]["due_at"].startswith("2020-05-25T06:00")
    assert by_step["after_1"]["due_at"].startswith("2020-06-03T06:00")
    # the escalation, 3 working days after: 5 June (grundlovsdag) is a closure day
    assert by_step["escalate"]["due_at"].startswith("2020-06-08T06:00")
    # the provider's deadline goes to the provider's project lead; escalation to the
    # steering group of both
    assert {p["id"] for p in by_step["before_5"]["recipients"]} == {"pl-ishoj"}
    assert {p["id"] for p in by_step["escalate"]["recipients"]} == {"dir-ishoj",
                                                                    "dir-vallensbaek"}


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    """An SMTP server on loopback that keeps what it accepts (tests/reminders/test_reminders.py)."""
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.mark.usefixtures("deadline_reminders_only")  # counts the deadline reminders
def test_the_reminder_e_mail_names_the_step_that_meets_the_deadline(
        wf: Workflow, clock: Clock, smtp: SmtpServer) -> None:
    app = signed(wf, clock, start="2020-01-01", on="2019-06-03")
    go(wf, clock, app, "2020-04-15T10:00", "report_volume", "pl-vallensbaek",
       expected_volume="400", service_level="Som hidtil")
    service = ReminderService(wf, Mailer(smtp.settings, timeout=10), name="bum-test",
                              templates_dir=STATES.parent / "templates")
    clock.at("2020-05-25T06:00")
    assert service.tick().sent == 1
    [mail] = smtp.inbox.mails()
    assert mail.to == {"mette.hoejgaard@ishoj.example"}
    assert mail.subject == ("Påmindelse: frist 2. juni 2020 – Registrér prisberegning – "
                            "Delaftale om rehabilitation (00.17.15-G02-1-19)")
    assert "1. juni 2020 i årshjul 2020 (flyttet fra mandag den 1. juni 2020) " \
           "(Ishøj Kommune)" in mail.body
    # the side exits (a change, termination, an exception) are not what the deadline asks
    assert "Opsig" not in mail.body and "Dispensér" not in mail.body


# ---------------------------------------------------------------- parties
def test_a_third_municipality_buys_too(wf: Workflow, clock: Clock) -> None:
    ours = signed(wf, clock)
    theirs = agreement(wf, clock, purchaser="brondby", area="rehabilitation",
                       when="2026-06-02T08:00")
    assert get_application(wf, theirs, user="pl-brondby")["parties"] == ["ishoj", "brondby"]
    # Vallensbæk is no party to Brøndby's agreement: it neither sees nor acts on it
    with pytest.raises(PermissionDenied, match="not a party"):
        get_application(wf, theirs, user="pl-vallensbaek")
    with pytest.raises(PermissionDenied, match="not a party"):
        wf.fire(theirs, "propose_terms", user="pl-vallensbaek",
                data={"start_date": "2027-01-01", **TERMS})
    assert theirs not in [a["id"] for a in list_applications(wf, user="pl-vallensbaek")]
    assert {a["id"] for a in list_applications(wf, user="pl-ishoj")} >= {ours, theirs}
    go(wf, clock, theirs, "2026-06-03T09:00", "propose_terms", "pl-ishoj",
       start_date="2027-01-01", **TERMS)
    go(wf, clock, theirs, "2026-06-03T10:00", "sign", "pl-brondby")
    assert go(wf, clock, theirs, "2026-06-03T11:00", "sign", "pl-ishoj") == "volume"
    go(wf, clock, theirs, "2027-04-01T10:00", "report_volume", "pl-brondby",
       expected_volume="30", service_level="Som Vallensbæk")
    go(wf, clock, theirs, "2027-05-03T10:00", "calculate_price", "pl-ishoj",
       direct_costs="90000", overhead_rate="7.5")
    # the budget step is joint between Brøndby's and Ishøj's councils
    assert go(wf, clock, theirs, "2027-10-01T10:00", "adopt_budget", "sec-brondby",
              meeting_date="2027-09-29", agenda_ref="KB pkt. 2") == "budget"
    with pytest.raises(PermissionDenied):
        walk_fire(wf, theirs, "adopt_budget", user="sec-vallensbaek",
                data={"meeting_date": "2027-09-29", "agenda_ref": "x"})
    assert go(wf, clock, theirs, "2027-10-02T10:00", "adopt_budget", "sec-ishoj",
              meeting_date="2027-09-30", agenda_ref="BR pkt. 8") == "notice"


def test_who_may_open_an_agreement(wf: Workflow, clock: Clock) -> None:
    clock.at("2026-06-01T08:00")
    base = {"provider": "ishoj", "purchaser": "brondby", "area": "social", "service": "x"}
    with pytest.raises(PermissionDenied, match="not a party"):
        wf.create(kind="bum_agreement", title="T", user="pl-vallensbaek", data=base)
    with pytest.raises(InvalidData, match="different"):
        wf.create(kind="bum_agreement", title="T", user="pl-ishoj",
                  data={**base, "purchaser": "ishoj"})
    with pytest.raises(InvalidData, match="needs service"):
        wf.create(kind="bum_agreement", title="T", user="pl-ishoj",
                  data={k: v for k, v in base.items() if k != "service"})
    with pytest.raises(InvalidData, match="unknown area 'jobs'"):
        wf.create(kind="bum_agreement", title="T", user="pl-ishoj", data={**base, "area": "jobs"})
    with pytest.raises(InvalidData, match="unknown municipality 'roskilde'"):
        wf.create(kind="bum_agreement", title="T", user="pl-ishoj",
                  data={**base, "purchaser": "roskilde"})
    with pytest.raises(PermissionDenied, match="project_lead"):
        wf.create(kind="bum_agreement", title="T", user="sec-ishoj", data=base)
    # an application takes no such data
    with pytest.raises(InvalidData, match="does not take"):
        wf.create(kind="jobcentre", title="T", user="pl-ishoj", data={"area": "social"})


def test_an_agreement_opened_from_a_granted_application(wf: Workflow, clock: Clock) -> None:
    granted = make_application(wf, state="granted",
                               areas=["rehabilitation", "special_education"])
    refused = make_application(wf, kind="jobcentre", state="refused")
    app = agreement(wf, clock, area="special_education", when="2026-06-01T08:00",
                    source=granted)
    # linked both ways
    assert {"rel": "agreement_for", "application": granted} in \
        get_application(wf, app, user="pl-ishoj")["links"]
    assert {"rel": "has_agreement", "application": app} in \
        get_application(wf, granted, user="pl-ishoj")["links"]
    with pytest.raises(GuardFailed, match="was not granted the area 'social'"):
        agreement(wf, clock, area="social", when="2026-06-01T09:00", source=granted)
    with pytest.raises(GuardFailed, match="is refused"):
        agreement(wf, clock, area="employment", when="2026-06-01T09:00", source=refused)
    with pytest.raises(NotFound):
        agreement(wf, clock, when="2026-06-01T09:00", source=9999)
    with pytest.raises(PermissionDenied):  # Brøndby is no party to the application
        agreement(wf, clock, purchaser="brondby", when="2026-06-01T09:00", source=granted)
    # nothing half-made by the refusals
    with wf.engine.connect() as conn:
        assert conn.execute(select(t.application.c.id)
                            .where(t.application.c.process == "bum_agreement")).all() == \
            [(app,)]


# ---------------------------------------------------------------- change and end
def test_a_change_during_the_year_needs_three_months_notice(wf: Workflow,
                                                            clock: Clock) -> None:
    app = signed(wf, clock)
    clock.at("2027-03-10T10:00")
    change = {"expected_volume": "500", "service_level": "Flere hold om aftenen"}
    with pytest.raises(GuardFailed, match=r"less than 3 months away; the earliest is "
                                          r"10\. juni 2027"):
        wf.fire(app, "change_service", user="pl-vallensbaek",
                data={"effective_date": "2027-06-09", **change})
    assert wf.fire(app, "change_service", user="pl-vallensbaek",
                   data={"effective_date": "2027-07-01", **change}).to_state == "volume"
    [recorded] = data_of(wf, app)["changes"]
    assert recorded == {"effective_date": "2027-07-01", "expected_volume": 500,
                        "service_level": "Flere hold om aftenen", "noticed_on": "2027-03-10",
                        "by": "vallensbaek"}


def test_a_change_before_both_have_signed_the_year_voids_the_first_signature(
        wf: Workflow, clock: Clock) -> None:
    """Signing the year's agreement is joint: what one party signed before a change is not
    what the other signs after it, so the change asks the first for its signature again."""
    app = signed(wf, clock)
    to_notice(wf, clock, app)
    go(wf, clock, app, "2027-11-01T10:00", "give_notice", "pl-vallensbaek",
       budget_frame="1100000")
    assert go(wf, clock, app, "2027-11-20T10:00", "sign_year", "pl-ishoj") == "renewal"
    signed_version = latest_agreement(wf, app)
    go(wf, clock, app, "2027-11-21T10:00", "change_service", "pl-vallensbaek",
       effective_date="2028-03-01", expected_volume="500", service_level="Flere hold")
    assert latest_agreement(wf, app) > signed_version  # the agreement now says otherwise
    clock.at("2027-11-22T10:00")
    out = wf.fire(app, "sign_year", user="pl-vallensbaek")
    assert (out.to_state, out.waiting_for) == ("renewal", ("ishoj",))
    assert get_application(wf, app, user="admin")["acts"]["signature"].keys() == \
        {"vallensbaek"}
    assert go(wf, clock, app, "2027-11-23T10:00", "sign_year", "pl-ishoj") == "true_up"


def latest_agreement(wf: Workflow, app: int) -> int:
    [doc] = [d for d in documents(wf, app, user="admin") if d["name"] == "bum_agreement"]
    return int(doc["latest"])


def test_the_purchaser_ends_it_with_the_agreed_notice(wf: Workflow, clock: Clock) -> None:
    app = signed(wf, clock)
    # through 2027's cycle up to the renewal, so that 2028 is priced
    go(wf, clock, app, "2027-04-01T10:00", "report_volume", "pl-vallensbaek",
       expected_volume="400", service_level="Som hidtil")
    go(wf, clock, app, "2027-05-03T10:00", "calculate_price", "pl-ishoj",
       direct_costs="1200000", overhead_rate="10")
    go(wf, clock, app, "2027-10-01T10:00", "adopt_budget", "sec-ishoj",
       meeting_date="2027-09-30", agenda_ref="BR pkt. 4")
    go(wf, clock, app, "2027-10-02T10:00", "adopt_budget", "sec-vallensbaek",
       meeting_date="2027-10-01", agenda_ref="KB pkt. 9")
    go(wf, clock, app, "2027-10-20T10:00", "give_notice", "pl-vallensbaek",
       budget_frame="1320000")
    clock.at("2027-11-10T10:00")
    with pytest.raises(PermissionDenied):
        wf.fire(app, "terminate", user="dir-vallensbaek",
                data={"end_date": "2028-06-30", "reason": "x"})
    with pytest.raises(GuardFailed, match=r"only the purchaser"):
        wf.fire(app, "terminate", user="pl-ishoj", data={"end_date": "2028-06-30", "reason": "x"})
    with pytest.raises(GuardFailed, match=r"less than 6 months away; the earliest is "
                                          r"10\. maj 2028"):
        wf.fire(app, "terminate", user="pl-vallensbaek",
                data={"end_date": "2028-04-30", "reason": "Køber i Brøndby"})
    assert go(wf, clock, app, "2027-11-10T10:00", "terminate", "pl-vallensbaek",
              end_date="2028-06-30", reason="Køber i Brøndby") == "terminating"
    # the cycle stops; the provider settles after the end date, year by year
    # 3 months after the end: 30 September 2028 is a Saturday
    assert open_deadlines(wf, app) == [("terminating", "ishoj", "2028-10-02")]
    clock.at("2028-06-30T10:00")
    with pytest.raises(GuardFailed, match=r"runs until 30\. juni 2028"):
        wf.fire(app, "settle", user="pl-ishoj", data={"actual_costs": "1"})
    with pytest.raises(InvalidTransition, match="allowed: settle"):
        wf.fire(app, "report_volume", user="pl-vallensbaek")
    # 2027 first (all four instalments), then 2028 (two instalments due by 30 June)
    assert go(wf, clock, app, "2028-07-15T10:00", "settle", "pl-ishoj",
              actual_costs="1.234.567,89") == "terminating"
    assert go(wf, clock, app, "2028-08-15T10:00", "settle", "pl-ishoj",
              actual_costs="600.000,00") == "ended"
    years = data_of(wf, app)["years"]
    assert years["2027"]["true_up"]["balance"] == "0.00"  # actual = the priced 1.327.160,48
    final = years["2028"]["true_up"]
    assert final["paid"] == "660000.00" and final["until"] == "2028-06-30"
    assert (final["actual_total"], final["balance"]) == ("660000.00", "0.00")
    assert open_deadlines(wf, app) == []


# ---------------------------------------------------------------- money
def test_cost_price_rounds_half_up_to_the_øre_where_floating_point_does_not() -> None:
    price = pricing.cost_price(Decimal("100.05"), Decimal("50"))
    assert price.overhead == Decimal("50.03") and price.total == Decimal("150.08")
    assert round(100.05 * 50 / 100, 2) == 50.02  # what float arithmetic would have booked
    # three a-conto payments of a price that does not divide: the last one takes the øre
    assert pricing.instalments(Decimal("100.00"), 3) == [Decimal("33.33")] * 2 + [Decimal("33.34")]
    up = pricing.true_up(Decimal("0.10"), Decimal("200"), Decimal("0.30"))
    assert (up.actual.total, up.balance) == (Decimal("0.30"), Decimal("0.00"))
    assert 0.1 + 0.1 * 200 / 100 != 0.3  # ... which floats get wrong


def test_the_true_up_in_the_database_is_exact(wf: Workflow, clock: Clock) -> None:
    app = agreement(wf, clock, when="2026-06-01T08:00")
    with pytest.raises(InvalidData, match="direct_costs: '1,005' has more than two decimals"):
        wf.fire(app, "propose_terms", user="pl-ishoj",
                data={**TERMS, "direct_costs": "1,005", "start_date": "2027-01-01"})
    go(wf, clock, app, "2026-06-01T09:00", "propose_terms", "pl-ishoj",
       **{**TERMS, "direct_costs": "100,05", "overhead_rate": "50"}, start_date="2027-01-01")
    go(wf, clock, app, "2026-06-01T10:00", "sign", "pl-ishoj")
    go(wf, clock, app, "2026-06-01T11:00", "sign", "pl-vallensbaek")
    first = data_of(wf, app)["years"]["2027"]
    assert first["price"] == "150.08"
    assert [a["amount"] for a in first["a_conto"]] == ["37.52", "37.52", "37.52", "37.52"]
    # a true-up whose overhead lands on half an øre: 0,15 × 50 % = 0,075 → 0,08
    go(wf, clock, app, "2027-04-01T10:00", "report_volume", "pl-vallensbaek",
       expected_volume="1", service_level="x")
    go(wf, clock, app, "2027-05-03T10:00", "calculate_price", "pl-ishoj",
       direct_costs="1", overhead_rate="1")
    go(wf, clock, app, "2027-10-01T10:00", "adopt_budget", "sec-ishoj",
       meeting_date="2027-09-30", agenda_ref="a")
    go(wf, clock, app, "2027-10-01T11:00", "adopt_budget", "sec-vallensbaek",
       meeting_date="2027-09-30", agenda_ref="b")
    go(wf, clock, app, "2027-10-20T10:00", "give_notice", "pl-vallensbaek", budget_frame="2")
    go(wf, clock, app, "2027-11-20T10:00", "sign_year", "pl-ishoj")
    go(wf, clock, app, "2027-11-20T11:00", "sign_year", "pl-vallensbaek")
    go(wf, clock, app, "2028-02-01T10:00", "record_true_up", "pl-ishoj", actual_costs="0,15")
    trued = data_of(wf, app)["years"]["2027"]["true_up"]
    assert (trued["actual_overhead"], trued["actual_total"], trued["balance"]) == \
        ("0.08", "0.23", "-149.85")


@given(total=st.decimals(min_value=0, max_value=10**9, places=2),
       count=st.integers(min_value=1, max_value=12))
def test_instalments_always_add_up(total: Decimal, count: int) -> None:
    parts = pricing.instalments(total, count)
    assert sum(parts) == total and len(parts) == count
    assert all(p.as_tuple().exponent >= -2 for p in parts)
    assert max(parts) - min(parts) < Decimal("0.01") * count


# ---------------------------------------------------------------- two processes
def test_check_validates_both_processes(wf: Workflow) -> None:
    definition = load(STATES)
    assert set(definition.processes) == {"application", "bum_agreement"}
    broken = STATES.read_text(encoding="utf-8").replace(
        "deadline: {due: 06-01 of cycle_year, for: provider",
        "deadline: {due: 06-01 of service, for: provider")
    with pytest.raises(DefinitionError, match=r"states\.yaml:\d+: processes\.bum_agreement\."
                                              r"states\.pricing\.deadline: .*'service'"):
        loads(broken)


def _without(text: str, state: str, process_marker: str) -> str:
    """``text`` without ``state`` of the process after ``process_marker`` (and its steps)."""
    head, tail = text.split(process_marker, 1)
    lines = tail.split("\n")
    out, skip = [], False
    for line in lines:
        if line.startswith(f"      {state}:"):
            skip = True
            continue
        if skip and line.startswith("        "):
            continue
        skip = False
        out.append(line)
    tail = "\n".join(out)
    return head + process_marker + tail


def test_a_change_to_one_process_never_strands_the_other(
        wf: Workflow, clock: Clock, open_wf: Callable[..., Workflow]) -> None:
    in_review = make_application(wf, state="legal_review",
                                 areas=["rehabilitation", "special_education"])
    app = signed(wf, clock)   # in `volume`
    text = STATES.read_text(encoding="utf-8")
    # the BUM process loses `abandon` and `cancelled` (nobody is there): applications are
    # untouched and the new definition is taken
    blocks = text.split("\n      - trigger:")
    no_abandon = "\n      - trigger:".join(b for b in blocks if " abandon\n" not in b)
    no_abandon = no_abandon.replace("      cancelled: {da: Opgivet, en: Abandoned, final: true}\n",
                                    "")
    taken = open_wf(definition=loads(no_abandon, file="v2.yaml"))
    assert "cancelled" not in taken.definition.processes["bum_agreement"].states
    taken.fire(in_review, "approve_draft", user="legal-ishoj")
    # removing `volume` strands the agreement, and only the agreement is named
    volume_gone = no_abandon.replace("dest: volume", "dest: pricing").replace(
        "[volume, pricing,", "[pricing,").replace("true_up, volume, pricing", "true_up, pricing")
    blocks = volume_gone.split("\n      - trigger:")
    volume_gone = "\n      - trigger:".join(b for b in blocks if "source: volume\n" not in b)
    volume_gone = _without(volume_gone, "volume", "  bum_agreement:\n")
    new = loads(volume_gone, file="v3.yaml")
    assert "volume" not in new.processes["bum_agreement"].states
    with pytest.raises(StrandedApplications) as exc:
        open_wf(definition=new)
    assert [s[0] for s in exc.value.stranded] == [app]

