"""Separate OS processes racing on one database, on SQLite (a file) and on PostgreSQL.

Each racer is a ``spawn``-ed process with its own ``Workflow`` (its own engine and
connections). The parent prepares an application, hands every racer its job, and the racers
start the job at the same moment (a ``Barrier``); they report back plain tuples
``(index, user, outcome, message, extra)`` where ``outcome`` is ``"ok"`` or the name of the
exception's class, so nothing is pickled but strings and ints.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, func, select, text

from tests.factories import make_application
from workflow.engine.queries import areas, get_application, history
from workflow.engine.workflow import Workflow
from workflow.store import chain
from workflow.store import tables as t

pytestmark = pytest.mark.slow

CTX = multiprocessing.get_context("spawn")
ROUNDS = 10
TIMEOUT = 60.0          # seconds any single wait may take before the test gives up
PLS = ["pl-ishoj", "pl-vallensbaek"]
PROJECT_DIR = Path(__file__).resolve().parents[2]

Result = tuple[int, str, str, str, Any]


# ------------------------------------------------------------------ the racer processes
def _racer(url: str, user: str, jobs: Any, results: Any, barrier: Any) -> None:
    """Open a Workflow once, then run each job the moment every racer is ready for it."""
    from workflow.config import Settings
    from workflow.engine.workflow import Workflow, register_definition, system_clock
    from workflow.errors import WorkflowError
    from workflow.process.definition import load

    settings = Settings(database_url=url)
    wf: Workflow | None = None
    while True:
        job = jobs.get(timeout=TIMEOUT)
        if job is None:
            break
        index, op, args = job
        try:
            if op == "register":
                # Workflow.open's first step on a database that has not seen this definition
                from workflow.store import database as store

                definition = load(settings.states_file)
                engine = store.make_engine(url)
                store.require_schema(engine)          # connected and warm before the start
                barrier.wait(timeout=TIMEOUT)
                try:
                    register_definition(engine, definition, system_clock())
                finally:
                    engine.dispose()
                results.put((index, user, "ok", "registered", None))
                continue
            if wf is None:
                wf = Workflow.open(settings)
            barrier.wait(timeout=TIMEOUT)
            if op == "fire":
                app_id, trigger, data, expected = args
                out = wf.fire(app_id, trigger, user=user, data=data,
                              expected_version=expected)
                results.put((index, user, "ok", out.to_state, out.version))
            elif op == "create":
                kind, round_, title = args
                new_id = wf.create(kind=kind, round=round_, title=title, user=user)
                results.put((index, user, "ok", "created", new_id))
            else:  # pragma: no cover - a typo in a test
                results.put((index, user, "UnknownOp", op, None))
        except WorkflowError as exc:
            results.put((index, user, type(exc).__name__, str(exc),
                         getattr(exc, "changed_by", None)))
        except Exception as exc:  # noqa: BLE001 - reported to the parent, which fails
            results.put((index, user, type(exc).__name__, str(exc).splitlines()[0], None))
    if wf is not None:
        wf.close()


class Racers:
    """A fixed set of racer processes, one per user, fed jobs round by round."""

    def __init__(self, url: str, users: list[str]) -> None:
        self.users = users
        self.barrier = CTX.Barrier(len(users))
        self.results: Any = CTX.Queue()
        self.jobs: list[Any] = [CTX.Queue() for _ in users]
        self.procs = [CTX.Process(target=_racer, args=(url, u, q, self.results, self.barrier),
                                  name=f"racer-{u}", daemon=True)
                      for u, q in zip(users, self.jobs, strict=True)]
        self.rounds = 0

    def start(self) -> None:
        for p in self.procs:
            p.start()

    def race(self, *jobs: tuple[str, tuple[Any, ...]]) -> dict[str, Result]:
        """Give racer i ``jobs[i]`` (op, args); all start together; results by user."""
        assert len(jobs) == len(self.users)
        self.rounds += 1
        for q, (op, args) in zip(self.jobs, jobs, strict=True):
            q.put((self.rounds, op, args))
        got: dict[str, Result] = {}
        while len(got) < len(self.users):
            try:
                res = self.results.get(timeout=TIMEOUT)
            except queue.Empty:
                dead = [(p.name, p.exitcode) for p in self.procs if not p.is_alive()]
                pytest.fail(f"round {self.rounds}: no result within {TIMEOUT}s; got {got}; "
                            f"dead racers: {dead}")
            assert res[0] == self.rounds, f"a result from another round: {res}"
            got[res[1]] = res
        return got

    def stop(self) -> None:
        for q in self.jobs:
            q.put(None)
        for p in self.procs:
            p.join(timeout=10)
        for p in self.procs:
            if p.is_alive():  # a straggler: do not let it outlive the test
                p.terminate()
                p.join(timeout=5)
        for q in [*self.jobs, self.results]:
            q.close()
            q.join_thread()


@contextmanager
def racers(url: str, users: list[str]) -> Iterator[Racers]:
    r = Racers(url, users)
    r.start()
    try:
        yield r
    finally:
        r.barrier.abort()  # wake anyone still waiting, so that stop() is quick
        r.stop()
    assert all(p.exitcode == 0 for p in r.procs), [(p.name, p.exitcode) for p in r.procs]


# ------------------------------------------------------------------------- checks
def assert_audit_consistent(wf: Workflow, app_id: int) -> list[dict[str, Any]]:
    """Versions 1..N without gaps or duplicates; the row agrees with the last entry."""
    entries = history(wf, app_id, user="admin")
    versions = [e["version"] for e in entries]
    assert versions == list(range(1, len(entries) + 1)), versions
    for prev, cur in zip(entries, entries[1:], strict=False):
        assert cur["from"] == prev["to"], (prev, cur)
    shown = get_application(wf, app_id, user="admin")
    assert shown["version"] == entries[-1]["version"]
    assert shown["state"] == entries[-1]["to"]
    with wf.engine.connect() as conn:   # the steps raced, yet the chain is one line
        (linked,) = chain.verify(conn, app_id)
        assert linked.broken is None, linked.broken
        assert linked.links >= len(entries)
    return entries


def assert_no_double_claims(wf: Workflow) -> dict[str, int]:
    """No area (nor part) is live in two applications, nor live and released; {area held
    whole: holder}."""
    aa = t.application_area
    with wf.engine.connect() as conn:
        doubles = conn.execute(select(aa.c.area_id, aa.c.part_id, func.count())
                               .where(aa.c.live).group_by(aa.c.area_id, aa.c.part_id)
                               .having(func.count() > 1)).all()
        holders = dict(conn.execute(select(aa.c.area_id, aa.c.application_id)
                                    .where(aa.c.live, aa.c.part_id == "")).all())
        in_part = set(conn.execute(select(aa.c.area_id).where(aa.c.live)).scalars())
    assert doubles == []
    for a in areas(wf):
        if a["id"] in holders:
            assert a["released_on"] is None
            assert re.fullmatch(rf"in case 00\.17\.15-G01-{holders[a['id']]}-\d\d", a["status"])
        assert a["available"] == (a["id"] not in in_part and a["released_on"] is None)
    return holders


class RawDatabaseError(AssertionError):
    """A racer got a database driver's error where a WorkflowError belongs."""


DB_ERRORS = {"IntegrityError", "OperationalError", "DBAPIError", "InternalError",
             "ProgrammingError"}


def no_unexpected_errors(results: dict[str, Result], allowed: set[str]) -> None:
    for r in results.values():
        if r[2] in DB_ERRORS:
            raise RawDatabaseError(f"{r[1]} got a raw database error: {r}")
        assert r[2] == "ok" or r[2] in allowed, f"unexpected outcome: {r}"


def withdraw(wf: Workflow, app_id: int) -> None:
    state = get_application(wf, app_id, user="admin")["state"]
    if state not in ("withdrawn", "closed"):
        wf.fire(app_id, "withdraw", user="dir-ishoj", data={"reason": "Ryddet op efter kapløb"})


# ---------------------------------------------------------------------- scenarios
def test_same_trigger_has_exactly_one_winner(wf: Workflow, db_url: str) -> None:
    """a) Both project leads submit the same draft at once: one wins, the other is told who."""
    with racers(db_url, PLS) as r:
        for i in range(ROUNDS):
            app = make_application(wf, state="drafting", title=f"Kapløb {i}")
            seen = get_application(wf, app, user="admin")["version"]
            # even rounds: both had read version `seen`; odd rounds: no version check
            expected = seen if i % 2 == 0 else None
            res = r.race(*[("fire", (app, "submit_for_review", {}, expected))] * 2)
            no_unexpected_errors(res, {"ConflictError", "InvalidTransition"})
            winners = [u for u, x in res.items() if x[2] == "ok"]
            assert len(winners) == 1, res
            winner, = winners
            loser, = (u for u in PLS if u != winner)
            assert res[winner][3:] == ("legal_review", seen + 1)
            kind, msg, changed_by = res[loser][2:]
            if kind == "ConflictError":
                assert expected is not None, res
                assert changed_by == winner
                assert f"was changed first by {winner} at " in msg
                assert f"it is now at version {seen + 1}, you had version {seen}" in msg
            else:
                assert "is in state 'legal_review': trigger 'submit_for_review'" in msg
                assert f"(last changed by {winner} at " in msg
                if expected is not None:  # a version check must not hide behind a state one
                    pytest.fail(f"with expect-version the loser got {res[loser]}")
            entries = assert_audit_consistent(wf, app)
            assert [e["trigger"] for e in entries].count("submit_for_review") == 1
            assert entries[-1]["user"] == winner and entries[-1]["to"] == "legal_review"
            assert entries[-1]["version"] == seen + 1
            withdraw(wf, app)
            assert_audit_consistent(wf, app)


def test_joint_confirmation_is_never_lost(wf: Workflow, db_url: str) -> None:
    """b) Both project leads confirm the proposal at once: both count, or one is refused."""
    aa = t.application_area
    with racers(db_url, PLS) as r:
        for i in range(ROUNDS):
            app = make_application(wf, title=f"Fælles {i}")
            wf.fire(app, "propose_areas", user="pl-ishoj",
                    data={"areas": "rehabilitation,social"})
            seen = get_application(wf, app, user="admin")["version"]
            expected = seen if i % 2 == 0 else None
            data = {} if i % 3 else {"areas": "social,rehabilitation"}
            res = r.race(*[("fire", (app, "confirm_areas", data, expected))] * 2)
            no_unexpected_errors(res, {"ConflictError", "GuardFailed"})
            oks = {u: x for u, x in res.items() if x[2] == "ok"}
            shown = get_application(wf, app, user="admin")
            entries = assert_audit_consistent(wf, app)
            confirms = [e for e in entries if e["trigger"] == "confirm_areas"]
            assert len(confirms) == len(oks)
            assert len({e["version"] for e in entries}) == len(entries)
            if len(oks) == 2:
                assert expected is None, res  # a version check lets only one through
                assert shown["state"] == "drafting"
                assert sorted(x[3] for x in oks.values()) == ["area_selection", "drafting"]
                assert sorted(x[4] for x in oks.values()) == [seen + 1, seen + 2]
                assert confirms[0]["to"] == "area_selection"
                assert confirms[0]["data"]["waiting_for"] == \
                    [{"pl-ishoj": "vallensbaek", "pl-vallensbaek": "ishoj"}[confirms[0]["user"]]]
                assert confirms[1]["to"] == "drafting"
            else:
                assert len(oks) == 1, res  # two refusals would be a lost step, too
                (winner, ok), = oks.items()
                assert ok[3:] == ("area_selection", seen + 1)
                loser, = (u for u in PLS if u != winner)
                assert shown["state"] == "area_selection"
                assert list(shown["acts"]["areas"]) == [
                    {"pl-ishoj": "ishoj", "pl-vallensbaek": "vallensbaek"}[winner]]
                kind, msg, changed_by = res[loser][2:]
                assert kind == "ConflictError" and expected is not None, res
                assert changed_by == winner and f"changed first by {winner}" in msg
            with wf.engine.connect() as conn:
                claimed = sorted(conn.execute(select(aa.c.area_id).where(
                    aa.c.application_id == app, aa.c.live, aa.c.part_id == "")).scalars())
            assert claimed == ["rehabilitation", "social"]
            withdraw(wf, app)


# (Ishøj's proposal for its application, Vallensbæk's for the other), sharing some areas
OVERLAPS = [
    ("social,rehabilitation", "social,special_education"),
    ("rehabilitation,social,special_education", "special_education,nature_environment"),
    ("social,rehabilitation", "rehabilitation,social"),
    ("nature_environment,social", "social,nature_environment,rehabilitation"),
    ("special_education,rehabilitation,nature_environment",
     "nature_environment,rehabilitation,special_education"),
]


def test_an_area_goes_to_one_of_two_simultaneous_proposals(wf: Workflow, db_url: str) -> None:
    """c) Two applications propose overlapping areas at once: one gets them, one is refused."""
    with racers(db_url, PLS) as r:
        for i in range(ROUNDS):
            mine, theirs = OVERLAPS[i % len(OVERLAPS)]
            first = make_application(wf, title=f"Område A {i}")
            second = make_application(wf, title=f"Område B {i}")
            res = r.race(("fire", (first, "propose_areas", {"areas": mine}, None)),
                         ("fire", (second, "propose_areas", {"areas": theirs}, None)))
            no_unexpected_errors(res, {"GuardFailed"})
            winners = [u for u, x in res.items() if x[2] == "ok"]
            assert len(winners) == 1, res
            winner, = winners
            loser, = (u for u in PLS if u != winner)
            app_of = {"pl-ishoj": first, "pl-vallensbaek": second}
            proposal = {"pl-ishoj": mine, "pl-vallensbaek": theirs}
            msg = res[loser][3]
            assert "not available" in msg or "claimed the same area at the same time" in msg
            assert f"in case 00.17.15-G01-{app_of[winner]}-" in msg, msg
            holders = assert_no_double_claims(wf)
            assert sorted(a for a, h in holders.items() if h == app_of[winner]) == \
                sorted(proposal[winner].split(","))
            assert app_of[loser] not in holders.values()
            assert get_application(wf, app_of[loser], user="admin")["areas"] == []
            for app in (first, second):
                assert_audit_consistent(wf, app)
                withdraw(wf, app)
            assert assert_no_double_claims(wf) == {}


@contextmanager
def slow_area_inserts(wf: Workflow, enabled: bool) -> Iterator[None]:
    """On PostgreSQL: every claim row takes 0.2 s to insert, which widens the race window."""
    if enabled:
        with wf.engine.begin() as conn:
            conn.execute(text("CREATE FUNCTION slow_area_insert() RETURNS trigger "
                              "LANGUAGE plpgsql AS "
                              "$$ BEGIN PERFORM pg_sleep(0.2); RETURN NEW; END $$"))
            conn.execute(text("CREATE TRIGGER slow_area_insert BEFORE INSERT ON "
                              "application_area FOR EACH ROW "
                              "EXECUTE FUNCTION slow_area_insert()"))
    try:
        yield
    finally:
        if enabled:
            with wf.engine.begin() as conn:
                conn.execute(text("DROP TRIGGER slow_area_insert ON application_area"))
                conn.execute(text("DROP FUNCTION slow_area_insert()"))


def test_areas_proposed_in_opposite_orders_at_once(wf: Workflow, db_url: str) -> None:
    """Ishøj proposes social,rehabilitation while Vallensbæk proposes rehabilitation,social.

    Regression: on PostgreSQL each used to claim its first area and then wait for the
    other's, a deadlock that the server broke by aborting one transaction with a raw
    DeadlockDetected error (about 1 race in 30 unaided; every time with slow inserts, as
    here). Claims are now inserted in a fixed order. SQLite runs writers one at a time.
    """
    pg = db_url.startswith("postgresql")
    with slow_area_inserts(wf, pg), racers(db_url, PLS) as r:
        for i in range(2):
            first = make_application(wf, title=f"Modsat A {i}")
            second = make_application(wf, title=f"Modsat B {i}")
            res = r.race(
                ("fire", (first, "propose_areas", {"areas": "social,rehabilitation"}, None)),
                ("fire", (second, "propose_areas", {"areas": "rehabilitation,social"},
                          None)))
            no_unexpected_errors(res, {"GuardFailed"})
            assert sorted(x[2] for x in res.values()) == ["GuardFailed", "ok"], res
            holders = assert_no_double_claims(wf)
            assert sorted(holders) == ["rehabilitation", "social"]
            assert len(set(holders.values())) == 1
            for app in (first, second):
                assert_audit_consistent(wf, app)
                withdraw(wf, app)


def test_two_jobcentre_take_backs_opened_at_once(wf: Workflow, db_url: str) -> None:
    """Opening a jobcentre application claims employment: only one of two may open.

    Regression: on PostgreSQL both saw employment free and both inserted the claim; the
    unique index stopped the second, but with a raw IntegrityError (about 2 races in 3
    unaided; every time with slow inserts, as here).
    """
    pg = db_url.startswith("postgresql")
    with slow_area_inserts(wf, pg), racers(db_url, PLS) as r:
        for i in range(ROUNDS):
            res = r.race(*[("create", ("jobcentre", None, f"Jobcenter {i}"))] * 2)
            no_unexpected_errors(res, {"GuardFailed"})
            winners = [u for u, x in res.items() if x[2] == "ok"]
            assert len(winners) == 1, res
            winner, = winners
            loser, = (u for u in PLS if u != winner)
            app = res[winner][4]
            assert re.sub(r"-\d\d\)$", ")", res[loser][3]) in (
                "cannot open a jobcentre application: not available: employment "
                f"(in case 00.17.15-G01-{app})",   # it saw the winner's claim
                "another application claimed the same area at the same time: employment "
                f"(in case 00.17.15-G01-{app})"), res  # it did not, the unique index stopped it
            assert assert_no_double_claims(wf) == {"employment": app}
            assert len(assert_audit_consistent(wf, app)) == 1
            withdraw(wf, app)


def test_a_new_definition_registered_by_two_processes_at_once(wf: Workflow,
                                                             db_url: str) -> None:
    """Two processes starting at once after a deploy both record the new states.yaml.

    Regression: on PostgreSQL the second used to fail with an IntegrityError on the
    definition's primary key instead of starting.
    """
    d = t.definition
    with racers(db_url, PLS) as r:
        for _ in range(ROUNDS):
            with wf.engine.begin() as conn:  # as if states.yaml had just changed
                conn.execute(delete(d))
            res = r.race(*[("register", ())] * 2)
            no_unexpected_errors(res, set())
            with wf.engine.connect() as conn:
                assert conn.execute(select(d.c.hash)).scalars().all() == [wf.definition.hash]


# ----------------------------------------------------------------------------- CLI
def test_cli_race_one_wins_the_other_is_told_who(wf: Workflow, db_url: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WORKFLOW_")}
    env.update(WORKFLOW_DATABASE_URL=db_url, PYTHONIOENCODING="utf-8")
    for i in range(3):
        app = make_application(wf, state="drafting", title=f"CLI-kapløb {i}")
        v = get_application(wf, app, user="admin")["version"]
        expect = ["--expect-version", str(v)] if i < 2 else []
        procs = {user: subprocess.Popen(
            [sys.executable, "-m", "workflow", "advance", str(app), "submit_for_review",
             "--as", user, *expect], env=env, cwd=PROJECT_DIR, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, encoding="utf-8") for user in PLS}
        out: dict[str, tuple[int, str, str]] = {}
        for user, p in procs.items():
            try:
                stdout, stderr = p.communicate(timeout=TIMEOUT)
            except subprocess.TimeoutExpired:
                for q in procs.values():
                    q.kill()
                    q.communicate()
                pytest.fail(f"workflow advance as {user} did not finish in {TIMEOUT}s")
            out[user] = (p.returncode, stdout, stderr)
        codes = Counter(rc for rc, _, _ in out.values())
        assert codes[0] == 1, out
        winner, = (u for u, (rc, _, _) in out.items() if rc == 0)
        loser, = (u for u in PLS if u != winner)
        rc, stdout, stderr = out[loser]
        assert out[winner][1].startswith(f"Application {app}: submit_for_review: drafting -> "
                                         "legal_review")
        assert stdout == ""
        assert "Traceback" not in stderr
        assert stderr.count("\n") == 1 and stderr.startswith("error: "), stderr
        if expect:
            assert rc == 7, out
            assert f"was changed first by {winner} at " in stderr
        else:
            assert rc == 5, out
            assert f"(last changed by {winner} at " in stderr
        entries = assert_audit_consistent(wf, app)
        assert entries[-1]["user"] == winner and entries[-1]["to"] == "legal_review"
        withdraw(wf, app)


def test_the_same_part_claimed_at_once(wf: Workflow, db_url: str) -> None:
    """Ishøj asks for serviceloven § 82 while Vallensbæk asks for the whole social area,
    or for § 82 and § 86: the database lets one of them have § 82. Other parts of the
    area, asked at once, both succeed."""
    pg = db_url.startswith("postgresql")
    aa = t.application_area
    with slow_area_inserts(wf, pg), racers(db_url, PLS) as r:
        for i, other in enumerate(("social,employment", "social:s86,social:s82,employment")):
            first = make_application(wf, title=f"Del A {i}")
            second = make_application(wf, title=f"Del B {i}")
            res = r.race(
                ("fire", (first, "propose_areas", {"areas": "social:s82,rehabilitation"},
                          None)),
                ("fire", (second, "propose_areas", {"areas": other}, None)))
            no_unexpected_errors(res, {"GuardFailed"})
            assert sorted(x[2] for x in res.values()) == ["GuardFailed", "ok"], res
            assert_no_double_claims(wf)
            with wf.engine.connect() as conn:
                holders = conn.execute(select(aa.c.application_id).where(
                    aa.c.area_id == "social", aa.c.part_id == "s82", aa.c.live)).all()
            assert len(holders) == 1
            for app in (first, second):
                assert_audit_consistent(wf, app)
                withdraw(wf, app)
        first = make_application(wf, title="Del C")
        second = make_application(wf, title="Del D")
        res = r.race(
            ("fire", (first, "propose_areas", {"areas": "social:s82,rehabilitation"}, None)),
            ("fire", (second, "propose_areas", {"areas": "social:s116,employment"}, None)))
        assert [x[2] for x in res.values()] == ["ok", "ok"], res
        assert_no_double_claims(wf)
