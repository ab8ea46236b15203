"""SQLite's writer: one connection per process, threads taking turns, transactions ended
on whichever side (driver or SQLAlchemy) holds them, a lost connection replaced."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, func, insert, select
from sqlalchemy.engine import Connection

from tests.conftest import SQLITE_ONLY
from tests.factories import make_application
from workflow import store
from workflow import tables as t
from workflow.engine import Workflow
from workflow.errors import SetupError
from workflow.fastpath import cursor


def _audit_count(engine: Engine) -> int:
    with store.read(engine) as conn:
        return conn.execute(select(func.count()).select_from(t.audit_entry)).scalar_one()


def _insert_audit(conn: Connection, app_id: int, version: int) -> None:
    conn.execute(insert(t.audit_entry).values(
        application_id=app_id, version=version, trigger="note", from_state="drafting",
        to_state="drafting", user_id="pl-ishoj", role="project_lead", municipality="ishoj",
        at=datetime(2018, 5, 3, tzinfo=UTC), comment="", data={}))


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
                "municipality": "ishoj", "at": datetime(2018, 5, 3, tzinfo=UTC),
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
