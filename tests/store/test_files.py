"""The file store on SQLite and PostgreSQL: bytes kept by sha256 once, in chunks in the
database or in a content-addressed folder, read back as a stream; a spool that refuses
past its limit; the journal's numbers, given in order in the caller's transaction."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.engine import Connection

from workflow.errors import NotFound, TooLarge
from workflow.store import database as store
from workflow.store import journal
from workflow.store import tables as t
from workflow.store.files import CHUNK, FileStore, Spool

NOW = datetime(2018, 1, 8, 9, 0, tzinfo=UTC)


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = store.make_engine(db_url)
    yield eng
    eng.dispose()


def spooled(content: bytes) -> Spool:
    spool = Spool(10 * CHUNK)
    for at in range(0, len(content), 65536):
        spool.write(content[at:at + 65536])
    return spool


@pytest.mark.parametrize("place", ["database", "folder"])
def test_bytes_are_kept_once_by_sha256_and_read_back_in_chunks(engine: Engine, place: str,
                                                               tmp_path: Path) -> None:
    files = FileStore("database" if place == "database" else str(tmp_path / "f"))
    content = bytes(range(256)) * (CHUNK // 256 * 2 + 10)     # two chunks and a bit
    sha = hashlib.sha256(content).hexdigest()
    with spooled(content) as spool, store.write(engine) as conn:
        assert spool.sha256 == sha and spool.size == len(content)
        assert files.put(conn, spool, NOW) is True
    with spooled(content) as spool, store.write(engine) as conn:
        assert files.put(conn, spool, NOW) is False           # the same bytes: kept once
    chunks = list(files.open(engine, sha))
    assert b"".join(chunks) == content and max(map(len, chunks)) <= CHUNK
    with store.read(engine) as conn:
        rows = conn.execute(select(func.count()).select_from(t.stored_file_chunk)).scalar()
    assert rows == (3 if place == "database" else 0)
    if place == "folder":
        assert (tmp_path / "f" / sha[:2] / sha[2:4] / sha).read_bytes() == content


def test_a_spool_refuses_past_its_limit_at_once() -> None:
    spool = Spool(1000)
    spool.write(b"x" * 1000)
    with pytest.raises(TooLarge, match="larger than the limit of 1,000 bytes"):
        spool.write(b"x")
    spool.close()


def test_no_path_but_a_sha256_reaches_the_folder(tmp_path: Path) -> None:
    files = FileStore(str(tmp_path))
    for bad in ("../../etc/passwd", "a" * 63, "A" * 64, "g" * 64, "/" + "a" * 63):
        with pytest.raises(NotFound):
            files.path_of(bad)


def test_journal_numbers_are_given_in_order_per_case(engine: Engine) -> None:
    with store.write(engine) as conn:
        a = t.application
        ids = []
        for title in ("A", "B"):
            ids.append(conn.execute(a.insert().values(
                process="application", kind="dispensation", round=1, title=title,
                state="area_selection", entered_at=NOW, definition_hash=_definition(conn),
                parties=["ishoj", "vallensbaek"], cooperation_id="ishoj-vallensbaek", data={},
                created_at=NOW, created_by="x",
                updated_at=NOW, updated_by="x").returning(a.c.id)).scalar_one())
        numbers = [journal.add(conn, application_id=app_id, registered_at=NOW,
                               registered_by="x", dated=date(2018, 1, 8), kind="note",
                               direction="internal", doc_type="note", description="n",
                               text="n") for app_id in (ids[0], ids[0], ids[1], ids[0])]
    assert numbers == [1, 2, 1, 3]
    with pytest.raises(ValueError):
        with store.write(engine) as conn:
            journal.add(conn, application_id=ids[0], registered_at=NOW, registered_by="x",
                        dated=date(2018, 1, 8), kind="rumour", direction="internal",
                        doc_type="note", description="n")


def _definition(conn: Connection) -> str:
    d = t.definition
    row = conn.execute(select(d.c.hash)).first()
    if row is not None:
        return str(row.hash)
    conn.execute(d.insert().values(hash="0" * 64, source="", file="states.yaml",
                                   loaded_at=NOW))
    return "0" * 64
