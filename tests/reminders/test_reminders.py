"""Deadline reminders: the ledger kept with the deadlines, and the service that e-mails it.

Everything is real: the engine on a SQLite file and on PostgreSQL (``wf``), a settable clock,
and an SMTP server on loopback (aiosmtpd) that records what it accepted. The schedule is
checked against dates worked out by hand on the Danish calendar (Easter, store bededag, the
switch to summer time); the service against what actually reached the server.
"""

from __future__ import annotations

import email
import email.policy
import json
import re
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from email.header import decode_header, make_header
from email.message import EmailMessage
from email.utils import getaddresses
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.controller import Controller
from click.testing import CliRunner
from icalendar import Calendar

from tests.conftest import Clock
from tests.factories import make_application, walk_fire
from workflow.calendar.workdays import WorkCalendar
from workflow.cli.app import cli
from workflow.config import SmtpSettings
from workflow.engine.queries import history
from workflow.engine.workflow import Workflow
from workflow.reminders.ledger import BACKOFF, MAX_ATTEMPTS, OUTAGE_BACKOFF, list_reminders
from workflow.reminders.mailer import Mailer
from workflow.reminders.service import ReminderService
from workflow.store import database as store
from workflow.store import tables as t

PROJECT_DIR = Path(__file__).resolve().parents[2]
TEMPLATES = PROJECT_DIR / "templates"
SENDER = "sagsstyring@ishoj.example"
CPH = ZoneInfo("Europe/Copenhagen")
CPR_LIKE = re.compile(r"(?<!\d)\d{6}-?\d{4}(?!\d)")

# The demo users' addresses (workflow/demo.py)
PL_ISHOJ = "mette.hoejgaard@ishoj.example"
PL_VALLENSBAEK = "anders.loevengreen@vallensbaek.example"
SEC_ISHOJ = "birthe.aerenlund@ishoj.example"
SEC_VALLENSBAEK = "joergen.staahl@vallensbaek.example"
DIR_ISHOJ = "hanne.oersted@ishoj.example"
DIR_VALLENSBAEK = "peter.skoett@vallensbaek.example"
PROJECT_LEADS = {PL_ISHOJ, PL_VALLENSBAEK}
STEERING_GROUP = {DIR_ISHOJ, DIR_VALLENSBAEK}

# Round-1 dispensations need 2-3 areas and an area can be in one live application only:
# applications that live side by side in one test take these in turn.
AREAS_A = ["rehabilitation", "special_education"]
AREAS_B = ["social", "nature_environment"]
TITLE = "Genoptræning og specialundervisning i Ishøj og Vallensbæk"
# A longer title, whose subject Python's e-mail header folding garbles (see the last test)
LONG_TITLE = "Hjemtagning af genoptræning – Ishøj og Vallensbæk, særlige økonomiske forhold"


def decoded_subject(raw: bytes) -> str:
    """The Subject as email.header decodes it (unfolded first, as RFC 5322 says)."""
    folded = email.message_from_bytes(raw)["Subject"]  # compat32: the text on the wire
    return str(make_header(decode_header(re.sub(r"\r?\n(?=[ \t])", "", folded))))


def utc(iso: str) -> datetime:
    return datetime.fromisoformat(iso).replace(tzinfo=UTC)


# the deadline reminders alone (tests/reminders/conftest.py)
pytestmark = pytest.mark.usefixtures("deadline_reminders_only")


# ------------------------------------------------------------------- the SMTP server
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Mail:
    """One message the server accepted (or refused), as it came over the wire."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    raw: bytes

    @property
    def message(self) -> EmailMessage:
        msg = email.message_from_bytes(self.raw, policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        return msg

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"]).strip()

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def to(self) -> set[str]:
        return {addr for _, addr in getaddresses([str(self.message["To"])])}

    @property
    def body(self) -> str:
        return str(self.message.get_content()).replace("\r\n", "\n")


class Inbox:
    """An aiosmtpd handler: keeps what it accepted; can refuse recipients or messages."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.accepted: list[Mail] = []
        self.refused: list[tuple[Mail, str]] = []
        self.refuse_rcpt: set[str] = set()
        # Called with each message before it is accepted; a returned reply (e.g. "550 ...")
        # refuses it instead.
        self.on_data: Callable[[Mail], str | None] | None = None
        # Called with each accepted message: True drops the connection before the reply,
        # so the server has the message but the client never learns it.
        self.hang_up: Callable[[Mail], bool] | None = None

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        if address in self.refuse_rcpt:
            return f"550 5.1.1 <{address}>: mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or envelope.content
        mail = Mail(envelope.mail_from, tuple(envelope.rcpt_tos),
                    raw if isinstance(raw, bytes) else raw.encode())
        reply = self.on_data(mail) if self.on_data else None
        with self.lock:
            if reply is not None and not reply.startswith("250"):
                self.refused.append((mail, reply))
                return reply
            self.accepted.append(mail)
        if self.hang_up is not None and self.hang_up(mail):
            server.transport.close()
        return reply or "250 Message accepted for delivery"

    def mails(self) -> list[Mail]:
        with self.lock:
            return list(self.accepted)

    def by_id(self) -> dict[str, list[Mail]]:
        out: dict[str, list[Mail]] = {}
        for m in self.mails():
            out.setdefault(m.message_id, []).append(m)
        return out


class SmtpServer:
    """An SMTP server on 127.0.0.1 that can be stopped and started again on its port."""

    def __init__(self, inbox: Inbox | Any | None = None, port: int | None = None) -> None:
        self.inbox = inbox or Inbox()
        self.port = port or free_port()
        self.controller: Controller | None = None

    def start(self) -> SmtpServer:
        assert self.controller is None
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port,
                                     server_hostname="smtp.test", ready_timeout=10)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    @property
    def settings(self) -> SmtpSettings:
        return SmtpSettings(host="127.0.0.1", port=self.port, sender=SENDER)

    def env(self) -> dict[str, str]:
        return {"WORKFLOW_SMTP_HOST": "127.0.0.1", "WORKFLOW_SMTP_PORT": str(self.port),
                "WORKFLOW_SMTP_FROM": SENDER}


# ---------------------------------------------------------------------------- helpers
def ledger(wf: Workflow, app: int | None = None, *, status: str | None = None
           ) -> list[dict[str, Any]]:
    with store.read(wf.engine) as conn:
        return list_reminders(conn, app_ids=None if app is None else [app], status=status)


def steps(wf: Workflow, app: int, state: str | None = None, party: str | None = None
          ) -> dict[str, dict[str, Any]]:
    """The application's reminder rows by step (of one state and party, if given)."""
    return {r["step"]: r for r in ledger(wf, app)
            if (state is None or r["state"] == state) and r["party"] == party}


def due_at(rows: dict[str, dict[str, Any]]) -> dict[str, datetime]:
    return {k: datetime.fromisoformat(r["due_at"]) for k, r in rows.items()}


def raw_rows(wf: Workflow, app: int) -> dict[int, Any]:
    """The ledger's own columns (claimed_by, claimed_until, ...), by id."""
    r = t.reminder
    with store.read(wf.engine) as conn:
        return {row.id: row for row in conn.execute(
            r.select().where(r.c.application_id == app).order_by(r.c.id))}


def expected_id(row: dict[str, Any]) -> str:
    return f"<reminder-{row['id']}.case-{row['application']}@ishoj.example>"


def cli_env(db_url: str, smtp: SmtpServer | None = None) -> dict[str, str]:
    env = {"WORKFLOW_DATABASE_URL": db_url}
    if smtp is not None:
        env.update(smtp.env())
    return env


def run_cli(env: dict[str, str], *args: str) -> str:
    result = CliRunner().invoke(cli, list(args), env=env)
    assert result.exit_code == 0, f"{args}: {result.output}"
    assert result.exception is None
    return result.stdout


def drafting_case(wf: Workflow, clock: Clock, entered: str, *, areas: list[str] = AREAS_A,
                  title: str = TITLE) -> int:
    clock.at(entered)
    return make_application(wf, state="drafting", areas=areas, title=title)


# ================================================================ the schedule itself
# Drafting, 20 working days from Tuesday 20 March 2018, across Easter 2018:
#   Wed 21 (1), Thu 22 (2), Fri 23 (3), Mon 26 (4), Tue 27 (5), Wed 28 (6);
#   Thu 29/3 skærtorsdag, Fri 30/3 langfredag, Sat/Sun, Mon 2/4 2. påskedag: skipped;
#   Tue 3/4 (7), Wed 4 (8), Thu 5 (9), Fri 6 (10), Mon 9 - Fri 13 (11-15),
#   Mon 16 - Fri 20 (16-20)  ->  due Friday 20 April 2018.
#   before_5: back from 20/4: 19 (1), 18 (2), 17 (3), 16 (4), Fri 13 (5) -> Fri 13 April
#   before_1: Thu 19 April;  after_1: Mon 23 April;  escalate (+3): 23, 24, 25 -> Wed 25 April
#   All after 25 March, Danish summer time (CEST, UTC+2): 08:00 there is 06:00 UTC.
#
# Drafting, 20 working days from Tuesday 27 February 2018 (summer time and Easter between
# the steps):
#   Wed 28/2 (1), Thu 1/3 (2), Fri 2 (3), Mon 5 - Fri 9 (4-8), Mon 12 - Fri 16 (9-13),
#   Mon 19 - Fri 23 (14-18), Mon 26 (19), Tue 27 (20)  ->  due Tuesday 27 March 2018.
#   before_5: 26 (1), Fri 23 (2), 22 (3), 21 (4), Tue 20 (5) -> Tue 20 March, still winter
#            time (CET, UTC+1): 08:00 is 07:00 UTC.
#   before_1: Mon 26 March, the day after the switch (Sunday 25 March): 06:00 UTC.
#   after_1: Wed 28 March, 06:00 UTC.
#   escalate: Wed 28 (1), [29, 30, 31, 1, 2 April skipped], Tue 3 (2), Wed 4 (3) -> 4 April.
SCHEDULES = {
    "easter": ("2018-03-20T09:00", date(2018, 4, 20), "20 arbejdsdage fra 20. marts 2018", {
        "before_5": "2018-04-13T06:00", "before_1": "2018-04-19T06:00",
        "after_1": "2018-04-23T06:00", "escalate": "2018-04-25T06:00"}),
    "summer_time": ("2018-02-27T09:00", date(2018, 3, 27),
                    "20 arbejdsdage fra 27. februar 2018", {
                        "before_5": "2018-03-20T07:00", "before_1": "2018-03-26T06:00",
                        "after_1": "2018-03-28T06:00", "escalate": "2018-04-04T06:00"}),
}


@pytest.mark.parametrize("case", list(SCHEDULES))
def test_drafting_schedule_across_easter_and_summer_time(wf: Workflow, clock: Clock,
                                                         case: str) -> None:
    entered, due, derivation, expected = SCHEDULES[case]
    app = drafting_case(wf, clock, entered)
    rows = steps(wf, app, "drafting")
    assert list(rows) == ["before_5", "before_1", "after_1", "escalate"]  # in due order
    assert due_at(rows) == {k: utc(v) for k, v in expected.items()}
    for r in rows.values():
        assert r["deadline_due"] == due.isoformat()
        assert r["derivation"] == derivation
        assert r["status"] == "pending" and r["attempts"] == 0 and r["sent_at"] is None
        assert r["next_attempt_at"] == r["due_at"]
        assert r["escalation"] == (r["step"] == "escalate")
        local = datetime.fromisoformat(r["due_at"]).astimezone(CPH)
        assert local.time() == time(8, 0)  # 08:00 Danish time, whatever the season
        assert WorkCalendar("DK").is_working_day(local.date())


def test_legal_review_schedule_after_a_transition(wf: Workflow, clock: Clock) -> None:
    """The deadline is counted from the day the case entered the state, not from creation.

    Legal review, 10 working days from Wednesday 14 March 2018: 15, 16, 19, 20, 21, 22, 23,
    26, 27, 28 -> due Wednesday 28 March. before_5: 27, 26, 23, 22, 21 -> Wed 21 March at
    07:00 UTC (winter time); before_1: Tue 27 March 06:00 UTC (summer time); after_1: the
    Easter days 29/3-2/4 are skipped -> Tue 3 April; escalate: 3, 4, 5 -> Thu 5 April.
    """
    app = drafting_case(wf, clock, "2018-03-01T09:00")
    clock.at("2018-03-14T09:00")
    wf.fire(app, "submit_for_review", user="pl-ishoj")
    rows = steps(wf, app, "legal_review")
    assert due_at(rows) == {"before_5": utc("2018-03-21T07:00"),
                            "before_1": utc("2018-03-27T06:00"),
                            "after_1": utc("2018-04-03T06:00"),
                            "escalate": utc("2018-04-05T06:00")}
    assert {r["derivation"] for r in rows.values()} == {"10 arbejdsdage fra 14. marts 2018"}
    # the legal review is moved on by the legal staff: they are reminded, of both
    # municipalities (the project leads, too, as they may withdraw the case: see the report)
    assert {"legal-ishoj", "legal-vallensbaek"} <= {p["id"] for p in
                                                    rows["before_1"]["recipients"]}


def test_store_bededag_2023_is_skipped_but_26_april_2024_is_a_working_day(
        wf: Workflow, clock: Clock) -> None:
    """Store bededag (Friday 5 May 2023) was a holiday; its 2024 date, 26 April, is not.

    Ishøj's council meets on Thursday 4 May 2023: before_1 is Wed 3 May; after_1 skips
    Fri 5 May (store bededag) and the weekend -> Mon 8 May; escalate: 8, 9, 10 -> Wed 10 May.
    Ishøj's council meets on Thursday 25 April 2024: after_1 is Fri 26 April (store bededag
    was abolished from 2024); escalate: 26, 29, 30 -> Tue 30 April. All summer time (06:00 UTC).
    """
    cal = WorkCalendar("DK")
    assert not cal.is_working_day(date(2023, 5, 5))
    assert cal.is_working_day(date(2024, 4, 26))
    expected = {
        ("2023-04-03T08:00", "2023-05-04", tuple(AREAS_A)): {
            "before_5": "2023-04-27T06:00", "before_1": "2023-05-03T06:00",
            "after_1": "2023-05-08T06:00", "escalate": "2023-05-10T06:00"},
        ("2024-04-02T08:00", "2024-04-25", tuple(AREAS_B)): {
            "before_5": "2024-04-18T06:00", "before_1": "2024-04-24T06:00",
            "after_1": "2024-04-26T06:00", "escalate": "2024-04-30T06:00"},
    }
    for (entered, meeting, areas), times in expected.items():
        clock.at(entered)
        app = make_application(wf, state="council_approval", areas=list(areas))
        clock.advance(hours=1)
        wf.fire(app, "schedule_council_meeting", user="sec-ishoj",
                data={"meeting_date": meeting, "agenda_ref": "BR pkt. 4"})
        rows = steps(wf, app, "council_approval", "ishoj")
        assert due_at(rows) == {k: utc(v) for k, v in times.items()}, meeting
        assert {r["deadline_due"] for r in rows.values()} == {meeting}


# ============================================================ who gets what, and how
def test_drafting_reminders_go_to_both_project_leads_then_the_steering_group(
        wf: Workflow, clock: Clock, smtp: SmtpServer,
        service: Callable[..., ReminderService]) -> None:
    app = drafting_case(wf, clock, "2018-03-20T09:00")
    rows = steps(wf, app, "drafting")
    svc = service()
    seen: list[Mail] = []
    for step, send_at, to, prefix in [
            ("before_5", "2018-04-13T06:00", PROJECT_LEADS, "Påmindelse"),
            ("before_1", "2018-04-19T06:00", PROJECT_LEADS, "Påmindelse"),
            ("after_1", "2018-04-23T06:00", PROJECT_LEADS, "Overskredet frist"),
            ("escalate", "2018-04-25T06:00", STEERING_GROUP, "Eskalering")]:
        clock.at(send_at).advance(seconds=-1)
        assert svc.tick().sent == 0, f"{step} went out early"
        clock.advance(seconds=1)
        done = svc.tick()
        assert (done.sent, done.late, done.ids) == (1, 0, [rows[step]["id"]]), step
        mail = smtp.inbox.mails()[-1]
        seen.append(mail)
        assert set(mail.rcpt_tos) == to and mail.to == to, step
        assert mail.mail_from == SENDER
        assert mail.subject == (f"{prefix}: frist 20. april 2018 – Send til juridisk "
                                f"gennemsyn – {TITLE} ({rows[step]['case_number']})")
        assert mail.message_id == expected_id(rows[step])
    assert len(smtp.inbox.mails()) == 4
    assert "Kære Hanne Ørsted og Peter Skøtt" in seen[-1].body
    assert "overskredet med 3 arbejdsdage" in seen[-1].body
    assert "Styregruppen orienteres" in seen[-1].body
    assert "Kære Mette Højgaard og Anders Løvengreen" in seen[0].body
    assert {r["status"] for r in ledger(wf, app)} == {"sent"}


def test_a_council_deadline_reminds_that_municipalitys_secretary_only(
        wf: Workflow, clock: Clock, smtp: SmtpServer,
        service: Callable[..., ReminderService]) -> None:
    """Council approval has a deadline per municipality: each goes to its own secretary.

    Entered 1 March 2018: "45 days" is Sunday 15 April, moved to Monday 16 April; Ishøj
    then puts it on the agenda for 25 April. Vallensbæk: before_5 Mon 9 April, escalate
    Thu 19 April (16 -> 17, 18, 19); Ishøj: before_5 Wed 18 April.
    """
    clock.at("2018-03-01T09:00")
    app = make_application(wf, state="council_approval", title=TITLE)
    clock.at("2018-03-05T09:00")
    wf.fire(app, "schedule_council_meeting", user="sec-ishoj",
            data={"meeting_date": "2018-04-25", "agenda_ref": "BR 25/4-18 pkt. 4"})
    ishoj = steps(wf, app, "council_approval", "ishoj")
    vallensbaek = steps(wf, app, "council_approval", "vallensbaek")
    assert {p["id"] for r in ishoj.values() if not r["escalation"]
            for p in r["recipients"]} == {"sec-ishoj"}
    assert {p["id"] for r in vallensbaek.values() if not r["escalation"]
            for p in r["recipients"]} == {"sec-vallensbaek"}
    assert [p["id"] for p in ishoj["escalate"]["recipients"]] == ["dir-ishoj",
                                                                  "dir-vallensbaek"]
    svc = service()
    clock.at("2018-04-09T06:00")
    assert svc.tick().ids == [vallensbaek["before_5"]["id"]]
    mail, = smtp.inbox.mails()
    assert mail.rcpt_tos == (SEC_VALLENSBAEK,) and mail.to == {SEC_VALLENSBAEK}
    assert mail.subject == ("Påmindelse: frist 16. april 2018 – Sæt på dagsorden eller "
                            f"Registrér politisk beslutning – {TITLE} (00.17.15-G01-1-18)")
    assert "Kære Jørgen Ståhl\n" in mail.body
    assert "(Vallensbæk Kommune)" in mail.body
    assert "Fristen er fastsat som: 45 dage fra 1. marts 2018 (flyttet fra søndag den " \
           "15. april 2018) (Vallensbæk Kommune)" in mail.body
    clock.at("2018-04-18T06:00")  # Ishøj's before_5; Vallensbæk's before_1 and after_1
    assert svc.tick().ids == [vallensbaek["before_1"]["id"], vallensbaek["after_1"]["id"],
                              ishoj["before_5"]["id"]]
    *_, to_ishoj = smtp.inbox.mails()
    assert to_ishoj.rcpt_tos == (SEC_ISHOJ,)
    assert "frist 25. april 2018" in to_ishoj.subject
    assert "Kære Birthe Ærenlund\n" in to_ishoj.body
    assert "Fristen er fastsat som: Mødedato 25. april 2018 (Ishøj Kommune)" in to_ishoj.body
    clock.at("2018-04-19T06:00")
    assert svc.tick().ids == [vallensbaek["escalate"]["id"]]
    escalation = smtp.inbox.mails()[-1]
    assert set(escalation.rcpt_tos) == STEERING_GROUP
    assert escalation.subject.startswith("Eskalering: frist 16. april 2018 – ")
    # nobody else was ever written to
    assert {a for m in smtp.inbox.mails() for a in m.rcpt_tos} == \
        {SEC_ISHOJ, SEC_VALLENSBAEK} | STEERING_GROUP


def test_the_email_in_danish(wf: Workflow, clock: Clock, smtp: SmtpServer,
                             service: Callable[..., ReminderService]) -> None:
    app = drafting_case(wf, clock, "2018-03-20T09:00")
    clock.at("2018-04-13T06:00")
    service().tick()
    mail, = smtp.inbox.mails()
    case = ledger(wf, app)[0]["case_number"]
    subject = f"Påmindelse: frist 20. april 2018 – Send til juridisk gennemsyn – {TITLE} ({case})"
    # the header is RFC 2047-encoded on the wire; decoded it is the Danish subject
    legacy = email.message_from_bytes(mail.raw)  # compat32: the raw header text
    assert legacy["Subject"] != subject and "=?utf-8?" in legacy["Subject"]
    assert decoded_subject(mail.raw) == subject
    assert mail.subject == subject
    msg = mail.message
    assert msg["Auto-Submitted"] == "auto-generated"
    assert msg["From"] == SENDER
    assert msg.get_content_charset() == "utf-8"
    assert re.fullmatch(r"<reminder-\d+\.case-\d+@ishoj\.example>", mail.message_id)
    assert str(msg["To"]) == ("Mette Højgaard <mette.hoejgaard@ishoj.example>, "
                              "Anders Løvengreen <anders.loevengreen@vallensbaek.example>")
    body = mail.body
    for line in ["Kære Mette Højgaard og Anders Løvengreen",
                 "Dette er en påmindelse om en frist i sagen nedenfor.",
                 f"Sag: {TITLE}",
                 f"Sagsnr.: {case}",
                 "Status: Udarbejdelse af ansøgning",
                 "Hvad skal ske: Send til juridisk gennemsyn",
                 "Frist: fredag den 20. april 2018",
                 "Fristen er fastsat som: 20 arbejdsdage fra 20. marts 2018",
                 f"    workflow triggers {app}",
                 f"    workflow advance {app} <handling>",
                 "Sagsstyringen for det forpligtende samarbejde mellem Ishøj og Vallensbæk"]:
        assert line + "\n" in body, line
    # æ, ø and å arrive as themselves: no mojibake, no "?" for a letter
    assert "Vallensbæk" in body and "Højgaard" in body and "påmindelse" in body
    assert "Genoptræning" in subject and "Vallensbæk" in subject
    assert "Ã" not in body + subject and "\ufffd" not in body + subject and "?" not in subject
    text = msg.as_string() + body + subject
    assert not CPR_LIKE.search(text), CPR_LIKE.search(text)
    assert not CPR_LIKE.search(mail.raw.decode("utf-8"))


# ========================================================= cancelling and rescheduling
def test_leaving_the_state_cancels_the_pending_steps(
        wf: Workflow, clock: Clock, smtp: SmtpServer,
        service: Callable[..., ReminderService]) -> None:
    app = drafting_case(wf, clock, "2018-03-20T09:00")
    svc = service()
    clock.at("2018-04-13T06:00")
    assert svc.tick().sent == 1                        # before_5 went out
    clock.at("2018-04-16T10:00")
    wf.fire(app, "submit_for_review", user="pl-ishoj")
    drafting = steps(wf, app, "drafting")
    assert {k: r["status"] for k, r in drafting.items()} == {
        "before_5": "sent", "before_1": "cancelled", "after_1": "cancelled",
        "escalate": "cancelled"}
    assert {r["last_error"] for k, r in drafting.items() if k != "before_5"} == {
        "the case left drafting"}
    review = steps(wf, app, "legal_review")
    assert {r["status"] for r in review.values()} == {"pending"}
    clock.at("2018-05-07T06:00")                      # past the drafting steps' send times
    wf.fire(app, "withdraw", user="dir-ishoj", data={"reason": "Trukket af styregruppen"})
    assert {r["status"] for r in steps(wf, app, "legal_review").values()} == {"cancelled"}
    clock.at("2019-01-01T06:00")
    assert svc.tick().sent == 0
    assert [m.message_id for m in smtp.inbox.mails()] == [expected_id(drafting["before_5"])]
    assert [r["step"] for r in ledger(wf, app, status="sent")] == ["before_5"]


def test_a_council_decision_meets_that_municipalitys_deadline_only(
        wf: Workflow, clock: Clock) -> None:
    clock.at("2018-03-01T09:00")
    app = make_application(wf, state="council_approval")
    clock.at("2018-03-05T09:00")
    walk_fire(wf, app, "record_council_decision", user="sec-ishoj", data={
        "decision": "approved", "meeting_date": "2018-03-05", "agenda_ref": "BR 5/3-18"})
    assert {r["status"] for r in steps(wf, app, "council_approval", "ishoj").values()} == \
        {"cancelled"}
    assert {r["last_error"] for r in steps(wf, app, "council_approval", "ishoj").values()} \
        == {"the deadline was met"}
    assert {r["status"] for r in steps(wf, app, "council_approval",
                                       "vallensbaek").values()} == {"pending"}


def test_a_moved_council_meeting_moves_the_pending_steps(
        wf: Workflow, clock: Clock, smtp: SmtpServer,
        service: Callable[..., ReminderService]) -> None:
    """The rows are moved, not replaced; steps that now lie in the past are cancelled.

    Entered 1 March 2018: Ishøj's "45 days" is Mon 16 April (from Sun 15 April): before_5
    Mon 9 April, before_1 Fri 13, after_1 Tue 17, escalate Thu 19.
    Meeting set for Wed 25 April: before_5 Wed 18, before_1 Tue 24, after_1 Thu 26,
    escalate Thu 26 (1), Fri 27 store bededag 2018 (skipped), Mon 30 (2), Tue 1 May (3).
    On 19 April moved to Mon 23 April: before_5 would be Mon 16 April, in the past:
    cancelled; before_1 Fri 20, after_1 Tue 24, escalate 24, 25, 26 -> Thu 26 April.
    """
    clock.at("2018-03-01T09:00")
    app = make_application(wf, state="council_approval")
    first = steps(wf, app, "council_approval", "ishoj")
    vallensbaek = due_at(steps(wf, app, "council_approval", "vallensbaek"))
    assert due_at(first) == {"before_5": utc("2018-04-09T06:00"),
                             "before_1": utc("2018-04-13T06:00"),
                             "after_1": utc("2018-04-17T06:00"),
                             "escalate": utc("2018-04-19T06:00")}
    clock.at("2018-03-05T09:00")
    wf.fire(app, "schedule_council_meeting", user="sec-ishoj",
            data={"meeting_date": "2018-04-25", "agenda_ref": "BR 25/4-18 pkt. 4"})
    moved = steps(wf, app, "council_approval", "ishoj")
    assert {k: r["id"] for k, r in moved.items()} == {k: r["id"] for k, r in first.items()}
    assert due_at(moved) == {"before_5": utc("2018-04-18T06:00"),
                             "before_1": utc("2018-04-24T06:00"),
                             "after_1": utc("2018-04-26T06:00"),
                             "escalate": utc("2018-05-01T06:00")}
    assert {r["next_attempt_at"] for r in moved.values()} == \
        {r["due_at"] for r in moved.values()}
    assert {r["deadline_due"] for r in moved.values()} == {"2018-04-25"}
    assert due_at(steps(wf, app, "council_approval", "vallensbaek")) == vallensbaek

    clock.at("2018-04-19T09:00")  # before_5 (18 April) fell due, no service ran
    wf.fire(app, "schedule_council_meeting", user="sec-ishoj",
            data={"meeting_date": "2018-04-23", "agenda_ref": "BR 23/4-18 pkt. 2"})
    again = steps(wf, app, "council_approval", "ishoj")
    assert {k: r["status"] for k, r in again.items()} == {
        "before_5": "cancelled", "before_1": "pending", "after_1": "pending",
        "escalate": "pending"}
    assert again["before_5"]["last_error"] == "the deadline moved past this step"
    assert due_at({k: r for k, r in again.items() if k != "before_5"}) == {
        "before_1": utc("2018-04-20T06:00"), "after_1": utc("2018-04-24T06:00"),
        "escalate": utc("2018-04-26T06:00")}
    assert due_at(steps(wf, app, "council_approval", "vallensbaek")) == vallensbaek

    clock.at("2018-04-20T06:00")
    svc = service()
    svc.tick()
    to_ishoj = [m for m in smtp.inbox.mails() if SEC_ISHOJ in m.rcpt_tos]
    assert [m.message_id for m in to_ishoj] == [expected_id(again["before_1"])]
    assert "frist 23. april 2018" in to_ishoj[0].subject
    assert "Fristen er fastsat som: Mødedato 23. april 2018 (Ishøj Kommune)" in \
        to_ishoj[0].body
    clock.at("2018-06-01T06:00")
    svc.tick()
    assert expected_id(again["before_5"]) not in smtp.inbox.by_id()


# ======================================================================== the service
def test_restart_after_downtime_sends_what_fell_due_once_in_due_order(
        wf: Workflow, clock: Clock, smtp: SmtpServer,
        service: Callable[..., ReminderService]) -> None:
    """Two cases; the service is down from 20 March to 26 April 2018.

    A (drafting from Tue 20 March): due Fri 20 April; before_5 13/4, before_1 19/4,
    after_1 23/4, escalate 25/4.
    B (a jobcentre case, drafting from Thu 22 March): 23, 26, 27, 28 (4), 3-6 April (5-8),
    9-13 (9-13), 16-20 (14-18), 23 (19), 24 (20) -> due Tue 24 April; before_5 17/4,
    before_1 23/4, after_1 25/4, escalate 25, 26, [27 store bededag], 30 -> Mon 30 April.
    Due order (ties by id, A's rows first): A.before_5, B.before_5, A.before_1, A.after_1,
    B.before_1, A.escalate, B.after_1; B.escalate is still ahead on 26 April.
    """
    a = drafting_case(wf, clock, "2018-03-20T09:00")
    clock.at("2018-03-22T09:00")
    b = make_application(wf, kind="jobcentre", state="drafting", title="Jobcenter")
    ra, rb = steps(wf, a, "drafting"), steps(wf, b, "drafting")
    assert due_at(rb) == {"before_5": utc("2018-04-17T06:00"),
                          "before_1": utc("2018-04-23T06:00"),
                          "after_1": utc("2018-04-25T06:00"),
                          "escalate": utc("2018-04-30T06:00")}
    order = [ra["before_5"], rb["before_5"], ra["before_1"], ra["after_1"], rb["before_1"],
             ra["escalate"], rb["after_1"]]
    clock.at("2018-04-26T09:00")
    svc = service(batch=3)  # three claims: the order must hold across batches too
    assert svc.next_due() == utc("2018-04-13T06:00")
    done = svc.tick()
    assert (done.sent, done.late, done.retried, done.failed) == (7, 7, 0, 0)
    assert done.ids == [r["id"] for r in order]
    assert [m.message_id for m in smtp.inbox.mails()] == [expected_id(r) for r in order]
    sent = {r["id"]: r for r in ledger(wf, status="sent")}
    assert set(sent) == {r["id"] for r in order}
    for r in sent.values():
        assert r["late"] is True and r["attempts"] == 1
        assert r["sent_at"] == clock().isoformat() and r["message_id"] == expected_id(r)
    assert svc.tick().sent == 0                           # a second tick: nothing
    assert len(smtp.inbox.mails()) == 7
    assert svc.next_due() == utc("2018-04-30T06:00")
    clock.at("2018-04-30T06:03")
    done = svc.tick()
    assert (done.ids, done.late) == ([rb["escalate"]["id"]], 0)  # within the grace
    assert svc.next_due() is None
    assert len(smtp.inbox.mails()) == 8 and len(smtp.inbox.by_id()) == 8


def test_smtp_down_then_up(wf: Workflow, clock: Clock, smtp: SmtpServer,
                           service: Callable[..., ReminderService]) -> None:
    """An SMTP outage costs no attempt: the reminder stays pending however long it lasts,
    tried again after 2, 5, 15, 30 s and then every minute, and goes out once it is over."""
    app = drafting_case(wf, clock, "2018-03-20T09:00")
    row = steps(wf, app)["before_5"]
    smtp.stop()                                      # the port is closed
    svc = service()
    clock.at("2018-04-13T06:00")
    assert OUTAGE_BACKOFF[-1] == timedelta(minutes=1)
    waits = [*OUTAGE_BACKOFF, timedelta(minutes=1), timedelta(minutes=1)]
    for n, wait in enumerate(waits):                 # longer than BACKOFF would allow
        done = svc.tick()
        assert (done.sent, done.retried, done.failed) == (0, 1, 0), n
        row = steps(wf, app)["before_5"]
        assert (row["status"], row["attempts"]) == ("pending", 0), n
        assert row["next_attempt_at"] == (clock() + wait).isoformat(), n
        assert row["last_error"].startswith(f"cannot reach 127.0.0.1:{smtp.port}")
        assert row["sent_at"] is None and row["message_id"] is None
        assert raw_rows(wf, app)[row["id"]].claimed_until is None
        clock.advance(seconds=wait.total_seconds() - 1)
        assert svc.tick().retried == 0               # not again before the wait is over
        clock.advance(seconds=1)
    assert len(waits) > MAX_ATTEMPTS
    smtp.start()
    done = svc.tick()
    assert (done.sent, done.late, done.ids) == (1, 0, [row["id"]])
    row = steps(wf, app)["before_5"]
    assert row["status"] == "sent" and row["attempts"] == 1 and row["last_error"] is None
    assert [m.message_id for m in smtp.inbox.mails()] == [expected_id(row)]
    clock.advance(hours=1)
    assert svc.tick().sent == 0 and len(smtp.inbox.mails()) == 1
    # the next outage starts again from the shortest wait
    smtp.stop()
    clock.at("2018-04-19T06:00")
    assert svc.tick().retried == 1
    assert steps(wf, app)["before_1"]["next_attempt_at"] == \
        (clock() + OUTAGE_BACKOFF[0]).isoformat()


def test_after_max_attempts_a_reminder_is_failed_and_listed(
        wf: Workflow, clock: Clock, db_url: str, smtp: SmtpServer,
        service: Callable[..., ReminderService]) -> None:
    """A message the server refuses is tried again with backoff, then shown as failed."""
    app = drafting_case(wf, clock, "2018-03-20T09:00")
    victim = expected_id(steps(wf, app)["before_5"])
    smtp.inbox.on_data = lambda m: "554 5.7.1 message content rejected" \
        if m.message_id == victim else None
    svc = service()
    clock.at("2018-04-13T06:00")
    assert MAX_ATTEMPTS == len(BACKOFF) + 1 == 5
    for attempt in range(1, MAX_ATTEMPTS):
        done = svc.tick()
        assert (done.retried, done.failed) == (1, 0), attempt
        row = steps(wf, app)["before_5"]
        assert (row["status"], row["attempts"]) == ("pending", attempt)
        wait = BACKOFF[attempt - 1]
        assert row["next_attempt_at"] == (clock() + wait).isoformat()
        clock.advance(seconds=wait.total_seconds() - 1)
        assert svc.tick().retried == 0
        clock.advance(seconds=1)
    done = svc.tick()
    assert (done.sent, done.retried, done.failed) == (0, 0, 1)
    row = steps(wf, app)["before_5"]
    assert (row["status"], row["attempts"]) == ("failed", MAX_ATTEMPTS)
    assert "554" in row["last_error"] and "content rejected" in row["last_error"]
    assert len(smtp.inbox.refused) == MAX_ATTEMPTS and smtp.inbox.mails() == []
    clock.at("2018-04-19T06:00")
    assert svc.tick().ids == [steps(wf, app)["before_1"]["id"]]  # before_1 goes; not this
    assert victim not in smtp.inbox.by_id()
    assert steps(wf, app)["before_5"]["status"] == "failed"

    env = cli_env(db_url)
    failed = json.loads(run_cli(env, "reminders", "--failed", "--json", "--as", "admin"))
    assert [(r["id"], r["status"], r["step"], r["attempts"]) for r in failed] == [
        (row["id"], "failed", "before_5", MAX_ATTEMPTS)]
    assert failed[0]["last_error"] == row["last_error"]
    text = run_cli(env, "reminders", "--failed", "--as", "pl-ishoj")
    line, = [x for x in text.splitlines() if x.startswith(str(row["id"]) + " ")]
    assert "before_5" in line and "failed" in line and "554" in line
    assert "2018-04-13 08:00" in line                   # Danish time in the table


def test_a_refused_message_is_not_marked_sent(
        wf: Workflow, clock: Clock, smtp: SmtpServer,
        service: Callable[..., ReminderService]) -> None:
    a = drafting_case(wf, clock, "2018-03-20T09:00")
    b = drafting_case(wf, clock, "2018-03-20T09:00", areas=AREAS_B, title="Socialområdet")
    ra, rb = steps(wf, a)["before_5"], steps(wf, b)["before_5"]
    victim = expected_id(rb)
    smtp.inbox.on_data = lambda m: "550 5.7.1 rejected by policy" \
        if m.message_id == victim else None
    svc = service()
    clock.at("2018-04-13T06:00")
    done = svc.tick()                               # both go out in one connection
    assert (done.sent, done.retried, done.ids) == (1, 1, [ra["id"]])
    assert [m.message_id for m in smtp.inbox.mails()] == [expected_id(ra)]
    assert [m.message_id for m, _ in smtp.inbox.refused] == [victim]
    rb = steps(wf, b)["before_5"]
    assert rb["status"] == "pending" and rb["sent_at"] is None and rb["message_id"] is None
    assert "550" in rb["last_error"] and "rejected by policy" in rb["last_error"]
    assert steps(wf, a)["before_5"]["status"] == "sent"
    smtp.inbox.on_data = None
    clock.advance(minutes=1)
    assert svc.tick().ids == [rb["id"]]
    assert sorted(smtp.inbox.by_id()) == sorted([expected_id(ra), victim])
    assert all(len(v) == 1 for v in smtp.inbox.by_id().values())


def test_a_refused_recipient_keeps_the_reminder_unsent(
        wf: Workflow, clock: Clock, smtp: SmtpServer,
        service: Callable[..., ReminderService]) -> None:
    """A message counts as sent only when every recipient was accepted."""
    app = drafting_case(wf, clock, "2018-03-20T09:00")
    smtp.inbox.refuse_rcpt = {PL_VALLENSBAEK}
    clock.at("2018-04-13T06:00")
    done = service().tick()
    assert (done.sent, done.retried) == (0, 1)
    row = steps(wf, app)["before_5"]
    assert row["status"] == "pending" and row["sent_at"] is None
    assert PL_VALLENSBAEK in row["last_error"] and "550" in row["last_error"]
    # every recipient refused: the same
    smtp.inbox.refuse_rcpt = PROJECT_LEADS
    clock.advance(minutes=1)
    assert service().tick().retried == 1
    assert steps(wf, app)["before_5"]["status"] == "pending"
    # the recipient who was accepted did get the message (and will get it again on retry)
    assert [m.rcpt_tos for m in smtp.inbox.mails()] == [(PL_ISHOJ,)]


def test_sent_reminders_are_in_the_history(
        wf: Workflow, clock: Clock, db_url: str, smtp: SmtpServer,
        service: Callable[..., ReminderService]) -> None:
    clock.at("2018-03-01T09:00")
    app = make_application(wf, state="council_approval")
    clock.at("2018-04-13T06:00")
    svc = service()
    svc.tick()
    sent = ledger(wf, app, status="sent")
    # drafting and legal review were left (cancelled); per municipality before_5 (9 April)
    # and before_1 (13 April) of the council deadline (Monday 16 April)
    assert sorted((r["party"], r["step"]) for r in sent) == [
        ("ishoj", "before_1"), ("ishoj", "before_5"), ("vallensbaek", "before_1"),
        ("vallensbaek", "before_5")]
    entries = json.loads(run_cli(cli_env(db_url), "history", str(app), "--json",
                                 "--as", "sec-vallensbaek"))
    reminders = [e for e in entries if e["trigger"] == "reminder"]
    assert len(reminders) == len(sent)
    by_id = {e["data"]["message_id"]: e for e in reminders}
    assert set(by_id) == {expected_id(r) for r in sent}
    for r in sent:
        e = by_id[expected_id(r)]
        assert e["data"]["step"] == r["step"] and e["data"]["state"] == "council_approval"
        assert e["data"]["late"] == r["late"] and e["data"]["deadline"] == r["deadline_due"]
        assert e["user"] == "scheduler" and e["municipality"] == r["party"]
        assert e["at"] == r["sent_at"] and e["version"] is None
        assert e["data"]["to"] == [p["name"] for p in r["recipients"]]
    assert [e["at"] for e in entries] == sorted(e["at"] for e in entries)
    assert entries[-1]["trigger"] == "reminder"
    assert history(wf, app, user="admin") == entries
    text = run_cli(cli_env(db_url), "history", str(app), "--as", "admin")
    assert text.count(" reminder ") == len(sent)


def test_a_lapsed_claim_is_sent_once_with_the_rows_message_id(
        wf: Workflow, clock: Clock, smtp: SmtpServer,
        service: Callable[..., ReminderService]) -> None:
    app = drafting_case(wf, clock, "2018-03-20T09:00")
    row = steps(wf, app)["before_5"]
    clock.at("2018-04-13T06:00")
    crashed = service(name="crashed", lease=timedelta(minutes=5))
    claimed = crashed._claim(clock())       # ... and the process died before sending
    assert [r["id"] for r in claimed] == [row["id"]]
    raw = raw_rows(wf, app)[row["id"]]
    assert (raw.status, raw.claimed_by, raw.attempts) == ("sending", "crashed", 1)
    assert raw.claimed_until == clock() + timedelta(minutes=5)
    survivor = service(name="survivor")
    clock.advance(minutes=5)
    assert survivor.tick().sent == 0                  # the claim holds until it lapses
    clock.advance(seconds=1)
    done = survivor.tick()
    assert (done.sent, done.ids) == (1, [row["id"]])
    mail, = smtp.inbox.mails()
    assert mail.message_id == f"<reminder-{row['id']}.case-{app}@ishoj.example>"
    raw = raw_rows(wf, app)[row["id"]]
    assert (raw.status, raw.claimed_by, raw.attempts, raw.message_id) == (
        "sent", "survivor", 2, mail.message_id)
    assert survivor.tick().sent == 0 and len(smtp.inbox.mails()) == 1


def test_a_resend_after_a_lost_reply_has_the_same_message_id(
        wf: Workflow, clock: Clock, smtp: SmtpServer,
        service: Callable[..., ReminderService]) -> None:
    """The server takes the message but the connection drops before it says so."""
    app = drafting_case(wf, clock, "2018-03-20T09:00")
    row = steps(wf, app)["before_5"]
    smtp.inbox.hang_up = lambda mail: len(smtp.inbox.mails()) == 1
    clock.at("2018-04-13T06:00")
    svc = service()
    done = svc.tick()
    assert (done.sent, done.retried) == (0, 1)
    row = steps(wf, app)["before_5"]
    assert row["status"] == "pending" and "hung up" in row["last_error"]
    clock.advance(minutes=1)
    assert svc.tick().ids == [row["id"]]
    first, again = smtp.inbox.mails()           # the server has it twice: the same e-mail
    assert first.message_id == again.message_id == expected_id(row)
    assert (first.subject, first.to, first.body) == (again.subject, again.to, again.body)
    assert steps(wf, app)["before_5"]["message_id"] == expected_id(row)


def test_each_outcome_is_recorded_before_the_next_message_goes(
        wf: Workflow, clock: Clock, smtp: SmtpServer,
        service: Callable[..., ReminderService]) -> None:
    """A crash (or a database blip) can cost at most the message in hand: when the server
    takes a message, every earlier one is already marked sent or retried in the ledger."""
    a = drafting_case(wf, clock, "2018-03-20T09:00")
    b = drafting_case(wf, clock, "2018-03-20T09:00", areas=AREAS_B, title="Socialområdet")
    rows = sorted([*steps(wf, a).values(), *steps(wf, b).values()],
                  key=lambda r: (r["due_at"], r["id"]))
    refused = expected_id(rows[2])
    seen: list[tuple[str, dict[str, str]]] = []

    def look(mail: Mail) -> str | None:
        seen.append((mail.message_id, {expected_id(r): r["status"] for r in ledger(wf)}))
        return "550 5.7.1 not this one" if mail.message_id == refused else None

    smtp.inbox.on_data = look
    clock.at("2018-04-26T09:00")                        # all 8 long due
    done = service(batch=3).tick()
    assert (done.sent, done.retried) == (7, 1)
    order = [expected_id(r) for r in rows]
    assert [mid for mid, _ in seen] == order
    for n, (mid, status) in enumerate(seen):
        assert [status[x] for x in order[:n]] == [
            "pending" if x == refused else "sent" for x in order[:n]], n
        assert status[mid] == "sending"


def test_a_stopped_service_hands_the_rest_of_its_batch_back(
        wf: Workflow, clock: Clock, smtp: SmtpServer,
        service: Callable[..., ReminderService]) -> None:
    """stop() (SIGTERM): the message in hand is finished and recorded; the rest of the
    batch goes back to pending at once, without costing an attempt, for anyone to send."""
    app = drafting_case(wf, clock, "2018-03-20T09:00")
    svc = service(batch=5)
    smtp.inbox.on_data = lambda mail: svc.stop()
    clock.at("2018-04-26T09:00")                        # all 4 due
    done = svc.tick()
    assert (done.sent, done.retried) == (1, 0)
    rows = sorted(steps(wf, app).values(), key=lambda r: (r["due_at"], r["id"]))
    assert [(r["status"], r["attempts"]) for r in rows] == [
        ("sent", 1), ("pending", 0), ("pending", 0), ("pending", 0)]
    assert {r["next_attempt_at"] for r in rows[1:]} == {clock().isoformat()}
    assert all(raw_rows(wf, app)[r["id"]].claimed_until is None for r in rows)
    smtp.inbox.on_data = None
    assert service(name="next").tick().sent == 3
    assert len(smtp.inbox.by_id()) == 4 and len(smtp.inbox.mails()) == 4


def test_rows_claimed_by_a_commit_the_service_never_heard_of_are_its_own_at_once(
        wf: Workflow, clock: Clock, smtp: SmtpServer,
        service: Callable[..., ReminderService]) -> None:
    """A claim whose commit reply was lost (the connection dropped) leaves rows claimed by
    this service that it never sent: it takes them again at once; no other service may
    before the lease ends."""
    app = drafting_case(wf, clock, "2018-03-20T09:00")
    clock.at("2018-04-26T09:00")
    svc, other = service(name="blip"), service(name="other")
    assert len(svc._claim(clock())) == 4                # ... and the answer never came
    assert other.tick().sent == 0
    done = svc.tick()
    assert done.sent == 4 and len(smtp.inbox.mails()) == 4
    assert {(r["status"], r["attempts"]) for r in steps(wf, app).values()} == {("sent", 2)}


def test_next_due(wf: Workflow, clock: Clock, service: Callable[..., ReminderService]) -> None:
    svc = service()
    assert svc.next_due() is None
    drafting_case(wf, clock, "2018-03-20T09:00")
    assert svc.next_due() == utc("2018-04-13T06:00")
    clock.at("2018-04-13T06:00")
    svc.tick()
    assert svc.next_due() == utc("2018-04-19T06:00")


# =========================================================================== the CLI
def test_deadlines_as_icalendar(wf: Workflow, clock: Clock, db_url: str,
                                tmp_path: Path) -> None:
    clock.at("2018-03-01T09:00")
    app = make_application(wf, state="council_approval", areas=AREAS_A, title=TITLE)
    other = drafting_case(wf, clock, "2018-03-02T09:00", areas=AREAS_B, title="Andet")
    clock.at("2018-03-05T09:00")
    wf.fire(app, "schedule_council_meeting", user="sec-ishoj",
            data={"meeting_date": "2018-04-25", "agenda_ref": "BR 25/4-18 pkt. 4"})
    env = cli_env(db_url)
    out = tmp_path / "frister.ics"
    said = run_cli(env, "deadlines", "--ics", str(out), "--application", str(app),
                   "--as", "pl-ishoj")
    assert said.strip() == f"Wrote 2 deadline(s) to {out}."
    cal = Calendar.from_ical(out.read_bytes())
    assert str(cal["VERSION"]) == "2.0"
    assert str(cal["X-WR-CALNAME"]) == f"Frister – sag {app}"
    events = list(cal.walk("VEVENT"))
    open_ = json.loads(run_cli(env, "deadlines", "--application", str(app), "--json",
                               "--as", "pl-ishoj"))
    assert len(events) == len(open_) == 2
    by_uid = {str(e["UID"]): e for e in events}
    for d in open_:
        e = by_uid[f"deadline-{d['id']}@workflow.local"]
        due = date.fromisoformat(d["due"])
        assert e.decoded("DTSTART") == due and e.decoded("DTEND") == due + timedelta(days=1)
        assert str(e["SUMMARY"]) == (f"Frist: {TITLE} – Politisk behandling ({d['party']}) "
                                     f"({d['case_number']})")
        assert d["derivation"] in str(e["DESCRIPTION"])
    assert sorted(d["due"] for d in open_) == ["2018-04-16", "2018-04-25"]
    # a met deadline is no longer open: one event left
    clock.at("2018-04-25T15:00")
    walk_fire(wf, app, "record_council_decision", user="sec-ishoj", data={
        "decision": "approved", "meeting_date": "2018-04-25", "agenda_ref": "BR 25/4-18"})
    run_cli(env, "deadlines", "--ics", str(out), "--application", str(app), "--as", "admin")
    events = list(Calendar.from_ical(out.read_bytes()).walk("VEVENT"))
    assert [e.decoded("DTSTART") for e in events] == [date(2018, 4, 16)]
    assert str(events[0]["SUMMARY"]).endswith("(vallensbaek) (00.17.15-G01-1-18)")
    assert other not in {d["application"] for d in open_}


DEADLINE_KEYS = {"id", "application", "case_number", "title", "state", "state_label", "party",
                 "due", "derivation", "active", "met_at", "overdue", "days_left"}
REMINDER_KEYS = {"id", "application", "case_number", "title", "deadline", "kind", "state",
                 "party", "deadline_due", "derivation", "step", "escalation", "due_at", "status",
                 "attempts", "next_attempt_at", "last_error", "sent_at", "late", "message_id",
                 "recipients"}


def test_overdue_deadlines_and_reminders_as_json(
        wf: Workflow, clock: Clock, db_url: str, smtp: SmtpServer,
        service: Callable[..., ReminderService]) -> None:
    old = drafting_case(wf, clock, "2018-03-20T09:00")
    future = drafting_case(wf, clock, "2099-03-03T09:00", areas=AREAS_B, title="Fremtid")
    clock.at("2018-04-13T06:00")
    service().tick()
    env = cli_env(db_url)
    # the CLI runs on the real clock: 2018 has passed, 2099 has not
    overdue = json.loads(run_cli(env, "deadlines", "--overdue", "--json", "--as", "pl-ishoj"))
    assert [d["application"] for d in overdue] == [old]
    d, = overdue
    assert set(d) == DEADLINE_KEYS
    assert (d["state"], d["state_label"], d["due"], d["party"]) == (
        "drafting", "Udarbejdelse af ansøgning", "2018-04-20", None)
    assert d["overdue"] is True and d["active"] is True and d["days_left"] < 0
    every = json.loads(run_cli(env, "deadlines", "--json", "--as", "pl-ishoj"))
    assert [x["application"] for x in every] == [old, future]
    assert every[1]["overdue"] is False and every[1]["days_left"] > 0

    items = json.loads(run_cli(env, "reminders", "--json", "--as", "pl-vallensbaek"))
    assert all(set(r) == REMINDER_KEYS for r in items)
    assert [(r["application"], r["step"], r["status"]) for r in items] == [
        (old, "before_5", "sent"), (old, "before_1", "pending"), (old, "after_1", "pending"),
        (old, "escalate", "pending"), (future, "before_5", "pending"),
        (future, "before_1", "pending"), (future, "after_1", "pending"),
        (future, "escalate", "pending")]
    first = items[0]
    assert first["recipients"] == [{"id": "pl-ishoj", "name": "Mette Højgaard"},
                                   {"id": "pl-vallensbaek", "name": "Anders Løvengreen"}]
    assert first["message_id"] == expected_id(first) and first["late"] is False
    assert first["due_at"] == "2018-04-13T06:00:00+00:00" == first["sent_at"]
    assert items[1]["message_id"] is None and items[1]["sent_at"] is None
    only = json.loads(run_cli(env, "reminders", "--status", "sent", "--application",
                              str(old), "--json", "--as", "admin"))
    assert [r["id"] for r in only] == [first["id"]]


def test_scheduler_once_from_the_command_line(wf: Workflow, clock: Clock, db_url: str,
                                              smtp: SmtpServer) -> None:
    """`workflow scheduler --once` on the real clock: everything from 2018 is late."""
    app = drafting_case(wf, clock, "2018-03-20T09:00")
    env = cli_env(db_url, smtp)
    out = run_cli(env, "scheduler", "--once")
    assert out.strip() == "Sent 4 reminder(s) (4 late); 0 to retry, 0 failed."
    rows = steps(wf, app)
    assert [m.message_id for m in smtp.inbox.mails()] == \
        [expected_id(r) for r in rows.values()]
    assert {(r["status"], r["late"]) for r in rows.values()} == {("sent", True)}
    out = run_cli(env, "scheduler", "--once")
    assert out.strip() == "Sent 0 reminder(s) (0 late); 0 to retry, 0 failed."
    assert len(smtp.inbox.mails()) == 4


# ================================================================== bugs found here
def test_a_reminder_in_flight_when_the_case_moves_on_is_not_sent_later(
        wf: Workflow, clock: Clock, smtp: SmtpServer,
        service: Callable[..., ReminderService]) -> None:
    app = drafting_case(wf, clock, "2018-03-20T09:00")
    before_5 = steps(wf, app, "drafting")["before_5"]

    def case_moves_on(mail: Mail) -> str | None:
        if smtp.inbox.on_data is not None and mail.message_id == expected_id(before_5):
            smtp.inbox.on_data = None
            # while the reminder is on its way, the project lead submits the draft...
            wf.fire(app, "submit_for_review", user="pl-ishoj")
            return "451 4.3.0 temporary failure, try again later"  # ... and SMTP hiccups
        return None

    smtp.inbox.on_data = case_moves_on
    clock.at("2018-04-13T06:00")
    svc = service()
    assert svc.tick().retried == 1
    assert steps(wf, app, "drafting")["before_1"]["status"] == "cancelled"  # it moved on
    clock.advance(minutes=10)
    svc.tick()
    # the case left drafting 10 minutes ago: no drafting reminder may go out any more
    assert steps(wf, app, "drafting")["before_5"]["status"] == "cancelled"
    assert smtp.inbox.mails() == []


def test_the_ledger_records_the_message_id_that_was_sent_with_a_display_name_sender(
        wf: Workflow, clock: Clock, smtp: SmtpServer) -> None:
    app = drafting_case(wf, clock, "2018-03-20T09:00")
    settings = SmtpSettings(host="127.0.0.1", port=smtp.port,
                            sender="Sagsstyringen Ishøj <sagsstyring@ishoj.example>")
    svc = ReminderService(wf, Mailer(settings), templates_dir=TEMPLATES)
    clock.at("2018-04-13T06:00")
    assert svc.tick().sent == 1
    mail, = smtp.inbox.mails()
    assert mail.mail_from == "sagsstyring@ishoj.example"
    assert steps(wf, app)["before_5"]["message_id"] == mail.message_id


def test_a_long_subject_arrives_as_it_was_written(
        wf: Workflow, clock: Clock, smtp: SmtpServer,
        service: Callable[..., ReminderService]) -> None:
    app = drafting_case(wf, clock, "2018-03-20T09:00", title=LONG_TITLE)
    clock.at("2018-04-13T06:00")
    service().tick()
    mail, = smtp.inbox.mails()
    case = steps(wf, app)["before_5"]["case_number"]
    subject = (f"Påmindelse: frist 20. april 2018 – Send til juridisk gennemsyn – {LONG_TITLE} "
               f"({case})")
    assert decoded_subject(mail.raw) == subject
    assert mail.subject == subject
