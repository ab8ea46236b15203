"""Workload: the case file — a 20 MB upload streamed to storage, and the journal of a case
with 1,000 documents, on SQLite and PostgreSQL (one run each, in fresh processes).

Rows: ``upload`` (``CaseFile.attach_file`` of a 20 MB PDF into the database's chunks:
seconds, peak RSS, and its growth during the upload) beside ``floor`` (the same file read,
hashed and copied in 1 MiB pieces); ``journal`` (``journal.entries`` of a case with 1,000
uploaded documents: median and p99 ms) beside a bare ``SELECT`` of the same rows.
Goals: the upload grows the worker's peak RSS by at most 8 MiB (a few MB, not the file);
the journal under 100 ms.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import Any

from benchlib import (
    REPO_DIR,
    Context,
    Options,
    Verdict,
    demo_database,
    pg_url,
    print_head,
    run_result,
    sqlite_url,
    worker,
)

DATABASES = True
RSS_GOAL_MIB = 8.0
JOURNAL_GOAL_MS = 100.0


def add_arguments(ap: Options) -> None:
    ap.add_argument("--upload-mb", type=int, default=20, help="the upload's size in MB")
    ap.add_argument("--journal-docs", type=int, default=1000,
                    help="documents in the journal's case")


def run(a: argparse.Namespace, ctx: Context) -> dict[str, Any]:
    out: dict[str, Any] = {}
    folder = ctx.folder("casefile")
    for db in ctx.dbs:
        rows: dict[str, Any] = {}
        for name, args in (("floor", ["upload", "--mb", str(a.upload_mb), "--floor"]),
                           ("upload", ["upload", "--mb", str(a.upload_mb)]),
                           ("journal", ["journal", "--docs", str(a.journal_docs)])):
            url = demo_database(sqlite_url(folder / f"{db}-{name}.db") if db == "sqlite"
                                else pg_url())
            rows[name] = run_result(f"casefile {name} ({db})",
                                    worker("casefile", *args, "--url", url), ctx.env,
                                    REPO_DIR)
        out[db] = rows
    return out


def print_report(report: Mapping[str, Any]) -> None:
    for db, rows in report.items():
        print()
        print_head(f"Case file on {db}")
        for name in ("floor", "upload"):
            r = rows[name]
            print(f"  {name + ' (' + str(r['mb']) + ' MB)':<20} {r['seconds']:7.3f} s   peak RSS "
                  f"{r['peak_rss_mib']:6.1f} MiB, grew {r['rss_growth_mib']:5.1f} MiB")
        j = rows["journal"]
        print(f"  journal ({j['docs']} docs)  median {j['ms_median']:6.1f} ms, p99 "
              f"{j['ms_p99']:6.1f} ms   floor (SELECT) {j['floor_ms_median']:6.1f} ms")


def goals(report: Mapping[str, Any]) -> list[Verdict]:
    out: list[Verdict] = []
    for db, rows in report.items():
        grew = rows["upload"]["rss_growth_mib"]
        out.append((f"{db}: a {rows['upload']['mb']} MB upload grows peak RSS by at most "
                    f"{RSS_GOAL_MIB:.0f} MiB", f"{grew:.1f} MiB", grew <= RSS_GOAL_MIB))
        ms = rows["journal"]["ms_median"]
        out.append((f"{db}: the journal of {rows['journal']['docs']} documents under "
                    f"{JOURNAL_GOAL_MS:.0f} ms", f"{ms:.1f} ms", ms < JOURNAL_GOAL_MS))
    return out
