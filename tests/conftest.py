"""Shared fixtures: a real SQLite file and the real PostgreSQL server, a settable clock.

Every test that takes ``db_url`` (directly or through ``wf``) runs once on each backend.
PostgreSQL tests skip on a machine without a server, saying why, except under CI (or
with WORKFLOW_REQUIRE_POSTGRES=1), where an unreachable server is a failure.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text

from workflow.config import Settings
from workflow.engine.workflow import Workflow
from workflow.installation import demo
from workflow.store import database as store
from workflow.store import tables as t

PG_BASE_URL = os.environ.get("WORKFLOW_TEST_POSTGRES_URL",
                             "postgresql+psycopg://postgres@127.0.0.1:5432/test")
# Each test session works in its own schema of the `test` database, so that two runs
# (or a benchmark) on the same server never see each other's rows.
PG_SCHEMA = f"wf_test_{os.getpid()}"
PG_URL = f"{PG_BASE_URL}?options=-csearch_path%3D{PG_SCHEMA}"
REQUIRE_PG = bool(os.environ.get("CI") or os.environ.get("WORKFLOW_REQUIRE_POSTGRES"))
TABLES = ["directory_group", "chain_link", "journal_exemption", "journal_entry",
          "stored_file_chunk", "stored_file",
          "web_session", "login_attempt", "api_token", "setting", "reminder", "document_download",
          "case_section",
          "document_version", "document", "party_act", "deadline", "audit_entry", "link",
          "application_area", "area_part_release", "search_entry", "application_party",
          "application", "definition", "area", "user", "cooperation_member", "cooperation",
          "municipality"]


class Clock:
    """A controllable clock (aware UTC), in the spirit of apscheduler's freeze_time."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def at(self, iso: str) -> Clock:
        self.now = datetime.fromisoformat(iso).replace(tzinfo=UTC)
        return self

    def advance(self, **delta: float) -> Clock:
        self.now += timedelta(**delta)
        return self


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("WORKFLOW_") and not key.startswith("WORKFLOW_TEST_") \
                and key != "WORKFLOW_REQUIRE_POSTGRES":
            monkeypatch.delenv(key)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = store.make_engine(f"sqlite:///{path}")
    store.migrate(engine)
    demo.load_setup(engine, files=(0,))   # Ishøj–Vallensbæk; tests of two add (1,)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def pg_engine() -> Iterator[Engine]:
    admin = store.make_engine(PG_BASE_URL)
    try:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE"))
            conn.execute(text(f"CREATE SCHEMA {PG_SCHEMA}"))
    except Exception as exc:  # noqa: BLE001 - any failure to connect means "no server"
        admin.dispose()
        msg = f"PostgreSQL is not reachable at {PG_BASE_URL}: {str(exc).splitlines()[0]}"
        if REQUIRE_PG:
            pytest.fail(msg + " (CI requires it)")
        pytest.skip(msg)
    engine = store.make_engine(PG_URL)
    store.migrate(engine)
    yield engine
    engine.dispose()
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE"))
    admin.dispose()


def reset_postgres(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in TABLES)
                          + " RESTART IDENTITY CASCADE"))
    demo.load_setup(engine, files=(0,))   # Ishøj–Vallensbæk; tests of two add (1,)


# a test of what only SQLite has: the db_url fixture, on SQLite alone
SQLITE_ONLY = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        path = tmp_path / "workflow.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    reset_postgres(request.getfixturevalue("pg_engine"))
    return PG_URL


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2018, 1, 8, 9, 0, tzinfo=UTC))


@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings(database_url=db_url)


@pytest.fixture
def wf(settings: Settings, clock: Clock) -> Iterator[Workflow]:
    workflow = Workflow.open(settings, clock=clock)
    yield workflow
    workflow.close()


@pytest.fixture
def open_wf(settings: Settings, clock: Clock) -> Iterator[Callable[..., Workflow]]:
    """Open further Workflow objects (other definitions, settings); all closed at the end."""
    opened: list[Workflow] = []

    def factory(**kwargs: Any) -> Workflow:
        workflow = Workflow.open(kwargs.pop("settings", settings),
                                 clock=kwargs.pop("clock", clock), **kwargs)
        opened.append(workflow)
        return workflow

    yield factory
    for workflow in opened:
        workflow.close()


@pytest.fixture
def deadline_reminders_only(request: pytest.FixtureRequest) -> None:
    """Every user has turned the your-turn notices off, so that a test counts the deadline
    reminders alone (tests/reminders/test_notices.py tests the notices)."""
    if "wf" in request.fixturenames:
        wf: Workflow = request.getfixturevalue("wf")
        with store.write(wf.engine) as conn:
            conn.execute(t.user.update().values(turn_notices=False))
