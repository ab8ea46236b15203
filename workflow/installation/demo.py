"""The Ishøj–Vallensbæk demo: municipalities, areas and users, plus example applications.

The examples are made by running the real engine with the clock set to moments relative
to today (:func:`load_examples`), so their history, deadlines and links are exactly what
the engine would have recorded, and a newcomer finds work due now. Their ids are fixed
(1–5 applications, 6–7 BUM agreements) and may be relied on by scripts.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, func, insert, select, update

from ..danish import long_date
from ..errors import SetupError
from ..store import database as store
from ..store import tables as t

MUNICIPALITIES: list[dict[str, Any]] = [
    {"id": "ishoj", "name": "Ishøj Kommune", "council": "Ishøj Byråd",
     "address": "Ishøj Store Torv 20, 2635 Ishøj", "cooperation": True,
     "committees": ["Fagudvalget", "Økonomi- og Planudvalget"], "council_type": "byraad",
     "agenda_layout": "summary_first"},
    {"id": "vallensbaek", "name": "Vallensbæk Kommune",
     "council": "Vallensbæk Kommunalbestyrelse",
     "address": "Vallensbæk Stationstorv 100, 2665 Vallensbæk Strand", "cooperation": True,
     "committees": ["Fagudvalget", "Økonomiudvalget"], "council_type": "kommunalbestyrelse",
     "agenda_layout": "recommendation_first"},
    # The committees before each council are DOMAIN.md § 3's paths; "Fagudvalget" stands
    # for whichever standing committee owns the area. Brøndby's are not declared.
    # Not in the cooperation: a third buyer of services under a BUM agreement.
    {"id": "brondby", "name": "Brøndby Kommune", "council": "Brøndby Kommunalbestyrelse",
     "address": "Park Allé 160, 2605 Brøndby", "cooperation": False, "committees": None,
     "council_type": "kommunalbestyrelse", "agenda_layout": "standard"},
]

# Parts an application may ask for alone (DOMAIN.md § 2): Dragør took back serviceloven
# § 82, § 86, §§ 112–114 and § 116 and PPR (dragoer.dk); in Ishøj–Vallensbæk some
# wastewater tasks stayed with Ishøj (Folkebladet, Dec 2021). The sections are named by
# their numbers: what each one covers is not sourced here.
SOCIAL_PARTS: list[dict[str, str]] = [
    {"id": "s82", "name_da": "serviceloven § 82", "law_ref": "serviceloven § 82"},
    {"id": "s86", "name_da": "serviceloven § 86", "law_ref": "serviceloven § 86"},
    {"id": "s112_114", "name_da": "serviceloven §§ 112–114",
     "law_ref": "serviceloven §§ 112–114"},
    {"id": "s116", "name_da": "serviceloven § 116", "law_ref": "serviceloven § 116"},
]
PARTS: dict[str, list[dict[str, str]]] = {
    "social": SOCIAL_PARTS,
    "special_education": [{"id": "ppr", "name_da": "Pædagogisk psykologisk rådgivning (PPR)",
                           "law_ref": ""}],
    "nature_environment": [{"id": "wastewater", "name_da": "Spildevand", "law_ref": ""}],
}

# § 1, stk. 2 of lov om forpligtende kommunale samarbejder lists the five areas.
AREAS: list[dict[str, Any]] = [
    {"id": "employment", "name_da": "Beskæftigelse (jobcenter)", "name_en": "Employment",
     "law_ref": "§ 1, stk. 2, nr. 1", "run_by": "vallensbaek", "position": 1},
    {"id": "rehabilitation", "name_da": "Genoptræning", "name_en": "Rehabilitation",
     "law_ref": "§ 1, stk. 2, nr. 2", "run_by": "ishoj", "position": 2},
    {"id": "social", "name_da": "Det sociale område", "name_en": "Social services",
     "law_ref": "§ 1, stk. 2, nr. 5", "run_by": "ishoj", "position": 3},
    {"id": "special_education", "name_da": "Specialundervisning",
     "name_en": "Special education", "law_ref": "§ 1, stk. 2, nr. 4", "run_by": "ishoj",
     "position": 4},
    {"id": "nature_environment", "name_da": "Natur og miljø",
     "name_en": "Nature and environment", "law_ref": "§ 1, stk. 2, nr. 3", "run_by": "ishoj",
     "position": 5},
]
for _area in AREAS:
    _area["parts"] = PARTS.get(_area["id"])

USERS: list[dict[str, Any]] = [
    {"id": "pl-ishoj", "name": "Mette Højgaard", "role": "project_lead",
     "municipality": "ishoj", "email": "mette.hoejgaard@ishoj.example"},
    {"id": "pl-vallensbaek", "name": "Anders Løvengreen", "role": "project_lead",
     "municipality": "vallensbaek", "email": "anders.loevengreen@vallensbaek.example"},
    {"id": "sec-ishoj", "name": "Birthe Ærenlund", "role": "council_secretary",
     "municipality": "ishoj", "email": "birthe.aerenlund@ishoj.example"},
    {"id": "sec-vallensbaek", "name": "Jørgen Ståhl", "role": "council_secretary",
     "municipality": "vallensbaek", "email": "joergen.staahl@vallensbaek.example"},
    {"id": "legal-ishoj", "name": "Lærke Østergaard", "role": "legal",
     "municipality": "ishoj", "email": "laerke.oestergaard@ishoj.example"},
    {"id": "legal-vallensbaek", "name": "Søren Å. Bøgh", "role": "legal",
     "municipality": "vallensbaek", "email": "soeren.boegh@vallensbaek.example"},
    {"id": "dir-ishoj", "name": "Hanne Ørsted", "role": "steering_group",
     "municipality": "ishoj", "email": "hanne.oersted@ishoj.example"},
    {"id": "dir-vallensbaek", "name": "Peter Skøtt", "role": "steering_group",
     "municipality": "vallensbaek", "email": "peter.skoett@vallensbaek.example"},
    {"id": "pl-brondby", "name": "Karen Brønnum", "role": "project_lead",
     "municipality": "brondby", "email": "karen.broennum@brondby.example"},
    {"id": "sec-brondby", "name": "Ole Sørensen", "role": "council_secretary",
     "municipality": "brondby", "email": "ole.soerensen@brondby.example"},
    {"id": "admin", "name": "Systemadministrator", "role": "admin", "municipality": None,
     "email": "admin@ishoj.example"},
]


DEMO_PASSWORD = "demo"


@functools.cache
def _demo_hash() -> str:
    from ..accounts.logins import hash_password

    return hash_password(DEMO_PASSWORD)  # argon2 is slow on purpose: hash once per process


def load_setup(engine: Engine) -> bool:
    """Insert the municipalities, areas and users that are missing; True if any were.

    The demo users get the password ``demo`` (hashed like any other).
    """
    added = False
    demo_hash = _demo_hash()
    users = [{**u, "password_hash": demo_hash} for u in USERS]
    with store.write(engine) as conn:
        for table, rows in ((t.municipality, MUNICIPALITIES), (t.area, AREAS),
                            (t.user, users)):
            have = {r[0] for r in conn.execute(select(table.c.id))}
            new = [r for r in rows if r["id"] not in have]
            if new:
                conn.execute(insert(table), new)
                added = True
        have_parts = dict(conn.execute(select(t.area.c.id, t.area.c.parts)).all())
        for area in AREAS:   # parts declared since: filled into rows that have none
            if area["parts"] and area["id"] in have_parts and not have_parts[area["id"]]:
                conn.execute(update(t.area).where(t.area.c.id == area["id"])
                             .values(parts=area["parts"]))
                added = True
    return added


def ensure_admin(engine: Engine) -> bool:
    """An installation without the demo gets a user 'admin' (no password); True if made."""
    with store.write(engine) as conn:
        if conn.execute(select(t.user.c.id).where(t.user.c.role == "admin")).first():
            return False
        conn.execute(insert(t.user).values(id="admin", name="Administrator", role="admin",
                                           municipality=None, email="", active=True))
    return True


class SteppingClock:
    """A clock the examples set by hand, in Danish time."""

    def __init__(self, tz: ZoneInfo) -> None:
        self.tz = tz
        self.now = datetime(2018, 1, 2, 8, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def at(self, day: date, hhmm: str = "09:00") -> SteppingClock:
        hour, minute = map(int, hhmm.split(":"))
        self.now = datetime.combine(day, time(hour, minute), tzinfo=self.tz).astimezone(UTC)
        return self


def weekday_before(day: date, weekday: int) -> date:
    """The last ``weekday`` (0 = Monday) on or before ``day``: Ishøj Byråd meets on
    Tuesdays, Vallensbæk Kommunalbestyrelse on Wednesdays (DOMAIN.md § 3)."""
    return day - timedelta(days=(day.weekday() - weekday) % 7)


TUESDAY, WEDNESDAY = 1, 2


def load_examples(open_workflow: Callable[[Callable[[], datetime]], Any], *,
                  today: date, timezone: str = "Europe/Copenhagen") -> list[int]:
    """Create the examples on an empty database, dated relative to ``today``; their ids.

    The cases stand as a newcomer can work on them at once: the first application waits
    for Vallensbæk's council decision, whose meeting was held two or more days ago (the
    one deadline overdue on purpose); the refused take-back's satellite is being drafted;
    the second application is opened with its two areas still free to propose; a BUM
    agreement runs in this year's cycle at its signed price, and Brøndby negotiates one.
    Every step runs through the real engine at its own moment, so history, deadlines,
    reminders, drafts and links are what the engine would have recorded.
    """
    tz = ZoneInfo(timezone)
    clock = SteppingClock(tz)
    wf = open_workflow(clock)
    with store.read(wf.engine) as conn:
        if conn.execute(select(func.count()).select_from(t.application)).scalar():
            raise SetupError("--examples needs a database without applications")

    def day(offset: int) -> date:
        return today + timedelta(days=offset)

    def go(when: date, hhmm: str, app: int, trigger: str, user: str, **data: str) -> None:
        clock.at(when, hhmm)
        wf.fire(app, trigger, user=user, data=data)

    def new(when: date, hhmm: str, user: str, **kwargs: Any) -> int:
        clock.at(when, hhmm)
        return int(wf.create(user=user, **kwargs))

    ids = []
    # 1: an early take-back draft, withdrawn after the steering group chose a joint course.
    ids.append(new(day(-150), "09:30", "pl-ishoj", kind="jobcentre",
                   title="Hjemtagning af Jobcenter Vallensbæk – første udkast"))
    go(day(-136), "14:00", 1, "withdraw", "pl-ishoj",
       reason="Erstattes af en fælles ansøgning efter styregruppemødet")

    # 2: the first dispensation application: approved by Ishøj Byråd, and Vallensbæk's
    # meeting held without its decision recorded yet (overdue on purpose).
    ids.append(new(day(-120), "09:00", "pl-ishoj", kind="dispensation", round=1,
                   title="Første dispensationsansøgning: genoptræning og specialundervisning"))
    go(day(-119), "10:00", 2, "propose_areas", "pl-ishoj",
       areas="rehabilitation,special_education")
    go(day(-118), "11:00", 2, "confirm_areas", "pl-ishoj")
    go(day(-117), "13:00", 2, "confirm_areas", "pl-vallensbaek")
    go(day(-90), "15:00", 2, "submit_for_review", "pl-ishoj")
    go(day(-84), "10:00", 2, "approve_draft", "legal-ishoj")
    ishoj = weekday_before(day(-25), TUESDAY)
    vallensbaek = weekday_before(day(-2), WEDNESDAY)
    go(day(-70), "09:00", 2, "schedule_council_meeting", "sec-ishoj",
       meeting_date=ishoj.isoformat(), agenda_ref=f"Byrådet {long_date(ishoj)}, punkt 7")
    # Ishøj's committees before the Byråd: the fagudvalg two weeks before, Økonomi- og
    # Planudvalget one week before (DOMAIN.md § 3's rhythm); Vallensbæk's Økonomiudvalget
    # a week before its council.
    for weeks, committee, item in ((2, "Fagudvalget", 5), (1, "Økonomi- og Planudvalget", 9)):
        held = ishoj - timedelta(weeks=weeks)
        go(held + timedelta(days=1), "10:00", 2, "record_committee_decision", "sec-ishoj",
           committee=committee, decision="approved", committee_date=held.isoformat(),
           agenda_ref=f"{committee} {long_date(held)}, punkt {item}")
    go(ishoj + timedelta(days=1), "08:30", 2, "record_council_decision", "sec-ishoj",
       decision="approved", meeting_date=ishoj.isoformat(),
       agenda_ref=f"Byrådet {long_date(ishoj)}, punkt 7")
    go(ishoj + timedelta(days=2), "09:00", 2, "schedule_council_meeting", "sec-vallensbaek",
       meeting_date=vallensbaek.isoformat(),
       agenda_ref=f"Kommunalbestyrelsen {vallensbaek:%d-%m-%Y}, punkt 12")
    held = vallensbaek - timedelta(weeks=1)
    go(held + timedelta(days=1), "10:00", 2, "record_committee_decision", "sec-vallensbaek",
       committee="Økonomiudvalget", decision="approved", committee_date=held.isoformat(),
       agenda_ref=f"Økonomiudvalget {held:%d-%m-%Y}, punkt 3")

    # 3: the jobcentre take-back, sent and refused; 4 is the satellite it opened.
    ids.append(new(day(-130), "09:30", "pl-ishoj", kind="jobcentre",
                   title="Hjemtagning af Jobcenter Vallensbæks opgaver for Ishøj"))
    go(day(-129), "10:30", 3, "confirm_areas", "pl-ishoj")
    go(day(-129), "14:00", 3, "confirm_areas", "pl-vallensbaek")
    go(day(-115), "12:00", 3, "submit_for_review", "pl-ishoj")
    go(day(-112), "10:00", 3, "approve_draft", "legal-ishoj")
    first = weekday_before(day(-100), TUESDAY)
    second = weekday_before(day(-94), WEDNESDAY)
    go(first + timedelta(days=1), "08:30", 3, "record_council_decision", "sec-ishoj",
       decision="approved", meeting_date=first.isoformat(),
       agenda_ref=f"Byrådet {long_date(first)}, punkt 4")
    go(second + timedelta(days=1), "09:00", 3, "record_council_decision", "sec-vallensbaek",
       decision="approved", meeting_date=second.isoformat(),
       agenda_ref=f"Kommunalbestyrelsen {second:%d-%m-%Y}, punkt 9")
    sent = max(first, second) + timedelta(days=2)
    go(sent, "11:00", 3, "send_to_ministry", "pl-ishoj")
    go(sent + timedelta(days=20), "10:00", 3, "request_info", "pl-ishoj",
       reference=f"{sent.year}-1234", request_date=(sent + timedelta(days=18)).isoformat(),
       due_date=(sent + timedelta(days=34)).isoformat(),
       questions="Hvor mange medarbejdere overføres, og hvornår?\n"
                 "Hvordan sikres de borgere, der har en sag i gang ved overgangen?")
    go(sent + timedelta(days=27), "10:00", 3, "answer_question", "pl-ishoj", question_no="1",
       answer="Omkring 200 medarbejdere overføres pr. 1. januar efter reglerne om "
              "virksomhedsoverdragelse.")
    go(sent + timedelta(days=28), "10:00", 3, "answer_question", "pl-ishoj", question_no="2",
       answer="Verserende sager afsluttes af den kommune, der har dem, efter en fælles "
              "overgangsplan, og borgerne får skriftlig besked.")
    go(sent + timedelta(days=30), "15:00", 3, "answer_info", "pl-ishoj")
    go(sent + timedelta(days=55), "10:00", 3, "record_decision", "pl-ishoj",
       outcome="refused", reference=f"{sent.year}-1234",
       decision_date=(sent + timedelta(days=53)).isoformat())
    ids.append(4)
    go(day(-12), "09:00", 4, "confirm_areas", "pl-ishoj")
    go(day(-11), "09:00", 4, "confirm_areas", "pl-vallensbaek")

    # 5: the second application, just opened by Vallensbæk: the remaining areas (social
    # services, nature and environment) are free to propose.
    ids.append(new(day(-5), "10:00", "pl-vallensbaek", kind="dispensation", round=2,
                   title="Anden dispensationsansøgning: de resterende områder"))

    # 6: a BUM agreement: Vallensbæk buys rehabilitation from Ishøj at cost price, signed
    # last autumn, in force since 1 January and through this year's cycle up to today.
    year = today.year
    before = date(year - 1, 10, 13)
    ids.append(new(before, "10:00", "pl-vallensbaek", kind="bum_agreement",
                   title=f"Delaftale om genoptræning {year}", data={
                       "provider": "ishoj", "purchaser": "vallensbaek",
                       "area": "rehabilitation",
                       "service": "Genoptræning efter sundhedslovens § 140 for "
                                  "Vallensbæks borgere på Ishøj Genoptræningscenter"}))
    go(date(year - 1, 10, 20), "13:00", 6, "propose_terms", "pl-ishoj",
       service_level="Første træning senest 7 dage efter udskrivning",
       expected_volume="420", direct_costs="1.234.567,50", overhead_rate="7,5",
       start_date=date(year, 1, 1).isoformat(), notice_months="6")
    go(date(year - 1, 10, 27), "09:00", 6, "sign", "pl-vallensbaek")
    go(date(year - 1, 10, 28), "11:00", 6, "sign", "pl-ishoj")
    budget_ishoj = weekday_before(date(year, 10, 7), TUESDAY)
    budget_vallensbaek = weekday_before(date(year, 10, 8), WEDNESDAY)
    cycle: list[tuple[date, str, str, str, dict[str, str]]] = [
        (date(year, 4, 20), "10:00", "report_volume", "pl-vallensbaek",
         {"expected_volume": "440",
          "service_level": "Første træning senest 5 dage efter udskrivning"}),
        (date(year, 5, 26), "10:00", "calculate_price", "pl-ishoj",
         {"direct_costs": "1.290.000,00", "overhead_rate": "7,5"}),
        (budget_ishoj + timedelta(days=1), "09:00", "adopt_budget", "sec-ishoj",
         {"meeting_date": budget_ishoj.isoformat(),
          "agenda_ref": f"Byrådet {long_date(budget_ishoj)}, punkt 3"}),
        (budget_vallensbaek + timedelta(days=1), "09:00", "adopt_budget", "sec-vallensbaek",
         {"meeting_date": budget_vallensbaek.isoformat(),
          "agenda_ref": f"Kommunalbestyrelsen {budget_vallensbaek:%d-%m-%Y}, punkt 4"}),
        (date(year, 10, 28), "10:00", "give_notice", "pl-vallensbaek",
         {"budget_frame": "1.350.000,00"}),
        (date(year, 11, 24), "09:00", "sign_year", "pl-vallensbaek", {}),
        (date(year, 11, 25), "11:00", "sign_year", "pl-ishoj", {}),
    ]
    now = datetime.combine(today, time(8, 0), tzinfo=tz)   # the steps due before today
    for when, hhmm, trigger, user, data in cycle:
        hour, minute = (int(x) for x in hhmm.split(":"))
        if datetime.combine(when, time(hour, minute), tzinfo=tz) >= now:
            break
        go(when, hhmm, 6, trigger, user, **data)

    # 7: a third buyer: Brøndby, outside the cooperation, negotiates special education
    # from the next school year.
    school_year = year if today < date(year, 6, 1) else year + 1
    ids.append(new(day(-20), "10:00", "pl-brondby", kind="bum_agreement",
                   title="Delaftale om specialundervisning for Brøndby", data={
                       "provider": "ishoj", "purchaser": "brondby",
                       "area": "special_education",
                       "service": "Specialklassepladser på Ishøj Skole for elever "
                                  "fra Brøndby"}))
    go(day(-14), "10:00", 7, "propose_terms", "pl-ishoj",
       service_level="Klasser med højst 8 elever", expected_volume="12",
       direct_costs="2.100.000,00", overhead_rate="7,5",
       start_date=date(school_year, 8, 1).isoformat(), notice_months="6")
    past_notices_told(wf.engine)
    wf.engine.dispose()
    return ids


def past_notices_told(engine: Engine) -> None:
    """The your-turn notices of steps replayed in the past are history, not news: marked
    cancelled, so that a scheduler started now does not send them."""
    r = t.reminder
    with store.write(engine) as conn:
        conn.execute(r.update().where(r.c.deadline_id.is_(None), r.c.status == "pending")
                     .values(status="cancelled", last_error="replayed in the past"))
