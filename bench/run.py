"""Benchmark: state changes, Word drafts, reminders and the web app, beside floors and peers.

State changes: persisted transitions per second beside the raw-SQL floor and
SpiffWorkflow. Documents: the application letter per second beside docxtpl. Reminders:
the reminder service's start and a burst of e-mails with 100,000 pending, beside
APScheduler's SQLAlchemy job store. Web: requests per second and p99 latency of the
dashboard, an application page and a transition POST under wrk on loopback.

One command, ``python bench/run.py`` (with the project's environment), runs all five
workloads and prints one table per workload (``--workload
changes|startup|documents|reminders|web`` runs one). Every variant runs in its own fresh
process (on a fresh database), interleaved over rounds with the order rotated each round;
the tables hold medians. Ratios are taken within a round (same machine state), then their
median is reported.

State-change rows
  workflow sqlite / postgresql   our engine, wf.fire() per change on bench/chain.yaml
  workflow lifecycle ...         our engine on the shipped states.yaml: the whole life of
                                 a round-1 dispensation (guards, party acts, deadlines)
  bound sqlite / postgresql      workers/engine.py bound: only the engine's statements on the
                                 bare driver plus the transitions machine (what the design
                                 costs at the least, on our schema)
  raw sqlite (floor)             peers: stdlib sqlite3, UPDATE + INSERT per transaction
  raw postgresql (floor)         workers/pg_floor.py: the same with psycopg
  spiff, spiff_req               peers: SpiffWorkflow 3 kept in memory / reloaded per step
  sqlmodel_req                   peers: transitions + SQLModel, naive, per request

Start-up: the time of the ``workflow`` commands that need no database, beside the floors
(``python -c pass``, ``import click``, parsing ``states.yaml`` with PyYAML).

Documents: see ``docs.py`` (the application letter beside docxtpl, python-docx + jinja2
and the zip/XML floor; also runnable alone as ``python bench/docs.py``).

Reminders: see ``reminders.py`` (100,000 pending reminders written through the engine;
scheduler start, ``workflow scheduler --once``, a burst of 1,000 to a local SMTP server;
APScheduler's job store adding, starting and firing; also runnable alone as
``python bench/reminders.py``).

Web: see ``web.py`` (``workflow serve --workers 4`` on SQLite and on PostgreSQL, loaded by
wrk from its own process with 50 connections; also runnable alone as ``python
bench/web.py``; ``profile_web.py`` profiles a page when it misses its goal).

The peers (``../shared/peers``, or $WORKFLOW_BENCH_PEERS) run in their own virtualenv,
created on first use at $WORKFLOW_BENCH_PEERS_VENV (default /tmp/workflow-bench-peers).
PostgreSQL rows use the database ``bench`` ($WORKFLOW_BENCH_POSTGRES_URL), created if
missing; its ``public`` schema is dropped and recreated by every run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
sys.path.insert(0, str(BENCH_DIR))

# `docs` is also the name of a folder at the repository root: ruff would sort it apart
import docs  # noqa: E402

# isort: split
import reminders  # noqa: E402
import web  # noqa: E402
from benchlib import (  # noqa: E402
    ensure_peers_venv,
    ensure_pg_database,
    fmt_ratio,
    med_range,
    peers_dir,
    pg_url,
    report_goals,
    run_result,
    worker,
    workflow_script,
)

FLOOR_GOAL = 3.0        # at most this many times slower than the floor, on SQLite
SPIFF_GOAL = 3.0        # at least this many times SpiffWorkflow's rate
CLI_GOAL_MS = 150.0     # `workflow --help` and commands without a database
WORKLOADS = ("changes", "startup", "documents", "reminders", "web")


@dataclass(frozen=True)
class Variant:
    name: str
    cmd: tuple[str, ...]
    db: str             # sqlite | postgresql
    role: str           # ours | bound | floor | peer


# ----------------------------------------------------------------------- set-up
def variants(dbs: Sequence[str], peers: Path, peers_py: Path,
             with_sqlmodel: bool, with_lifecycle: bool = True) -> list[Variant]:
    ours = tuple(worker("engine"))
    peer = (str(peers_py), str(peers / "bench_statechange.py"))
    out: list[Variant] = []
    for db in dbs:
        out.append(Variant(f"workflow {db}", (*ours, "chain", "--db", db), db, "ours"))
        if with_lifecycle:
            out.append(Variant(f"workflow lifecycle {db}", (*ours, "lifecycle", "--db", db),
                               db, "ours"))
        out.append(Variant(f"bound {db}", (*ours, "bound", "--db", db), db, "bound"))
    if "sqlite" in dbs:
        out.append(Variant("raw sqlite (floor)", (*peer, "raw", "--sync", "NORMAL"), "sqlite",
                           "floor"))
    if "postgresql" in dbs:
        out.append(Variant("raw postgresql (floor)",
                           tuple(worker("pg_floor")), "postgresql",
                           "floor"))
    out.append(Variant("spiff", (*peer, "spiff"), "sqlite", "peer"))
    out.append(Variant("spiff_req", (*peer, "spiff_req"), "sqlite", "peer"))
    if with_sqlmodel and "sqlite" in dbs:
        out.append(Variant("sqlmodel_req", (*peer, "sqlmodel_req"), "sqlite", "peer"))
    return out


# ---------------------------------------------------------------------- running
def run_variant(v: Variant, n: int, env: dict[str, str], cwd: Path) -> dict[str, Any]:
    return run_result(v.name, [*v.cmd, "--n", str(n)], env, cwd)


def run_rounds(vs: list[Variant], rounds: int, n: int, env: dict[str, str]
               ) -> list[dict[str, dict[str, Any]]]:
    out = []
    for r in range(rounds):
        k = r % len(vs)
        res: dict[str, dict[str, Any]] = {}
        for v in vs[k:] + vs[:k]:          # rotate the order every round
            x = run_variant(v, n, env, REPO_DIR if v.role in ("ours", "bound") else peers_dir())
            res[v.name] = x
            print(f"round {r + 1}/{rounds}: {v.name:<30} {x['rate']:8.0f} changes/s  "
                  f"median {x['lat_median_us']:7.0f} us  p99 {x['lat_p99_us']:7.0f} us",
                  flush=True)
        out.append(res)
    return out


# ---------------------------------------------------------------------- summary
def summarize(vs: list[Variant], rounds: list[dict[str, dict[str, Any]]]
              ) -> dict[str, dict[str, Any]]:
    floors = {v.db: v.name for v in vs if v.role == "floor"}
    summary: dict[str, dict[str, Any]] = {}
    for v in vs:
        rates = [rr[v.name]["rate"] for rr in rounds]
        s: dict[str, Any] = {
            "db": v.db, "role": v.role, "rate": med_range(rates),
            "lat_median_us": statistics.median(rr[v.name]["lat_median_us"] for rr in rounds),
            "lat_p99_us": statistics.median(rr[v.name]["lat_p99_us"] for rr in rounds)}
        floor = floors.get(v.db)
        if floor:  # slowdown: how many times slower than the floor on the same database
            s["vs_floor"] = med_range([rr[floor]["rate"] / rr[v.name]["rate"] for rr in rounds])
        for ref in ("spiff_req", "spiff"):  # speed-up: how many times the reference's rate
            s[f"vs_{ref}"] = med_range([rr[v.name]["rate"] / rr[ref]["rate"] for rr in rounds])
        summary[v.name] = s
    return summary


def print_table(summary: dict[str, dict[str, Any]]) -> None:
    head = (f"{'variant':<30} {'changes/s':>9} {'(min-max)':>13} {'median us':>9} "
            f"{'p99 us':>8}  {'slower than floor':<22} {'x spiff_req rate':<22} "
            f"{'x spiff rate':<22}")
    print(head.rstrip())
    print("-" * len(head.rstrip()))
    for name, s in summary.items():
        rate = s["rate"]
        print(f"{name:<30} {rate['median']:9.0f} {rate['min']:6.0f}-{rate['max']:<6.0f} "
              f"{s['lat_median_us']:9.0f} {s['lat_p99_us']:8.0f}  "
              f"{fmt_ratio(s.get('vs_floor')):<22} {fmt_ratio(s['vs_spiff_req']):<22} "
              f"{fmt_ratio(s['vs_spiff']):<22}".rstrip())


# -------------------------------------------------------------------- CLI start
def time_cli(runs: int, scratch: Path) -> dict[str, dict[str, Any]]:
    """Median wall time of commands that need no database (the DB URL points nowhere)."""
    script = workflow_script()
    states = REPO_DIR / "states.yaml"
    commands = {
        "python -c pass (baseline)": [sys.executable, "-c", "pass"],
        # floors: what any click command costs before it does anything of its own; what
        # reading states.yaml with PyYAML's C parser costs (`check` and `diagram`, which
        # workflow.cli.console answers without click), and both
        "python: import click": [sys.executable, "-c", "import click"],
        "python: parse yaml": [
            sys.executable, "-c", "import yaml; "
            f"yaml.compose(open({str(states)!r}, 'rb'), Loader=yaml.CSafeLoader)"],
        "python: click + parse yaml": [
            sys.executable, "-c", "import click, yaml; "
            f"yaml.compose(open({str(states)!r}, 'rb'), Loader=yaml.CSafeLoader)"],
        "workflow --help": [script, "--help"],
        "workflow --version": [script, "--version"],
        "workflow rules": [script, "rules"],
        "workflow check": [script, "check"],
        "workflow diagram": [script, "diagram"],
    }
    env = {k: v for k, v in os.environ.items() if not k.startswith("WORKFLOW_")}
    env["WORKFLOW_DATABASE_URL"] = f"sqlite:///{scratch}/no-such-dir/never.db"
    # An installed package has its bytecode; an editable one under PYTHONDONTWRITEBYTECODE
    # would compile itself on every start, which is not what a start-up costs.
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(REPO_DIR / "workflow")],
                   check=True)
    for label, cmd in commands.items():   # each must work without a database
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=REPO_DIR)
        if proc.returncode != 0:
            raise SystemExit(f"{label} failed: {proc.stderr.strip()}")
    out: dict[str, dict[str, Any]] = {}
    hyperfine = shutil.which("hyperfine")
    if hyperfine:
        export = scratch / "hyperfine.json"
        subprocess.run([hyperfine, "-N", "--warmup", "2", "--runs", str(runs), "--style",
                        "none", "--export-json", str(export),
                        *[shlex.join(c) for c in commands.values()]],
                       check=True, env=env, cwd=REPO_DIR, capture_output=True)
        data = json.loads(export.read_text())["results"]
        for label, r in zip(commands, data, strict=True):
            out[label] = {"median_ms": r["median"] * 1e3, "min_ms": r["min"] * 1e3,
                          "max_ms": r["max"] * 1e3, "tool": "hyperfine"}
        return out
    for label, cmd in commands.items():
        times = []
        for i in range(runs + 2):          # the first two are warm-up
            t0 = time.perf_counter()
            subprocess.run(cmd, check=True, env=env, cwd=REPO_DIR, capture_output=True)
            if i >= 2:
                times.append((time.perf_counter() - t0) * 1e3)
        out[label] = {"median_ms": statistics.median(times), "min_ms": min(times),
                      "max_ms": max(times), "tool": "subprocess"}
    return out


def print_cli(cli: dict[str, dict[str, Any]], runs: int) -> None:
    tool = next(iter(cli.values()))["tool"]
    print(f"\nStart-up without a database ({runs} runs each after 2 warm-ups, {tool}):")
    for label, r in cli.items():
        if label.startswith("workflow"):
            goal = "  goal < 150 ms: " + ("met" if r["median_ms"] < CLI_GOAL_MS else "MISSED")
        else:  # the baseline, and the floors
            goal = "  (floor)" if label.startswith("python:") else ""
        print(f"  {label:<28} median {r['median_ms']:6.1f} ms  "
              f"(min {r['min_ms']:.1f} - max {r['max_ms']:.1f}){goal}")


# ------------------------------------------------------------------------ goals
def goals(summary: dict[str, dict[str, Any]], cli: dict[str, dict[str, Any]]
          ) -> list[tuple[str, str, bool]]:
    out: list[tuple[str, str, bool]] = []
    ours = summary.get("workflow sqlite")
    if ours and "vs_floor" in ours:
        x = ours["vs_floor"]["median"]
        out.append(("workflow sqlite within 3x of the raw sqlite floor",
                    f"{x:.2f}x slower", x <= FLOOR_GOAL))
    if ours:  # Spiff stores into SQLite, so the SQLite row is the one to compare
        for ref, what in (("spiff_req", "like for like: both reload per request"),
                          ("spiff", "Spiff keeping the workflow in memory")):
            x = ours[f"vs_{ref}"]["median"]
            out.append((f"workflow sqlite at least 3x {ref}'s rate ({what})", f"{x:.2f}x",
                        x >= SPIFF_GOAL))
    for label, r in cli.items():
        if label.startswith("workflow"):
            out.append((f"`{label}` under 150 ms", f"{r['median_ms']:.0f} ms",
                        r["median_ms"] < CLI_GOAL_MS))
    return out


def environment(pg_version: str | None) -> dict[str, Any]:
    return {"python": platform.python_version(), "sqlite": sqlite3.sqlite_version,
            "postgresql": pg_version, "cpus": os.cpu_count(), "machine": platform.machine(),
            "system": platform.platform()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--workload", choices=WORKLOADS,
                    help="only this workload's table (default: all)")
    ap.add_argument("--rounds", type=int, default=3, help="rounds of state changes")
    ap.add_argument("--n", type=int, default=300, help="applications per run (x 8 changes)")
    ap.add_argument("--only", choices=["sqlite", "postgresql"],
                    help="only this database's rows (the Spiff peers always run)")
    ap.add_argument("--cli-runs", type=int, default=10,
                    help="runs per start-up timing (0: skip)")
    ap.add_argument("--no-sqlmodel", action="store_true", help="leave out sqlmodel_req")
    ap.add_argument("--no-lifecycle", action="store_true",
                    help="leave out the whole-life rows (most of the run's time), e.g. for "
                         "more rounds of the chain")
    ap.add_argument("--doc-rounds", type=int, default=docs.ROUNDS, help="rounds of documents")
    ap.add_argument("--docs", type=int, default=docs.DOCS,
                    help="documents per round and variant")
    reminders.add_arguments(ap)
    web.add_arguments(ap)
    ap.add_argument("--out", help="also write every figure to this JSON file")
    a = ap.parse_args()
    workloads = [a.workload] if a.workload else list(WORKLOADS)
    changes, documents = "changes" in workloads, "documents" in workloads
    startup = "startup" in workloads and a.cli_runs > 0
    remind = "reminders" in workloads
    serve = "web" in workloads

    peers = peers_dir()
    if changes and not (peers / "bench_statechange.py").exists():
        raise SystemExit(f"the peers are not at {peers}; set WORKFLOW_BENCH_PEERS")
    peers_py = ensure_peers_venv(peers) if workloads != ["startup"] else sys.executable
    dbs = ["sqlite", "postgresql"] if a.only is None else [a.only]
    pg_version = ensure_pg_database(pg_url()) \
        if (changes or remind or serve) and "postgresql" in dbs else None
    if pg_version is None and "postgresql" in dbs:
        dbs.remove("postgresql")
        if (changes or remind or serve) and not dbs:
            raise SystemExit("--only postgresql, but PostgreSQL is not usable")
    vs = variants(dbs, peers, peers_py, not a.no_sqlmodel, not a.no_lifecycle)

    scratch = Path(tempfile.mkdtemp(prefix="workflow-bench-"))
    env = {**os.environ, "PEERS_TMP": str(scratch), "WORKFLOW_BENCH_TMP": str(scratch),
           "WORKFLOW_BENCH_POSTGRES_URL": pg_url()}
    env = {k: v for k, v in env.items()
           if not k.startswith("WORKFLOW_") or k.startswith("WORKFLOW_BENCH_")}
    info = environment(pg_version)
    print(f"Python {info['python']}, SQLite {info['sqlite']}, PostgreSQL "
          f"{info['postgresql'] or '-'}, {info['cpus']} CPUs; scratch {scratch}", flush=True)
    rounds: list[dict[str, dict[str, Any]]] = []
    cli: dict[str, dict[str, Any]] = {}
    report: dict[str, Any] = {}
    reminder_report: dict[str, Any] = {}
    web_report: dict[str, Any] = {}
    wall = 0.0
    try:
        if changes:
            print(f"State changes: N={a.n} applications x 8 changes, {a.rounds} rounds",
                  flush=True)
            t0 = time.time()
            rounds = run_rounds(vs, a.rounds, a.n, env)
            wall = time.time() - t0
        if startup:
            cli = time_cli(a.cli_runs, scratch)
        if documents:
            report = docs.measure(peers, peers_py, scratch / "documents", env,
                                  rounds=a.doc_rounds, docs=a.docs)
        if remind:
            reminder_report = reminders.run_from_args(a, peers, peers_py,
                                                      scratch / "reminders", env, dbs)
        if serve:
            web_report = web.run_from_args(a, scratch / "web", env, dbs)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    verdicts: list[tuple[str, str, bool]] = []
    summary: dict[str, dict[str, Any]] = {}
    if changes:
        summary = summarize(vs, rounds)
        print(f"\nState changes: {a.rounds} rounds, N={a.n} applications x 8 changes "
              f"(lifecycle: x 11 transitions), {wall:.0f} s; medians over rounds, "
              f"ratios per round then their median (min-max)\n")
        print_table(summary)
        print("\n  slower than floor: the floor's rate / this rate, same database "
              "(lifecycle rows do more per transition than the floor's workload)\n"
              "  x spiff(_req) rate: this rate / SpiffWorkflow's (which runs on SQLite); "
              "spiff_req reloads the workflow every step as a stateless server must, "
              "as our engine does")
    if cli:
        print_cli(cli, a.cli_runs)
    if changes or cli:
        verdicts += goals(summary, cli)
    if documents:
        docs.print_report(report["summary"], a.doc_rounds, a.docs, report["wall_s"])
        verdicts += docs.goals(report["summary"])
    if remind:
        reminders.print_report(reminder_report)
        verdicts += reminders.goals(reminder_report)
    if serve:
        web.print_report(web_report)
        verdicts += web.goals(web_report)
    report_goals(verdicts, a.out, {
        "args": vars(a), "environment": info, "wall_s": wall, "rounds": rounds,
        "summary": summary, "cli": cli, "documents": report,
        "reminders": reminder_report, "web": web_report})


if __name__ == "__main__":
    main()
