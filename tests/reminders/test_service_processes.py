"""Reminder services as separate OS processes: racing over one ledger, a crash mid-send, run().

The SMTP server (aiosmtpd, on loopback) runs in the test process and records every message
it accepted; the services are ``spawn``-ed processes (or the ``workflow`` command) with their
own ``Workflow`` and connections, on a SQLite file and on PostgreSQL. Every wait is bounded,
and a process still alive at the end of a test is terminated.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.conftest import Clock
from tests.factories import make_application
from tests.reminders.test_reminders import (
    AREAS_A,
    AREAS_B,
    PROJECT_DIR,
    SENDER,
    TEMPLATES,
    Mail,
    SmtpServer,
    expected_id,
    ledger,
)
from workflow.engine.queries import history
from workflow.engine.workflow import Workflow
from workflow.process.definition import loads
from workflow.reminders.ledger import due_filter
from workflow.store import database as store
from workflow.store import tables as t

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("deadline_reminders_only")]

CTX = multiprocessing.get_context("spawn")
TIMEOUT = 25.0          # seconds any single wait may take before the test gives up
RACE_TIMEOUT = 60.0     # the whole race (typically 5-15 s, more on a loaded machine)
CASES = 250             # x 4 reminder steps = 1,000 ledger rows
FUTURE = "2030-01-07T09:00:00+00:00"  # the racers' clock: every step is long due

# A process with one state whose deadline is "1 working day", and four reminder steps after
# it (a step's offset may not be 0, and steps before the deadline would already lie in the
# past when the case is opened); modelled on states.yaml.
LOAD_YAML = """\
schema: 1

calendar:
  holidays: DK

roles:
  project_lead: {da: Projektleder, en: Project lead}
  council_secretary: {da: Sekretariat, en: Council secretary}
  legal: {da: Jurist, en: Legal staff}
  steering_group: {da: Styregruppe, en: Steering group}
  admin: {da: Administrator, en: Administrator}

reminders:
  send_at: "08:00"
  steps:
    after_1: {offset: 1, da: "Fristen er overskredet", en: 1 working day after}
    after_2: {offset: 2, da: "Fristen er overskredet med 2 arbejdsdage", en: 2 days after}
    after_3: {offset: 3, da: "Fristen er overskredet med 3 arbejdsdage", en: 3 days after}
    escalate:
      offset: 4
      da: "Eskalering: fristen er overskredet med 4 arbejdsdage"
      en: Escalation, 4 working days after
      to: [steering_group]
      escalation: true
  default: [after_1, after_2, after_3, escalate]

fields: {}

documents: {}

processes:
  reminder_load:
    da: Påmindelsesprøve
    en: Reminder load
    case_number: "P-{id}-{yy}"
    create_roles: [project_lead]
    kinds:
      load:
        da: Prøvesag
        en: Load case
        initial: waiting
    states:
      waiting:
        da: Afventer svar fra kommunen
        en: Waiting for an answer
        deadline: 1 working day
      answered: {da: Besvaret, en: Answered, final: true}
    transitions:
      - trigger: answer
        source: waiting
        dest: answered
        da: Registrér svar
        en: Record the answer
        roles: [project_lead]
"""


# ------------------------------------------------------------------ the worker processes
def _service(url: str, yaml_text: str | None, port: int, name: str, batch: int,
             lease: float, clock_iso: str | None) -> Any:
    from workflow.config import Settings, SmtpSettings
    from workflow.engine.workflow import Workflow, system_clock
    from workflow.reminders.mailer import Mailer
    from workflow.reminders.service import ReminderService

    clock: Callable[[], datetime] = system_clock
    if clock_iso is not None:
        fixed = datetime.fromisoformat(clock_iso)

        def clock() -> datetime:
            return fixed

    definition = loads(yaml_text, file="load.yaml") if yaml_text else None
    wf = Workflow.open(Settings(database_url=url), clock=clock, definition=definition)
    return ReminderService(wf, Mailer(SmtpSettings(host="127.0.0.1", port=port, sender=SENDER),
                                      timeout=TIMEOUT),
                           templates_dir=TEMPLATES, name=name, batch=batch,
                           lease=timedelta(seconds=lease))


def _worker(url: str, yaml_text: str | None, port: int, name: str, batch: int, lease: float,
            clock_iso: str | None, barrier: Any, results: Any) -> None:
    """Open a service, wait for the start, send everything that is due, report."""
    try:
        service = _service(url, yaml_text, port, name, batch, lease, clock_iso)
        if barrier is not None:
            barrier.wait(timeout=TIMEOUT)
        done = service.tick()  # claims batch after batch until nothing is left
        if results is not None:
            results.put(("done", name, done.sent, done.retried, done.failed, done.ids))
        service.wf.close()
    except Exception as exc:  # noqa: BLE001 - reported to the parent, which fails
        if results is not None:
            results.put(("error", name, f"{type(exc).__name__}: {exc}"))


@contextmanager
def processes(*procs: Any) -> Iterator[None]:
    """Start the processes; whatever happens, none outlives the test."""
    for p in procs:
        p.start()
    try:
        yield
    finally:
        for p in procs:
            p.join(timeout=TIMEOUT)
            if p.is_alive():
                p.terminate()
                p.join(timeout=5)


def collect(results: Any, n: int, timeout: float = TIMEOUT) -> dict[str, tuple[Any, ...]]:
    got: dict[str, tuple[Any, ...]] = {}
    deadline = time.monotonic() + timeout
    while len(got) < n:
        try:
            res = results.get(timeout=max(0.1, deadline - time.monotonic()))
        except queue.Empty:
            pytest.fail(f"no result from every service within {timeout}s; got {got}")
        assert res[0] == "done", f"a service failed: {res}"
        got[res[1]] = res
    return got


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    yield server
    server.stop()


def cli_env(db_url: str, smtp: SmtpServer) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WORKFLOW_")}
    env.update(WORKFLOW_DATABASE_URL=db_url, PYTHONIOENCODING="utf-8", **smtp.env())
    return env


# ---------------------------------------------------------------------------- the race
def test_two_services_race_over_1000_reminders(db_url: str, open_wf: Callable[..., Workflow],
                                               smtp: SmtpServer) -> None:
    """(a) Two services, started together, send 1,000 due reminders: each exactly once."""
    wf = open_wf(definition=loads(LOAD_YAML, file="load.yaml"))
    for i in range(CASES):
        wf.create(kind="load", title=f"Prøvesag {i} – Ishøj/Vallensbæk",
                  user=("pl-ishoj", "pl-vallensbaek")[i % 2])
    rows = ledger(wf)
    assert len(rows) == 4 * CASES and {r["status"] for r in rows} == {"pending"}
    want = {expected_id(r) for r in rows}
    assert len(want) == 4 * CASES

    barrier, results = CTX.Barrier(2), CTX.Queue()
    racers = [CTX.Process(target=_worker, name=f"racer-{i}", daemon=True,
                          args=(db_url, LOAD_YAML, smtp.port, f"racer-{i}", 20, 300.0, FUTURE,
                                barrier, results)) for i in range(2)]
    with processes(*racers):
        got = collect(results, 2, RACE_TIMEOUT)
    assert all(p.exitcode == 0 for p in racers), [(p.name, p.exitcode) for p in racers]

    # the services: no retries, no failures, and the work split between them
    sent = {name: set(res[5]) for name, res in got.items()}
    assert all(res[3:5] == (0, 0) for res in got.values()), got
    assert all(len(ids) == res[2] for ids, res in zip(sent.values(), got.values(),
                                                      strict=True))
    assert sent["racer-0"].isdisjoint(sent["racer-1"])
    assert sent["racer-0"] | sent["racer-1"] == {r["id"] for r in rows}
    assert all(sent.values()), f"one service sent nothing: {[len(s) for s in sent.values()]}"

    # the SMTP server: every Message-ID once, none missing, none extra
    mails = smtp.inbox.mails()
    counts = Counter(m.message_id for m in mails)
    assert [mid for mid, n in counts.items() if n > 1] == []
    assert set(counts) == want
    assert len(mails) == 4 * CASES

    # the ledger: all sent, each by the service that claimed it, at the first attempt
    r = t.reminder
    with store.read(wf.engine) as conn:
        final = {row.id: row for row in conn.execute(select(r))}
    assert {(x.status, x.attempts, x.late) for x in final.values()} == {("sent", 1, True)}
    assert {x.message_id for x in final.values()} == want
    for name, ids in sent.items():
        assert {final[i].claimed_by for i in ids} == {name}


# ---------------------------------------------------------------------------- the crash
class Killer:
    """On the first message: SIGKILL the service that sent it, then accept it (250)."""

    def __init__(self) -> None:
        self.pid: int | None = None
        self.armed = threading.Event()
        self.victim: Mail | None = None

    def __call__(self, mail: Mail) -> str | None:
        if self.victim is None:
            assert self.armed.wait(TIMEOUT), "the victim's pid never came"
            assert self.pid is not None
            self.victim = mail
            os.kill(self.pid, signal.SIGKILL)  # between sending and marking it sent
        return None


def test_a_service_killed_mid_send_is_resent_with_the_same_message_id(
        wf: Workflow, clock: Clock, db_url: str, smtp: SmtpServer) -> None:
    """(b) The server has the e-mail, the service dies before it can mark the row sent.

    After the 2-second lease the next service (here `workflow scheduler --once`) sends the
    claimed rows again: the one that got through arrives a second time with the same
    Message-ID, and the ledger has every row sent once.
    """
    a = make_application(wf, state="drafting", areas=AREAS_A, title="Genoptræning i Ishøj")
    b = make_application(wf, state="drafting", areas=AREAS_B, title="Det sociale område")
    rows = ledger(wf)
    assert len(rows) == 8 and {x["status"] for x in rows} == {"pending"}
    first = rows[0]                                 # the earliest due, sent first

    killer = Killer()
    smtp.inbox.on_data = killer
    doomed = CTX.Process(target=_worker, name="doomed", daemon=True,
                         args=(db_url, None, smtp.port, "doomed", 250, 2.0, None, None, None))
    with processes(doomed):
        killer.pid = doomed.pid
        killer.armed.set()
        doomed.join(timeout=TIMEOUT)
    assert doomed.exitcode == -signal.SIGKILL, doomed.exitcode
    assert killer.victim is not None and killer.victim.message_id == expected_id(first)
    assert [m.message_id for m in smtp.inbox.mails()] == [expected_id(first)]

    r = t.reminder
    with store.read(wf.engine) as conn:
        claimed = list(conn.execute(select(r).order_by(r.c.id)))
        until = max(x.claimed_until for x in claimed)
        assert {(x.status, x.claimed_by, x.attempts, x.message_id) for x in claimed} == {
            ("sending", "doomed", 1, "")}           # claimed, none marked
        assert until - min(x.claimed_until for x in claimed) < timedelta(seconds=1)
        # no service may take them before the lease ends; any may after
        assert conn.execute(select(func.count()).select_from(r).where(
            due_filter(until - timedelta(milliseconds=1)))).scalar() == 0
        assert conn.execute(select(func.count()).select_from(r).where(
            due_filter(until + timedelta(milliseconds=1)))).scalar() == 8
    wait = (until - datetime.now(UTC)).total_seconds() + 0.2
    assert wait < 3, "the lease is 2 s"
    time.sleep(max(0.0, wait))

    smtp.inbox.on_data = None
    proc = subprocess.run([sys.executable, "-m", "workflow", "scheduler", "--once"],
                          env=cli_env(db_url, smtp), cwd=PROJECT_DIR, capture_output=True,
                          text=True, encoding="utf-8", timeout=TIMEOUT)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "Sent 8 reminder(s) (8 late); 0 to retry, 0 failed."

    mails = smtp.inbox.mails()
    counts = Counter(m.message_id for m in mails)
    assert counts == Counter({expected_id(x): 1 for x in rows}) + Counter([expected_id(first)])
    again = [m for m in mails if m.message_id == expected_id(first)]
    assert len(again) == 2
    assert (again[0].subject, again[0].to, again[0].body) == \
        (again[1].subject, again[1].to, again[1].body)
    with store.read(wf.engine) as conn:
        final = list(conn.execute(select(r).order_by(r.c.id)))
    assert [(x.id, x.status, x.attempts, x.message_id) for x in final] == [
        (x["id"], "sent", 2, expected_id(x)) for x in sorted(rows, key=lambda x: x["id"])]
    assert "doomed" not in {x.claimed_by for x in final}
    for app in (a, b):
        sent = [e for e in history(wf, app, user="admin") if e["trigger"] == "reminder"]
        assert sorted(e["data"]["step"] for e in sent) == sorted(
            ["before_5", "before_1", "after_1", "escalate"])


def test_the_scheduler_command_runs_until_sigterm(db_url: str, wf: Workflow, clock: Clock,
                                                  smtp: SmtpServer) -> None:
    """`workflow scheduler` (run()) sends on start and on each poll; SIGTERM stops it."""
    make_application(wf, state="drafting", areas=AREAS_A, title="Genoptræning i Ishøj")
    proc = subprocess.Popen([sys.executable, "-m", "workflow", "scheduler", "--poll", "0.5"],
                            env=cli_env(db_url, smtp), cwd=PROJECT_DIR,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            encoding="utf-8")
    try:
        wait_for(lambda: len(smtp.inbox.mails()) >= 4, "the reminders due on start")
        # a new case while it runs: its reminders (due in 2018) go at the next poll
        make_application(wf, state="drafting", areas=AREAS_B, title="Det sociale område")
        wait_for(lambda: len(smtp.inbox.mails()) >= 8, "the reminders of the new case")
        time.sleep(1.2)                                 # two more polls: nothing more
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert "reminder service" in err and "started" in err
    counts = Counter(m.message_id for m in smtp.inbox.mails())
    assert set(counts.values()) == {1} and len(counts) == 8
    assert {x["status"] for x in ledger(wf)} == {"sent"}
    assert set(counts) == {expected_id(x) for x in ledger(wf)}


def wait_for(cond: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not cond():
        if time.monotonic() > deadline:
            pytest.fail(f"waited {TIMEOUT}s for {what}")
        time.sleep(0.05)
