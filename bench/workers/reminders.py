"""Worker: the reminder ledger written through the engine, and a burst sent by the service.

The ledger is what ``wf.create`` writes on ``bench/reminders.yaml``: each application opens
in ``drafting`` (deadline 20 working days) with one deadline and four pending reminder
rows (5 and 1 working days before, 1 after, the escalation 3 after). Applications are
created in cohorts, one cohort per working day from ``--base`` on (the clock set to that
day, a second per application), so the cohorts' first reminders (``before_5``) fall due on
successive working days at 08:00 Danish time: the first pending reminders are exactly one
cohort, all due at the same moment.

Subcommands (each prints one ``RESULT {json}`` line):

  populate --url sqlite:///FILE --apps N --cohort C [--base YYYY-MM-DD]
        a fresh database; N applications through ``wf.create``, timed.
  populate --url postgresql+psycopg://...?options=-csearch_path%3DS --schema S --apps N
           --cohort C --base D --from sqlite:///FILE [--engine-apps K]
        a fresh schema S; the first K applications through ``wf.create`` on PostgreSQL
        (timed: the engine's rate there), then the rest of the rows copied in bulk from the
        SQLite database made by the first form (same rows, same ids: checked on the K);
        then ANALYZE, as autovacuum would have done on a table grown to this size.
  burst --url URL --smtp-port P --smtp-log FILE --expect 1000 [--batch 20]
        the clock set one second after the first pending reminder is due (exactly
        ``--expect`` rows due, or it stops), then ``ReminderService.tick()`` timed until it
        returns; every message's arrival is checked in the SMTP server's log
        (bench/workers/smtp_sink.py) and against the Message-IDs the ledger recorded.

usage: python bench/workers/reminders.py populate|burst --url URL [options]
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Table, func, insert, select, text

from workflow.calendar.workdays import WorkCalendar
from workflow.config import Settings, SmtpSettings
from workflow.engine.workflow import Workflow
from workflow.process.definition import Definition, load
from workflow.reminders.ledger import due_filter
from workflow.reminders.mailer import Mailer
from workflow.reminders.service import ReminderService
from workflow.store import database as store
from workflow.store import tables as t

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench/, for benchlib
from benchlib import (  # noqa: E402
    BENCH_DIR,
    REPO_DIR,
    Clock,
    demo_database,
    emit_json,
    peak_rss_mib,
)

DEFINITION = BENCH_DIR / "reminders.yaml"
STEPS_PER_APP = 4
COPIED = (t.application, t.audit_entry, t.deadline, t.reminder)   # what wf.create writes
CHUNK = 5000
SENDER = "paamindelser@bench.example"


# --------------------------------------------------------------------- populate
def default_base(calendar: WorkCalendar) -> date:
    """A working day a week from today: with the real clock nothing is due for weeks."""
    return calendar.next_working_day(date.today() + timedelta(days=7))


def create_apps(wf: Workflow, clock: Clock, base: date, first: int, last: int,
                cohort: int) -> float:
    """Applications ``first`` .. ``last - 1`` through the engine; the seconds it took."""
    gc.collect()
    t0 = time.perf_counter()
    for i in range(first, last):
        k, j = divmod(i, cohort)
        day = wf.calendar.add_working_days(base, k)
        clock.now = datetime(day.year, day.month, day.day, 8, 0, tzinfo=UTC) + \
            timedelta(seconds=j)
        wf.create(kind="reminded", title=f"Ansøgning {k + 1}-{j + 1}", user="pl-ishoj")
    return time.perf_counter() - t0


def counts(engine: Engine) -> dict[str, int]:
    with store.read(engine) as conn:
        out = {tb.name: int(conn.execute(select(func.count()).select_from(tb)).scalar_one())
               for tb in COPIED}
        out["pending"] = int(conn.execute(select(func.count()).select_from(t.reminder)
                                          .where(t.reminder.c.status == "pending")).scalar_one())
    return out


def copy_rows(src: Engine, dst: Engine, table: Table, after_app: int) -> int:
    """The rows of applications after ``after_app`` from ``src`` to ``dst``, in chunks."""
    key = table.c.id if table is t.application else table.c.application_id
    copied = 0
    with store.read(src) as sconn, store.write(dst) as dconn:
        result = sconn.execute(select(table).where(key > after_app)
                               .order_by(*table.primary_key.columns)).mappings()
        while chunk := result.fetchmany(CHUNK):
            dconn.execute(insert(table), [dict(r) for r in chunk])
            copied += len(chunk)
        if copied and "id" in table.c:   # the serial column, past the copied ids
            dconn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                               f"(SELECT max(id) FROM {table.name}))"))
    return copied


def ledger_rows(engine: Engine, up_to_app: int) -> list[tuple[Any, ...]]:
    r = t.reminder
    with store.read(engine) as conn:
        return [tuple(x) for x in conn.execute(
            select(r.c.id, r.c.application_id, r.c.deadline_id, r.c.step, r.c.due_at,
                   r.c.next_attempt_at, r.c.status, r.c.recipients)
            .where(r.c.application_id <= up_to_app).order_by(r.c.id))]


def cmd_populate(a: argparse.Namespace) -> None:
    definition: Definition = load(str(DEFINITION))
    demo_database(a.url, a.schema)
    clock = Clock(datetime.now(UTC))
    wf = Workflow.open(Settings(database_url=a.url), clock=clock, definition=definition)
    base = date.fromisoformat(a.base) if a.base else default_base(wf.calendar)
    by_engine = a.apps if a.source is None else min(a.engine_apps, a.apps)
    engine_s = create_apps(wf, clock, base, 0, by_engine, a.cohort)
    copy_s, copied = 0.0, 0
    if a.source is not None:
        src = store.make_engine(a.source)
        mine, theirs = ledger_rows(wf.engine, by_engine), ledger_rows(src, by_engine)
        if mine != theirs:
            raise SystemExit(f"the engine wrote other reminder rows on {wf.engine.dialect.name} "
                             f"than on SQLite for the first {by_engine} applications")
        t0 = time.perf_counter()
        for table in COPIED:
            copied += copy_rows(src, wf.engine, table, by_engine)
        copy_s = time.perf_counter() - t0
        if counts(src) != counts(wf.engine):
            raise SystemExit(f"copy incomplete: {counts(src)} != {counts(wf.engine)}")
        src.dispose()
    if not store.is_sqlite(wf.engine):   # as autovacuum would have, the table having grown
        with store.write(wf.engine) as conn:
            conn.execute(text("ANALYZE"))
    n = counts(wf.engine)
    if n["pending"] != a.apps * STEPS_PER_APP:
        raise SystemExit(f"{n['pending']} pending reminders, expected {a.apps * STEPS_PER_APP}")
    if a.source is None:   # the real clock must see nothing due yet
        first = ReminderService(wf, Mailer(SmtpSettings()), templates_dir=REPO_DIR / "templates"
                                ).next_due()
        assert first is not None and first > datetime.now(UTC), first
    wf.close()
    emit_json({
        "cmd": "populate", "db": wf.engine.dialect.name, "apps": a.apps, "cohort": a.cohort,
        "base": base.isoformat(), "engine_apps": by_engine, "engine_s": engine_s,
        "apps_per_s": by_engine / engine_s,
        "reminder_rows_per_s": by_engine * STEPS_PER_APP / engine_s,
        "ms_per_app": engine_s / by_engine * 1e3, "copied_rows": copied, "copy_s": copy_s,
        "counts": n, "pending": n["pending"], "peak_rss_mib": peak_rss_mib()})


# ------------------------------------------------------------------------ burst
class Timed:
    """Wraps a callable and adds up the seconds spent in it."""

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.fn = fn
        self.seconds = 0.0
        self.calls = 0

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return self.fn(*args, **kwargs)
        finally:
            self.seconds += time.perf_counter() - t0
            self.calls += 1


def log_lines(path: Path) -> list[str]:
    return path.read_text(encoding="ascii").splitlines() if path.exists() else []


def cmd_burst(a: argparse.Namespace) -> None:
    clock = Clock(datetime.now(UTC))
    wf = Workflow.open(Settings(database_url=a.url), clock=clock, definition=load(str(DEFINITION)))
    mailer = Mailer(SmtpSettings(host="127.0.0.1", port=a.smtp_port, sender=SENDER))
    service = ReminderService(wf, mailer, templates_dir=REPO_DIR / "templates", batch=a.batch)
    first = service.next_due()
    if first is None:
        raise SystemExit("no pending reminder")
    clock.now = first + timedelta(seconds=1)
    r = t.reminder
    with store.read(wf.engine) as conn:
        due = conn.execute(select(func.count()).select_from(r)
                           .where(due_filter(clock.now))).scalar_one()
        pending_before = conn.execute(select(func.count()).select_from(r)
                                      .where(r.c.status == "pending")).scalar_one()
    if due != a.expect:
        raise SystemExit(f"{due} reminders due at {clock.now}, expected {a.expect}")
    log = Path(a.smtp_log)
    seen_before = len(log_lines(log))

    # time the parts (instance attributes: the service's code is unchanged)
    claim = Timed(service._claim)
    send = Timed(service._send)
    compose = Timed(service.compose)
    smtp = Timed(lambda session, message: type(session).send(session, message))
    opened = Timed(mailer.session)  # one SMTP connection each

    def session() -> Any:
        got = opened()
        got.send = lambda message: smtp(got, message)
        return got

    service._claim = claim  # type: ignore[method-assign]
    service._send = send  # type: ignore[method-assign]
    service.compose = compose  # type: ignore[method-assign]
    mailer.session = session  # type: ignore[method-assign]

    gc.collect()
    t0 = time.perf_counter()
    done = service.tick()
    tick_s = time.perf_counter() - t0

    arrived = [line.split()[0] for line in log_lines(log)[seen_before:]]
    with store.read(wf.engine) as conn:
        recorded = dict(conn.execute(select(r.c.id, r.c.message_id)
                                     .where(r.c.id.in_(done.ids))).all())
        sent_total = conn.execute(select(func.count()).select_from(r)
                                  .where(r.c.status == "sent")).scalar_one()
        pending_after = conn.execute(select(func.count()).select_from(r)
                                     .where(r.c.status == "pending")).scalar_one()
    wf.close()
    expected = set(recorded.values())
    times = Counter(arrived)
    distinct = set(times)
    emit_json({
        "cmd": "burst", "db": wf.engine.dialect.name, "due": due, "batch": a.batch,
        "pending_before": pending_before, "pending_after": pending_after,
        "sent": done.sent, "late": done.late, "retried": done.retried, "failed": done.failed,
        "sent_in_ledger": sent_total, "tick_s": tick_s, "per_s": done.sent / tick_s,
        "received": len(arrived), "distinct": len(distinct),
        "doubled": sum(n - 1 for n in times.values()),
        "lost": len(expected - distinct) + (due - len(expected)),
        "unexpected": len(distinct - expected),
        "claim_s": claim.seconds, "claims": claim.calls,
        "compose_s": compose.seconds, "smtp_s": smtp.seconds, "connections": opened.calls,
        "record_s": send.seconds - compose.seconds - smtp.seconds,
        "peak_rss_mib": peak_rss_mib()})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("cmd", choices=["populate", "burst"])
    ap.add_argument("--url", required=True, help="SQLAlchemy URL of the database")
    ap.add_argument("--apps", type=int, default=25_000)
    ap.add_argument("--cohort", type=int, default=1000, help="applications per working day")
    ap.add_argument("--base", help="the first cohort's day (default: a week from today)")
    ap.add_argument("--from", dest="source", help="populate: copy the rest from this database")
    ap.add_argument("--schema", default="public",
                    help="populate on PostgreSQL: the schema to recreate (the URL's search path)")
    ap.add_argument("--engine-apps", type=int, default=1000,
                    help="populate --from: applications created through the engine first")
    ap.add_argument("--smtp-port", type=int)
    ap.add_argument("--smtp-log", help="burst: the SMTP server's log (workers/smtp_sink.py)")
    ap.add_argument("--expect", type=int, default=1000, help="burst: reminders due at once")
    ap.add_argument("--batch", type=int, default=20, help="burst: the service's claim")
    a = ap.parse_args()
    if a.cmd == "populate":
        cmd_populate(a)
    else:
        if a.smtp_port is None or a.smtp_log is None:
            ap.error("burst needs --smtp-port and --smtp-log")
        cmd_burst(a)


if __name__ == "__main__":
    main()
