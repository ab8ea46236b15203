"""What the runner, the workloads and the workers share, once.

The state-change workload is the peers' (``../shared/peers/common.py``): N applications,
each making 8 state changes along a chain of 8 working states; every 10th application is
rejected at its last step instead of closed. Workers (``workers/``) print one ``RESULT
{json}`` line, as the peers do; workloads run them with :func:`run_result` on a command
from :func:`worker`. The peers run in their own virtualenv (:func:`ensure_peers_venv`).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shlex
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent

WORK_STATES = ["received", "registered", "screening", "hearing",
               "assessment", "drafting", "approval", "decision"]
CHANGES_PER_APP = 8
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/bench"
T = TypeVar("T")


def plan(app_index: int) -> list[tuple[str, str, str]]:
    """The 8 (trigger, source, dest) changes of application ``app_index`` (1-based)."""
    out = []
    for k in range(CHANGES_PER_APP):
        src = WORK_STATES[k]
        if k == CHANGES_PER_APP - 1:
            out.append(("reject", src, "rejected") if app_index % 10 == 0
                       else ("advance", src, "closed"))
        else:
            out.append(("advance", src, WORK_STATES[k + 1]))
    return out


def scratch_dir() -> Path:
    """Where SQLite files go: $WORKFLOW_BENCH_TMP, else the system temp folder."""
    path = Path(os.environ.get("WORKFLOW_BENCH_TMP")
                or Path(tempfile.gettempdir()) / "workflow-bench")
    path.mkdir(parents=True, exist_ok=True)
    return path


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def pg_url() -> str:
    """The SQLAlchemy URL of the benchmark's own PostgreSQL database."""
    return os.environ.get("WORKFLOW_BENCH_POSTGRES_URL", DEFAULT_PG_URL)


def libpq_url(url: str) -> str:
    """A SQLAlchemy ``postgresql+psycopg://`` URL as a libpq connection string."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def reset_pg_schema(url: str, schema: str = "public") -> None:
    """Start from an empty ``schema`` (the benchmark database only)."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(libpq_url(url), autocommit=True, connect_timeout=5) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))


def pg_schema_url(url: str, schema: str) -> str:
    """``url`` with ``schema`` first on the search path: a workload's own tables."""
    return f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"


def empty_database(url: str, schema: str = "public") -> str:
    """``url``, with nothing there: the SQLite file (and its journals) removed, or the
    PostgreSQL ``schema`` dropped and made again (the benchmark's databases only)."""
    if url.startswith("sqlite:///"):
        path = url.removeprefix("sqlite:///")
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    else:
        reset_pg_schema(url, schema)
    return url


def demo_database(url: str, schema: str = "public") -> str:
    """``url``, a fresh database migrated and holding the demo's set-up (municipalities,
    users, areas), as the workers start from."""
    from workflow.installation import demo
    from workflow.store import database as store

    engine = store.make_engine(empty_database(url, schema))
    store.migrate(engine)
    demo.load_setup(engine)
    engine.dispose()
    return url


def percentile(values: list[float], q: float) -> float:
    s = sorted(values)
    i = min(len(s) - 1, max(0, round(q * (len(s) - 1))))
    return s[i]


def result(variant: str, n: int, total_s: float, lats: list[float],
           **extra: Any) -> dict[str, Any]:
    """The peers' RESULT shape: rate in changes/s, latencies in microseconds."""
    out: dict[str, Any] = {
        "variant": variant, "n_apps": n, "changes": len(lats), "total_s": total_s,
        "rate": len(lats) / total_s, "lat_median_us": statistics.median(lats) * 1e6,
        "lat_p99_us": percentile(lats, 0.99) * 1e6,
        "peak_rss_mib": peak_rss_mib()}
    out.update(extra)
    return out


def peak_rss_mib() -> float:
    """This process's peak resident set size so far (``ru_maxrss`` is KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def emit(res: dict[str, Any]) -> None:
    print(f"{res['variant']}: {res['changes']} changes in {res['total_s']:.3f} s = "
          f"{res['rate']:.0f}/s, median {res['lat_median_us']:.0f} us, "
          f"p99 {res['lat_p99_us']:.0f} us")
    emit_json(res)


def emit_json(res: Mapping[str, Any]) -> None:
    """The machine-readable ``RESULT {json}`` line a workload parses."""
    sys.stdout.write("RESULT " + json.dumps(res) + "\n")
    sys.stdout.flush()


def free_port() -> int:
    """A TCP port free on 127.0.0.1 at the moment."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


# ------------------------------------------------------------- the workloads' side
def worker(name: str, *args: str) -> list[str]:
    """The command that runs ``workers/<name>.py`` with this Python."""
    return [sys.executable, str(BENCH_DIR / "workers" / f"{name}.py"), *args]


def rotated(items: Sequence[T], r: int) -> list[T]:
    """``items`` in round ``r``'s order: rotated by one more each round."""
    k = r % len(items)
    return [*items[k:], *items[:k]]


Job = tuple[str, Sequence[str], Path]       # a worker's name, its command, its folder
Results = dict[str, dict[str, Any]]         # one round's RESULTs by job name


def run_rounds(jobs: Sequence[Job], rounds: int, env: Mapping[str, str], *,
               timeout: float = 1800,
               job_done: Callable[[int, str, dict[str, Any]], None] | None = None,
               round_done: Callable[[int, Results], None] | None = None) -> list[Results]:
    """Every job once a round, each in its own fresh process, the order rotated each round
    (``rotated``); ``job_done(r, name, result)`` and ``round_done(r, results)`` print the
    progress."""
    out: list[Results] = []
    for r in range(rounds):
        res: Results = {}
        for name, cmd, cwd in rotated(jobs, r):
            res[name] = run_result(name, cmd, env, cwd, timeout=timeout)
            if job_done:
                job_done(r, name, res[name])
        if round_done:
            round_done(r, res)
        out.append(res)
    return out


def peers_dir() -> Path:
    return Path(os.environ.get("WORKFLOW_BENCH_PEERS") or REPO_DIR.parent / "shared" / "peers")


def ensure_peers_venv(peers: Path) -> Path:
    """The peers' Python, with their pinned requirements; created when missing."""
    venv = Path(os.environ.get("WORKFLOW_BENCH_PEERS_VENV") or "/tmp/workflow-bench-peers")
    python = venv / "bin" / "python"
    probe = [str(python), "-c", "import SpiffWorkflow, transitions, sqlmodel, docx, docxtpl"]
    if python.exists() and subprocess.run(probe, capture_output=True).returncode == 0:
        return python
    print(f"Creating the peers' virtualenv in {venv} ...", flush=True)
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", "-r",
                    str(peers / "requirements.txt")], check=True)
    subprocess.run(probe, check=True)
    return python


def ensure_pg_database(url: str) -> str | None:
    """Create the benchmark database if missing; the server's version, or None if down."""
    try:
        import psycopg
        from psycopg.conninfo import conninfo_to_dict, make_conninfo

        target = libpq_url(url)
        name = str(conninfo_to_dict(target).get("dbname") or "")
        with psycopg.connect(make_conninfo(target, dbname="postgres"), autocommit=True,
                             connect_timeout=5) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                                  (name,)).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{name}"')
            row = conn.execute("SHOW server_version").fetchone()
            return str(row[0]) if row else "?"
    except Exception as exc:  # noqa: BLE001 - any failure means: no PostgreSQL rows
        print(f"PostgreSQL at {url} is not usable, skipping its rows: "
              f"{str(exc).strip().splitlines()[0]}", flush=True)
        return None


def run_result(name: str, cmd: Sequence[str], env: Mapping[str, str], cwd: Path,
               timeout: float = 1800) -> dict[str, Any]:
    """Run a worker and return its ``RESULT`` line; stops the run, with its output, if it fails."""
    proc = subprocess.run(list(cmd), capture_output=True, text=True, env=dict(env), cwd=cwd,
                          timeout=timeout)
    if proc.returncode != 0:
        raise SystemExit(f"{name} failed (exit {proc.returncode}):\n"
                         f"$ {shlex.join(cmd)}\n{proc.stdout}{proc.stderr}")
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            res: dict[str, Any] = json.loads(line[len("RESULT "):])
            return res
    raise SystemExit(f"{name} printed no RESULT line:\n{proc.stdout}{proc.stderr}")


def print_head(head: str) -> None:
    """A table's head line, underlined."""
    print(head.rstrip())
    print("-" * len(head.rstrip()))


def med_range(values: Sequence[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def fmt_ratio(r: Mapping[str, float] | None) -> str:
    if r is None:
        return "-"
    return f"{r['median']:.2f}x ({r['min']:.2f}-{r['max']:.2f})"


# ------------------------------------------------------------- shared by the workloads
Verdict = tuple[str, str, bool]             # (goal, figure, met)
Options = argparse._ActionsContainer        # where a workload adds its options: a group


@dataclass
class Context:
    """What the runner sets up once for the workloads it runs."""

    dbs: list[str]          # the rows' databases: --only, less PostgreSQL when it is down
    scratch: Path           # this run's temporary folder, removed at the end unless kept
    env: dict[str, str]     # the workers' environment (bench_env, PEERS_TMP, ...)
    keep: bool = False      # a workload asks to keep the scratch folder (its logs)
    python: Path | None = field(default=None, repr=False)   # the peers', once made

    def folder(self, name: str) -> Path:
        """A workload's own folder in the scratch folder."""
        path = self.scratch / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def peer_script(self, name: str) -> Path:
        """A script of the peers' (``../shared/peers``); stops the run if it is not there."""
        path = peers_dir() / name
        if not path.exists():
            raise SystemExit(f"the peers are not at {path.parent}; set WORKFLOW_BENCH_PEERS")
        return path

    def peers_python(self) -> Path:
        """The peers' Python, their virtualenv made on first use."""
        if self.python is None:
            self.python = ensure_peers_venv(peers_dir())
        return self.python


def bench_env() -> dict[str, str]:
    """This environment without the user's WORKFLOW_* settings (WORKFLOW_BENCH_* stay)."""
    return {k: v for k, v in os.environ.items()
            if not k.startswith("WORKFLOW_") or k.startswith("WORKFLOW_BENCH_")}


def workflow_script() -> str:
    """The `workflow` console script of this Python (or on PATH)."""
    import shutil

    here = Path(sys.executable).parent / "workflow"
    found = str(here) if here.exists() else shutil.which("workflow")
    if not found:
        raise SystemExit("no `workflow` console script next to this Python or on PATH")
    return found


def revision() -> str:
    """The commit measured, and whether the code under test has uncommitted changes."""
    def git(*args: str) -> str:
        proc = subprocess.run(["git", "-C", str(REPO_DIR), *args], capture_output=True,
                              text=True)
        return proc.stdout.strip() if proc.returncode == 0 else ""

    head = git("rev-parse", "--short", "HEAD") or "?"
    dirty = git("status", "--porcelain", "--", "workflow", "templates")
    return head + (" + uncommitted changes in workflow/ or templates/" if dirty else "")


def report_goals(verdicts: Sequence[Verdict], out: str | None, data: Mapping[str, Any]) -> None:
    """Print the goals; with ``out``, write ``data`` and the goals there as JSON."""
    print("\nGoals:")
    for what, figure, ok in verdicts:
        print(f"  [{'met' if ok else 'MISSED':>6}] {what}: {figure}")
    if out:
        path = Path(out)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({**data, "goals": [
            {"goal": w, "figure": f, "met": ok} for w, f, ok in verdicts]}, indent=1))
        print(f"\nWrote {path}")


class Clock:
    """The engine's clock, set by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@contextmanager
def served(env: Mapping[str, str], log: Path, workers: int = 1
           ) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """``workflow serve --workers N`` on a free loopback port until the block ends, its
    output to ``log``: its base URL, once GET /login answers, and its process (with one
    worker uvicorn runs in it, so its PID is the server's)."""
    import httpx

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [workflow_script(), "serve", "--host", "127.0.0.1", "--port", str(port),
             "--workers", str(workers)], env=dict(env), cwd=REPO_DIR, stdout=out,
            stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"workflow serve exited ({proc.returncode}):\n"
                                 + log.read_text(errors="replace")[-3000:])
            try:
                if httpx.get(f"{base}/login", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("workflow serve did not answer within 60 s:\n"
                                 + log.read_text(errors="replace")[-3000:])
            time.sleep(0.1)
        yield base, proc
    finally:
        stop(proc)


def stop(proc: subprocess.Popen[bytes]) -> None:
    """End the server we started: SIGTERM to its process group (uvicorn and its workers)."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
