"""Workload: load and faults at once, then the invariants: one bounded run on loopback.

usage: python bench/run.py --workload faults [--seconds 120] [--clients 12] [--kill-every 4]
                           [--seed N]   (not part of the default run: it is a long one)

  set-up    a fresh schema ``wf_faults_<pid>`` in the PostgreSQL database ``test`` on
            127.0.0.1:5432 (``--pg-url``), ``workflow init --demo-setup`` into it; the schema is
            dropped at the end (``--keep`` keeps it and the logs)
  processes 4 ``workflow serve --port P`` (one process each, killable alone), 2 ``workflow
            scheduler --poll 1`` and ``bench/workers/smtp_sink.py``, an SMTP server that logs
            every Message-ID it accepted before it answers 250
  load      --clients threads (httpx) play the demo's users of Ishøj, Vallensbæk and
            Brøndby on the JSON API: open dispensation applications, jobcentre cases and
            BUM agreements, fire what ``GET /api/applications/{id}/triggers`` offers with
            plausible data (one in 12 with a stale version: a 409), read lists, download
            documents and compare their bytes with the stored sha256
  faults    every --kill-every seconds (±40 %) SIGKILL a random web worker or scheduler
            and start it again; once stop the SMTP sink for 4 s; once terminate every
            backend of the run's connections (``pg_terminate_backend``, by their
            ``application_name``) for 5 s, the server itself untouched
  drain     the clients stop, the schedulers get a clock past every lease and retry and
            send what is due; then everything stops and the invariants are checked
            (``invariants.py``)

The clocks. The web workers stand still at WEB_NOW (``WORKFLOW_NOW``): every date a user
gives is that day, and every reminder of a deadline falls years before the schedulers'
clock, so each one is due as soon as it is written (a burst when the schedulers start, late
on purpose, then a stream). The schedulers run at a ``WORKFLOW_NOW`` a day before the real
time; every CLOCK_EVERY seconds both are stopped (SIGTERM, so a step kills nothing) and
started again CLOCK_STEP later, so a killed scheduler's 5-minute claims lapse and the
retries after the SMTP outage come due within the run, while all schedulers always share
one clock (a scheduler ahead of another would take over claims still being sent). The
drain moves it on by DRAIN_AHEAD, past every lease and back-off.

Its goals fail the run (exit status 1) when an invariant broke, a reminder was lost, more
reminders arrived twice than schedulers were killed, a 5xx other than a 503 in the database
window was answered, a process died without being killed, or the run exercised nothing (no
transition, no reminder due); the scratch folder with the logs is then kept. The report
ends with a ``RESULT {json}`` line for tests.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import signal
import socket
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from benchlib import (
    REPO_DIR,
    Context,
    Options,
    Verdict,
    free_port,
    libpq_url,
    pg_schema_url,
    reset_pg_schema,
    worker,
    workflow_script,
)

from workloads.invariants import Check, check_database, sink_counts, tally_reminders

DATABASES = False
STRICT = True       # a missed goal fails the run

DEFAULT_PG = os.environ.get("WORKFLOW_TEST_POSTGRES_URL",
                            "postgresql+psycopg://postgres@127.0.0.1:5432/test")
WEB_NOW = "2019-01-07T09:00"        # the web workers' clock: a Monday, Danish time
TODAY = date(2019, 1, 7)
LAST_CYCLE = 2021                   # BUM agreements are terminated after this yearly cycle
CLOCK_STEP = timedelta(minutes=10)  # > the scheduler's 5-minute lease
CLOCK_EVERY = 12.0                  # seconds between the schedulers' clock steps
DRAIN_AHEAD = timedelta(hours=3)    # past every lease and back-off (1, 5, 15, 60 min)
SMTP_DOWN_S = 4.0
DB_DOWN_S = 5.0
DB_GRACE_S = 2.0   # a 503 to a request sent this long after the window counts as in it
PASSWORD = "demo"
USERS = ["pl-ishoj", "pl-vallensbaek", "pl-brondby", "sec-ishoj", "sec-vallensbaek",
         "sec-brondby", "legal-ishoj", "legal-vallensbaek", "dir-ishoj", "dir-vallensbaek"]
AREAS = ["employment", "rehabilitation", "social", "special_education", "nature_environment"]
SERVICES = {"employment": "Jobcenterets opgaver for borgere i Vallensbæk",
            "rehabilitation": "Genoptræning efter sundhedslovens § 140",
            "social": "Botilbud og bostøtte efter serviceloven",
            "special_education": "Specialundervisning i specialklasser",
            "nature_environment": "Miljøtilsyn med virksomheder"}
# How readily a user fires a trigger offered to her (1: always; side exits rarely).
WEIGHTS = {"withdraw": 0.04, "abandon": 0.04, "terminate": 0.03, "change_service": 0.08,
           "grant_exception": 0.03, "return_draft": 0.3, "request_info": 0.35,
           "complete": 0.3}
STALE_P = 1 / 12                    # a transition sent with the version before the current


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


# ------------------------------------------------------------------------ statistics
@dataclass
class Stats:
    """What the clients saw; every method is thread-safe."""

    t0: float = field(default_factory=time.monotonic)
    lock: threading.Lock = field(default_factory=threading.Lock)
    classes: Counter[str] = field(default_factory=Counter)
    detail: Counter[tuple[str, str, int, str]] = field(default_factory=Counter)
    counts: Counter[str] = field(default_factory=Counter)
    fivexx: list[dict[str, Any]] = field(default_factory=list)
    mismatches: list[str] = field(default_factory=list)

    def now(self) -> float:
        return time.monotonic() - self.t0

    def answer(self, method: str, path: str, port: int, r: httpx.Response,
               began: float) -> None:
        """Count an answer to a request sent at ``began`` (seconds into the run)."""
        code = r.status_code
        kind = "2xx" if code < 300 else "409" if code == 409 else \
            "5xx" if code >= 500 else "4xx" if code >= 400 else "other"
        error = ""
        if code >= 400:
            try:
                error = str(r.json().get("error") or ("validation" if code == 422 else ""))
            except (ValueError, AttributeError):
                error = "not JSON"
        route = re.sub(r"/\d+", "/{id}", path.split("?")[0])
        with self.lock:
            self.classes["requests"] += 1
            self.classes[kind] += 1
            self.detail[(method, route, code, error)] += 1
            if code == 409 and error == "ConflictError":
                self.counts["conflicts"] += 1
            if code >= 500:
                self.fivexx.append({"t": round(began, 2), "done": round(self.now(), 2),
                                    "status": code,
                                    "method": method, "path": path, "port": port,
                                    "request_id": r.headers.get("x-request-id", "-"),
                                    "body": r.text[:300]})

    def add(self, key: str, n: int = 1) -> None:
        with self.lock:
            self.counts[key] += n


# ------------------------------------------------------------------------ processes
@dataclass(frozen=True)
class Crash:
    name: str
    incarnation: int
    code: int
    started: float     # seconds into the run

    def __str__(self) -> str:
        return (f"{self.name} #{self.incarnation} (started at {self.started:.1f} s) exited "
                f"{self.code}")


class Proc:
    """One OS process we start, kill and start again; its output appended to ``log``."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log: Path,
                 clock: Callable[[], float]) -> None:
        self.name, self.argv, self.env, self.log, self.clock = name, argv, env, log, clock
        self.proc: subprocess.Popen[bytes] | None = None
        self.incarnation = 0
        self.started = 0.0
        self.crashes: list[Crash] = []   # ended without our doing
        self.unclean: list[int] = []     # exit codes other than 0 after our SIGTERM

    def start(self, env: dict[str, str] | None = None) -> None:
        if self.alive():   # never two of one: an orphan would escape every fault
            raise RuntimeError(f"{self.name} is running already")
        if env is not None:
            self.env = env
        self.incarnation += 1
        self.started = self.clock()
        with self.log.open("ab") as out:
            out.write(f"\n=== {self.name} #{self.incarnation} at {time.strftime('%H:%M:%S')}"
                      f" {self.env.get('WORKFLOW_NOW', '')}\n".encode())
            out.flush()
            self.proc = subprocess.Popen(self.argv, env=self.env, cwd=REPO_DIR, stdout=out,
                                         stderr=subprocess.STDOUT, start_new_session=True)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def check(self) -> bool:
        """False (and the crash noted) if the process ended without our doing."""
        if self.proc is None or self.proc.poll() is None:
            return True
        self.crashes.append(Crash(self.name, self.incarnation, self.proc.returncode,
                                  self.started))
        self.proc = None
        return False

    def kill(self) -> None:
        if self.proc is not None:
            if self.proc.poll() is None:
                os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)
            self.proc = None

    def stop(self, timeout: float = 20) -> bool:
        """SIGTERM and wait; True if it ended by itself, False if it had to be killed."""
        if self.proc is None:
            return True
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return False
        if code not in (0, -signal.SIGTERM):
            self.unclean.append(code)
        self.proc = None
        return True


class Cluster:
    """The web workers, the schedulers and the SMTP sink, and the faults done to them."""

    def __init__(self, *, url: str, server: str, logs: Path, web: int, schedulers: int,
                 seed: int, stats: Stats, env: Mapping[str, str]) -> None:
        self.url, self.server, self.logs, self.stats = url, server, logs, stats
        self.rng = random.Random(seed)
        self.lock = threading.Lock()   # one process operation at a time
        base = {**env, "WORKFLOW_DATABASE_URL": url, "PYTHONIOENCODING": "utf-8"}
        self.base_env = base
        self.ports = [free_port() for _ in range(web)]
        self.web = [Proc(f"web-{p}", [workflow_script(), "serve", "--host", "127.0.0.1",
                                      "--port", str(p)], {**base, "WORKFLOW_NOW": WEB_NOW},
                         logs / f"web-{p}.log", stats.now) for p in self.ports]
        self.smtp_port = free_port()
        self.sink_log = logs / "sink-messages.log"
        self.sink = Proc("smtp-sink", worker("smtp_sink", "--log", str(self.sink_log),
                                              "--port", str(self.smtp_port)), base,
                         logs / "smtp-sink.log", stats.now)
        # a day behind the real time, whole minutes: steps move it on, never past now
        real = datetime.now(UTC).replace(second=0, microsecond=0)
        self.clock = real - timedelta(days=1)
        self.schedulers = [Proc(f"scheduler-{i}", [workflow_script(), "scheduler",
                                                   "--poll", "1"], {},
                                logs / f"scheduler-{i}.log", stats.now)
                           for i in range(schedulers)]
        self.kills: Counter[str] = Counter()
        self.steps = 0
        self.stepped = -100.0   # when the clock last moved (seconds into the run)
        self.forced = 0
        self.sink_down: list[tuple[float, float]] = []
        self.db_down: list[tuple[float, float]] = []
        self.terminated = 0

    def scheduler_env(self) -> dict[str, str]:
        return {**self.base_env, "WORKFLOW_NOW": iso(self.clock),
                "WORKFLOW_SMTP_HOST": "127.0.0.1", "WORKFLOW_SMTP_PORT": str(self.smtp_port),
                "WORKFLOW_SMTP_FROM": "sagsstyring@ishoj.example"}

    # -- starting
    def start_sink(self) -> None:
        self.sink.start()
        wait_port(self.smtp_port, 20, self.sink)

    def start_web(self) -> None:
        for p in self.web:
            p.start()
        for port, p in zip(self.ports, self.web, strict=True):
            wait_port(port, 90, p)

    def start_schedulers(self) -> None:
        with self.lock:
            for s in self.schedulers:
                if not s.alive():
                    s.start(self.scheduler_env())

    # -- faults
    def kill_one(self) -> str:
        with self.lock:
            kind = "web" if self.rng.random() < 0.6 else "scheduler"
            procs = [p for p in (self.web if kind == "web" else self.schedulers) if p.alive()]
            if not procs:
                kind, procs = "web", [p for p in self.web if p.alive()] or self.web
            victim = self.rng.choice(procs)
            victim.check()
            victim.kill()
            self.kills[kind] += 1
            victim.start(self.scheduler_env() if kind == "scheduler" else None)
            return victim.name

    def revive(self) -> None:
        """Start again any process that ended by itself (its crash is noted)."""
        with self.lock:
            for p in self.web:
                if not p.check():
                    p.start()
            for s in self.schedulers:
                if not s.check():
                    s.start(self.scheduler_env())

    def step_clock(self, ahead: timedelta = CLOCK_STEP) -> None:
        """Stop every scheduler, move their shared clock on, start them all again."""
        with self.lock:
            for s in self.schedulers:
                s.check()
            for s in self.schedulers:
                if not s.stop(timeout=25):
                    self.forced += 1
            self.clock += ahead
            if self.clock > datetime.now(UTC) - timedelta(minutes=1):
                raise SystemExit("the schedulers' clock would pass the real time; run shorter")
            self.steps += 1
            self.stepped = self.stats.now()
            for s in self.schedulers:
                s.start(self.scheduler_env())

    def smtp_outage(self, seconds: float) -> None:
        with self.lock:
            began = self.stats.now()
            self.sink.stop()
        time.sleep(seconds)
        with self.lock:
            self.sink.start()
            wait_port(self.smtp_port, 20, self.sink)
            self.sink_down.append((began, self.stats.now()))

    def db_outage(self, seconds: float, app_name: str) -> None:
        """Terminate every backend of the run's connections, again and again."""
        import psycopg

        with psycopg.connect(libpq_url(self.server), autocommit=True,
                             application_name="wf_faults_interrupter") as conn:
            began = self.stats.now()
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                row = conn.execute(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND application_name = %s "
                    "AND pid <> pg_backend_pid()", (app_name,)).fetchone()
                self.terminated += int(row[0]) if row else 0
                time.sleep(0.05)
            self.db_down.append((began, self.stats.now()))

    def stop_all(self) -> None:
        with self.lock:
            for p in [*self.schedulers, *self.web]:
                p.check()
                p.stop()
            self.sink.stop()

    def kill_all(self) -> None:
        for p in [*self.schedulers, *self.web, self.sink]:
            try:
                p.kill()
            except Exception:  # noqa: BLE001 - best effort at the very end
                pass


def wait_port(port: int, timeout: float, proc: Proc) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if not proc.alive():
            raise SystemExit(f"{proc.name} exited during start-up; see {proc.log}:\n"
                             + proc.log.read_text(errors="replace")[-2500:])
        with socket.socket() as s:
            s.settimeout(0.5)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise SystemExit(f"{proc.name} did not listen on {port} within {timeout:.0f} s")


# ---------------------------------------------------------------------------- clients
DOWN: dict[int, float] = {}   # port -> until when the clients try it last (a worker down)


class Api:
    """The JSON API behind several workers: a worker that is down is tried no more for
    this request (its connection error is counted) and the next one is asked."""

    def __init__(self, name: str, ports: list[int], tokens: dict[str, str], stats: Stats,
                 rng: random.Random) -> None:
        self.name, self.ports, self.tokens, self.stats, self.rng = name, ports, tokens, stats, rng
        self.http = httpx.Client(timeout=20)
        self.sent = 0

    def call(self, method: str, path: str, user: str | None, **kw: Any) -> httpx.Response | None:
        """The answer (counted), or None when no worker answered at all."""
        self.sent += 1
        # the id the worker logs the request under: a 5xx is found in its log by it
        headers = {"X-Request-ID": f"{self.name}-{self.sent}"}
        if user:
            headers["Authorization"] = f"Bearer {self.tokens[user]}"
        order = self.rng.sample(self.ports, len(self.ports))
        now = time.monotonic()
        order.sort(key=lambda port: DOWN.get(port, 0.0) > now)  # a load balancer's memory
        for port in order * 2:
            began = self.stats.now()
            try:
                r = self.http.request(method, f"http://127.0.0.1:{port}{path}",
                                      headers=headers, **kw)
            except httpx.TransportError:
                self.stats.add("connection errors")
                DOWN[port] = time.monotonic() + 0.5
                time.sleep(0.02)
                continue
            self.stats.answer(method, path, port, r, began)
            return r
        return None

    def close(self) -> None:
        self.http.close()


@dataclass
class Case:
    id: int
    process: str
    kind: str
    parties: list[str]
    idle: int = 0


class World:
    """What the clients share: the cases in play, the users and their municipalities."""

    def __init__(self, users: dict[str, dict[str, Any]], max_cases: int) -> None:
        self.users = users
        self.max_cases = max_cases
        self.cases: dict[int, Case] = {}
        self.lock = threading.Lock()

    def pick(self, rng: random.Random) -> Case | None:
        """A case to work on: half the time an application (fewer, and longer to decide),
        else any; one that nobody could move on lately less often."""
        with self.lock:
            cases = list(self.cases.values())
            applications = [c for c in cases if c.process == "application"]
            if applications and rng.random() < 0.5:
                cases = applications
            if not cases:
                return None
            return rng.choices(cases, weights=[1 / (1 + c.idle) for c in cases])[0]

    def add(self, app: dict[str, Any]) -> None:
        with self.lock:
            self.cases[app["id"]] = Case(app["id"], app["process"], app["kind"],
                                         list(app["parties"]))

    def drop(self, case_id: int) -> None:
        with self.lock:
            self.cases.pop(case_id, None)

    def count(self) -> int:
        """The cases in play that someone could move on lately."""
        with self.lock:
            return sum(1 for c in self.cases.values() if c.idle < 4)

    def of(self, parties: list[str], roles: tuple[str, ...] | None = None) -> list[str]:
        return [u for u, me in self.users.items() if me["municipality"] in parties
                and (roles is None or me["role"] in roles)]


def money(rng: random.Random, low: int, high: int) -> str:
    """A Danish amount: 1.234.567,89."""
    kroner = rng.randint(low, high)
    return f"{kroner:,}".replace(",", ".") + f",{rng.randint(0, 99):02d}"


def month_start(months_ahead: int) -> date:
    y, m = divmod(TODAY.month - 1 + months_ahead, 12)
    return date(TODAY.year + y, m + 1, 1)


class Client(threading.Thread):
    """One user at a keyboard after another: picks a case, looks at what may be done, does
    one thing; sometimes opens a case, reads a list or downloads a document."""

    def __init__(self, n: int, api: Api, world: World, stats: Stats, stop: threading.Event,
                 rng: random.Random) -> None:
        super().__init__(name=f"client-{n}", daemon=True)
        self.n, self.api, self.world, self.stats, self.stop, self.rng = \
            n, api, world, stats, stop, rng
        self.error: str | None = None

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                self.step()
                time.sleep(self.rng.uniform(0.005, 0.03))
        except Exception as exc:  # noqa: BLE001 - reported by the driver
            import traceback

            self.error = f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"
        finally:
            self.api.close()

    def step(self) -> None:
        r = self.rng.random()
        few = self.world.count() < self.world.max_cases // 2
        if r < (0.25 if few else 0.04) and self.world.count() < self.world.max_cases:
            self.create()
        elif r < 0.32:
            self.download()
        elif r < 0.40:
            self.read()
        else:
            self.act()

    # -- opening a case
    def create(self) -> None:
        rng = self.rng
        k = rng.random()
        if k < 0.45:
            provider = rng.choice(["ishoj", "vallensbaek"])
            purchaser = rng.choice([m for m in ("ishoj", "vallensbaek", "brondby")
                                    if m != provider])
            area = rng.choice(AREAS)
            user = f"pl-{rng.choice([provider, purchaser])}"
            body: dict[str, Any] = {
                "kind": "bum_agreement", "title": f"Delaftale om {SERVICES[area].lower()}",
                "data": {"provider": provider, "purchaser": purchaser, "area": area,
                         "service": SERVICES[area]}}
        else:
            # a project lead applies for what is free (GET /api/areas first)
            user = rng.choice(["pl-ishoj", "pl-vallensbaek"])
            got = self.api.call("GET", "/api/areas", user)
            if got is None or got.status_code != 200:
                return
            free = {a["id"] for a in got.json() if a["status"] == "available"}
            if k < 0.85 and len(free - {"employment"}) >= 2:
                body = {"kind": "dispensation", "round": 1, "title":
                        f"Dispensationsansøgning, runde 1 ({self.n}-{rng.randint(1, 999)})"}
            elif k < 0.95 and "employment" in free:
                body = {"kind": "jobcentre", "title": "Hjemtagning af Jobcenter Vallensbæk"}
            elif k >= 0.95 and free:
                body = {"kind": "dispensation", "round": 2,
                        "title": "Anden dispensationsansøgning: de resterende områder"}
            else:
                return
        got = self.api.call("POST", "/api/applications", user, json=body)
        if got is not None and got.status_code == 201:
            self.stats.add("cases opened")
            self.world.add(got.json())

    # -- reading
    def read(self) -> None:
        user = self.rng.choice(USERS)
        path = self.rng.choice(["/api/applications", "/api/deadlines?mine=true",
                                "/api/reminders", "/api/areas", "/api/me"])
        self.api.call("GET", path, user)

    def download(self) -> None:
        case = self.world.pick(self.rng)
        if case is None:
            return
        readers = self.world.of(case.parties, ("legal", "project_lead", "steering_group"))
        if not readers:
            return
        user = self.rng.choice(readers)
        got = self.api.call("GET", f"/api/applications/{case.id}/documents", user)
        if got is None or got.status_code != 200:
            return
        versions = [(d["id"], v) for d in got.json() for v in d["versions"]]
        if not versions:
            return
        doc, version = self.rng.choice(versions)
        r = self.api.call("GET", f"/api/documents/{doc}/versions/{version['number']}", user)
        if r is None or r.status_code != 200:
            return
        self.stats.add("documents downloaded")
        digest = hashlib.sha256(r.content).hexdigest()
        header = r.headers.get("x-content-sha256-stored")
        if not digest == header == version["sha256"] or len(r.content) != version["size"]:
            with self.stats.lock:
                self.stats.mismatches.append(
                    f"document {doc} v{version['number']}: bytes {digest[:12]}, header "
                    f"{(header or '-')[:12]}, listed {version['sha256'][:12]}")

    # -- acting on a case
    def act(self) -> None:
        case = self.world.pick(self.rng)
        if case is None:
            self.create()
            return
        users = self.world.of(case.parties)
        self.rng.shuffle(users)
        got = self.api.call("GET", f"/api/applications/{case.id}", users[0])
        if got is None or got.status_code != 200:
            return
        app = got.json()
        if app["final"]:
            self.world.drop(case.id)
            return
        tried: list[str] = []
        while users and len(tried) < 5:
            user = users.pop(0)
            tried.append(user)
            r = self.api.call("GET", f"/api/applications/{case.id}/triggers", user)
            if r is None or r.status_code != 200:
                return
            triggers = r.json()
            # whoever the case waits for looks at it next (a role its steps need)
            roles = {role for t in triggers if not t["allowed"] for role in t["roles"]}
            users.sort(key=lambda u: self.world.users[u]["role"] not in roles)
            offered = [t for t in triggers if t["allowed"]]
            if not offered:
                continue
            trig = self.rng.choice(offered)
            weight = self.weight(trig["trigger"], app, user)
            if self.rng.random() >= weight:
                continue
            data = self.data_for(trig, app, user)
            if data is None and trig["trigger"] == "propose_areas" and self.rng.random() < 0.3:
                # nothing left to apply for: the project lead gives the application up
                trig = next((t for t in offered if t["trigger"] == "withdraw"), trig)
                data = self.data_for(trig, app, user) if trig["trigger"] == "withdraw" \
                    else None
            if data is None:
                continue
            version = app["version"]
            stale = version > 1 and self.rng.random() < STALE_P
            if stale:
                self.stats.add("stale versions sent")
            body = {"trigger": trig["trigger"], "data": data,
                    "version": version - 1 if stale else version,
                    "comment": f"belastningsprøve, klient {self.n}"}
            r = self.api.call("POST", f"/api/applications/{case.id}/transitions", user,
                              json=body)
            if r is not None and r.status_code == 200:
                self.stats.add("transitions made")
                case.idle = 0
                out = r.json()
                for spawned in out["transition"]["spawned"]:
                    got = self.api.call("GET", f"/api/applications/{spawned}", user)
                    if got is not None and got.status_code == 200:
                        self.world.add(got.json())
                if out["application"]["final"]:
                    self.world.drop(case.id)
            elif r is not None and r.status_code == 409 and stale:
                self.stats.add("stale versions refused")
            return
        case.idle += 1   # nobody moved it on (waiting for a date, for the other party, ...)

    def weight(self, trigger: str, app: dict[str, Any], user: str) -> float:
        cycle = app["data"].get("cycle_year")
        if app["process"] == "bum_agreement" and isinstance(cycle, int) and cycle > LAST_CYCLE:
            return 1.0 if trigger == "terminate" else 0.0  # keep every date before 2023
        # a step done already is seldom done again (each would undo the others' part)
        if trigger == "propose_terms" and "direct_costs" in app["data"]:
            return 0.1
        if trigger == "propose_areas" and app["areas"]:
            return 0.1
        if trigger == "schedule_council_meeting" and \
                self.world.users[user]["municipality"] in app["acts"].get("meeting", {}):
            return 0.1
        return WEIGHTS.get(trigger, 1.0)

    def data_for(self, trig: dict[str, Any], app: dict[str, Any],
                 user: str) -> dict[str, Any] | None:
        """Plausible data for the trigger's fields, or None when none can be given now."""
        rng, name = self.rng, trig["trigger"]
        data: dict[str, Any] = {}
        if name == "record_council_decision":
            data["decision"] = "rejected" if rng.random() < 0.12 else "approved"
        if name == "record_decision":
            areas = list(app["areas"])
            r = rng.random()
            # mostly refused: a grant takes its areas out of play for good, and the run
            # needs areas to apply for until its end
            if r < 0.06 and len(areas) >= 2:
                data["outcome"] = "partly_granted"
                data["granted_areas"] = rng.sample(areas, rng.randint(1, len(areas) - 1))
            elif r < 0.10:
                data["outcome"] = "granted_with_conditions"
            elif r < 0.14:
                data["outcome"] = "granted"
            else:
                data["outcome"] = "refused"
        for f in trig["fields"]:
            key = f["name"]
            if key in data:
                continue
            wanted = f["required"] or any(
                all(data.get(k) == v or (k == "kind" and app["kind"] == v)
                    for k, v in when.items()) for when in f["required_when"])
            if key == "areas" and name == "propose_areas":
                wanted = True
            if not wanted:
                continue
            value = self.value(key, f["type"], name, app, user)
            if value is None:
                return None
            data[key] = value
        return data

    def value(self, key: str, kind: str, trigger: str, app: dict[str, Any],
              user: str) -> Any:
        rng = self.rng
        if key == "areas":
            if app["kind"] in ("jobcentre", "satellite"):
                return ["employment"]
            r = self.api.call("GET", "/api/areas", user)
            if r is None or r.status_code != 200:
                return None
            own = set(app["areas"])
            free = [a["id"] for a in r.json()
                    if a["status"] == "available" or a["id"] in own]
            if app["round"] == 2:
                return free or None
            free = [a for a in free if a != "employment"]
            if len(free) < 2:
                return None
            return rng.sample(free, rng.randint(2, min(3, len(free))))
        if key in ("meeting_date", "decision_date", "request_date"):
            return TODAY.isoformat()
        if key == "due_date":
            return (TODAY + timedelta(days=14)).isoformat()
        if key == "start_date":
            return month_start(rng.choice([2, 3, 6])).isoformat()
        if key == "effective_date":
            return month_start(4 if trigger == "change_service" else 6).isoformat()
        if key == "end_date":
            notice = app["data"].get("notice_months") or 6
            return (month_start(int(notice) + 2) - timedelta(days=1)).isoformat()
        if key == "agenda_ref":
            return f"Byrådet {TODAY.day}. januar {TODAY.year}, punkt {rng.randint(3, 30)}"
        if key == "reference":
            return f"{TODAY.year}-{rng.randint(1000, 9999)}"
        if key == "reason":
            return rng.choice(["Sagen skal genovervejes efter styregruppens møde",
                               "Udkastet mangler en beskrivelse af økonomien",
                               "Aftalen erstattes af en ny delaftale"])
        if key == "conditions":
            return "Ishøj Kommune afrapporterer årligt til ministeriet om opgaveløsningen"
        if key == "service_level":
            return "Første træning senest 7 dage efter udskrivning"
        if key == "expected_volume":
            return str(rng.randint(200, 900))
        if key == "notice_months":
            return rng.choice(["3", "6"])
        if key == "overhead_rate":
            return rng.choice(["7,5", "5", "10"])
        if key == "question_no":   # the ministry's first question (a request has one)
            return "1"
        if kind == "texts":        # the ministry's questions or conditions, one each
            return ["Belastningsprøve: hvor mange medarbejdere berøres?"]
        if kind == "money":
            return money(rng, 200_000, 2_500_000)
        if kind == "text":
            return "Belastningsprøve"
        return None


# ------------------------------------------------------------------------ the run
@contextmanager
def schema(base: str, name: str, keep: bool) -> Iterator[str]:
    """A fresh schema in the database ``base``; its SQLAlchemy URL (whose connections carry
    the schema's name as their ``application_name``)."""
    import psycopg
    from psycopg import sql

    reset_pg_schema(base, name)
    try:
        yield pg_schema_url(base, name) + f"&application_name={name}"
    finally:
        if not keep:
            with psycopg.connect(libpq_url(base), autocommit=True) as conn:
                conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
                             "application_name = %s", (name,))
                conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE")
                             .format(sql.Identifier(name)))


def log_in(ports: list[int]) -> tuple[dict[str, str], dict[str, dict[str, Any]]]:
    tokens: dict[str, str] = {}
    users: dict[str, dict[str, Any]] = {}
    with httpx.Client(base_url=f"http://127.0.0.1:{ports[0]}", timeout=30) as c:
        for user in USERS:
            r = c.post("/api/token", data={"username": user, "password": PASSWORD})
            if r.status_code != 200:
                raise SystemExit(f"POST /api/token as {user}: {r.status_code} {r.text}")
            tokens[user] = r.json()["access_token"]
            users[user] = c.get("/api/me", headers={
                "Authorization": f"Bearer {tokens[user]}"}).json()
    return tokens, users


class Timeline(threading.Thread):
    """The faults, at their moments: kills, clock steps, the SMTP and database outages."""

    def __init__(self, cluster: Cluster, seconds: float, kill_every: float,
                 stop: threading.Event, rng: random.Random, app_name: str) -> None:
        super().__init__(name="faults", daemon=True)
        self.cluster, self.stop, self.rng, self.app_name = cluster, stop, rng, app_name
        # the schedulers start late, to a backlog: a burst of due reminders
        events: list[tuple[float, str]] = [(max(3.0, 0.15 * seconds), "schedulers")]
        t = 3.0
        while t < seconds - 2:
            events.append((t, "kill"))
            t += kill_every * rng.uniform(0.6, 1.4)
        smtp_at, db_at = 0.3 * seconds, 0.6 * seconds
        events += [(smtp_at, "smtp"), (db_at, "db")]
        t = events[0][0] + CLOCK_EVERY
        while t < seconds - 2:
            if not smtp_at - 1 <= t <= smtp_at + SMTP_DOWN_S + 1:
                events.append((t, "clock"))
            t += CLOCK_EVERY
        self.events = sorted(events)
        self.helpers: list[threading.Thread] = []
        self.error: str | None = None

    def run(self) -> None:
        try:
            self._run()
        except BaseException as exc:  # noqa: BLE001 - reported by the driver
            self.error = f"{type(exc).__name__}: {exc}"

    def _run(self) -> None:
        c = self.cluster
        for at, what in self.events:
            while (wait := at - c.stats.now()) > 0:
                if self.stop.wait(min(wait, 0.5)):
                    return
                c.revive()   # as a supervisor would: a process that died is started again
            if what == "schedulers":
                c.start_schedulers()
            elif what == "kill":
                log(f"SIGKILL {c.kill_one()}")
            elif what == "clock" and c.stats.now() - c.stepped > CLOCK_EVERY / 2:
                c.step_clock()
                log(f"schedulers' clock now {iso(c.clock)}")
            elif what == "smtp":
                log(f"SMTP sink down for {SMTP_DOWN_S:.0f} s")
                self.spawn(self.smtp_outage)
            elif what == "db":
                log(f"terminating every backend of the run for {DB_DOWN_S:.0f} s")
                self.spawn(lambda: c.db_outage(DB_DOWN_S, self.app_name))

    def smtp_outage(self) -> None:
        """The sink down and up again, then a clock step: the retries come due."""
        self.cluster.smtp_outage(SMTP_DOWN_S)
        self.cluster.step_clock()

    def spawn(self, func: Callable[[], Any]) -> None:
        t = threading.Thread(target=func, daemon=True)
        t.start()
        self.helpers.append(t)

    def join_all(self) -> None:
        self.join()
        for t in self.helpers:
            t.join()


def drain(cluster: Cluster, conn: Any, timeout: float = 120) -> float:
    """Give the schedulers a clock past every lease and retry; wait until nothing due is
    left and nothing is being sent. The seconds it took."""
    began = time.monotonic()
    cluster.revive()
    if not cluster.sink.alive():
        cluster.start_sink()
    cluster.step_clock(DRAIN_AHEAD)
    quiet = 0
    while time.monotonic() - began < timeout:
        row = conn.execute("""
            SELECT count(*) FROM reminder r JOIN deadline d ON d.id = r.deadline_id
            WHERE r.status = 'sending'
               OR (r.status = 'pending' AND d.active AND r.next_attempt_at <= %s)""",
                           (cluster.clock,)).fetchone()
        quiet = quiet + 1 if row and row[0] == 0 else 0
        if quiet >= 4:
            return time.monotonic() - began
        cluster.revive()
        time.sleep(0.5)
    return time.monotonic() - began


def tracebacks(logs: Path, prefix: str) -> Counter[str]:
    """The last line of every traceback in the logs of ``prefix``-processes."""
    found: Counter[str] = Counter()
    for path in sorted(logs.glob(f"{prefix}-*.log")):
        lines = path.read_text(errors="replace").splitlines()
        for i, line in enumerate(lines):
            if line.startswith("{") and "Traceback (most recent call last)" in line:
                try:   # a JSON log line (WORKFLOW_LOG_FORMAT=json) with the traceback in it
                    entry = json.loads(line)
                except ValueError:
                    continue
                text = f"{entry.get('message', '')}\n{entry.get('exc_info', '')}"
                last = [x for x in text.splitlines() if x.strip() and not x.startswith(" ")]
                if last:
                    found[f"{last[-1][:160]}  ({path.name})"] += 1
            elif line.startswith("Traceback (most recent call last)"):
                j = i + 1
                while j < len(lines) and (lines[j].startswith(" ") or not lines[j]):
                    j += 1
                if j < len(lines):
                    found[f"{lines[j][:160]}  ({path.name})"] += 1
    return found


def add_arguments(ap: Options) -> None:
    ap.add_argument("--seconds", type=float, default=120, help="how long the load runs")
    ap.add_argument("--clients", type=int, default=12, help="threads playing the demo's users")
    ap.add_argument("--web", type=int, default=4, help="web worker processes")
    ap.add_argument("--schedulers", type=int, default=2, help="scheduler processes")
    ap.add_argument("--kill-every", type=float, default=4.0,
                    help="seconds between SIGKILLs (give or take 40 %%)")
    ap.add_argument("--seed", type=int, default=None, help="the faults' seed (default: any)")
    ap.add_argument("--pg-url", default=DEFAULT_PG, help="the database (a schema is made)")
    ap.add_argument("--keep", action="store_true", help="keep the schema and the logs")


def run(a: argparse.Namespace, ctx: Context) -> dict[str, Any]:
    seed = a.seed if a.seed is not None else random.SystemRandom().randint(1, 10**6)
    name = f"wf_faults_{os.getpid()}"
    logs = ctx.folder("faults")
    log(f"seed {seed}, schema {name}, logs in {logs}")
    ctx.keep = True   # the logs stay, unless the run ends and holds
    with schema(a.pg_url, name, a.keep) as url:
        stats = Stats()
        cluster = Cluster(url=url, server=a.pg_url, logs=logs, web=a.web,
                          schedulers=a.schedulers, seed=seed, stats=stats, env=ctx.env)
        try:
            report = load_and_faults(a, cluster, stats, url, name, logs, seed)
        finally:
            cluster.kill_all()
    ctx.keep = a.keep or not report["result"]["ok"]
    return report


def load_and_faults(a: argparse.Namespace, cluster: Cluster, stats: Stats, url: str,
                    name: str, logs: Path, seed: int) -> dict[str, Any]:
    import psycopg

    init = subprocess.run([workflow_script(), "init", "--demo-setup"], cwd=REPO_DIR,
                          env={**cluster.base_env, "WORKFLOW_NOW": WEB_NOW},
                          capture_output=True, text=True, timeout=120)
    if init.returncode != 0:
        raise SystemExit(f"workflow init --demo-setup failed:\n{init.stdout}{init.stderr}")
    cluster.start_sink()
    cluster.start_web()
    tokens, users = log_in(cluster.ports)
    world = World(users, max_cases=max(12, 3 * a.clients))
    stop = threading.Event()
    rng = random.Random(seed)
    stats.t0 = time.monotonic()
    clients = [Client(i, Api(f"c{i}", cluster.ports, tokens, stats,
                             random.Random(rng.random())),
                      world, stats, stop, random.Random(rng.random()))
               for i in range(a.clients)]
    timeline = Timeline(cluster, a.seconds, a.kill_every, stop, random.Random(seed), name)
    log(f"load: {a.clients} clients on {a.web} web workers {cluster.ports}, "
        f"{a.schedulers} schedulers, SMTP sink on {cluster.smtp_port}, {a.seconds:.0f} s")
    for c in clients:
        c.start()
    timeline.start()
    time.sleep(a.seconds)
    stop.set()
    for c in clients:
        c.join(timeout=60)
    timeline.join_all()
    loaded = stats.now()
    log("load over; draining the reminders")
    conninfo = libpq_url(url).replace(f"application_name={name}",
                                      "application_name=wf_faults_check")
    with psycopg.connect(conninfo, autocommit=True) as conn:
        drained = drain(cluster, conn)
        cluster.stop_all()
        checks = check_database(conn)
        checks.append(Check("downloaded bytes = the stored sha256", len(stats.mismatches),
                            stats.mismatches[:5]))
        tally = tally_reminders(conn, sink_counts(cluster.sink_log), clock=cluster.clock)
    return summarize(a, cluster, stats, checks, tally, clients, timeline, loaded, drained,
                     logs, seed)


def summarize(a: argparse.Namespace, cluster: Cluster, stats: Stats, checks: list[Check],
              tally: Any, clients: list[Client], timeline: Timeline, loaded: float,
              drained: float, logs: Path, seed: int) -> dict[str, Any]:
    """What the run saw, ready to print: the table's rows, the checks, the refusals."""
    windows = cluster.db_down
    # a 503 to a request in flight at any moment of the window (or just after it)
    in_window = [e for e in stats.fivexx if e["status"] == 503 and any(
        e["done"] >= start and e["t"] <= end + DB_GRACE_S for start, end in windows)]
    bad_5xx = [e for e in stats.fivexx if e not in in_window]
    crashes: list[Crash] = []
    refused: list[Crash] = []
    for c in (c for p in [*cluster.web, *cluster.schedulers, cluster.sink] for c in p.crashes):
        # `workflow serve` (3) and `workflow scheduler` (8) refuse to start without the
        # database: expected of a process started just before or during its interruption
        during = any(start - 6 <= c.started <= end + DB_GRACE_S for start, end in windows)
        (refused if during and c.code in (3, 8) else crashes).append(c)
    errors = [f"{c.name}: {c.error}" for c in clients if c.error]
    if timeline.error:
        errors.append(f"faults: {timeline.error}")
    broken = sum(c.broken for c in checks)
    kills_s = cluster.kills["scheduler"]
    s, n = stats.classes, stats.counts
    rows = [
        ("requests", f"{s['requests']:,}"),
        ("  2xx", f"{s['2xx']:,}"),
        ("  409", f"{s['409']:,}"),
        ("  4xx (other)", f"{s['4xx']:,}"),
        ("  5xx", f"{s['5xx']:,}  (503 in the database window: {len(in_window)}, "
                  f"other: {len(bad_5xx)})"),
        ("  connection errors", f"{n['connection errors']:,}  (a worker killed or starting)"),
        ("conflicts (409, changed first)", f"{n['conflicts']:,}  (stale versions sent: "
                                           f"{n['stale versions sent']}, refused: "
                                           f"{n['stale versions refused']})"),
        ("cases opened / transitions made", f"{n['cases opened']:,} / "
                                            f"{n['transitions made']:,}"),
        ("documents downloaded", f"{n['documents downloaded']:,}"),
        ("kills: web / scheduler", f"{cluster.kills['web']} / {kills_s}"),
        ("scheduler clock steps", f"{cluster.steps}  (forced: {cluster.forced}, unclean "
                                  f"exits: {sum(len(p.unclean) for p in cluster.schedulers)})"),
        ("SMTP sink down", ", ".join(f"{e - b:.1f} s at {b:.0f} s"
                                     for b, e in cluster.sink_down) or "never"),
        ("database interrupted", (", ".join(f"{e - b:.1f} s at {b:.0f} s"
                                            for b, e in windows) or "never")
         + f"  ({cluster.terminated} backends terminated)"),
        ("processes died unkilled", f"{len(crashes)}  (refused to start while the database "
                                    f"was interrupted: {len(refused)})"),
        ("invariants broken", f"{broken}"),
        ("reminders due", f"{tally.due:,}"),
        ("reminders sent", f"{tally.sent:,}  (delivered: {tally.delivered:,})"),
        ("reminders lost", f"{tally.lost}"),
        ("reminders doubled", f"{tally.doubled}  (allowed: {kills_s}, the scheduler kills)"),
        ("reminders not yet due", f"{tally.not_due}  (delivered, since cancelled: "
                                  f"{tally.unmarked})"),
    ]
    refusals = sorted(((*k, v) for k, v in stats.detail.items() if k[2] >= 400),
                      key=lambda row: -row[-1])
    result = {
        "seed": seed, "seconds": loaded, "requests": s["requests"], "2xx": s["2xx"],
        "409": s["409"], "4xx": s["4xx"], "5xx": s["5xx"], "bad_5xx": len(bad_5xx),
        "conflicts": n["conflicts"], "transitions": n["transitions made"],
        "kills_web": cluster.kills["web"], "kills_scheduler": kills_s,
        "invariants_broken": broken, "reminders_due": tally.due,
        "reminders_sent": tally.sent, "reminders_lost": tally.lost,
        "reminders_doubled": tally.doubled, "crashes": len(crashes) + len(errors)}
    result["ok"] = all(ok for _, _, ok in verdicts(result))
    return {
        "head": f"Load and faults: {loaded:.0f} s of load, {a.clients} clients, {a.web} web "
                f"workers, {a.schedulers} schedulers; drain {drained:.1f} s; seed {seed}",
        "rows": rows, "checks": [(c.name, c.broken, c.examples) for c in checks],
        "reminder_examples": tally.examples, "bad_5xx": bad_5xx[:10],
        "tracebacks": {who: tracebacks(logs, prefix).most_common(10) for who, prefix in
                       (("web workers'", "web"), ("schedulers'", "scheduler"))},
        "refusals": refusals[:14], "problems": [*map(str, crashes), *errors],
        "result": result}


def print_report(report: Mapping[str, Any]) -> None:
    print(f"\n{report['head']}")
    width = max(len(k) for k, _ in report["rows"])
    for key, val in report["rows"]:
        print(f"  {key:<{width}}  {val}")
    print("\nInvariants:")
    for name, broken, examples in report["checks"]:
        print(f"  [{'ok' if not broken else 'BROKEN':>6}] {name}: {broken}")
        for ex in examples:
            print(f"           {ex}")
    for ex in report["reminder_examples"]:
        print(f"  reminder: {ex}")
    if report["bad_5xx"]:
        print("\n5xx answers outside the database window (or not 503):")
        for e in report["bad_5xx"]:
            print(f"  t={e['t']} s {e['status']} {e['method']} {e['path']} (worker "
                  f"{e['port']}, X-Request-ID {e['request_id']}): {e['body'][:200]}")
    for who, found in report["tracebacks"].items():
        if found:
            print(f"\nTracebacks in the {who} logs (last line, count):")
            for line, count in found:
                print(f"  {count:>4}  {line}")
    print("\nRefusals by route (method, route, status, error: count):")
    for method, route, code, error, count in report["refusals"]:
        print(f"  {method:<4} {route:<42} {code} {error or '-':<18} {count:,}")
    for line in report["problems"]:
        print(f"  {line}")
    print("RESULT " + json.dumps(report["result"]), flush=True)


def verdicts(r: Mapping[str, Any]) -> list[Verdict]:
    kills = r["kills_web"] + r["kills_scheduler"]
    return [
        ("invariants hold", f"{r['invariants_broken']} broken", r["invariants_broken"] == 0),
        ("no reminder lost", f"{r['reminders_lost']} lost", r["reminders_lost"] == 0),
        ("reminders doubled at most once per scheduler kill",
         f"{r['reminders_doubled']} doubled, {r['kills_scheduler']} scheduler kills",
         r["reminders_doubled"] <= r["kills_scheduler"]),
        ("no 5xx but 503 in the database window", f"{r['bad_5xx']} other 5xx",
         r["bad_5xx"] == 0),
        ("no process died unkilled, no client failed", f"{r['crashes']} died or failed",
         r["crashes"] == 0),
        ("the run did work (transitions, reminders due, kills)",
         f"{r['transitions']} transitions, {r['reminders_due']} reminders due, {kills} kills",
         r["transitions"] > 0 and r["reminders_due"] > 0 and kills > 0),
    ]


def goals(report: Mapping[str, Any]) -> list[Verdict]:
    return verdicts(report["result"])
