"""Workload: a case's history a page at a time, as the case grows (issue 21).

One case is made through the engine on a fresh demo database, then given ``N`` history
entries in bulk (not through the engine: 90 % steps, as audit entries, 10 % section
edits), for each ``--history-sizes`` (default 1,000 and 100,000). Timed in this process,
each ``--history-reps`` times after a warm-up: the API's first page of 100
(``queries.history_page``), a page of 100 from the middle (by its cursor), the case page's
newest 50 (``history.latest``), the whole history as the CLI and the aktindsigt read it
(``queries.history``), beside the floor: one indexed ``SELECT`` of 100 audit entries
after a version, on the bare driver. Goal: a page costs the same at 100,000 entries as at
1,000 (p50 at most 2× and at most 10 ms above), the whole history growing with it.
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from benchlib import (
    Context,
    Options,
    Verdict,
    demo_database,
    libpq_url,
    percentile,
    pg_url,
    sqlite_url,
)

DATABASES = True
PAGE = 100


def add_arguments(ap: Options) -> None:
    ap.add_argument("--history-sizes", default="1000,100000",
                    help="history entries of the case, comma-separated")
    ap.add_argument("--history-reps", type=int, default=40, help="timings a row")


def run(a: argparse.Namespace, ctx: Context) -> dict[str, Any]:
    sizes = [int(s) for s in str(a.history_sizes).split(",") if s.strip()]
    rows = []
    for db in ctx.dbs:
        for size in sizes:
            url = sqlite_url(ctx.folder("history") / f"h{size}.db") if db == "sqlite" \
                else pg_url()
            rows += _measure(db, demo_database(url), size, a.history_reps)
    return {"rows": rows, "sizes": sizes}


def _fill(wf: Any, app: int, size: int) -> None:
    from sqlalchemy import insert

    from workflow.store import database as store
    from workflow.store import tables as t

    start = datetime(2026, 1, 5, 8, tzinfo=UTC)
    steps = [{"application_id": app, "version": v, "trigger": "edit", "from_state":
              "area_selection", "to_state": "area_selection", "user_id": "pl-ishoj",
              "role": "project_lead", "municipality": "ishoj",
              "at": start + timedelta(seconds=v), "comment": "", "data": {"n": v}}
             for v in range(2, 2 + size * 9 // 10)]
    sections = [{"application_id": app, "name": "reasons", "number": k + 1,
                 "body": f"Begrundelse {k}.", "created_by": "legal-ishoj",
                 "created_at": start + timedelta(seconds=10 * k + 5)}
                for k in range(size - len(steps) - 1)]
    with store.write(wf.engine) as conn:
        for chunk in range(0, len(steps), 10_000):
            conn.execute(insert(t.audit_entry), steps[chunk:chunk + 10_000])
        if sections:
            conn.execute(insert(t.case_section), sections)
    if not store.is_sqlite(wf.engine):   # as autovacuum would have, after a bulk load
        with wf.engine.begin() as conn:   # (committed: ANALYZE's statistics are too)
            conn.exec_driver_sql("ANALYZE")


def _timed(fn: Callable[[], Any], reps: int) -> dict[str, float]:
    fn()   # warm-up
    lats = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        lats.append((time.perf_counter() - t0) * 1e3)
    return {"p50_ms": statistics.median(lats), "p99_ms": percentile(lats, 0.99)}


def _measure(db: str, url: str, size: int, reps: int) -> list[dict[str, Any]]:
    from workflow.config import Settings
    from workflow.engine import history as timeline
    from workflow.engine import queries
    from workflow.engine.workflow import Workflow
    from workflow.store import database as store

    wf = Workflow.open(Settings(database_url=url))
    try:
        app = wf.create(kind="dispensation", round=1, title="Historik", user="pl-ishoj")
        _fill(wf, app, size)
        whole = queries.history(wf, app, user="admin")
        assert len(whole) == size, (len(whole), size)
        with store.read(wf.engine) as conn:
            _, middle = timeline.entries(conn, app, limit=size // 2)
        cursor = queries.lists.encode(f"history:{app}", middle.values()) if middle else None
        version = size * 9 // 20
        out = []
        for label, fn, n in (
                ("floor: one indexed SELECT of 100", _floor(db, url, app, version), reps),
                ("first page (API, 100)", lambda: queries.history_page(
                    wf, app, user="admin", limit=PAGE), reps),
                ("a page from the middle (100)", lambda: queries.history_page(
                    wf, app, user="admin", cursor=cursor, limit=PAGE), reps),
                ("case page: newest 50", lambda: _latest(wf, app), reps),
                ("whole history", lambda: queries.history(wf, app, user="admin"),
                 max(3, reps // 10))):
            out.append({"db": db, "size": size, "row": label, **_timed(fn, n)})
        return out
    finally:
        wf.close()


def _latest(wf: Any, app: int) -> Any:
    from workflow.engine import history as timeline
    from workflow.store import database as store

    with store.read(wf.engine) as conn:
        return timeline.latest(conn, app, 50)


def _floor(db: str, url: str, app: int, version: int) -> Callable[[], Any]:
    sql = ("SELECT * FROM audit_entry WHERE application_id = {p} AND version > {p} "
           "ORDER BY version LIMIT 100")
    if db == "sqlite":
        conn = sqlite3.connect(url.removeprefix("sqlite:///"))
        q = sql.format(p="?")
        return lambda: conn.execute(q, (app, version)).fetchall()
    import psycopg

    pg = psycopg.connect(libpq_url(url), autocommit=True)
    q = sql.format(p="%s")
    return lambda: pg.execute(q, (app, version)).fetchall()


def print_report(report: Mapping[str, Any]) -> None:
    print("\nA case's history a page at a time (in process; p50 / p99 ms):")
    sizes = report["sizes"]
    print(f"  {'database':<11}{'row':<36}" + "".join(f"{f'{s:,} entries':>22}"
                                                     for s in sizes))
    keyed = {(r["db"], r["row"], r["size"]): r for r in report["rows"]}
    for db, row in dict.fromkeys((r["db"], r["row"]) for r in report["rows"]):
        cells = "".join(_cell(keyed.get((db, row, s))) for s in sizes)
        print(f"  {db:<11}{row:<36}{cells}")


def _cell(r: Mapping[str, float] | None) -> str:
    return f"{r['p50_ms']:>11.2f} / {r['p99_ms']:<8.2f}" if r else f"{'':>22}"


def goals(report: Mapping[str, Any]) -> list[Verdict]:
    sizes = report["sizes"]
    if len(sizes) < 2:
        return []
    small, big = min(sizes), max(sizes)
    keyed = {(r["db"], r["row"], r["size"]): r["p50_ms"] for r in report["rows"]}
    out: list[Verdict] = []
    for db, row in dict.fromkeys((r["db"], r["row"]) for r in report["rows"]):
        if row.startswith(("floor", "whole")):
            continue
        a, b = keyed.get((db, row, small)), keyed.get((db, row, big))
        if a is None or b is None:
            continue
        out.append((f"{db} {row}: as cheap at {big:,} entries as at {small:,}",
                    f"{a:.2f} → {b:.2f} ms", b <= max(2 * a, a + 10)))
    return out
