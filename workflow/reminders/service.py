"""The reminder service: claims due ledger rows, e-mails them, records the outcome.

The ledger in the database is the schedule. APScheduler only wakes the service, at the
next due row and every ``poll`` seconds: it keeps no jobs of its own, so any number of
services (and web workers) may run. A row is claimed in a short transaction before it is
sent — ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, the write lock on SQLite — so two services
never send the same row; a claim that lapses (a crash mid-send) is taken again and sent
with the same Message-ID. Rows that fell due while no service ran go out on start, in
due order, marked late.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.header import Header
from email.message import Message
from email.mime.text import MIMEText
from email.utils import format_datetime, formataddr, parseaddr
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select, update

from ..documents.rendering import make_text_environment
from ..store import database as store
from ..store import tables as t
from .ledger import BACKOFF, MAX_ATTEMPTS, due_filter
from .mailer import Mailer

if TYPE_CHECKING:
    from ..engine.workflow import Workflow

log = logging.getLogger("workflow.scheduler")


@dataclass
class TickResult:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    late: int = 0
    ids: list[int] = field(default_factory=list)


class ReminderService:
    def __init__(self, wf: Workflow, mailer: Mailer, *, templates_dir: Path,
                 name: str | None = None, batch: int = 250,
                 lease: timedelta = timedelta(minutes=5),
                 grace: timedelta = timedelta(minutes=10)) -> None:
        self.wf = wf
        self.mailer = mailer
        self.env = make_text_environment(templates_dir / "emails")
        self.name = name or f"{socket.gethostname()}:{os.getpid()}"
        self.batch = batch
        self.lease = lease
        self.grace = grace
        self.domain = parseaddr(mailer.settings.sender)[1].rpartition("@")[2] or "localhost"
        self._lock = threading.Lock()

    # ------------------------------------------------------------------- work
    def tick(self) -> TickResult:
        """Send everything that is due now, batch by batch; returns what happened."""
        result = TickResult()
        with self._lock:
            while True:
                now = self.wf.clock()
                claimed = self._claim(now)
                if not claimed:
                    return result
                self._send(claimed, result)

    def _claim(self, now: datetime) -> list[dict[str, Any]]:
        r = t.reminder
        # a claim changes nothing a page shows (a reminder is shown sent once it is)
        with store.write(self.wf.engine, shown=False) as conn:
            q = (select(r.c.id).where(due_filter(now)).order_by(r.c.due_at, r.c.id)
                 .limit(self.batch))
            if not store.is_sqlite(conn):
                q = q.with_for_update(skip_locked=True)
            ids = list(conn.execute(q).scalars())
            if not ids:
                return []
            conn.execute(update(r).where(r.c.id.in_(ids)).values(
                status="sending", claimed_by=self.name, claimed_until=now + self.lease,
                attempts=r.c.attempts + 1, updated_at=now))
            return self._load(conn, ids)

    def _load(self, conn: Any, ids: list[int]) -> list[dict[str, Any]]:
        r, d, a = t.reminder, t.deadline, t.application
        rows = conn.execute(
            select(r.c.id, r.c.step, r.c.escalation, r.c.due_at, r.c.recipients, r.c.attempts,
                   r.c.application_id, d.c.due, d.c.derivation, d.c.state, d.c.party,
                   a.c.title, a.c.case_number, a.c.process, a.c.state.label("app_state"))
            .join(d, d.c.id == r.c.deadline_id).join(a, a.c.id == r.c.application_id)
            .where(r.c.id.in_(ids)).order_by(r.c.due_at, r.c.id))
        return [dict(x._mapping) for x in rows]

    def _send(self, rows: list[dict[str, Any]], result: TickResult) -> None:
        messages: list[Message] = []
        ready: list[dict[str, Any]] = []
        outcome: dict[int, str | None] = {}
        for row in rows:
            try:
                messages.append(self.compose(row))
                ready.append(row)
            except Exception as exc:  # a broken template or no recipients: record, go on
                outcome[row["id"]] = f"{type(exc).__name__}: {exc}"
        for row, error in zip(ready, self.mailer.send(messages), strict=True):
            outcome[row["id"]] = error
        now = self.wf.clock()
        r = t.reminder
        with store.write(self.wf.engine) as conn:
            for row in rows:
                error = outcome[row["id"]]
                mine = (r.c.id == row["id"]) & (r.c.claimed_by == self.name)
                if error is None:  # accepted by the server: sent, whatever happened meanwhile
                    late = now - row["due_at"] > self.grace
                    conn.execute(update(r).where(mine).values(
                        status="sent", sent_at=now, late=late, claimed_until=None,
                        message_id=self.message_id(row), last_error=None, updated_at=now))
                    result.sent += 1
                    result.late += late
                    result.ids.append(row["id"])
                elif row["attempts"] >= MAX_ATTEMPTS:  # (a cancelled row stays cancelled)
                    conn.execute(update(r).where(mine, r.c.status == "sending").values(
                        status="failed", last_error=error, claimed_until=None, updated_at=now))
                    result.failed += 1
                    log.warning("reminder %s failed for good: %s", row["id"], error)
                else:
                    wait = BACKOFF[min(row["attempts"], len(BACKOFF)) - 1]
                    conn.execute(update(r).where(mine, r.c.status == "sending").values(
                        status="pending", next_attempt_at=now + wait, last_error=error,
                        claimed_until=None, updated_at=now))
                    result.retried += 1
                    log.info("reminder %s not sent (%s); retry in %s", row["id"], error, wait)

    # ---------------------------------------------------------------- message
    def message_id(self, row: dict[str, Any]) -> str:
        return f"<reminder-{row['id']}.case-{row['application_id']}@{self.domain}>"

    def compose(self, row: dict[str, Any]) -> Message:
        people = [p for p in row["recipients"] if p.get("email")]
        if not people:
            raise ValueError("no recipient with an e-mail address")
        process = self.wf.definition.processes[row["process"]]
        policy = self.wf.definition.reminders
        assert policy is not None
        step = policy.steps.get(row["step"])
        state = process.states.get(row["app_state"])
        responsible = set(process.responsible_roles(row["state"]))
        # What meets the deadline: the state's own ways on, not the side exits that many
        # states share (withdraw, terminate, an exception) nor notes that stay put.
        sources = Counter(tr.position for tr in process.transitions)
        actions = list(dict.fromkeys(
            tr.label.da for tr in process.transitions
            if tr.source == row["state"] and sources[tr.position] == 1
            and (tr.dest != tr.source or tr.joint or tr.record)
            and responsible & set(tr.roles)))
        party = self.wf.municipalities.get(row["party"]) if row["party"] else None
        ctx = {
            "recipients": people,
            "step": {"key": row["step"], "offset": step.offset if step else 0,
                     "escalation": row["escalation"],
                     "label": step.label.da if step else row["step"]},
            "case": {"id": row["application_id"], "title": row["title"],
                     "number": row["case_number"],
                     "state_label": state.label.da if state else row["app_state"]},
            "deadline": {"due": row["due"], "derivation": row["derivation"],
                         "party_name": party.name if party else None, "consequence": None},
            "action": " eller ".join(actions) or "Før sagen videre",
        }
        subject = self.env.get_template("reminder_subject.txt.j2").render(ctx).strip()
        body = self.env.get_template("reminder.txt.j2").render(ctx)
        # email.mime + Header, not EmailMessage: Python 3.11's new header folding drops the
        # space between two encoded words in a long Danish subject.
        msg = MIMEText(body, "plain", "utf-8")
        msg["Subject"] = Header(" ".join(subject.split()), "utf-8")  # type: ignore[assignment]
        msg["From"] = _address(self.mailer.settings.sender)
        msg["To"] = ", ".join(_address(f"{p['name']} <{p['email']}>") for p in people)
        msg["Message-ID"] = self.message_id(row)
        msg["Date"] = format_datetime(self.wf.clock())
        msg["Auto-Submitted"] = "auto-generated"
        return msg

    # ---------------------------------------------------------------- running
    def next_due(self) -> datetime | None:
        r = t.reminder
        with store.read(self.wf.engine) as conn:
            return conn.execute(select(func.min(r.c.next_attempt_at))
                                .where(r.c.status == "pending")).scalar()

    def run(self, *, poll: float = 60) -> None:
        """Run until SIGTERM or Ctrl-C: wake at the next due row and every ``poll`` s."""
        from apscheduler.executors.pool import ThreadPoolExecutor
        from apscheduler.schedulers.blocking import BlockingScheduler

        sched = BlockingScheduler(executors={"default": ThreadPoolExecutor(1)},
                                  job_defaults={"coalesce": True, "max_instances": 1,
                                                "misfire_grace_time": None},
                                  timezone="UTC")

        def wake() -> None:
            done = self.tick()
            if done.sent or done.retried or done.failed:
                log.info("sent %d (%d late), retrying %d, failed %d", done.sent, done.late,
                         done.retried, done.failed)
            nxt = self.next_due()
            if nxt is not None:
                at = max(nxt, self.wf.clock() + timedelta(seconds=1))
                sched.add_job(wake, "date", run_date=at, id="next-due", replace_existing=True)

        sched.add_job(wake, "interval", seconds=poll, id="poll",
                      next_run_time=self.wf.clock())
        signal.signal(signal.SIGTERM, lambda *_: sched.shutdown(wait=False))
        log.info("reminder service %s started", self.name)
        try:
            sched.start()
        except (KeyboardInterrupt, SystemExit):
            pass


def _address(text: str) -> str:
    """``Name <addr>`` with the name encoded for a header (æøå safe)."""
    name, addr = parseaddr(text)
    return formataddr((name, addr), charset="utf-8")
