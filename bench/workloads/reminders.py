"""Workload: the reminder service with 100,000 pending reminders, beside APScheduler's store.

Runs in one go, every measurement in its own fresh process:

  set-up      workers/reminders.py populate: 25,000 applications through ``wf.create``
              on bench/reminders.yaml (a deadline and 4 pending reminders each), on SQLite
              and on PostgreSQL, timed: reminder rows per second written by the engine
  start       ``python -c``: open the Workflow, construct the ReminderService, compute
              ``next_due()`` (what ``workflow scheduler`` does before it waits), from
              process start, with peak RSS; and ``workflow scheduler --once`` end to end
              with nothing due; both repeated, SQLite and PostgreSQL interleaved
  burst       workers/reminders.py burst: 1,000 reminders due at once (the clock one
              second after the first cohort's send time), ``service.tick()`` timed until
              it returns, every Message-ID checked in the log of a local SMTP server that
              runs in its own process (workers/smtp_sink.py): delivered, lost, doubled
  peers       ../shared/peers/bench_apscheduler.py, APScheduler 3's SQLAlchemy job store
              on SQLite holding one job per reminder: ``add`` + ``start`` with SQLite's
              defaults and in WAL mode, and ``fire`` (1,000 jobs due within 1 s) with the
              defaults, in WAL mode, and in WAL mode with no misfire grace cut-off

Bursts and fires are interleaved over rounds, the order rotated each round; the table
holds medians (min-max). Goals: start under 1 s with 100,000 pending; the burst at
200 e-mails/s or more, none lost, none doubled.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchlib import (
    BENCH_DIR,
    REPO_DIR,
    Context,
    Job,
    Options,
    Verdict,
    med_range,
    pg_schema_url,
    pg_url,
    print_head,
    revision,
    run_result,
    run_rounds,
    sqlite_url,
    worker,
    workflow_script,
)

DATABASES = True

START_GOAL_S = 1.0          # scheduler start with 100,000 pending
RATE_GOAL = 200.0           # e-mails per second in a burst
GOAL_PENDING = 100_000
STEPS_PER_APP = 4           # bench/reminders.yaml: before_5, before_1, after_1, escalate
MAX_ROUNDS = 4              # the 5th cohort's first step falls due with the 1st's second
PENDING, BURST, ROUNDS, START_RUNS = 100_000, 1000, 3, 5
PEER_DEFAULT_JOBS = 1000    # add_job with SQLite's defaults: ~10 ms a job (one fsync each)
PG_ENGINE_APPS = 5000       # on PostgreSQL through wf.create; the rest copied
PG_SCHEMA = "bench_reminders"   # our own schema in the benchmark database
SMTP_HOST = "127.0.0.1"
BATCH = 20                  # the service's claim

# What `workflow scheduler` does before it waits, timed from inside; the driver adds the
# time from spawning the process. Run with the project's Python, env pointing to the ledger.
START_CODE = """\
import time
wall0, t0 = time.time(), time.perf_counter()
import json, resource
from workflow.config import Settings, SmtpSettings
from workflow.engine.workflow import Workflow
from workflow.reminders.mailer import Mailer
from workflow.reminders.service import ReminderService
t1 = time.perf_counter()
settings = Settings.from_env()
wf = Workflow.open(settings)
t2 = time.perf_counter()
service = ReminderService(wf, Mailer(SmtpSettings.from_env()),
                          templates_dir=settings.templates_dir)
t3 = time.perf_counter()
first = service.next_due()
t4, wall4 = time.perf_counter(), time.time()
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
import apscheduler.executors.pool, apscheduler.schedulers.blocking  # what run() adds
t5 = time.perf_counter()
print("RESULT " + json.dumps({
    "imports_s": t1 - t0, "open_s": t2 - t1, "service_s": t3 - t2, "next_due_s": t4 - t3,
    "in_process_s": t4 - t1, "wall_start": wall0, "wall_next_due": wall4,
    "next_due": first.isoformat() if first else None, "peak_rss_mib": rss,
    "apscheduler_import_s": t5 - t4}))
"""


@dataclass(frozen=True)
class Fire:
    """A variant of the peers' burst: 1,000 jobs due within 1 s."""

    name: str
    config: str         # default | wal
    grace: str          # default (1 s) | none


FIRES = (
    Fire("APScheduler SQLite defaults", "default", "default"),
    Fire("APScheduler SQLite WAL", "wal", "default"),
    Fire("APScheduler WAL, no grace", "wal", "none"),
)


# ---------------------------------------------------------------------- helpers
class SmtpSink:
    """workers/smtp_sink.py in its own process, logging a line per accepted message."""

    def __init__(self, log: Path) -> None:
        self.log = log
        self.proc = subprocess.Popen(worker("smtp_sink", "--log", str(log)),
                                     stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().split()
        if line[:1] != ["READY"]:
            self.stop()
            raise SystemExit(f"the SMTP sink did not start: {line}")
        self.port = int(line[1])

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


def timed_start(env: Mapping[str, str]) -> dict[str, Any]:
    """One scheduler start in a fresh process: the RESULT plus the time from spawning."""
    spawn = time.time()
    res = run_result("scheduler start", [sys.executable, "-c", START_CODE], env, REPO_DIR,
                     timeout=120)
    res["start_s"] = res["wall_next_due"] - spawn
    res["spawn_to_main_s"] = res["wall_start"] - spawn
    return res


def timed_cli(env: Mapping[str, str]) -> float:
    cmd = [workflow_script(), "scheduler", "--once"]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=dict(env), cwd=REPO_DIR,
                          timeout=120)
    wall = time.perf_counter() - t0
    if proc.returncode != 0 or "Sent 0 reminder" not in proc.stdout:
        raise SystemExit(f"workflow scheduler --once: exit {proc.returncode}\n"
                         f"{proc.stdout}{proc.stderr}")
    return wall


def fmt_range(values: Sequence[float], scale: float = 1.0, digits: int = 2) -> str:
    r = med_range(values)
    f = f"{{:.{digits}f}}"
    return (f"{f.format(r['median'] * scale)} ({f.format(r['min'] * scale)}-"
            f"{f.format(r['max'] * scale)})")


# ------------------------------------------------------------------------ run
def populate(urls: Mapping[str, str], dbs: Sequence[str], apps: int, burst: int,
             pg_engine_apps: int, env: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """The ledger on every database, written through the engine (PostgreSQL: partly)."""
    print(f"Reminders: {apps:,} applications x {STEPS_PER_APP} reminders through wf.create, "
          f"{burst:,} a working day; SQLite ...", flush=True)
    out = {"sqlite": run_result("populate sqlite", worker(
        "reminders", "populate", "--url", urls["sqlite"], "--apps", str(apps), "--cohort",
        str(burst)), env, REPO_DIR, timeout=3600)}
    p = out["sqlite"]
    print(f"  sqlite: {p['engine_s']:.1f} s = {p['apps_per_s']:.0f} applications/s, "
          f"{p['reminder_rows_per_s']:.0f} reminder rows/s; {p['pending']:,} pending",
          flush=True)
    if "postgresql" in dbs:
        k = min(pg_engine_apps, apps)
        print(f"  postgresql: {k:,} applications through wf.create"
              + (", the rest copied from the SQLite ledger ..." if k < apps else " ..."),
              flush=True)
        q = out["postgresql"] = run_result("populate postgresql", worker(
            "reminders", "populate", "--url", urls["postgresql"], "--schema", PG_SCHEMA, "--apps",
            str(apps), "--cohort", str(burst), "--base", p["base"], "--from", urls["sqlite"],
            "--engine-apps", str(k)), env, REPO_DIR, timeout=3600)
        print(f"  postgresql: {q['engine_s']:.1f} s = {q['apps_per_s']:.0f} applications/s, "
              f"{q['reminder_rows_per_s']:.0f} reminder rows/s"
              + (f"; {q['copied_rows']:,} rows copied in {q['copy_s']:.1f} s"
                 if q["copied_rows"] else "") + f"; {q['pending']:,} pending", flush=True)
    return out


def time_starts(db_env: Mapping[str, Mapping[str, str]], runs: int
                ) -> tuple[dict[str, list[dict[str, Any]]], dict[str, list[float]]]:
    """Scheduler starts and ``scheduler --once`` runs, the databases alternating."""
    dbs = list(db_env)
    starts: dict[str, list[dict[str, Any]]] = {db: [] for db in dbs}
    cli: dict[str, list[float]] = {db: [] for db in dbs}
    for db in dbs:   # warm-up: the OS cache, as a restarted service finds it
        timed_start(db_env[db])
    for i in range(runs):
        for db in (dbs if i % 2 == 0 else list(reversed(dbs))):
            starts[db].append(timed_start(db_env[db]))
            cli[db].append(timed_cli(db_env[db]))
    for db in dbs:
        print(f"  start {db}: " + ", ".join(f"{s['start_s']:.2f}" for s in starts[db])
              + " s; scheduler --once: " + ", ".join(f"{c:.2f}" for c in cli[db]) + " s",
              flush=True)
    return starts, cli


def peer_store(peer: Path, peers_py: Path, jobs_by_config: Mapping[str, int],
               env: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """APScheduler: add one job per reminder, then start with them in the store."""
    script, peers = str(peer), peer.parent
    adds: dict[str, dict[str, Any]] = {}
    for config, jobs in jobs_by_config.items():
        print(f"  APScheduler {config}: adding {jobs:,} jobs ...", flush=True)
        db = f"aps_{config}.db"
        res = run_result(f"apscheduler add {config}", [
            str(peers_py), script, "add", "--jobs", str(jobs), "--config", config, "--db", db],
            env, peers, timeout=3600)
        start = run_result(f"apscheduler start {config}", [
            str(peers_py), script, "start", "--config", config, "--db", db], env, peers)
        res.update({f"start_{k}": v for k, v in start.items()})
        adds[config] = res
        print(f"    {res['add_s']:.1f} s = {res['jobs_per_s']:.0f} jobs/s; start "
              f"{res['start_start_to_first_scan_s'] * 1e3:.0f} ms, get_jobs() "
              f"{res['start_get_jobs_s']:.2f} s", flush=True)
    return adds


def burst_done(rounds: int) -> Callable[[int, str, dict[str, Any]], None]:
    """The progress line of a burst (ours) or a fire (the peers')."""
    def done(r: int, name: str, x: dict[str, Any]) -> None:
        if "per_s" in x:
            print(f"  round {r + 1}/{rounds}: {name:<28} {x['sent']} sent in "
                  f"{x['tick_s']:.2f} s = {x['per_s']:.0f}/s; received {x['received']}, "
                  f"lost {x['lost']}, doubled {x['doubled']}", flush=True)
        else:
            print(f"  round {r + 1}/{rounds}: {name:<28} ran {x['ran']}, missed "
                  f"{x['missed']}, errors {x['errors']}; all done "
                  f"{x['all_done_after_first_due_s']:.2f} s after the first was due",
                  flush=True)

    return done


def add_arguments(ap: Options) -> None:
    ap.add_argument("--pending", type=int, default=PENDING,
                    help=f"pending reminders ({STEPS_PER_APP} per application)")
    ap.add_argument("--burst", type=int, default=BURST, help="reminders due at once")
    ap.add_argument("--burst-rounds", type=int, default=ROUNDS,
                    help=f"rounds of bursts and peer fires (1..{MAX_ROUNDS})")
    ap.add_argument("--start-runs", type=int, default=START_RUNS,
                    help="scheduler starts per database (after one warm-up)")
    ap.add_argument("--pg-engine-apps", type=int, default=PG_ENGINE_APPS,
                    help="applications written through the engine on PostgreSQL, the rest "
                         "copied from the SQLite ledger (a number >= --pending / 4: all)")
    ap.add_argument("--peer-jobs", type=int,
                    help="jobs APScheduler adds in WAL mode (default: --pending)")
    ap.add_argument("--peer-default-jobs", type=int, default=PEER_DEFAULT_JOBS,
                    help="jobs APScheduler adds with SQLite's defaults (extrapolated)")
    ap.add_argument("--no-peers", action="store_true", help="leave out APScheduler")


def run(a: argparse.Namespace, ctx: Context) -> dict[str, Any]:
    """Every figure; SQLite files, logs and the peers' files go to the scratch folder."""
    pending, burst, rounds, dbs = a.pending, a.burst, a.burst_rounds, ctx.dbs
    peer = None if a.no_peers else ctx.peer_script("bench_apscheduler.py")
    apps = pending // STEPS_PER_APP
    if pending % STEPS_PER_APP or apps % burst:
        raise SystemExit(f"--pending must be {STEPS_PER_APP} x a multiple of --burst "
                         f"({STEPS_PER_APP * burst:,})")
    if not 1 <= rounds <= min(MAX_ROUNDS, apps // burst):
        raise SystemExit(f"--burst-rounds must be 1..{min(MAX_ROUNDS, apps // burst)}: a "
                         f"round sends the next cohort's first reminders")
    scratch = ctx.folder("reminders")
    (scratch / "peers").mkdir(exist_ok=True)
    env = {**ctx.env, "PEERS_TMP": str(scratch / "peers"), "WORKFLOW_BENCH_TMP": str(scratch)}
    urls = {"sqlite": sqlite_url(scratch / "reminders.db"),
            "postgresql": pg_schema_url(pg_url(), PG_SCHEMA)}
    t_all = time.time()
    out: dict[str, Any] = {"pending": pending, "burst": burst, "rounds": rounds,
                           "start_runs": a.start_runs, "apps": apps, "dbs": list(dbs),
                           "load_before": os.getloadavg()[0], "revision": revision()}
    out["populate"] = populate(urls, dbs, apps, burst, a.pg_engine_apps, env)
    sink = SmtpSink(scratch / "smtp.log")
    try:
        db_env = {db: {**env, "WORKFLOW_DATABASE_URL": urls[db],
                       "WORKFLOW_STATES_FILE": str(BENCH_DIR / "reminders.yaml"),
                       "WORKFLOW_SMTP_HOST": SMTP_HOST, "WORKFLOW_SMTP_PORT": str(sink.port)}
                  for db in dbs}
        out["starts"], out["cli"] = time_starts(db_env, a.start_runs)
        todo: list[Job] = [(f"workflow {db}", worker(
            "reminders", "burst", "--url", urls[db], "--smtp-port", str(sink.port),
            "--smtp-log", str(sink.log), "--expect", str(burst), "--batch", str(BATCH)),
            REPO_DIR) for db in dbs]
        adds: dict[str, dict[str, Any]] = {}
        if peer is not None:
            peers, peers_py = peer.parent, ctx.peers_python()
            adds = peer_store(peer, peers_py, {"wal": a.peer_jobs or pending,
                                               "default": a.peer_default_jobs}, env)
            # adding the burst's jobs must end before the first is due: SQLite's defaults
            # add ~100 jobs/s here (an fsync per job), so give them time
            slow = burst / adds["default"]["jobs_per_s"]
            for f in FIRES:
                lead = 3.0 + (2.0 * slow if f.config == "default" else 1.0)
                todo.append((f.name, [
                    str(peers_py), str(peer), "fire", "--jobs",
                    str(burst), "--config", f.config, "--grace", f.grace, "--lead",
                    f"{lead:.1f}", "--db", f"aps_fire_{f.config}.db"], peers))
        out["peer_adds"] = adds
        out["bursts"] = run_rounds(todo, rounds, env, timeout=600,
                                   job_done=burst_done(rounds))
    finally:
        sink.stop()
    out["wall_s"] = time.time() - t_all
    out["load_after"] = os.getloadavg()[0]
    out["summary"] = summarize(out)
    return out


# ---------------------------------------------------------------------- summary
def summarize(out: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    rows: dict[str, dict[str, Any]] = {}
    for db in out["dbs"]:
        pop, starts = out["populate"][db], out["starts"][db]
        bs = [b[f"workflow {db}"] for b in out["bursts"]]
        rows[f"workflow {db}"] = {
            "kind": "ours", "pending": pop["pending"],
            "written_per_s": pop["reminder_rows_per_s"], "written_unit": "rows",
            "engine_apps": pop["engine_apps"], "copied_rows": pop["copied_rows"],
            "setup_s": pop["engine_s"],
            "start_s": [s["start_s"] for s in starts],
            "in_process_s": [s["in_process_s"] for s in starts],
            "rss_mib": [s["peak_rss_mib"] for s in starts],
            "parts": {k: statistics.median(s[k] for s in starts)
                      for k in ("spawn_to_main_s", "imports_s", "open_s", "service_s",
                                "next_due_s", "apscheduler_import_s")},
            "cli_s": out["cli"][db],
            "sent": [b["sent"] for b in bs], "lost": [b["lost"] for b in bs],
            "doubled": [b["doubled"] for b in bs], "unexpected": [b["unexpected"] for b in bs],
            "per_s": [b["per_s"] for b in bs],
            "burst_parts": {k: statistics.median(b[k] for b in bs)
                            for k in ("tick_s", "claim_s", "compose_s", "smtp_s", "record_s")},
            "burst_rss_mib": statistics.median(b["peak_rss_mib"] for b in bs)}
    adds = out.get("peer_adds") or {}
    for f in FIRES if adds else ():
        fs = [b[f.name] for b in out["bursts"]]
        row: dict[str, Any] = {
            "kind": "peer", "config": f.config, "grace": f.grace,
            "sent": [x["ran"] for x in fs],
            "lost": [x["jobs"] - x["ran"] for x in fs],   # missed, failed or never run
            "per_s": [x["ran"] / x["all_done_after_first_due_s"] for x in fs if x["ran"]],
            "late_p95_ms": statistics.median(x["lateness_p95_ms"] for x in fs),
            "after_last_due_s": statistics.median(x["all_done_after_last_due_s"] for x in fs)}
        if f.grace == "default":        # the add + start figures go on the config's row
            a = adds[f.config]
            row.update({
                "pending": a["start_jobs_present"], "written_per_s": a["jobs_per_s"],
                "written_unit": "jobs", "setup_s": a["add_s"],
                "in_process_s": [a["start_start_to_first_scan_s"]],
                "rss_mib": [a["start_peak_rss_after_start_mib"]],
                "get_jobs_s": a["start_get_jobs_s"],
                "rss_get_jobs_mib": a["start_peak_rss_after_get_jobs_mib"]})
        rows[f.name] = row
    return rows


def print_report(out: Mapping[str, Any]) -> None:
    s = out["summary"]
    print(f"\nReminders: {out['pending']:,} pending ({out['apps']:,} applications x "
          f"{STEPS_PER_APP}), bursts of {out['burst']:,}, {out['rounds']} rounds, "
          f"{out['start_runs']} starts; {out['wall_s']:.0f} s, load average "
          f"{out['load_before']:.1f} before, {out['load_after']:.1f} after; workflow at "
          f"{out['revision']}; medians (min-max)\n")
    head = (f"{'row':<28} {'pending':>8} {'written/s':>12} {'start s':>17} "
            f"{'in-proc ms':>10} {'RSS MiB':>7} {'--once s':>8} {'sent/lost/dbl':>14} "
            f"{'per s':>16}  goals")
    print_head(head)
    for name, r in s.items():
        def med(key: str, digits: int = 0, scale: float = 1.0) -> str:
            v = r.get(key)  # noqa: B023 - used in this iteration only
            return "-" if not v else f"{statistics.median(v) * scale:.{digits}f}"

        written = f"{r['written_per_s']:,.0f} {r['written_unit']}" \
            if "written_per_s" in r else "-"
        start = fmt_range(r["start_s"]) if "start_s" in r else "-"
        once = med("cli_s", 2)
        sent = (f"{med('sent')}/{med('lost')}/" + (med("doubled") if "doubled" in r else "-"))
        rate = fmt_range(r["per_s"], digits=0) if r["per_s"] else "-"
        verdicts = []
        if r["kind"] == "ours":
            ok_start = statistics.median(r["start_s"]) < START_GOAL_S
            ok_rate = statistics.median(r["per_s"]) >= RATE_GOAL and not any(r["lost"]) \
                and not any(r["doubled"])
            verdicts = [f"start {'met' if ok_start else 'MISSED'}",
                        f"burst {'met' if ok_rate else 'MISSED'}"]
        pending = f"{r['pending']:,}" if "pending" in r else "-"
        print(f"{name:<28} {pending:>8} {written:>12} {start:>17} "
              f"{med('in_process_s', 0, 1e3):>10} {med('rss_mib'):>7} {once:>8} {sent:>14} "
              f"{rate:>16}  {', '.join(verdicts)}".rstrip())
    print("\n  pending: reminders (ours) or jobs (APScheduler) in the store at start; "
          "written/s: reminder rows per second written by wf.create (one application, its "
          "deadline and 4 reminders a transaction), jobs per second by add_job")
    print("  start s: from spawning `python -c` to next_due() computed (ours only); in-proc "
          "ms: ours open + ReminderService + next_due() after the imports, APScheduler "
          "scheduler + start() until its first due-jobs scan (imports excluded); RSS: peak "
          "at that point")
    print("  --once s: `workflow scheduler --once` end to end, nothing due; sent/lost/dbl: "
          "the burst (ours: Message-IDs the SMTP server logged against those the ledger "
          "recorded; APScheduler: jobs run / missed or failed / not measured)")
    print("  per s: ours e-mails per second over tick() (all due at once); APScheduler jobs "
          "run per second from the first one due to the last run, the jobs being due over "
          "1 s and sending nothing")
    for name, r in s.items():
        if r["kind"] == "ours":
            p, b = r["parts"], r["burst_parts"]
            print(f"\n  {name}: set-up {r['setup_s']:.0f} s for {r['engine_apps']:,} "
                  f"applications through the engine ({r['written_per_s'] / STEPS_PER_APP:.0f}"
                  f" applications/s)" + (f", {r['copied_rows']:,} rows copied from the SQLite "
                                          f"ledger" if r["copied_rows"] else ""))
            print(f"    start = interpreter {p['spawn_to_main_s'] * 1e3:.0f} + imports "
                  f"{p['imports_s'] * 1e3:.0f} + Workflow.open {p['open_s'] * 1e3:.0f} + "
                  f"ReminderService {p['service_s'] * 1e3:.0f} + next_due() "
                  f"{p['next_due_s'] * 1e3:.1f} ms; `run()` then imports APScheduler: "
                  f"+{p['apscheduler_import_s'] * 1e3:.0f} ms")
            print(f"    burst tick {b['tick_s']:.2f} s = claim (incl. loading the rows) "
                  f"{b['claim_s']:.2f} + compose {b['compose_s']:.2f} + SMTP "
                  f"{b['smtp_s']:.2f} + recording the outcome {b['record_s']:.2f} s; peak RSS "
                  f"{r['burst_rss_mib']:.0f} MiB")
        elif "get_jobs_s" not in r:
            print(f"\n  {name}:")
        else:
            print(f"\n  {name}: add {r['pending']:,} jobs {r['setup_s']:.1f} s; get_jobs() "
                  f"(unpickles every job) {r['get_jobs_s']:.2f} s, peak RSS "
                  f"{r['rss_get_jobs_mib']:.0f} MiB")
            if r["pending"] < out["pending"]:
                x = r["setup_s"] * out["pending"] / r["pending"]
                print(f"    EXTRAPOLATED (linear, not measured): adding {out['pending']:,} "
                      f"jobs would take ~{x:.0f} s ({x / 60:.1f} min)")
        if r["kind"] == "peer":
            print(f"    burst: lateness p95 {r['late_p95_ms']:.0f} ms, all done "
                  f"{r['after_last_due_s']:.2f} s after the last was due")


def goals(out: Mapping[str, Any]) -> list[Verdict]:
    verdicts: list[Verdict] = []
    for name, r in out["summary"].items():
        if r["kind"] != "ours":
            continue
        start = statistics.median(r["start_s"])
        load = f"{GOAL_PENDING:,} pending" if r["pending"] >= GOAL_PENDING else \
            f"{r['pending']:,} pending (NOT the goal's {GOAL_PENDING:,})"
        verdicts.append((f"{name}: scheduler start under {START_GOAL_S:.0f} s with {load}",
                         f"{start:.2f} s", start < START_GOAL_S))
        rate = statistics.median(r["per_s"])
        clean = not any(r["lost"]) and not any(r["doubled"]) and not any(r["unexpected"])
        verdicts.append((f"{name}: burst of {out['burst']:,} at {RATE_GOAL:.0f} e-mails/s or "
                         f"more, none lost or doubled",
                         f"{rate:.0f}/s, lost {sum(r['lost'])}, doubled {sum(r['doubled'])}",
                         rate >= RATE_GOAL and clean))
    return verdicts
