"""What must hold after a load-and-fault run (``faults.py``), read from the database
and from the SMTP sink's log, independently of the engine's own code (plain SQL, psycopg).

:func:`check_database` returns one :class:`Check` per invariant (how many rows break it and a
few of them); :func:`tally_reminders` compares the reminder ledger with what the sink
accepted: due, sent, lost, doubled.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

# States in which an application of the `application` process holds its areas: after the
# areas were confirmed, until the ministry's decision (states.yaml, workflow/rules.py).
CLAIMING_STATES = ("drafting", "legal_review", "council_approval", "submitted",
                   "info_requested")
# States after which no claim may stay live (released by withdraw, refusal or completion).
UNCLAIMED_STATES = ("withdrawn", "closed", "refused")


@dataclass
class Check:
    name: str
    broken: int
    examples: list[str] = field(default_factory=list)


def numbered_from_one(table: str, parent: str, number: str, rows: str) -> str:
    """SQL naming every ``parent`` whose rows in ``table`` are not numbered 1..n."""
    return f"""
        SELECT '{parent.removesuffix("_id")} ' || {parent} || ': ' || count(*) || ' {rows}, '
               || '{number}s ' || min({number}) || '..' || max({number})
        FROM {table} GROUP BY {parent}
        HAVING min({number}) <> 1 OR max({number}) <> count(*)"""


# (name, SQL selecting one row per breach; the first column names the breach)
CHECKS: list[tuple[str, str]] = [
    ("application version = its last audit entry's version", """
        SELECT 'application ' || a.id || ': version ' || a.version || ', last audit entry '
               || coalesce(max(e.version)::text, 'none')
        FROM application a LEFT JOIN audit_entry e ON e.application_id = a.id
        GROUP BY a.id, a.version HAVING max(e.version) IS DISTINCT FROM a.version"""),
    ("audit versions per application are 1..n without gaps",
     numbered_from_one("audit_entry", "application_id", "version", "entries")),
    ("application state = its last audit entry's to_state", """
        SELECT 'application ' || a.id || ': state ' || a.state || ', last entry to '
               || e.to_state
        FROM application a JOIN audit_entry e
          ON e.application_id = a.id AND e.version = a.version
        WHERE e.to_state <> a.state"""),
    ("every document version's bytes match its sha256 and size", """
        SELECT 'document_version ' || id || ' (document ' || document_id || ' v' || number
               || '): stored sha256 ' || left(sha256, 12) || ', bytes '
               || left(encode(sha256(content), 'hex'), 12)
        FROM document_version
        WHERE encode(sha256(content), 'hex') <> sha256 OR length(content) <> size"""),
    ("document versions per document are 1..n without gaps",
     numbered_from_one("document_version", "document_id", "number", "versions")),
    ("no area is live in two applications", """
        SELECT 'area ' || area_id || coalesce(':' || nullif(part_id, ''), '')
               || ': live in applications '
               || string_agg(application_id::text, ', ' ORDER BY application_id)
        FROM application_area WHERE live GROUP BY area_id, part_id HAVING count(*) > 1"""),
    ("no live claim on an area already released", """
        SELECT 'area ' || c.area_id || ' released on ' || r.released_on
               || ' but live in application ' || c.application_id
        FROM application_area c JOIN area r ON r.id = c.area_id
        WHERE c.live AND r.released_on IS NOT NULL
        UNION ALL
        SELECT 'part ' || c.area_id || ':' || c.part_id || ' released on ' || p.released_on
               || ' but live in application ' || c.application_id
        FROM application_area c
        JOIN area_part_release p ON p.area_id = c.area_id AND p.part_id = c.part_id
        WHERE c.live"""),
    ("no live claim of a withdrawn, refused or closed application", """
        SELECT 'application ' || a.id || ' (' || a.state || ') still holds ' || c.area_id
        FROM application_area c JOIN application a ON a.id = c.application_id
        WHERE c.live AND a.state IN ('withdrawn', 'closed', 'refused')"""),
    ("an application between confirmation and decision holds its areas", """
        SELECT 'application ' || a.id || ' (' || a.kind || coalesce(' round ' || a.round, '')
               || ', ' || a.state || ') holds ' || count(DISTINCT c.area_id) || ' area(s)'
        FROM application a
        LEFT JOIN application_area c ON c.application_id = a.id AND c.live
        WHERE a.process = 'application' AND a.state IN ({claiming})
        GROUP BY a.id, a.kind, a.round, a.state
        HAVING count(c.id) = 0
            OR (a.kind = 'dispensation' AND a.round = 1
                AND count(DISTINCT c.area_id) NOT BETWEEN 2 AND 3)
            OR (a.kind IN ('jobcentre', 'satellite') AND count(DISTINCT c.area_id) <> 1)"""),
    ("open deadlines belong to the application's current state", """
        SELECT 'deadline ' || d.id || ' of application ' || a.id || ': for ' || d.state
               || ', the application is in ' || a.state
        FROM deadline d JOIN application a ON a.id = d.application_id
        WHERE d.active AND d.state <> a.state"""),
    ("no reminder waits on a closed deadline", """
        SELECT 'reminder ' || r.id || ' (' || r.status || ') of closed deadline '
               || r.deadline_id
        FROM reminder r JOIN deadline d ON d.id = r.deadline_id
        WHERE r.status IN ('pending', 'sending') AND NOT d.active"""),
    ("no reminder is left claimed (sending) after the drain", """
        SELECT 'reminder ' || id || ' claimed by ' || coalesce(claimed_by, '?') || ' until '
               || coalesce(claimed_until::text, '?')
        FROM reminder WHERE status = 'sending'"""),
]


def check_database(conn: Any, *, examples: int = 5) -> list[Check]:
    """Every invariant of :data:`CHECKS` on ``conn`` (a psycopg connection whose search
    path is the run's schema)."""
    out = []
    for name, sql in CHECKS:
        rows = conn.execute(sql.format(claiming=", ".join(f"'{s}'" for s in CLAIMING_STATES))
                            ).fetchall()
        out.append(Check(name, len(rows), [str(r[0]) for r in rows[:examples]]))
    return out


@dataclass
class ReminderTally:
    due: int = 0              # should have gone out by the schedulers' last clock
    sent: int = 0             # marked sent in the ledger
    delivered: int = 0        # sent, and the sink has its Message-ID
    lost: int = 0             # due but not sent, failed, or sent but never delivered
    doubled: int = 0          # deliveries beyond the first of a Message-ID
    not_due: int = 0          # pending, due after the schedulers' last clock
    unmarked: int = 0         # delivered, but the row is not sent (it was cancelled since)
    examples: list[str] = field(default_factory=list)


def sink_counts(log: Path) -> Counter[str]:
    """Message-ID -> how many times the sink accepted it (``bench/workers/smtp_sink.py``'s log)."""
    counts: Counter[str] = Counter()
    if log.exists():
        for line in log.read_text(encoding="ascii", errors="replace").splitlines():
            if line.strip():
                counts[line.split()[0]] += 1
    return counts


def tally_reminders(conn: Any, sink: Counter[str], *, clock: datetime,
                    examples: int = 5) -> ReminderTally:
    """The ledger against the sink, with ``clock`` the schedulers' last moment."""
    tally = ReminderTally()
    rows = conn.execute("""
        SELECT r.id, r.status, r.message_id, r.due_at, r.next_attempt_at, d.active,
               r.last_error
        FROM reminder r JOIN deadline d ON d.id = r.deadline_id ORDER BY r.id""").fetchall()
    sent_ids: set[str] = set()
    for rid, status, message_id, due_at, next_attempt, active, error in rows:
        if status == "sent":
            tally.due += 1
            tally.sent += 1
            sent_ids.add(message_id)
            if sink.get(message_id, 0) > 0:
                tally.delivered += 1
            else:
                tally.lost += 1
                _example(tally, examples, f"reminder {rid}: sent as {message_id}, "
                                          f"never reached the sink")
        elif status == "failed":
            tally.due += 1
            tally.lost += 1
            _example(tally, examples, f"reminder {rid}: failed: {error}")
        elif status in ("pending", "sending") and active:
            if min(due_at, next_attempt) <= clock:
                tally.due += 1
                tally.lost += 1
                _example(tally, examples, f"reminder {rid}: still {status}, due {due_at}"
                                          f" (next attempt {next_attempt}): {error or ''}")
            else:
                tally.not_due += 1
    tally.doubled = sum(n - 1 for n in sink.values() if n > 1)
    tally.unmarked = sum(1 for mid in sink if mid not in sent_ids)
    return tally


def _example(tally: ReminderTally, limit: int, text: str) -> None:
    if len(tally.examples) < limit:
        tally.examples.append(text)
