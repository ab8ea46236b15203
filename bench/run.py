"""The benchmark runner: every workload from one command, a table each, then the goals.

``python bench/run.py`` (with the project's environment) runs the workloads changes,
startup, documents, reminders and web in turn; ``--workload NAME`` runs one of them, or
``casefile`` (issue 20's uploads, journal and export: about 9 minutes) or ``faults`` (a long
load-and-fault run), never part of the default. Each workload is a
module of ``workloads/``: ``add_arguments(options)``, ``run(args, ctx) -> report``,
``print_report(report)`` and ``goals(report) -> verdicts``; what it times runs in fresh
processes (``workers/``, or the peers'). The runner owns what they share: the options
``--workload``, ``--only`` and ``--out``, finding PostgreSQL, the scratch folder (removed
afterwards) and the environment line. Every workload runs first, then every table is
printed, then the goals; with ``--out`` all of it is also written as JSON.

The peers (``../shared/peers``, or $WORKFLOW_BENCH_PEERS) run in their own virtualenv,
created on first use at $WORKFLOW_BENCH_PEERS_VENV (default /tmp/workflow-bench-peers).
PostgreSQL rows use the database ``bench`` ($WORKFLOW_BENCH_POSTGRES_URL), created if
missing; its ``public`` schema is dropped and recreated by every run.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sqlite3
import sys
import tempfile
from pathlib import Path
from typing import Any

from benchlib import Context, Verdict, bench_env, ensure_pg_database, pg_url, report_goals
from workloads import (
    casefile,
    changes,
    documents,
    faults,
    history,
    lists,
    reminders,
    startup,
    web,
)

WORKLOADS = {"changes": changes, "startup": startup, "documents": documents,
             "reminders": reminders, "web": web, "casefile": casefile, "faults": faults,
             "lists": lists, "history": history}
DEFAULT = ("changes", "startup", "documents", "reminders", "web")


def environment(pg_version: str | None) -> dict[str, Any]:
    return {"python": platform.python_version(), "sqlite": sqlite3.sqlite_version,
            "postgresql": pg_version, "cpus": os.cpu_count(), "machine": platform.machine(),
            "system": platform.platform()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--workload", choices=list(WORKLOADS),
                    help=f"only this workload (default: {', '.join(DEFAULT)})")
    ap.add_argument("--only", choices=["sqlite", "postgresql"],
                    help="only this database's rows (the Spiff peers always run)")
    ap.add_argument("--out", help="also write every figure to this JSON file")
    for name, workload in WORKLOADS.items():
        workload.add_arguments(ap.add_argument_group(f"{name} workload"))
    a = ap.parse_args()
    todo = {name: WORKLOADS[name] for name in ([a.workload] if a.workload else DEFAULT)}

    dbs = ["sqlite", "postgresql"] if a.only is None else [a.only]
    on_dbs = any(w.DATABASES for w in todo.values())
    pg_version = ensure_pg_database(pg_url()) if on_dbs and "postgresql" in dbs else None
    if pg_version is None and "postgresql" in dbs:
        dbs.remove("postgresql")
        if on_dbs and not dbs:
            raise SystemExit("--only postgresql, but PostgreSQL is not usable")

    scratch = Path(tempfile.mkdtemp(prefix="workflow-bench-"))
    ctx = Context(dbs, scratch, {**bench_env(), "PEERS_TMP": str(scratch),
                                 "WORKFLOW_BENCH_TMP": str(scratch),
                                 "WORKFLOW_BENCH_POSTGRES_URL": pg_url()})
    info = environment(pg_version)
    print(f"Python {info['python']}, SQLite {info['sqlite']}, PostgreSQL "
          f"{info['postgresql'] or '-'}, {info['cpus']} CPUs; scratch {scratch}", flush=True)
    reports: dict[str, dict[str, Any]] = {}
    try:
        for name, workload in todo.items():
            reports[name] = workload.run(a, ctx)
    finally:
        if not ctx.keep:
            shutil.rmtree(scratch, ignore_errors=True)

    verdicts: list[Verdict] = []
    failed = False
    for name, workload in todo.items():
        workload.print_report(reports[name])
        mine = workload.goals(reports[name])
        verdicts += mine
        failed |= getattr(workload, "STRICT", False) and not all(ok for _, _, ok in mine)
    report_goals(verdicts, a.out, {"args": vars(a), "environment": info, **reports})
    if ctx.keep:
        print(f"\nKept the scratch folder {scratch}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
