"""The demo: its two shipped installation files, and example cases in either cooperation.

The examples are made by running the real engine with the clock set to moments relative
to today (:func:`load_examples`), so their history, deadlines and links are exactly what
the engine would have recorded, and a newcomer finds work due now. Their ids are fixed
(1–5 applications, 6–7 BUM agreements) and may be relied on by scripts.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, func, insert, select, update

from ..danish import long_date
from ..env import PROJECT_DIR
from ..errors import SetupError
from ..store import database as store
from ..store import tables as t
from .apply import apply
from .file import Installation
from .file import load as load_file

INSTALLATIONS = Path(PROJECT_DIR) / "installations"
# The demo's two installation files: Ishøj–Vallensbæk (whose true history is replayed)
# and Dragør–Tårnby (where the live examples run).
DEMO_FILES = (INSTALLATIONS / "ishoj-vallensbaek.yaml", INSTALLATIONS / "dragoer-taarnby.yaml")
COOPERATIONS = {"ishoj-vallensbaek": ("ishoj", "vallensbaek"),
                "dragoer-taarnby": ("dragoer", "taarnby")}


@functools.cache
def demo_installation(index: int = 0) -> Installation:
    """A shipped demo file, read and checked (once per process)."""
    return load_file(DEMO_FILES[index])


def describe(index: int) -> str:
    """A shipped file in a line: its cooperations with their members, and its users."""
    inst = demo_installation(index)
    coops = "; ".join(f"{c['id']}: {', '.join(c['members'])}, {len(c['areas'])} areas"
                      for c in inst.cooperations)
    return f"{coops}; users {', '.join(u['id'] for u in inst.users)}"


def demo_rows() -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """The Ishøj–Vallensbæk file's municipalities, areas and users, as rows: the samples
    the template checker renders."""
    inst = demo_installation(0)
    return inst.municipalities, inst.cooperations[0]["areas"], inst.users


DEMO_PASSWORD = "demo"


@functools.cache
def _demo_hash() -> str:
    from ..accounts.logins import hash_password

    return hash_password(DEMO_PASSWORD)  # argon2 is slow on purpose: hash once per process


def load_setup(engine: Engine, files: tuple[int, ...] = (0, 1)) -> bool:
    """Apply the demo's installation files (both, or those of ``files``), through the
    same code as ``workflow setup``; True if anything changed. Their users that have no
    password get the password ``demo`` (hashed like any other)."""
    changes = []
    for index in files:
        changes += apply(engine, demo_installation(index))
    ids = [u["id"] for i in files for u in demo_installation(i).users]
    demo_hash = _demo_hash()
    with store.write(engine) as conn:
        done = conn.execute(update(t.user).where(t.user.c.id.in_(ids),
                                                 t.user.c.password_hash.is_(None))
                            .values(password_hash=demo_hash))
    return bool(changes) or bool(done.rowcount)


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
                  today: date, timezone: str = "Europe/Copenhagen",
                  cooperation: str = "ishoj-vallensbaek") -> list[int]:
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
        app = t.application
        if conn.execute(select(func.count()).select_from(app)
                        .where(app.c.cooperation_id == cooperation)).scalar():
            raise SetupError(f"--examples needs a cooperation without cases: {cooperation} "
                             "has some")
        base = int(conn.execute(select(func.max(app.c.id))).scalar() or 0)
    a, b = COOPERATIONS[cooperation]          # the first plays Ishøj's part, the second
    na, nb = (str(wf.municipalities[m].name).removesuffix(" Kommune") for m in (a, b))
    ca, cb = (list(wf.municipalities[m].committees or []) for m in (a, b))
    council_a = "Byrådet" if wf.municipalities[a].council_type == "byraad" \
        else "Kommunalbestyrelsen"

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
    ids.append(new(day(-150), "09:30", f"pl-{a}", kind="jobcentre",
                   title=f"Hjemtagning af Jobcenter {nb} – første udkast"))
    go(day(-136), "14:00", base + 1, "withdraw", f"pl-{a}",
       reason="Erstattes af en fælles ansøgning efter styregruppemødet")

    # 2: the first dispensation application: approved by Ishøj Byråd, and Vallensbæk's
    # meeting held without its decision recorded yet (overdue on purpose).
    ids.append(new(day(-120), "09:00", f"pl-{a}", kind="dispensation", round=1,
                   title="Første dispensationsansøgning: genoptræning og specialundervisning"))
    go(day(-119), "10:00", base + 2, "propose_areas", f"pl-{a}",
       areas="rehabilitation,special_education")
    go(day(-118), "11:00", base + 2, "confirm_areas", f"pl-{a}")
    go(day(-117), "13:00", base + 2, "confirm_areas", f"pl-{b}")
    go(day(-90), "15:00", base + 2, "submit_for_review", f"pl-{a}")
    go(day(-84), "10:00", base + 2, "approve_draft", f"legal-{a}")
    ishoj = weekday_before(day(-25), TUESDAY)
    vallensbaek = weekday_before(day(-2), WEDNESDAY)
    go(day(-70), "09:00", base + 2, "schedule_council_meeting", f"sec-{a}",
       meeting_date=ishoj.isoformat(), agenda_ref=f"{council_a} {long_date(ishoj)}, punkt 7")
    # Ishøj's committees before the Byråd: the fagudvalg two weeks before, Økonomi- og
    # Planudvalget one week before (DOMAIN.md § 3's rhythm); Vallensbæk's Økonomiudvalget
    # a week before its council.
    for weeks, committee, item in ((2, ca[0], 5), (1, ca[-1], 9)):
        held = ishoj - timedelta(weeks=weeks)
        go(held + timedelta(days=1), "10:00", base + 2, "record_committee_decision", f"sec-{a}",
           committee=committee, decision="approved", committee_date=held.isoformat(),
           agenda_ref=f"{committee} {long_date(held)}, punkt {item}")
    go(ishoj + timedelta(days=1), "08:30", base + 2, "record_council_decision", f"sec-{a}",
       decision="approved", meeting_date=ishoj.isoformat(),
       agenda_ref=f"{council_a} {long_date(ishoj)}, punkt 7")
    go(ishoj + timedelta(days=2), "09:00", base + 2, "schedule_council_meeting", f"sec-{b}",
       meeting_date=vallensbaek.isoformat(),
       agenda_ref=f"Kommunalbestyrelsen {vallensbaek:%d-%m-%Y}, punkt 12")
    held = vallensbaek - timedelta(weeks=1)
    go(held + timedelta(days=1), "10:00", base + 2, "record_committee_decision", f"sec-{b}",
       committee=cb[-1], decision="approved", committee_date=held.isoformat(),
       agenda_ref=f"{cb[-1]} {held:%d-%m-%Y}, punkt 3")

    # 3: the jobcentre take-back, sent and refused; 4 is the satellite it opened.
    ids.append(new(day(-130), "09:30", f"pl-{a}", kind="jobcentre",
                   title=f"Hjemtagning af Jobcenter {nb}s opgaver for {na}"))
    go(day(-129), "10:30", base + 3, "confirm_areas", f"pl-{a}")
    go(day(-129), "14:00", base + 3, "confirm_areas", f"pl-{b}")
    go(day(-115), "12:00", base + 3, "submit_for_review", f"pl-{a}")
    go(day(-112), "10:00", base + 3, "approve_draft", f"legal-{a}")
    first = weekday_before(day(-100), TUESDAY)
    second = weekday_before(day(-94), WEDNESDAY)
    go(first + timedelta(days=1), "08:30", base + 3, "record_council_decision", f"sec-{a}",
       decision="approved", meeting_date=first.isoformat(),
       agenda_ref=f"{council_a} {long_date(first)}, punkt 4")
    go(second + timedelta(days=1), "09:00", base + 3, "record_council_decision", f"sec-{b}",
       decision="approved", meeting_date=second.isoformat(),
       agenda_ref=f"Kommunalbestyrelsen {second:%d-%m-%Y}, punkt 9")
    sent = max(first, second) + timedelta(days=2)
    go(sent, "11:00", base + 3, "send_to_ministry", f"pl-{a}")
    go(sent + timedelta(days=20), "10:00", base + 3, "request_info", f"pl-{a}",
       reference=f"{sent.year}-1234", request_date=(sent + timedelta(days=18)).isoformat(),
       due_date=(sent + timedelta(days=34)).isoformat(),
       questions="Hvor mange medarbejdere overføres, og hvornår?\n"
                 "Hvordan sikres de borgere, der har en sag i gang ved overgangen?")
    go(sent + timedelta(days=27), "10:00", base + 3, "answer_question", f"pl-{a}", question_no="1",
       answer="Omkring 200 medarbejdere overføres pr. 1. januar efter reglerne om "
              "virksomhedsoverdragelse.")
    go(sent + timedelta(days=28), "10:00", base + 3, "answer_question", f"pl-{a}", question_no="2",
       answer="Verserende sager afsluttes af den kommune, der har dem, efter en fælles "
              "overgangsplan, og borgerne får skriftlig besked.")
    go(sent + timedelta(days=30), "15:00", base + 3, "answer_info", f"pl-{a}")
    go(sent + timedelta(days=55), "10:00", base + 3, "record_decision", f"pl-{a}",
       outcome="refused", reference=f"{sent.year}-1234",
       decision_date=(sent + timedelta(days=53)).isoformat())
    ids.append(base + 4)
    go(day(-12), "09:00", base + 4, "confirm_areas", f"pl-{a}")
    go(day(-11), "09:00", base + 4, "confirm_areas", f"pl-{b}")

    # 5: the second application, just opened by Vallensbæk: the remaining areas (social
    # services, nature and environment) are free to propose.
    ids.append(new(day(-5), "10:00", f"pl-{b}", kind="dispensation", round=2,
                   title="Anden dispensationsansøgning: de resterende områder"))

    # 6: a BUM agreement: Vallensbæk buys rehabilitation from Ishøj at cost price, signed
    # last autumn, in force since 1 January and through this year's cycle up to today.
    year = today.year
    before = date(year - 1, 10, 13)
    ids.append(new(before, "10:00", f"pl-{b}", kind="bum_agreement",
                   title=f"Delaftale om genoptræning {year}", data={
                       "provider": a, "purchaser": b,
                       "area": "rehabilitation",
                       "service": "Genoptræning efter sundhedslovens § 140 for "
                                  f"{nb}s borgere på {na} Genoptræningscenter"}))
    go(date(year - 1, 10, 20), "13:00", base + 6, "propose_terms", f"pl-{a}",
       service_level="Første træning senest 7 dage efter udskrivning",
       expected_volume="420", direct_costs="1.234.567,50", overhead_rate="7,5",
       start_date=date(year, 1, 1).isoformat(), notice_months="6")
    go(date(year - 1, 10, 27), "09:00", base + 6, "sign", f"pl-{b}")
    go(date(year - 1, 10, 28), "11:00", base + 6, "sign", f"pl-{a}")
    budget_ishoj = weekday_before(date(year, 10, 7), TUESDAY)
    budget_vallensbaek = weekday_before(date(year, 10, 8), WEDNESDAY)
    cycle: list[tuple[date, str, str, str, dict[str, str]]] = [
        (date(year, 4, 20), "10:00", "report_volume", f"pl-{b}",
         {"expected_volume": "440",
          "service_level": "Første træning senest 5 dage efter udskrivning"}),
        (date(year, 5, 26), "10:00", "calculate_price", f"pl-{a}",
         {"direct_costs": "1.290.000,00", "overhead_rate": "7,5"}),
        (budget_ishoj + timedelta(days=1), "09:00", "adopt_budget", f"sec-{a}",
         {"meeting_date": budget_ishoj.isoformat(),
          "agenda_ref": f"{council_a} {long_date(budget_ishoj)}, punkt 3"}),
        (budget_vallensbaek + timedelta(days=1), "09:00", "adopt_budget", f"sec-{b}",
         {"meeting_date": budget_vallensbaek.isoformat(),
          "agenda_ref": f"Kommunalbestyrelsen {budget_vallensbaek:%d-%m-%Y}, punkt 4"}),
        (date(year, 10, 28), "10:00", "give_notice", f"pl-{b}",
         {"budget_frame": "1.350.000,00"}),
        (date(year, 11, 24), "09:00", "sign_year", f"pl-{b}", {}),
        (date(year, 11, 25), "11:00", "sign_year", f"pl-{a}", {}),
    ]
    now = datetime.combine(today, time(8, 0), tzinfo=tz)   # the steps due before today
    for when, hhmm, trigger, user, data in cycle:
        hour, minute = (int(x) for x in hhmm.split(":"))
        if datetime.combine(when, time(hour, minute), tzinfo=tz) >= now:
            break
        go(when, hhmm, base + 6, trigger, user, **data)

    # 7: a third buyer: Brøndby, outside the cooperation, negotiates special education
    # from the next school year.
    school_year = year if today < date(year, 6, 1) else year + 1
    ids.append(new(day(-20), "10:00", "pl-brondby", kind="bum_agreement",
                   title="Delaftale om specialundervisning for Brøndby", data={
                       "provider": a, "purchaser": "brondby",
                       "area": "special_education",
                       "service": f"Specialklassepladser på {na} Skole for elever "
                                  "fra Brøndby"}))
    go(day(-14), "10:00", base + 7, "propose_terms", f"pl-{a}",
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
