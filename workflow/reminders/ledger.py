"""The reminder ledger: one row per reminder step of a deadline, kept with the deadline.

Rows are written, moved and cancelled by :class:`~workflow.schedule.DeadlineKeeper` in the
transaction of the transition that sets, moves or closes the deadline, so the ledger is
always what the deadlines say. The scheduler (:mod:`workflow.scheduler`) only sends them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, and_, insert, or_, select, update
from sqlalchemy.engine import Connection

from ..calendar.workdays import WorkCalendar
from ..process.spec import ProcessSpec, ReminderPolicy, ReminderStep
from ..store import keyset
from ..store import tables as t
from ..store.keyset import Entry, Position

# A message the server refused (or that could not be made) is tried again after these, and
# then marked failed; an SMTP outage costs no attempt: the service waits OUTAGE_BACKOFF
# (then the last of it, again and again) and the reminder stays pending.
BACKOFF = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=15),
           timedelta(hours=1))
MAX_ATTEMPTS = len(BACKOFF) + 1
OUTAGE_BACKOFF = (timedelta(seconds=2), timedelta(seconds=5), timedelta(seconds=15),
                  timedelta(seconds=30), timedelta(minutes=1))


class ReminderLedger:
    def __init__(self, policy: ReminderPolicy, calendar: WorkCalendar, tz: ZoneInfo) -> None:
        self.policy = policy
        self.calendar = calendar
        self.tz = tz

    def send_time(self, due: date, step: ReminderStep) -> datetime:
        day = self.calendar.add_working_days(due, step.offset)
        return datetime.combine(day, self.policy.send_at, self.tz).astimezone(ZoneInfo("UTC"))

    def steps_for(self, process: ProcessSpec, state: str) -> list[ReminderStep]:
        spec = process.states[state].deadline
        keys = spec.remind if spec is not None and spec.remind is not None \
            else self.policy.default
        return [self.policy.steps[k] for k in keys]

    def recipients(self, conn: Connection, process: ProcessSpec, state: str, step: ReminderStep,
                   municipalities: Iterable[str]) -> list[dict[str, Any]]:
        roles = step.to or process.responsible_roles(state)
        u = t.user
        rows = conn.execute(select(u.c.id, u.c.name, u.c.email, u.c.role, u.c.municipality)
                            .where(u.c.role.in_(roles), u.c.municipality.in_(list(municipalities)),
                                   u.c.active).order_by(u.c.municipality, u.c.id))
        return [dict(r._mapping) for r in rows]

    def plan(self, conn: Connection, process: ProcessSpec, *, app_id: int, deadline_id: int,
             state: str, due: date, party: str | None, parties: list[str],
             now: datetime) -> None:
        """Make the deadline's pending steps what they should be (create, move, cancel)."""
        r = t.reminder
        existing = {row.step: row for row in conn.execute(
            select(r.c.id, r.c.step, r.c.status, r.c.due_at).where(r.c.deadline_id == deadline_id))}
        for step in self.steps_for(process, state):
            when = self.send_time(due, step)
            old = existing.get(step.key)
            if old is not None and old.status not in ("pending", "cancelled"):
                continue  # sent, being sent or failed: history, not to be touched
            if when <= now:
                if old is not None and old.status == "pending":
                    conn.execute(update(r).where(r.c.id == old.id).values(
                        status="cancelled", last_error="the deadline moved past this step",
                        updated_at=now))
                continue
            whom = [party] if party and not step.escalation else parties
            people = self.recipients(conn, process, state, step, whom)
            if old is None:
                conn.execute(insert(r).values(
                    application_id=app_id, deadline_id=deadline_id, step=step.key,
                    escalation=step.escalation, due_at=when, recipients=people,
                    status="pending", attempts=0, next_attempt_at=when, created_at=now,
                    updated_at=now))
            else:
                conn.execute(update(r).where(r.c.id == old.id).values(
                    due_at=when, next_attempt_at=when, recipients=people, status="pending",
                    attempts=0, last_error=None, updated_at=now))

    def cancel(self, conn: Connection, *, app_id: int, deadline_ids: Iterable[int] | None,
               now: datetime, reason: str) -> None:
        """Cancel the steps of closed deadlines (all of the case's, if None) that are not
        sent yet — also one being sent right now: if its send fails it is not retried."""
        r = t.reminder
        q = update(r).where(r.c.application_id == app_id, r.c.deadline_id.is_not(None),
                            r.c.status.in_(("pending", "sending")))
        if deadline_ids is not None:
            q = q.where(r.c.deadline_id.in_(list(deadline_ids)))
        conn.execute(q.values(status="cancelled", last_error=reason, updated_at=now))


def list_reminders(conn: Connection, *, app_ids: Iterable[int] | None = None,
                   status: str | None = None) -> list[dict[str, Any]]:
    q = reminder_query(status=status).order_by(t.reminder.c.due_at, t.reminder.c.id)
    if app_ids is not None:
        q = q.where(t.reminder.c.application_id.in_(list(app_ids)))
    return [view(row._mapping) for row in conn.execute(q)]


def reminder_query(*, status: str | None = None) -> Select[Any]:
    """The ledger's rows with their deadline and case, unordered (a list orders and cuts
    it: see ``engine/lists.py``)."""
    r, d, a = t.reminder, t.deadline, t.application
    q = (select(r, d.c.due, d.c.state, d.c.party, d.c.derivation, a.c.case_number, a.c.title)
         .outerjoin(d, d.c.id == r.c.deadline_id).join(a, a.c.id == r.c.application_id))
    if status is not None:
        q = q.where(r.c.status == status)
    return q


def view(row: Mapping[Any, Any]) -> dict[str, Any]:
    def iso(v: Any) -> Any:
        return v.isoformat() if v is not None else None

    return {"id": row["id"], "application": row["application_id"],
            "case_number": row["case_number"], "title": row["title"],
            "deadline": row["deadline_id"], "state": row["state"],
            "party": row["party"] if row["deadline_id"] is not None else row["municipality"],
            "deadline_due": iso(row["due"]), "derivation": row["derivation"],
            "kind": "deadline" if row["deadline_id"] is not None else "turn",
            "step": row["step"], "escalation": row["escalation"], "due_at": iso(row["due_at"]),
            "status": row["status"], "attempts": row["attempts"],
            "next_attempt_at": iso(row["next_attempt_at"]), "last_error": row["last_error"],
            "sent_at": iso(row["sent_at"]), "late": row["late"],
            "message_id": row["message_id"] or None,
            "recipients": [{"id": p["id"], "name": p["name"]} for p in row["recipients"]]}


def sent_for_history(conn: Connection, app_id: int, *, after: Position | None = None,
                     limit: int | None = None, newest: bool = False) -> list[Entry]:
    """Sent reminders as history entries with their keys (those after ``after``, at most
    ``limit``)."""
    r, d = t.reminder, t.deadline
    rows = conn.execute(select(r.c.id, r.c.step, r.c.sent_at, r.c.late, r.c.message_id,
                               r.c.recipients, r.c.escalation, d.c.due, d.c.state, d.c.party)
                        .join(d, d.c.id == r.c.deadline_id)
                        .where(r.c.application_id == app_id, r.c.status == "sent",
                               keyset.after(r.c.sent_at, r.c.id, after))
                        .order_by(*keyset.order(r.c.sent_at, r.c.id, newest)).limit(limit))
    return [((r.sent_at, keyset.REMINDERS, r.id),
             {"version": None, "trigger": "reminder", "from": None, "to": None,
              "user": "scheduler", "role": None, "municipality": r.party,
              "at": r.sent_at.isoformat(), "comment": "",
              "data": {"step": r.step, "deadline": r.due.isoformat(), "state": r.state,
                       "escalation": r.escalation, "late": r.late, "message_id": r.message_id,
                       "to": [p["name"] for p in r.recipients]}}) for r in rows]


def due_filter(now: datetime, *, mine: str | None = None) -> Any:
    """Rows the scheduler may take now: due and pending, or a claim that has lapsed (or is
    the service ``mine``'s own, left over from a claim whose commit it never heard of) —
    and only while their deadline is still open."""
    r, d = t.reminder, t.deadline
    open_deadline = or_(r.c.deadline_id.is_(None),   # a notice has none: due as it stands
                        select(d.c.id).where(d.c.id == r.c.deadline_id, d.c.active).exists())
    lapsed = r.c.claimed_until < now if mine is None \
        else or_(r.c.claimed_until < now, r.c.claimed_by == mine)
    return and_(or_(and_(r.c.status == "pending", r.c.next_attempt_at <= now),
                    and_(r.c.status == "sending", lapsed)), open_deadline)
