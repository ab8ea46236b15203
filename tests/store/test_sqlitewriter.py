"""SQLite's writer: one connection per process, threads taking turns, transactions ended
on whichever side (driver or SQLAlchemy) holds them, a lost connection replaced, and a
disk that filled up (a real one: tmpfs) and was freed again not needing a restart."""

from __future__ import annotations

import errno
import shutil
import subprocess
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, insert, select
from sqlalchemy.engine import Connection

from tests.conftest import SQLITE_ONLY
from tests.factories import make_application
from workflow.config import Settings
from workflow.engine.workflow import Workflow
from workflow.errors import SetupError
from workflow.store import database as store
from workflow.store import tables as t
from workflow.store.statements import cursor


def _audit_count(engine: Engine) -> int:
    with store.read(engine) as conn:
        return conn.execute(select(func.count()).select_from(t.audit_entry)).scalar_one()


def _insert_audit(conn: Connection, app_id: int, version: int, comment: str = "") -> None:
    conn.execute(insert(t.audit_entry).values(
        application_id=app_id, version=version, trigger="note", from_state="drafting",
        to_state="drafting", user_id="pl-ishoj", role="project_lead", municipality="ishoj",
        at=datetime(2018, 5, 3, tzinfo=UTC), comment=comment, data={}))


def test_writes_of_many_threads_all_commit_on_sqlite_taking_turns_on_one_connection(
        wf: Workflow) -> None:
    app_id = make_application(wf)
    before = _audit_count(wf.engine)
    seen: set[int] = set()

    def write(k: int) -> None:
        for i in range(10):
            with store.write(wf.engine) as conn:
                seen.add(id(conn.connection.driver_connection))
                _insert_audit(conn, app_id, 1000 + 10 * k + i)

    threads = [threading.Thread(target=write, args=(k,)) for k in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert _audit_count(wf.engine) == before + 80
    if store.is_sqlite(wf.engine):  # (PostgreSQL's take pooled connections, several at once)
        assert len(seen) == 1


@SQLITE_ONLY
def test_sqlite_writer_rolls_back_driver_and_sqlalchemy_statements_alike(
        wf: Workflow) -> None:
    app_id = make_application(wf)
    before = _audit_count(wf.engine)
    for via_sqlalchemy in (False, True):
        with pytest.raises(ZeroDivisionError), store.write(wf.engine) as conn:
            wf.hot.audit.run(cursor(conn), {  # on the driver: no SQLAlchemy transaction yet
                "app_id": app_id, "version": 2000, "trigger": "note", "from_state": "a",
                "to_state": "b", "user": "pl-ishoj", "role": "project_lead",
                "municipality": "ishoj", "at": datetime(2018, 5, 3, tzinfo=UTC), "on": None,
                "comment": "", "data": {}})
            if via_sqlalchemy:  # joins the open transaction
                _insert_audit(conn, app_id, 2001)
                assert conn.in_transaction()
            1 / 0  # noqa: B018
        assert _audit_count(wf.engine) == before
    with store.write(wf.engine) as conn:  # still usable, in a fresh transaction
        _insert_audit(conn, app_id, 2002)
    assert _audit_count(wf.engine) == before + 1


@SQLITE_ONLY
def test_sqlite_write_inside_a_write_on_one_thread_fails_at_once(wf: Workflow) -> None:
    with store.write(wf.engine), pytest.raises(RuntimeError, match="wait for itself"), \
            store.write(wf.engine):
        pass


@SQLITE_ONLY
def test_sqlite_writer_survives_dispose_and_a_lost_connection(wf: Workflow) -> None:
    app_id = make_application(wf)
    before = _audit_count(wf.engine)
    wf.engine.dispose()  # closes the writer's connection; the next write opens one
    with store.write(wf.engine) as conn:
        _insert_audit(conn, app_id, 3000)
    assert _audit_count(wf.engine) == before + 1
    with pytest.raises(SetupError, match="cannot write"), store.write(wf.engine) as conn:
        _insert_audit(conn, app_id, 3001)
        conn.connection.driver_connection.close()  # gone under our feet
    assert _audit_count(wf.engine) == before + 1
    with store.write(wf.engine) as conn:  # on a new connection
        _insert_audit(conn, app_id, 3002)
    assert _audit_count(wf.engine) == before + 2


# ----------------------------------------------------------- a disk that fills up
class TinyDisk:
    """A real file system of a few hundred KiB (tmpfs), mounted for one test, that a
    test fills to the last byte and frees again."""

    def __init__(self, root: Path, size_kib: int) -> None:
        self.root = root
        root.mkdir()
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_kib}k", "tmpfs",
                               str(root)], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here (needs root): {done.stderr.strip()}")
        self.filler = root / "filler"

    def fill(self) -> None:
        """Write zeros until the file system says it is full."""
        with open(self.filler, "ab", buffering=0) as f:
            try:
                for _ in range(1 << 20):  # (bounded: a few MiB at most)
                    f.write(b"\0" * 4096)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC, exc
                return
        raise AssertionError("the tiny disk never filled up")

    def free(self) -> None:
        self.filler.unlink()

    def unmount(self) -> None:
        subprocess.run(["umount", "-l", str(self.root)], check=False)


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[TinyDisk]:
    disk = TinyDisk(tmp_path / "tiny", 2048)
    try:
        yield disk
    finally:
        disk.unmount()


def sqlite_on(disk: TinyDisk, template: Path) -> str:
    """A copy of the migrated demo database on ``disk``; its URL."""
    path = disk.root / "workflow.db"
    shutil.copy(template, path)
    return f"sqlite:///{path}"


def test_a_full_disk_is_a_setup_error_and_writes_succeed_once_space_is_freed(
        tiny_disk: TinyDisk, sqlite_template: Path, clock: Any) -> None:
    """Once SQLite said "database or disk is full", the process's writer connection was
    left in a transaction SQLAlchemy had not ended: every later write failed
    (``PendingRollbackError``) until a restart, even with space again."""
    wf = Workflow.open(Settings(database_url=sqlite_on(tiny_disk, sqlite_template)),
                       clock=clock)
    try:
        app_id = make_application(wf, state="drafting")
        tiny_disk.fill()
        for _ in range(3):  # creating (SQLAlchemy's side) and firing (the driver's side)
            with pytest.raises(SetupError, match="database or disk is full"):
                wf.create(kind="dispensation", round=1, title="x" * 300, user="pl-ishoj")
            with pytest.raises(SetupError, match="database or disk is full"):
                wf.fire(app_id, "withdraw", user="pl-ishoj", data={"reason": "x" * 4000})
        tiny_disk.free()
        made = [wf.create(kind="dispensation", round=1, title=f"Efter {i}", user="pl-ishoj")
                for i in range(5)]
        assert len(set(made)) == 5
        out = wf.fire(app_id, "submit_for_review", user="pl-ishoj")
        assert out.to_state == "legal_review"
        with store.read(wf.engine) as conn:
            titles = conn.execute(select(t.application.c.title)).scalars().all()
        assert [x for x in titles if x.startswith("Efter")] == [f"Efter {i}" for i in range(5)]
        assert "x" * 300 not in titles
    finally:
        wf.close()


def test_a_failed_commit_leaves_no_transaction_behind(
        tiny_disk: TinyDisk, sqlite_template: Path, clock: Any) -> None:
    """A write the full disk refuses (a real one: a 1 MiB row, which SQLite's page cache
    holds until the commit writes it to the WAL): the writer is left in no transaction,
    and the next writes commit once there is space."""
    wf = Workflow.open(Settings(database_url=sqlite_on(tiny_disk, sqlite_template)),
                       clock=clock)
    try:
        app_id = make_application(wf)
        before = _audit_count(wf.engine)
        writer = store._WRITERS[wf.engine]
        tiny_disk.fill()
        with pytest.raises(SetupError, match="disk is full"), store.write(wf.engine) as conn:
            _insert_audit(conn, app_id, 4000, comment="x" * (1 << 20))
        assert writer.conn is None or writer.conn.get_transaction() is None
        tiny_disk.free()
        for version in (4001, 4002):
            with store.write(wf.engine) as conn:
                _insert_audit(conn, app_id, version)
        assert _audit_count(wf.engine) == before + 2
    finally:
        wf.close()
