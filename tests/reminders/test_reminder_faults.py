"""Fault runs of the reminder service: killed, cut off from SMTP or the database, too slow.

Each test starts real `workflow scheduler` processes (run mode, a short poll, and where it
matters a short lease through WORKFLOW_REMINDER_LEASE) on a burst of due reminders; the
SMTP server (aiosmtpd on loopback, in the test process) records every Message-ID it
accepted. The guarantee checked: every reminder is delivered and marked sent; the only
copies are the messages a killed service had in flight (at most one per kill, with the
same Message-ID); SMTP and database outages and slow servers cause delay, not copies.
Every wait is bounded; no process outlives its test.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import secrets
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import pytest
from sqlalchemy import select

from tests.conftest import PG_BASE_URL
from tests.reminders.test_reminders import (
    PROJECT_DIR,
    Inbox,
    Mail,
    SmtpServer,
    expected_id,
    ledger,
)
from tests.reminders.test_service_processes import LOAD_YAML
from workflow.engine.workflow import Workflow
from workflow.process.definition import loads
from workflow.reminders.service import ReminderService
from workflow.store import database as store
from workflow.store import tables as t

pytestmark = pytest.mark.slow

TIMEOUT = 40.0  # seconds any one wait may take before the test gives up


# ------------------------------------------------------------------------ the pieces
class SlowInbox(Inbox):
    """An inbox that takes ``delay`` seconds over each message (without blocking others)."""

    def __init__(self, delay: float) -> None:
        super().__init__()
        self.delay = delay

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        await asyncio.sleep(self.delay)
        return await super().handle_DATA(server, session, envelope)


def burst(open_wf: Callable[..., Workflow], cases: int) -> tuple[Workflow, set[str]]:
    """``cases`` cases of the load process (4 reminder steps each), all long due; the
    Message-IDs their reminders must arrive with."""
    wf = open_wf(definition=loads(LOAD_YAML, file="load.yaml"))
    for i in range(cases):
        wf.create(kind="load", title=f"Prøvesag {i} – Ishøj/Vallensbæk",
                  user=("pl-ishoj", "pl-vallensbaek")[i % 2])
    rows = ledger(wf)
    assert len(rows) == 4 * cases and {r["status"] for r in rows} == {"pending"}
    return wf, {expected_id(r) for r in rows}


def scheduler_env(db_url: str, smtp: SmtpServer, tmp_path: Path, **extra: str) -> dict[str, str]:
    states = tmp_path / "load.yaml"
    states.write_text(LOAD_YAML, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WORKFLOW_", "PGAPP"))}
    env.update(WORKFLOW_DATABASE_URL=db_url, WORKFLOW_STATES_FILE=str(states),
               PYTHONIOENCODING="utf-8", **smtp.env(), **extra)
    return env


class Scheduler:
    """A `workflow scheduler --poll 0.5` process (claims of ``batch``); its log in a file."""

    def __init__(self, env: dict[str, str], log: Path, batch: int = 20) -> None:
        self.path = log
        self.out: IO[str] = log.open("w", encoding="utf-8")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "workflow", "scheduler", "--poll", "0.5",
             "--batch", str(batch)], env=env,
            cwd=PROJECT_DIR, stdout=self.out, stderr=subprocess.STDOUT)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def log(self) -> str:
        return self.path.read_text(encoding="utf-8")  # (the process writes to the file)

    def terminate(self) -> int:
        """SIGTERM, and its exit code once it has stopped."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=TIMEOUT)

    def wait(self) -> int:
        return self.proc.wait(timeout=TIMEOUT)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=TIMEOUT)
        self.out.close()


@contextmanager
def schedulers(env: dict[str, str], tmp_path: Path,
               batch: int = 20) -> Iterator[Callable[[str], Scheduler]]:
    """Start schedulers by name; whatever happens, none outlives the test."""
    started: list[Scheduler] = []

    def start(name: str) -> Scheduler:
        s = Scheduler(env, tmp_path / f"{name}.log", batch)
        started.append(s)
        return s

    try:
        yield start
    finally:
        for s in started:
            s.kill()


@pytest.fixture
def server() -> Iterator[SmtpServer]:
    smtp = SmtpServer().start()
    yield smtp
    smtp.stop()


def wait_for(cond: Callable[[], bool], what: str, timeout: float = TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            pytest.fail(f"waited {timeout}s for {what}")
        time.sleep(0.1)


def all_sent(wf: Workflow) -> bool:
    return {r["status"] for r in ledger(wf)} == {"sent"}


def check_ledger(wf: Workflow, want: set[str]) -> dict[int, Any]:
    """Every row sent, with the Message-ID it was sent with; the raw rows by id."""
    r = t.reminder
    with store.read(wf.engine) as conn:
        rows = {x.id: x for x in conn.execute(select(r))}
    assert {x.status for x in rows.values()} == {"sent"}
    assert {x.message_id for x in rows.values()} == want
    assert all(x.claimed_until is None and x.last_error is None for x in rows.values())
    return rows


# -------------------------------------------------------------------------- 1. SIGKILL
class KillAt:
    """Before accepting the message that would be the ``at``-th: SIGKILL the scheduler that
    sent it, then accept it (the server has it; the scheduler never hears "250")."""

    def __init__(self, inbox: Inbox) -> None:
        self.inbox = inbox
        self.pid: int | None = None
        self.at = 0
        self.victims: list[str] = []
        self.armed = threading.Event()
        inbox.on_data = self

    def arm(self, pid: int, at: int) -> None:
        self.pid, self.at = pid, at
        self.armed.set()

    def __call__(self, mail: Mail) -> str | None:
        if self.armed.is_set() and len(self.inbox.mails()) + 1 == self.at:
            assert self.pid is not None
            os.kill(self.pid, signal.SIGKILL)
            self.armed.clear()
            self.victims.append(mail.message_id)
        return None


def test_a_scheduler_killed_twice_mid_burst_doubles_only_the_messages_in_flight(
        db_url: str, open_wf: Callable[..., Workflow], server: SmtpServer,
        tmp_path: Path) -> None:
    """200 due reminders; the scheduler is SIGKILLed at the 40th and at the 110th message
    the server accepts, and started again each time (lease 2 s)."""
    wf, want = burst(open_wf, 50)
    killer = KillAt(server.inbox)
    env = scheduler_env(db_url, server, tmp_path, WORKFLOW_REMINDER_LEASE="2")
    with schedulers(env, tmp_path) as start:
        for n, at in enumerate((40, 110)):
            doomed = start(f"doomed-{n}")
            killer.arm(doomed.pid, at)
            assert doomed.wait() == -signal.SIGKILL, doomed.log()
            assert len(killer.victims) == n + 1
        last = start("survivor")
        wait_for(lambda: all_sent(wf), "every reminder marked sent")
        time.sleep(1.0)  # two more polls: nothing more goes out
        assert last.terminate() == 0, last.log()

    counts = Counter(m.message_id for m in server.inbox.mails())
    assert set(counts) == want                                  # none lost, none unknown
    doubled = {mid for mid, k in counts.items() if k > 1}
    assert doubled == set(killer.victims) and len(doubled) == 2, counts.most_common(3)
    assert max(counts.values()) == 2                            # one copy per kill at most
    assert len(server.inbox.mails()) == len(want) + 2
    rows = check_ledger(wf, want)
    # a row was claimed once, or twice where a killed service held it
    assert {x.attempts for x in rows.values()} <= {1, 2}
    twice = {expected_id({"id": x.id, "application": x.application_id})
             for x in rows.values() if x.attempts == 2}
    batch = inspect.signature(ReminderService).parameters["batch"].default
    assert doubled <= twice and len(twice) <= 2 * batch         # at most a batch per kill


# ---------------------------------------------------------------------- 2. SMTP outage
def test_the_smtp_server_stopped_mid_burst_delays_but_neither_loses_nor_doubles(
        db_url: str, open_wf: Callable[..., Workflow], server: SmtpServer,
        tmp_path: Path) -> None:
    """After 50 of 120 messages the server says 421 and stops listening for 4 s."""
    wf, want = burst(open_wf, 30)
    stopped = threading.Event()

    def go_down(mail: Mail) -> str | None:
        if stopped.is_set() or len(server.inbox.mails()) == 50:
            if not stopped.is_set():
                stopped.set()
                threading.Thread(target=server.stop).start()  # (not from its own loop)
            return "421 4.3.2 service shutting down"
        return None

    server.inbox.on_data = go_down
    env = scheduler_env(db_url, server, tmp_path)
    with schedulers(env, tmp_path) as start:
        proc = start("scheduler")
        wait_for(stopped.is_set, "the outage")
        wait_for(lambda: server.controller is None, "the server to stop")
        time.sleep(4.0)
        # meanwhile: nothing failed, nothing lost; the rest wait, pending, saying why
        rows = ledger(wf)
        assert Counter(r["status"] for r in rows)["sent"] == 50
        assert {r["status"] for r in rows} <= {"sent", "pending", "sending"}
        waiting = [r for r in rows if r["status"] == "pending"]
        assert {r["attempts"] for r in waiting} == {0}          # an outage costs no attempt
        errors = {r["last_error"].split(":")[0] for r in waiting if r["last_error"]}
        assert errors == {"cannot reach 127.0.0.1"}, errors     # tried again meanwhile
        assert proc.proc.poll() is None
        server.inbox.on_data = None
        server.start()
        wait_for(lambda: all_sent(wf), "every reminder marked sent")
        assert proc.terminate() == 0, proc.log()

    counts = Counter(m.message_id for m in server.inbox.mails())
    assert set(counts) == want and set(counts.values()) == {1}
    assert len(server.inbox.refused) == 1                       # the 421, sent again later
    assert server.inbox.refused[0][0].message_id in want
    rows = check_ledger(wf, want)
    assert {x.attempts for x in rows.values()} == {1}
    assert "SMTP outage" in proc.log()


# ------------------------------------------------------------------- 3. database blips
def test_database_connections_dropped_mid_burst_neither_lose_nor_double(
        db_url: str, open_wf: Callable[..., Workflow], tmp_path: Path) -> None:
    """PostgreSQL: the scheduler's backends are terminated (pg_terminate_backend, found by
    its application_name) every 0.1 s for 3 s mid-burst. SQLite: another process holds
    the write lock for 3 s; the scheduler sends at most the message in hand meanwhile."""
    smtp = SmtpServer(SlowInbox(0.01)).start()  # 200 messages take 2 s at least
    try:
        wf, want = burst(open_wf, 50)
        app_name = f"wf-faults-{os.getpid()}-{secrets.token_hex(3)}"
        url = db_url if db_url.startswith("sqlite") else f"{db_url}&application_name={app_name}"
        env = scheduler_env(url, smtp, tmp_path)
        with schedulers(env, tmp_path) as start:
            proc = start("scheduler")
            wait_for(lambda: len(smtp.inbox.mails()) >= 30, "the burst to start")
            if db_url.startswith("sqlite"):
                path = db_url.removeprefix("sqlite:///")
                blocker = sqlite3.connect(path, isolation_level=None, timeout=30)
                blocker.execute("BEGIN IMMEDIATE")
                before = len(smtp.inbox.mails())
                time.sleep(3.0)
                during = len(smtp.inbox.mails()) - before
                blocker.execute("COMMIT")
                blocker.close()
                assert during <= 1, f"{during} sent while no outcome could be written"
            else:
                killed = terminate_backends(app_name, seconds=3.0)
                assert killed > 0
            wait_for(lambda: all_sent(wf), "every reminder marked sent")
            assert proc.terminate() == 0, proc.log()
        log = proc.log()
        if not db_url.startswith("sqlite"):
            assert "the database is not available" in log, log[-3000:]
    finally:
        smtp.stop()
    counts = Counter(m.message_id for m in smtp.inbox.mails())
    assert set(counts) == want and set(counts.values()) == {1}, counts.most_common(3)
    rows = check_ledger(wf, want)
    assert {x.attempts for x in rows.values()} == {1}


def terminate_backends(app_name: str, *, seconds: float) -> int:
    """Terminate every backend named ``app_name``, again and again for ``seconds``; how
    many were terminated."""
    import psycopg

    killed = 0
    dsn = PG_BASE_URL.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True) as conn:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            rows = conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                "WHERE application_name = %s", (app_name,)).fetchall()
            killed += sum(1 for (ok,) in rows if ok)
            time.sleep(0.1)
    return killed


# ------------------------------------------------------------ 4. a slow SMTP server
def test_two_schedulers_and_a_slow_smtp_server_send_no_copies(
        db_url: str, open_wf: Callable[..., Workflow], tmp_path: Path) -> None:
    """1.5 s a message, a 2 s lease: each batch takes far longer than the lease, which
    must be renewed; the other scheduler, polling every 0.5 s, must never take a row."""
    smtp = SmtpServer(SlowInbox(1.5)).start()
    try:
        wf, want = burst(open_wf, 3)                    # 12 reminders: batches of 5, 5, 2
        env = scheduler_env(db_url, smtp, tmp_path, WORKFLOW_REMINDER_LEASE="2")
        with schedulers(env, tmp_path, batch=5) as start:
            procs = [start("first"), start("second")]
            wait_for(lambda: all_sent(wf), "every reminder marked sent")
            time.sleep(1.0)
            for p in procs:
                p.proc.send_signal(signal.SIGTERM)  # both stop at once; once each: a
            # second SIGTERM while Python shuts down would find the default handler back
            assert [p.wait() for p in procs] == [0, 0], [p.log() for p in procs]
    finally:
        smtp.stop()
    counts = Counter(m.message_id for m in smtp.inbox.mails())
    assert set(counts) == want and set(counts.values()) == {1}, counts.most_common(3)
    rows = check_ledger(wf, want)
    assert {x.attempts for x in rows.values()} == {1}           # no row was claimed twice
    senders = {x.claimed_by.split(":")[1] for x in rows.values()}
    assert senders == {str(p.pid) for p in procs}               # both did their share
