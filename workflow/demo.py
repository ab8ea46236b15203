"""The Ishøj–Vallensbæk demo: municipalities, areas and users, plus example applications.

The examples are made by running the real engine with the clock set to dates in the
winter and spring of 2018, so their history, deadlines and links are exactly what the
engine would have recorded. Their ids are fixed (1–5 applications, 6–7 BUM agreements)
and may be relied on by scripts.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, func, insert, select

from . import store
from . import tables as t
from .errors import SetupError

MUNICIPALITIES: list[dict[str, Any]] = [
    {"id": "ishoj", "name": "Ishøj Kommune", "council": "Ishøj Byråd",
     "address": "Ishøj Store Torv 20, 2635 Ishøj", "cooperation": True},
    {"id": "vallensbaek", "name": "Vallensbæk Kommune",
     "council": "Vallensbæk Kommunalbestyrelse",
     "address": "Vallensbæk Stationstorv 100, 2665 Vallensbæk Strand", "cooperation": True},
    # Not in the cooperation: a third buyer of services under a BUM agreement.
    {"id": "brondby", "name": "Brøndby Kommune", "council": "Brøndby Kommunalbestyrelse",
     "address": "Park Allé 160, 2605 Brøndby", "cooperation": False},
]

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
    from .accounts import hash_password

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
    """A clock the examples set by hand."""

    def __init__(self) -> None:
        self.now = datetime(2018, 1, 2, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def at(self, iso: str) -> SteppingClock:
        self.now = datetime.fromisoformat(iso).replace(tzinfo=UTC)
        return self


def load_examples(open_workflow: Callable[[Callable[[], datetime]], Any]) -> list[int]:
    """Create the example applications on an empty database; returns their ids."""
    clock = SteppingClock()
    wf = open_workflow(clock)
    with store.read(wf.engine) as conn:
        if conn.execute(select(func.count()).select_from(t.application)).scalar():
            raise SetupError("--examples needs a database without applications")

    def go(when: str, app: int, trigger: str, user: str, **data: str) -> None:
        clock.at(when)
        wf.fire(app, trigger, user=user, data=data)

    ids = []
    # 1: an early take-back draft, withdrawn after the steering group chose a joint course.
    clock.at("2017-12-04T09:30")
    ids.append(wf.create(kind="jobcentre", title="Hjemtagning af Jobcenter Vallensbæk – "
                         "første udkast", user="pl-ishoj"))
    go("2017-12-18T14:00", 1, "withdraw", "pl-ishoj",
       reason="Erstattes af en fælles ansøgning efter styregruppemødet")

    # 2: the first dispensation application, approved in Ishøj, on Vallensbæk's agenda.
    clock.at("2018-01-08T09:00")
    ids.append(wf.create(kind="dispensation", round=1, user="pl-ishoj",
                         title="Første dispensationsansøgning: genoptræning, "
                               "specialundervisning og natur og miljø"))
    go("2018-01-09T10:00", 2, "propose_areas", "pl-ishoj",
       areas="rehabilitation,special_education,nature_environment")
    go("2018-01-10T11:00", 2, "confirm_areas", "pl-ishoj")
    go("2018-01-11T13:00", 2, "confirm_areas", "pl-vallensbaek")
    go("2018-02-05T15:00", 2, "submit_for_review", "pl-ishoj")
    go("2018-02-12T10:00", 2, "approve_draft", "legal-ishoj")
    go("2018-02-20T09:00", 2, "schedule_council_meeting", "sec-ishoj",
       meeting_date="2018-04-03", agenda_ref="Byrådet 3. april 2018, punkt 7")
    go("2018-04-04T08:30", 2, "record_council_decision", "sec-ishoj", decision="approved",
       meeting_date="2018-04-03", agenda_ref="Byrådet 3. april 2018, punkt 7")
    go("2018-04-05T09:00", 2, "schedule_council_meeting", "sec-vallensbaek",
       meeting_date="2018-04-25", agenda_ref="Kommunalbestyrelsen 25-04-2018, punkt 12")

    # 3: the jobcentre take-back, sent and refused; 4 is the satellite it opened.
    clock.at("2018-01-08T09:30")
    ids.append(wf.create(kind="jobcentre", user="pl-ishoj",
                         title="Hjemtagning af Jobcenter Vallensbæks opgaver for Ishøj"))
    go("2018-01-09T10:30", 3, "confirm_areas", "pl-ishoj")
    go("2018-01-09T14:00", 3, "confirm_areas", "pl-vallensbaek")
    go("2018-01-22T12:00", 3, "submit_for_review", "pl-ishoj")
    go("2018-01-24T10:00", 3, "approve_draft", "legal-ishoj")
    go("2018-02-07T08:30", 3, "record_council_decision", "sec-ishoj", decision="approved",
       meeting_date="2018-02-06", agenda_ref="Byrådet 6. februar 2018, punkt 4")
    go("2018-02-15T09:00", 3, "record_council_decision", "sec-vallensbaek",
       decision="approved", meeting_date="2018-02-14",
       agenda_ref="Kommunalbestyrelsen 14-02-2018, punkt 9")
    go("2018-02-16T11:00", 3, "send_to_ministry", "pl-ishoj")
    go("2018-03-12T10:00", 3, "request_info", "pl-ishoj", reference="2018-1234",
       due_date="2018-03-26")
    go("2018-03-22T15:00", 3, "answer_info", "pl-ishoj")
    go("2018-04-16T10:00", 3, "record_decision", "pl-ishoj", outcome="refused",
       reference="2018-1234", decision_date="2018-04-13")
    ids.append(4)
    go("2018-04-18T09:00", 4, "confirm_areas", "pl-ishoj")
    go("2018-04-19T09:00", 4, "confirm_areas", "pl-vallensbaek")

    # 5: the second application with the remaining area, proposed by Vallensbæk.
    clock.at("2018-04-20T10:00")
    ids.append(wf.create(kind="dispensation", round=2, user="pl-vallensbaek",
                         title="Anden dispensationsansøgning: det sociale område"))
    go("2018-04-20T10:05", 5, "propose_areas", "pl-vallensbaek", areas="social")
    go("2018-04-23T09:00", 5, "confirm_areas", "pl-vallensbaek")

    # 6: a BUM agreement: Vallensbæk buys rehabilitation from Ishøj at cost price, signed
    # for 2019, now in its first yearly cycle.
    clock.at("2018-05-14T10:00")
    ids.append(wf.create(kind="bum_agreement", user="pl-vallensbaek",
                         title="Delaftale om genoptræning 2019", data={
                             "provider": "ishoj", "purchaser": "vallensbaek",
                             "area": "rehabilitation",
                             "service": "Genoptræning efter sundhedslovens § 140 for "
                                        "Vallensbæks borgere på Ishøj Genoptræningscenter"}))
    go("2018-05-22T13:00", 6, "propose_terms", "pl-ishoj",
       service_level="Første træning senest 7 dage efter udskrivning",
       expected_volume="420", direct_costs="1.234.567,50", overhead_rate="7,5",
       start_date="2019-01-01", notice_months="6")
    go("2018-05-28T09:00", 6, "sign", "pl-vallensbaek")
    go("2018-05-29T11:00", 6, "sign", "pl-ishoj")

    # 7: a third buyer: Brøndby, outside the cooperation, negotiates special education.
    clock.at("2018-05-30T10:00")
    ids.append(wf.create(kind="bum_agreement", user="pl-brondby",
                         title="Delaftale om specialundervisning for Brøndby", data={
                             "provider": "ishoj", "purchaser": "brondby",
                             "area": "special_education",
                             "service": "Specialklassepladser på Ishøj Skole for elever "
                                        "fra Brøndby"}))
    go("2018-06-04T10:00", 7, "propose_terms", "pl-ishoj",
       service_level="Klasser med højst 8 elever", expected_volume="12",
       direct_costs="2.100.000,00", overhead_rate="7,5", start_date="2019-08-01",
       notice_months="6")
    wf.engine.dispose()
    return ids
