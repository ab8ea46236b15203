"""The reminder service: claims due ledger rows, e-mails them, records each outcome at once.

The ledger in the database is the schedule. APScheduler only wakes the service, at the
next due row and every ``poll`` seconds: it keeps no jobs of its own, so any number of
services (and web workers) may run.

Each due reminder is handed to the SMTP server once:

- Rows are claimed in small batches in a short transaction (``FOR UPDATE SKIP LOCKED`` on
  PostgreSQL, the write lock on SQLite) with a lease (``claimed_by``, ``claimed_until``),
  which a thread renews every third of the lease while the batch is worked on, so a slow
  SMTP server never lets another service take a row that is still being sent. Before each
  message the service checks that its lease holds; if the renewals failed (the database
  away), it renews first, waiting for the database, and sends nothing meanwhile.
- Each message's outcome is written in its own transaction as soon as the server has
  answered; if the database is away the outcome is kept and written again until it lands
  (the row stays claimed by this service meanwhile). So a crash re-sends at most the one
  message the server had accepted when the service died (same Message-ID).
- An SMTP outage (nothing listening, a hang-up, a timeout, 421) costs no attempt: the
  rows go back to pending and the service tries again after 2, 5, 15, 30 s, then every
  minute. A refused message is retried with backoff and then marked failed.

A claim that lapses (a crash) is taken again after the lease and sent with the same
Message-ID; rows this service claimed in a transaction whose commit it never heard of
are its own to take again at once. Rows that fell due while no service ran go out on
start, in due order, marked late.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.header import Header
from email.message import Message
from email.mime.text import MIMEText
from email.utils import format_datetime, formataddr, parseaddr
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import and_, func, or_, select, update

from ..documents.rendering import make_text_environment
from ..errors import SetupError
from ..store import database as store
from ..store import tables as t
from . import notices
from .lease import Lease, database_unavailable
from .ledger import BACKOFF, MAX_ATTEMPTS, OUTAGE_BACKOFF, due_filter
from .mailer import Mailer, SmtpSession

if TYPE_CHECKING:
    from ..engine.workflow import Workflow

log = logging.getLogger("workflow.scheduler")

T = TypeVar("T")

RETRY_WAITS = (0.1, 0.25, 0.5, 1.0, 2.0, 5.0)  # seconds between writes while the DB is away
PATIENCE = 30.0     # seconds a claim or a renewal waits for the database before giving up
STOP_GRACE = 20.0   # seconds an outcome is still written after SIGTERM while the DB is away


@dataclass
class TickResult:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    late: int = 0
    ids: list[int] = field(default_factory=list)


class ReminderService:
    def __init__(self, wf: Workflow, mailer: Mailer, *, templates_dir: Path,
                 name: str | None = None, batch: int = 20,
                 lease: timedelta = timedelta(minutes=5),
                 grace: timedelta = timedelta(minutes=10)) -> None:
        self.wf = wf
        self.mailer = mailer
        self.env = make_text_environment(templates_dir / "emails")
        # the claim token: one per service object, so that no two ever share it
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        self.batch = batch
        self.lease = lease
        self.grace = grace
        self.domain = parseaddr(mailer.settings.sender)[1].rpartition("@")[2] or "localhost"
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._stopped_at: float | None = None
        self._outages = 0  # SMTP outages in a row: how long to wait after the next one
        self._smtp_back_at: datetime | None = None  # (by the clock) after an outage

    def stop(self) -> None:
        """Finish the message in hand, hand the rest of the batch back, and stop."""
        self._stopped_at = time.monotonic()
        self._stop.set()

    # ------------------------------------------------------------------- work
    def tick(self) -> TickResult:
        """Send everything that is due now, batch by batch; returns what happened.

        Raises a SetupError (or the driver's error) when the database stays away longer
        than :data:`PATIENCE` while claiming; rows claimed then are taken again later."""
        result = TickResult()
        if self.smtp_wait() > 0:
            return result  # the SMTP server was away a moment ago: nothing to send with
        lease_on = Lease(self.lease.total_seconds(), self._renew, self.name)
        with self._lock, lease_on as lease, self.mailer.session() as smtp:
            while not self._stop.is_set():
                started = time.monotonic()
                rows = self._retrying("claiming reminders",
                                      lambda: self._claim(self.wf.clock()), patience=PATIENCE)
                if not rows:
                    break
                lease.hold([row["id"] for row in rows], since=started)
                if not self._send(rows, result, smtp, lease):
                    break
        return result

    def _claim(self, now: datetime) -> list[dict[str, Any]]:
        r = t.reminder
        # a claim changes nothing a page shows (a reminder is shown sent once it is)
        with store.write(self.wf.engine, shown=False) as conn:
            q = (select(r.c.id).where(due_filter(now, mine=self.name))
                 .order_by(r.c.due_at, r.c.id).limit(self.batch))
            if not store.is_sqlite(conn):
                q = q.with_for_update(skip_locked=True)
            ids = list(conn.execute(q).scalars())
            if not ids:
                return []
            conn.execute(update(r).where(r.c.id.in_(ids)).values(
                status="sending", claimed_by=self.name, claimed_until=now + self.lease,
                attempts=r.c.attempts + 1, updated_at=now))
            return self._load(conn, ids)

    def _renew(self, ids: Iterable[int]) -> set[int]:
        """Extend the lease on those of ``ids`` that are still this service's to send."""
        r = t.reminder
        ids = list(ids)
        now = self.wf.clock()
        with store.write(self.wf.engine, shown=False) as conn:
            mine = and_(r.c.id.in_(ids), r.c.claimed_by == self.name, r.c.status == "sending")
            conn.execute(update(r).where(mine).values(claimed_until=now + self.lease))
            return set(conn.execute(select(r.c.id).where(mine)).scalars())

    def _load(self, conn: Any, ids: list[int]) -> list[dict[str, Any]]:
        r, d, a = t.reminder, t.deadline, t.application
        rows = conn.execute(
            select(r.c.id, r.c.step, r.c.escalation, r.c.due_at, r.c.recipients, r.c.attempts,
                   r.c.application_id, r.c.deadline_id, r.c.role, r.c.municipality,
                   r.c.detail, d.c.due, d.c.derivation, d.c.state, d.c.party, a.c.title,
                   a.c.case_number, a.c.process, a.c.state.label("app_state"),
                   a.c.cooperation_id)
            .outerjoin(d, d.c.id == r.c.deadline_id).join(a, a.c.id == r.c.application_id)
            .where(r.c.id.in_(ids)).order_by(r.c.due_at, r.c.id))
        return [dict(x._mapping) for x in rows]

    def _send(self, rows: list[dict[str, Any]], result: TickResult, smtp: SmtpSession,
              lease: Lease) -> bool:
        """Send the claimed rows one by one, recording each; False: stop this tick (an SMTP
        outage, the service stopping, or the lease could not be renewed)."""
        for i, row in enumerate(rows):
            if self._stop.is_set():  # hand the rest back for anyone to send at once
                self._release(rows[i:], lease, error=None, wait=timedelta(0),
                              patience=PATIENCE)
                return False
            if not lease.holds(row["id"]):
                continue  # cancelled meanwhile, or (after a lapse) another service's now
            if lease.remaining() < self.lease.total_seconds() / 2:
                # the renewals are behind (the database away): renew before sending more
                self._retrying("renewing the claim", lease.renew, patience=PATIENCE)
                if not lease.holds(row["id"]):
                    continue
            try:
                message = self.compose(row)
            except Exception as exc:  # a broken template or no recipients: record, go on
                self._settle(row, f"{type(exc).__name__}: {exc}", result, lease)
                continue
            done = smtp.send(message)
            if done.outage:
                wait = OUTAGE_BACKOFF[min(self._outages, len(OUTAGE_BACKOFF) - 1)]
                self._outages += 1
                self._smtp_back_at = self.wf.clock() + wait
                result.retried += self._release(rows[i:], lease, error=done.error, wait=wait,
                                                patience=None)
                log.warning("SMTP outage (%s); trying again in %s", done.error, wait)
                return False
            if done.accepted:
                self._outages = 0
            self._settle(row, done.error, result, lease)
        return True

    def _settle(self, row: dict[str, Any], error: str | None, result: TickResult,
                lease: Lease) -> None:
        """Write one row's outcome now, in its own transaction; while the database is away,
        keep it and write it again until it lands (the row stays claimed meanwhile)."""
        r = t.reminder
        mine = (r.c.id == row["id"]) & (r.c.claimed_by == self.name) \
            & (r.c.status == "sending")

        def write() -> str:
            now = self.wf.clock()
            with store.write(self.wf.engine) as conn:
                if error is None:  # accepted by the server: sent, whatever happened meanwhile
                    late = now - row["due_at"] > self.grace
                    conn.execute(update(r).where(r.c.id == row["id"], r.c.status != "sent")
                                 .values(status="sent", sent_at=now, late=late,
                                         claimed_by=self.name, claimed_until=None,
                                         message_id=self.message_id(row), last_error=None,
                                         updated_at=now))
                    return "late" if late else "sent"
                if row["attempts"] >= MAX_ATTEMPTS:  # (a cancelled row stays cancelled)
                    conn.execute(update(r).where(mine).values(
                        status="failed", last_error=error, claimed_until=None, updated_at=now))
                    return "failed"
                wait = BACKOFF[min(row["attempts"], len(BACKOFF)) - 1]
                conn.execute(update(r).where(mine).values(
                    status="pending", next_attempt_at=now + wait, last_error=error,
                    claimed_until=None, updated_at=now))
                return "retried"

        lease.settle(row["id"])
        outcome = self._retrying(f"recording reminder {row['id']}", write, patience=None)
        lease.release(row["id"])
        if outcome in ("sent", "late"):
            result.sent += 1
            result.late += outcome == "late"
            result.ids.append(row["id"])
        elif outcome == "failed":
            result.failed += 1
            log.warning("reminder %s failed for good: %s", row["id"], error)
        else:
            result.retried += 1
            log.info("reminder %s not sent (%s); retrying later", row["id"], error)

    def _release(self, rows: list[dict[str, Any]], lease: Lease, *, error: str | None,
                 wait: timedelta, patience: float | None) -> int:
        """Hand rows this service holds back to pending, without costing them an attempt
        (nothing of theirs was at fault); returns how many."""
        ids = [row["id"] for row in rows if lease.holds(row["id"])]
        if not ids:
            return 0
        r = t.reminder
        values: dict[str, Any] = {} if error is None else {"last_error": error}

        def write() -> int:
            now = self.wf.clock()
            with store.write(self.wf.engine, shown=False) as conn:
                done = conn.execute(update(r).where(
                    r.c.id.in_(ids), r.c.claimed_by == self.name, r.c.status == "sending")
                    .values(status="pending", next_attempt_at=now + wait,
                            attempts=r.c.attempts - 1, claimed_until=None, updated_at=now,
                            **values))
                return int(done.rowcount)

        for i in ids:
            lease.settle(i)
        released = self._retrying("handing reminders back", write, patience=patience)
        for i in ids:
            lease.release(i)
        return released

    def _retrying(self, what: str, fn: Callable[[], T], *, patience: float | None) -> T:
        """``fn()``, tried again while the database is unavailable: for ``patience``
        seconds or until the service stops, or (None) until it works — once the service
        is told to stop, for :data:`STOP_GRACE` more seconds."""
        started = time.monotonic()
        n = 0
        while True:
            try:
                return fn()
            except Exception as exc:
                if not database_unavailable(exc):
                    raise
                now = time.monotonic()
                if (patience is not None and (now - started >= patience or self._stop.is_set())
                        or self._stopped_at is not None and now - self._stopped_at >= STOP_GRACE):
                    if isinstance(exc, SetupError):
                        raise
                    raise SetupError(f"{what}: the database is not available: "
                                     f"{store.reason(exc)}") from exc
                wait = RETRY_WAITS[min(n, len(RETRY_WAITS) - 1)]
                n += 1
                log.warning("%s: the database is not available (%s); trying again in %.1f s",
                            what, store.reason(exc), wait)
                time.sleep(wait)

    # ---------------------------------------------------------------- message
    def message_id(self, row: dict[str, Any]) -> str:
        return f"<reminder-{row['id']}.case-{row['application_id']}@{self.domain}>"

    def compose(self, row: dict[str, Any]) -> Message:
        people = [p for p in row["recipients"] if p.get("email")]
        if not people:
            raise ValueError("no recipient with an e-mail address")
        process = self.wf.definition.processes[row["process"]]
        if row["deadline_id"] is None:  # a your-turn notice
            state = process.states.get(row["app_state"])
            party = self.wf.municipalities.get(row["municipality"])
            role = self.wf.definition.roles.get(row["role"])
            ctx = notices.context(row, people,
                                  state_label=state.label.da if state else row["app_state"],
                                  municipality_name=party.name if party else "",
                                  role_label=role.da if role else row["role"])
            return self._envelope(row, people, "turn", ctx)
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
            if tr.source == row["state"] and sources[tr.position] == 1 and not tr.side
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
        return self._envelope(row, people, "reminder", ctx)

    def _envelope(self, row: dict[str, Any], people: list[dict[str, Any]], template: str,
                  ctx: dict[str, Any]) -> Message:
        """The e-mail: ``template``'s subject and body rendered with ``ctx``, to ``people``."""
        coop = self.wf.cooperations.get(row.get("cooperation_id") or "")
        ctx = {**ctx, "cooperation": None if coop is None else {  # whose case: the signature
            "name": coop.name, "short_name": (coop.texts or {}).get("short_name", "").strip()
            or coop.name}}
        subject = self.env.get_template(f"{template}_subject.txt.j2").render(ctx).strip()
        body = self.env.get_template(f"{template}.txt.j2").render(ctx)
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
    def smtp_wait(self) -> float:
        """Seconds until this service tries the SMTP server again after an outage."""
        if self._smtp_back_at is None:
            return 0.0
        return max(0.0, (self._smtp_back_at - self.wf.clock()).total_seconds())

    def next_due(self) -> datetime | None:
        """When there is next something to send: a pending row's attempt, or the moment a
        claim on an open deadline's row lapses (a service that died)."""
        r, d = t.reminder, t.deadline
        with store.read(self.wf.engine) as conn:
            pending = conn.execute(select(func.min(r.c.next_attempt_at))
                                   .where(r.c.status == "pending")).scalar()
            open_deadline = or_(r.c.deadline_id.is_(None), select(d.c.id).where(
                d.c.id == r.c.deadline_id, d.c.active).exists())
            lapse = conn.execute(select(func.min(r.c.claimed_until))
                                 .where(r.c.status == "sending", open_deadline)).scalar()
        return min((x for x in (pending, lapse) if x is not None), default=None)

    @property
    def stopping(self) -> bool:
        """Whether the service has been told to stop (:meth:`stop`)."""
        return self._stop.is_set()

    def run(self, *, poll: float = 60) -> None:
        """Run until SIGTERM or Ctrl-C: wake at the next due row and every ``poll`` s
        (:func:`~workflow.reminders.runner.run`)."""
        from .runner import run

        run(self, poll=poll)


def _address(text: str) -> str:
    """``Name <addr>`` with the name encoded for a header (æøå safe)."""
    name, addr = parseaddr(text)
    return formataddr((name, addr), charset="utf-8")
