"""The load-and-fault run in short: ``bench/run.py --workload faults`` for 30 s with 4
clients; and its invariants, each shown to catch the breach it names.

A real run, as an operator starts it: 4 ``workflow serve`` and 2 ``workflow scheduler``
processes on a fresh PostgreSQL schema, an SMTP sink, web workers and schedulers SIGKILLed
and started again, the sink stopped once, every database connection of the run terminated
for 5 s. The run itself checks the invariants (``bench/workloads/invariants.py``) and
exits 1 when one breaks; the first test asserts its exit code and the zeros it prints. The
checks are plain PostgreSQL SQL: the second test breaks a real case's rows one way at a time
(in a transaction it rolls back) and asserts that exactly the matching check says so.
"""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.conftest import PG_BASE_URL, PG_URL, REQUIRE_PG
from tests.factories import make_application
from workflow.engine.workflow import Workflow

PROJECT_DIR = Path(__file__).resolve().parents[2]
SEED = 17   # the kills' targets follow from it: web workers and schedulers both


def postgres_reachable() -> str | None:
    """Why PostgreSQL cannot be used, or None."""
    import psycopg

    try:
        with psycopg.connect(PG_BASE_URL.replace("postgresql+psycopg://", "postgresql://"),
                             connect_timeout=3):
            return None
    except psycopg.Error as exc:
        return str(exc).strip().splitlines()[0]


@pytest.mark.slow
def test_a_short_load_and_fault_run_breaks_no_invariant() -> None:
    problem = postgres_reachable()
    if problem is not None:
        if REQUIRE_PG:
            pytest.fail(f"PostgreSQL is required here: {problem}")
        pytest.skip(f"no PostgreSQL at {PG_BASE_URL}: {problem}")
    proc = subprocess.run(
        [sys.executable, str(PROJECT_DIR / "bench" / "run.py"), "--workload", "faults",
         "--seconds", "30", "--clients", "4", "--kill-every", "3", "--seed", str(SEED),
         "--pg-url", PG_BASE_URL],
        cwd=PROJECT_DIR, capture_output=True, text=True, encoding="utf-8", timeout=300)
    out = proc.stdout
    shown = f"{out[-6000:]}\n{proc.stderr[-3000:]}"
    found = [line for line in out.splitlines() if line.startswith("RESULT ")]
    assert found, f"no RESULT line (exit {proc.returncode}):\n{shown}"
    result: dict[str, Any] = json.loads(found[-1][len("RESULT "):])
    assert proc.returncode == 0, shown
    assert result["ok"] is True

    # the printed table says the same zeros
    for label in ("invariants broken", "reminders lost"):
        assert re.search(rf"^\s+{label}\s+0$", out, re.M), f"{label} is not 0:\n{shown}"
    assert re.search(r"^\s+processes died unkilled\s+0\b", out, re.M), shown
    assert re.search(r"^\s+5xx\s+[\d,]+\s+\(503 in the database window: [\d,]+, other: 0\)$",
                     out, re.M), shown
    assert result["invariants_broken"] == result["reminders_lost"] == 0
    assert result["bad_5xx"] == 0 and result["crashes"] == 0
    assert result["reminders_doubled"] <= result["kills_scheduler"]

    # and the run did what it claims: load, faults of every kind, reminders to send
    assert result["transitions"] >= 20 and result["2xx"] >= 200
    assert result["kills_web"] >= 1 and result["kills_scheduler"] >= 1
    assert result["reminders_due"] >= 10
    assert result["reminders_sent"] == result["reminders_due"]
    assert re.search(r"^\s+SMTP sink down\s+\d+\.\d s at", out, re.M), shown
    assert re.search(r"^\s+database interrupted\s+\d+\.\d s at \d+ s\s+\((\d+) backends",
                     out, re.M), shown


# ------------------------------------------------------------------ the checks themselves
def load_invariants() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "bench_invariants", PROJECT_DIR / "bench" / "workloads" / "invariants.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module   # (its dataclasses look their module up)
    spec.loader.exec_module(module)
    return module


# one breach each, and the checks (by their first words) it must break: those and no other
BREACHES: list[tuple[str, str, set[str]]] = [
    ("a version ahead of the audit trail",
     "UPDATE application SET version = version + 1 WHERE id = {a}",
     {"application version"}),
    ("an audit entry gone",
     "DELETE FROM audit_entry WHERE application_id = {a} AND version = 2",
     {"audit versions"}),
    ("a state its last entry did not reach",
     "UPDATE audit_entry SET to_state = 'drafting' WHERE application_id = {a} "
     "AND version = (SELECT version FROM application WHERE id = {a})",
     {"application state"}),
    ("a document's bytes changed",
     "UPDATE document_version SET content = content || '\\x00'::bytea "
     "WHERE id = (SELECT min(id) FROM document_version)",
     {"every document version"}),
    ("a document version's number skipped",
     "UPDATE document_version SET number = number + 10 "
     "WHERE id = (SELECT max(id) FROM document_version)",
     {"document versions per document"}),
    ("an area live in two applications (the unique index dropped first)",
     "DROP INDEX uq_area_live_claim; INSERT INTO application_area (application_id, "
     "cooperation_id, area_id, live) SELECT {b}, cooperation_id, area_id, true FROM "
     "application_area WHERE application_id = {a} LIMIT 1",
     {"no area is live", "no live claim of a withdrawn"}),
    ("a claim on a released area",
     "UPDATE area SET released_on = '2018-06-01' WHERE id = (SELECT min(area_id) FROM "
     "application_area WHERE application_id = {a})",
     {"no live claim on an area"}),
    ("a withdrawn application still holding an area",
     "INSERT INTO application_area (application_id, cooperation_id, area_id, live) "
     "VALUES ({b}, 'ishoj-vallensbaek', 'nature_environment', true)",
     {"no live claim of a withdrawn"}),
    ("an application in council approval holding nothing",
     "UPDATE application_area SET live = false WHERE application_id = {a}",
     {"an application between"}),
    ("an open deadline of another state",
     "UPDATE deadline SET state = 'drafting' WHERE application_id = {a} AND active",
     {"open deadlines"}),
    ("a pending reminder of a closed deadline",
     "UPDATE deadline SET active = false WHERE application_id = {a} AND active",
     {"no reminder waits"}),
    ("a reminder left claimed",
     "UPDATE reminder SET status = 'sending', claimed_by = 'test' "
     "WHERE id = (SELECT min(r.id) FROM reminder r JOIN deadline d ON d.id = r.deadline_id "
     "WHERE d.active)",
     {"no reminder is left"}),
]


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_each_invariant_catches_its_breach(db_url: str, wf: Workflow) -> None:
    import psycopg

    inv = load_invariants()
    a = make_application(wf, state="council_approval", areas=["rehabilitation", "social"])
    b = make_application(wf, state="withdrawn", title="Trukket tilbage")
    with psycopg.connect(PG_URL.replace("postgresql+psycopg://", "postgresql://")) as conn:
        assert [(c.name, c.broken) for c in inv.check_database(conn) if c.broken] == []
        names = [c.name for c in inv.check_database(conn)]
        assert len(names) == len(inv.CHECKS)
        for what, sql, expected in BREACHES:
            conn.execute(sql.format(a=a, b=b))
            broken = {c.name for c in inv.check_database(conn) if c.broken}
            conn.rollback()
            want = {n for n in names if any(n.startswith(e) for e in expected)}
            assert len(want) == len(expected), (what, expected)
            assert broken == want, what
        assert [c.name for c in inv.check_database(conn) if c.broken] == []  # rolled back


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_the_reminder_tally_counts_lost_and_doubled(db_url: str, wf: Workflow) -> None:
    import psycopg

    inv = load_invariants()
    make_application(wf, state="council_approval", areas=["rehabilitation", "social"])
    with psycopg.connect(PG_URL.replace("postgresql+psycopg://", "postgresql://")) as conn:
        rows = conn.execute("SELECT r.id FROM reminder r JOIN deadline d ON d.id = r.deadline_id"
                            " WHERE r.status = 'pending' AND d.active ORDER BY r.id").fetchall()
        assert len(rows) >= 4
        first, second, third = (r[0] for r in rows[:3])
        conn.execute("UPDATE reminder SET status = 'sent', message_id = '<a>' WHERE id = %s",
                     (first,))
        conn.execute("UPDATE reminder SET status = 'sent', message_id = '<b>' WHERE id = %s",
                     (second,))
        conn.execute("UPDATE reminder SET status = 'failed', last_error = 'refused' "
                     "WHERE id = %s", (third,))
        pending = len(rows) - 3
        sink = Counter({"<a>": 2, "<c>": 1})   # <a> arrived twice, <b> never, <c> unasked
        before = inv.tally_reminders(conn, sink, clock=datetime(2000, 1, 1, tzinfo=UTC))
        assert (before.due, before.sent, before.delivered, before.lost, before.doubled,
                before.not_due, before.unmarked) == (3, 2, 1, 2, 1, pending, 1)
        after = inv.tally_reminders(conn, sink, clock=datetime(2100, 1, 1, tzinfo=UTC))
        assert (after.due, after.lost, after.not_due) == (3 + pending, 2 + pending, 0)
        conn.rollback()
