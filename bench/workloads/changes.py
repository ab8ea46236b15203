"""Workload: persisted state changes per second, beside the raw-SQL floor and SpiffWorkflow.

The peers' workload (``../shared/peers/common.py``): N applications x 8 state changes, one
transaction each. Every variant runs in its own fresh process (on a fresh database),
interleaved over rounds with the order rotated each round; the table holds medians, and
ratios taken within a round (same machine state), then their median.

  workflow sqlite / postgresql   our engine, wf.fire() per change on bench/chain.yaml
  workflow lifecycle ...         our engine on the shipped states.yaml: the whole life of
                                 a round-1 dispensation (guards, party acts, deadlines)
  bound sqlite / postgresql      workers/engine.py bound: only the engine's statements on
                                 the bare driver plus the transitions machine (what the
                                 design costs at the least, on our schema)
  raw sqlite (floor)             peers: stdlib sqlite3, UPDATE + INSERT per transaction
  raw postgresql (floor)         workers/pg_floor.py: the same with psycopg
  spiff, spiff_req               peers: SpiffWorkflow 3 kept in memory / reloaded per step
  sqlmodel_req                   peers: transitions + SQLModel, naive, per request

Goals: workflow sqlite within 3x of the SQLite floor, and at least 3x SpiffWorkflow's rate.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchlib import (
    REPO_DIR,
    Context,
    Options,
    Verdict,
    fmt_ratio,
    med_range,
    print_head,
    run_rounds,
    worker,
)

DATABASES = True
FLOOR_GOAL = 3.0        # at most this many times slower than the floor, on SQLite
SPIFF_GOAL = 3.0        # at least this many times SpiffWorkflow's rate


@dataclass(frozen=True)
class Variant:
    name: str
    cmd: tuple[str, ...]
    db: str             # sqlite | postgresql
    role: str           # ours | bound | floor | peer


def add_arguments(ap: Options) -> None:
    ap.add_argument("--rounds", type=int, default=3, help="rounds of state changes")
    ap.add_argument("--n", type=int, default=300, help="applications per run (x 8 changes)")
    ap.add_argument("--no-sqlmodel", action="store_true", help="leave out sqlmodel_req")
    ap.add_argument("--no-lifecycle", action="store_true",
                    help="leave out the whole-life rows (most of the run's time), e.g. for "
                         "more rounds of the chain")


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
        out.append(Variant("raw postgresql (floor)", tuple(worker("pg_floor")), "postgresql",
                           "floor"))
    out.append(Variant("spiff", (*peer, "spiff"), "sqlite", "peer"))
    out.append(Variant("spiff_req", (*peer, "spiff_req"), "sqlite", "peer"))
    if with_sqlmodel and "sqlite" in dbs:
        out.append(Variant("sqlmodel_req", (*peer, "sqlmodel_req"), "sqlite", "peer"))
    return out


# ---------------------------------------------------------------------- running
def run(a: argparse.Namespace, ctx: Context) -> dict[str, Any]:
    peers = ctx.peer_script("bench_statechange.py").parent
    vs = variants(ctx.dbs, peers, ctx.peers_python(), not a.no_sqlmodel, not a.no_lifecycle)
    print(f"State changes: N={a.n} applications x 8 changes, {a.rounds} rounds", flush=True)
    jobs = [(v.name, [*v.cmd, "--n", str(a.n)], REPO_DIR if v.role in ("ours", "bound")
             else peers) for v in vs]

    def done(r: int, name: str, x: dict[str, Any]) -> None:
        print(f"round {r + 1}/{a.rounds}: {name:<30} {x['rate']:8.0f} changes/s  "
              f"median {x['lat_median_us']:7.0f} us  p99 {x['lat_p99_us']:7.0f} us", flush=True)

    t0 = time.time()
    rounds = run_rounds(jobs, a.rounds, ctx.env, job_done=done)
    return {"n": a.n, "wall_s": time.time() - t0, "rounds": rounds,
            "summary": summarize(vs, rounds)}


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


def print_report(report: Mapping[str, Any]) -> None:
    summary = report["summary"]
    print(f"\nState changes: {len(report['rounds'])} rounds, N={report['n']} applications x 8 "
          f"changes (lifecycle: x 11 transitions), {report['wall_s']:.0f} s; medians over "
          f"rounds, ratios per round then their median (min-max)\n")
    head = (f"{'variant':<30} {'changes/s':>9} {'(min-max)':>13} {'median us':>9} "
            f"{'p99 us':>8}  {'slower than floor':<22} {'x spiff_req rate':<22} "
            f"{'x spiff rate':<22}")
    print_head(head)
    for name, s in summary.items():
        rate = s["rate"]
        print(f"{name:<30} {rate['median']:9.0f} {rate['min']:6.0f}-{rate['max']:<6.0f} "
              f"{s['lat_median_us']:9.0f} {s['lat_p99_us']:8.0f}  "
              f"{fmt_ratio(s.get('vs_floor')):<22} {fmt_ratio(s['vs_spiff_req']):<22} "
              f"{fmt_ratio(s['vs_spiff']):<22}".rstrip())
    print("\n  slower than floor: the floor's rate / this rate, same database "
          "(lifecycle rows do more per transition than the floor's workload)\n"
          "  x spiff(_req) rate: this rate / SpiffWorkflow's (which runs on SQLite); "
          "spiff_req reloads the workflow every step as a stateless server must, "
          "as our engine does")


# ------------------------------------------------------------------------ goals
def goals(report: Mapping[str, Any]) -> list[Verdict]:
    out: list[Verdict] = []
    ours = report["summary"].get("workflow sqlite")
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
    return out
