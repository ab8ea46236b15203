"""Worker: persisted transitions through the real engine, as a stateless request makes them.

One :class:`~workflow.engine.workflow.Workflow` is opened once (as a server process would), then
every change is one ``wf.fire(app_id, trigger, user=...)``: a transaction that loads the
user and the application, checks role and municipality, runs the process's
``transitions`` machine, updates the row under an optimistic version check, inserts the
audit entry, syncs deadlines and commits. Each run starts on a fresh database.

Workloads
  chain      bench/chain.yaml: the peers' N applications x 8 changes (no guards, no
             deadlines), applications created untimed first.
  lifecycle  the shipped states.yaml: the whole life of a round-1 dispensation, from
             proposing areas to ``closed`` (11 transitions with guards, joint steps, party
             acts, effects and deadlines; tests/factories.py's road). The areas a life
             releases are freed again, untimed, before the next one starts.
  bound      the chain, as only the database work of the engine's transaction and the
             ``transitions`` machine: the statements ``wf.fire`` runs (the engine's own
             SQL and value converters: lock and load the application and the user,
             update it, insert the audit entry, count the change on PostgreSQL) on the
             bare driver connection, the machine picking the step, and no other Python (no
             checks, no rules, no error handling). What this design costs at the least,
             on our schema; the distance from the floor to it is not the engine's code.

usage: python bench/workers/engine.py chain|lifecycle|bound --db sqlite|postgresql [--n 300]
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, update

from workflow.config import Settings
from workflow.engine.workflow import Workflow
from workflow.process import machine as mc
from workflow.process.definition import load
from workflow.store import database as store
from workflow.store import tables as t

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench/, for benchlib
from benchlib import (  # noqa: E402
    BENCH_DIR,
    CHANGES_PER_APP,
    REPO_DIR,
    Clock,
    demo_database,
    emit,
    pg_url,
    plan,
    result,
    scratch_dir,
    sqlite_url,
)

ROUND_ONE = "rehabilitation,special_education,nature_environment"
# (trigger, user, data) from a fresh round-1 dispensation to `closed`: tests/factories.py's
# ROAD followed by AFTER_SUBMITTED["closed"].
# The dates are plausible for a case opened on LIFE_OPENS, each step taken the day after
# the latest date it names (the engine refuses a meeting in the future, a decision before
# the case was sent, and so on): LIFE_MOMENTS, below.
LIFE_OPENS = datetime(2018, 1, 8, 9, tzinfo=UTC)
LIFE: list[tuple[str, str, dict[str, Any]]] = [
    ("propose_areas", "pl-ishoj", {"areas": ROUND_ONE}),
    ("confirm_areas", "pl-ishoj", {}),
    ("confirm_areas", "pl-vallensbaek", {}),
    ("submit_for_review", "pl-ishoj", {}),
    ("approve_draft", "legal-ishoj", {}),
    ("record_council_decision", "sec-ishoj",
     {"decision": "approved", "meeting_date": "2018-04-03", "agenda_ref": "BR 3/4-18 pkt. 7"}),
    ("record_council_decision", "sec-vallensbaek",
     {"decision": "approved", "meeting_date": "2018-04-25", "agenda_ref": "KB 25-04-2018 pkt. 12"}),
    ("send_to_ministry", "pl-ishoj", {}),
    ("record_decision", "pl-ishoj",
     {"outcome": "granted", "reference": "2018-77", "decision_date": "2018-06-01"}),
    ("start_transition", "pl-ishoj", {"effective_date": "2019-01-01"}),
    ("complete", "pl-ishoj", {}),
]


def _moments() -> list[datetime]:
    at, out = LIFE_OPENS, []
    for _trigger, _user, data in LIFE:
        for key in ("meeting_date", "decision_date", "effective_date"):
            if key in data:
                day = datetime.fromisoformat(data[key]).replace(hour=9, tzinfo=UTC)
                at = max(at, day + timedelta(days=1))
        out.append(at)
    return out


LIFE_MOMENTS = _moments()


def open_fresh(db: str, states_file: str) -> Workflow:
    """A migrated database with the demo users, and the engine opened on it."""
    url = demo_database(sqlite_url(scratch_dir() / "workflow.db") if db == "sqlite" else pg_url())
    return Workflow.open(Settings(database_url=url), definition=load(states_file),
                         clock=Clock(LIFE_OPENS))


def count_changes(wf: Workflow) -> tuple[int, dict[str, int]]:
    ae, a = t.audit_entry, t.application
    with store.read(wf.engine) as conn:
        changes = conn.execute(select(func.count()).select_from(ae)
                               .where(ae.c.trigger != "create")).scalar_one()
        states: dict[Any, Any] = dict(
            conn.execute(select(a.c.state, func.count()).group_by(a.c.state)).all())
    return changes, {str(k): int(v) for k, v in states.items()}


def run_chain(wf: Workflow, n: int) -> tuple[float, list[float]]:
    return time_chain(wf, n, lambda app_id, trigger: wf.fire(app_id, trigger, user="pl-ishoj"))


def run_bound(wf: Workflow, n: int) -> tuple[float, list[float]]:
    hot, machine, digest = wf.hot, wf.machines["chain"], wf.definition.hash
    sqlite = wf.engine.dialect.name == "sqlite"
    proxied = wf.engine.raw_connection()
    raw = proxied.driver_connection
    assert raw is not None

    def change(app_id: int, trigger: str) -> None:
        if sqlite:
            raw.execute("BEGIN IMMEDIATE")
        cur = raw.cursor()
        cur.execute(hot.load.sql, hot.load.params({"app_id": app_id, "user_id": "pl-ishoj"}))
        got = cur.fetchone()
        step = mc.Step(state=got[6], ctx=None, attrs={})  # type: ignore[arg-type]
        mc.run(machine, step, trigger)
        now, version = wf.clock(), got[7] + 1
        moved = hot.update[True, False]  # a new state, the data as it was: as wf.fire runs
        day = now.astimezone(wf.tz).date()
        cur.execute(moved.sql, moved.params({
            "app_id": app_id, "old": got[7], "state": step.state, "version": version,
            "at": now, "on": day, "user": "pl-ishoj", "definition_hash": digest}))
        cur.execute(hot.audit.sql, hot.audit.params({
            "app_id": app_id, "version": version, "trigger": trigger,
            "from_state": got[6], "to_state": step.state, "user": "pl-ishoj",
            "role": got[12], "municipality": got[13], "at": now, "on": day, "comment": "",
            "data": {}}))
        wf.chain.append(cur, app_id, "audit_entry", {   # the step's link, as wf.fire writes it
            "version": version, "trigger": trigger, "from_state": got[6],
            "to_state": step.state, "user_id": "pl-ishoj", "role": got[12],
            "municipality": got[13], "at": now, "happened_on": day, "comment": "",
            "data": {}})
        if not sqlite:  # PostgreSQL's change counter (SQLite counts changes itself)
            cur.execute(store._COUNT_CHANGE)
        raw.commit()

    try:
        return time_chain(wf, n, change)
    finally:
        proxied.close()


def time_chain(wf: Workflow, n: int, change: Callable[[int, str], Any]
               ) -> tuple[float, list[float]]:
    """Create ``n`` chain applications (untimed), then time ``change(app_id, trigger)``
    for each of their 8 changes; checks that every change landed where it should."""
    ids = [wf.create(kind="chain", title=f"Bench {i}", user="pl-ishoj")
           for i in range(1, n + 1)]
    lats: list[float] = []
    pc = time.perf_counter
    gc.collect()
    t0 = pc()
    for index, app_id in enumerate(ids, 1):
        for trigger, _src, _dst in plan(index):
            s = pc()
            change(app_id, trigger)
            lats.append(pc() - s)
    total = pc() - t0
    changes, states = count_changes(wf)
    expected = {"closed": n - n // 10, "rejected": n // 10}
    assert changes == n * CHANGES_PER_APP, changes
    assert states == {k: v for k, v in expected.items() if v}, states
    return total, lats


def run_lifecycle(wf: Workflow, n: int) -> tuple[float, list[float]]:
    clock = wf.clock
    assert isinstance(clock, Clock)
    clock.now = LIFE_OPENS
    ids = [wf.create(kind="dispensation", round=1, title=f"Bench {i}", user="pl-ishoj")
           for i in range(1, n + 1)]
    free_areas = update(t.area).values(released_on=None, released_by=None)
    lats: list[float] = []
    pc = time.perf_counter
    gc.collect()
    for app_id in ids:
        for (trigger, user, data), moment in zip(LIFE, LIFE_MOMENTS, strict=True):
            clock.now = moment  # untimed: the day after the step's dates (each plausible)
            s = pc()
            wf.fire(app_id, trigger, user=user, data=data)
            lats.append(pc() - s)
        with store.write(wf.engine) as conn:  # untimed: the next life claims the same areas
            conn.execute(free_areas)
    changes, states = count_changes(wf)
    assert changes == n * len(LIFE), changes
    assert states == {"closed": n}, states
    return sum(lats), lats


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("workload", choices=["chain", "lifecycle", "bound"])
    ap.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    ap.add_argument("--n", type=int, default=300, help="applications")
    a = ap.parse_args()
    if a.workload in ("chain", "bound"):
        wf = open_fresh(a.db, str(BENCH_DIR / "chain.yaml"))
        run, name = (run_chain, f"workflow {a.db}") if a.workload == "chain" else \
            (run_bound, f"bound {a.db}")
        total, lats = run(wf, a.n)
    else:
        wf = open_fresh(a.db, str(REPO_DIR / "states.yaml"))
        total, lats = run_lifecycle(wf, a.n)
        name = f"workflow lifecycle {a.db}"
    wf.engine.dispose()
    emit(result(name, a.n, total, lats))


if __name__ == "__main__":
    main()
