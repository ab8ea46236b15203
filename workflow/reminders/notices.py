"""Your-turn notices: ledger rows without a deadline, written by the step that made it
someone's turn, and sent by the reminder service like any reminder (same claim, same
Message-ID on a resend, so each is handed to the SMTP server once).

A row is for one role in one municipality, and goes to its active users who have not
turned notices off, never to the user who took the step. It is due at once. A later step
that takes the turn away before it is sent (the other side has acted meanwhile, the case
moved on) cancels it, in that step's transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy import insert, or_, select, update
from sqlalchemy.engine import Connection

from ..store import keyset
from ..store import tables as t
from ..store.keyset import Entry, Position

STEP = "turn"   # the ``step`` of a notice's row (a deadline's rows name their reminder step)


def recipients(conn: Connection, role: str, municipality: str, *, not_user: str
               ) -> list[dict[str, Any]]:
    u = t.user
    rows = conn.execute(select(u.c.id, u.c.name, u.c.email, u.c.role, u.c.municipality)
                        .where(u.c.role == role, u.c.municipality == municipality, u.c.active,
                               u.c.id != not_user, or_(u.c.turn_notices.is_(None),
                                                       u.c.turn_notices.is_(True)))
                        .order_by(u.c.id))
    return [dict(r._mapping) for r in rows]


def plan(conn: Connection, *, app_id: int, version: int,
         targets: Mapping[tuple[str, str], Mapping[str, str]], step: Mapping[str, Any],
         actor: str, now: datetime) -> int:
    """Write one notice per (role, municipality) of ``targets`` that has someone to tell;
    ``step`` says what happened (``trigger``, ``label``, ``by``, ``by_municipality``,
    ``day``, ``state``). Returns how many were written."""
    made = 0
    for (role, municipality), actions in targets.items():
        people = recipients(conn, role, municipality, not_user=actor)
        if not people:
            continue
        conn.execute(insert(t.reminder).values(
            application_id=app_id, deadline_id=None, step=STEP, escalation=False,
            due_at=now, recipients=people, status="pending", attempts=0,
            next_attempt_at=now, role=role, municipality=municipality,
            audit_version=version, created_at=now, updated_at=now,
            detail={**step, "actions": list(actions.values()),
                    "triggers": list(actions)}))
        made += 1
    return made


def cancel_stale(conn: Connection, *, app_id: int,
                 still: Mapping[tuple[str, str], Mapping[str, str]], now: datetime) -> None:
    """Cancel the case's unsent notices of which no action is still awaited from their role
    and municipality (``still``: as :func:`plan`'s targets)."""
    r = t.reminder
    rows = conn.execute(select(r.c.id, r.c.role, r.c.municipality, r.c.detail).where(
        r.c.application_id == app_id, r.c.deadline_id.is_(None),
        r.c.status.in_(("pending", "sending"))))
    gone = [x.id for x in rows
            if not set((x.detail or {}).get("triggers") or ())
            & set(still.get((x.role, x.municipality), ()))]
    if gone:
        conn.execute(update(r).where(r.c.id.in_(gone)).values(
            status="cancelled", last_error="no longer their turn", updated_at=now))


def context(row: Mapping[str, Any], people: list[dict[str, Any]], *, state_label: str,
            municipality_name: str, role_label: str) -> dict[str, Any]:
    """What the notice's templates (``templates/emails/turn*.txt.j2``) are given."""
    detail = dict(row["detail"] or {})
    day = detail.get("day")
    return {
        "recipients": people,
        "case": {"id": row["application_id"], "title": row["title"],
                 "number": row["case_number"], "state_label": state_label},
        "step": {"label": detail.get("label", ""), "by": detail.get("by", ""),
                 "by_municipality": detail.get("by_municipality"),
                 "day": date.fromisoformat(day) if day else None},
        "municipality": municipality_name,
        "role": role_label,
        "actions": list(detail.get("actions") or []),
    }


def sent_for_history(conn: Connection, app_id: int, *, after: Position | None = None,
                     limit: int | None = None, newest: bool = False) -> list[Entry]:
    """Sent notices as history entries with their keys (those after ``after``, at most
    ``limit``)."""
    r = t.reminder
    rows = conn.execute(select(r.c.id, r.c.sent_at, r.c.message_id, r.c.recipients, r.c.role,
                               r.c.municipality, r.c.audit_version, r.c.detail, r.c.late)
                        .where(r.c.application_id == app_id, r.c.deadline_id.is_(None),
                               r.c.status == "sent",
                               keyset.after(r.c.sent_at, r.c.id, after))
                        .order_by(*keyset.order(r.c.sent_at, r.c.id, newest)).limit(limit))
    return [((x.sent_at, keyset.NOTICES, x.id),
             {"version": None, "trigger": "notice", "from": None, "to": None,
              "user": "scheduler", "role": x.role, "municipality": x.municipality,
              "at": x.sent_at.isoformat(), "comment": "",
              "data": {"after_version": x.audit_version, "late": x.late,
                       "actions": list((x.detail or {}).get("actions") or []),
                       "message_id": x.message_id,
                       "to": [p["name"] for p in x.recipients]}}) for x in rows]
