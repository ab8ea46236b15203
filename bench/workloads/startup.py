"""Workload: how long the ``workflow`` commands that need no database take, beside floors.

The floors: ``python -c pass``, ``import click`` (what any click command costs before it
does anything), PyYAML parsing ``states.yaml`` (all that ``check`` and ``diagram`` must do
before their own work, as they answer without click), and both. Timed with hyperfine when
it is installed, else with timed subprocesses. Goal: each command under 150 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from benchlib import REPO_DIR, Context, Options, Verdict, workflow_script

DATABASES = False
CLI_GOAL_MS = 150.0     # `workflow --help` and commands without a database


def add_arguments(ap: Options) -> None:
    ap.add_argument("--cli-runs", type=int, default=10,
                    help="runs per start-up timing (0: skip)")


def run(a: argparse.Namespace, ctx: Context) -> dict[str, Any]:
    timings = time_cli(a.cli_runs, ctx.scratch) if a.cli_runs > 0 else {}
    return {"runs": a.cli_runs, "timings": timings}


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


def print_report(report: Mapping[str, Any]) -> None:
    cli = report["timings"]
    if not cli:
        return
    tool = next(iter(cli.values()))["tool"]
    print(f"\nStart-up without a database ({report['runs']} runs each after 2 warm-ups, "
          f"{tool}):")
    for label, r in cli.items():
        if label.startswith("workflow"):
            goal = "  goal < 150 ms: " + ("met" if r["median_ms"] < CLI_GOAL_MS else "MISSED")
        else:  # the baseline, and the floors
            goal = "  (floor)" if label.startswith("python:") else ""
        print(f"  {label:<28} median {r['median_ms']:6.1f} ms  "
              f"(min {r['min_ms']:.1f} - max {r['max_ms']:.1f}){goal}")


def goals(report: Mapping[str, Any]) -> list[Verdict]:
    return [(f"`{label}` under 150 ms", f"{r['median_ms']:.0f} ms", r["median_ms"] < CLI_GOAL_MS)
            for label, r in report["timings"].items() if label.startswith("workflow")]
