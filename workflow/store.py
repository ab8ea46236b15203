"""Database access: the SQLAlchemy engine, write transactions and schema migrations.

SQLite runs in WAL mode with ``synchronous=NORMAL`` and takes the write lock at the
start of a write transaction (``BEGIN IMMEDIATE``), so two writers queue instead of
failing half-way; a process writes on one connection of its own (see
:mod:`.sqlitewriter`). PostgreSQL takes a pooled connection per transaction and locks the
application row (``SELECT … FOR UPDATE``); both also check the version column, so a lost
update is impossible.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError, ProgrammingError

from .errors import SetupError
from .sqlitewriter import SqliteWriter

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
HEAD_REVISION = "0006"  # tests/test_store.py checks that this is Alembic's head


def is_sqlite(engine: Engine | Connection) -> bool:
    return engine.dialect.name == "sqlite"


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        if url in ("sqlite://", "sqlite:///:memory:"):
            raise SetupError("an in-memory SQLite database cannot be shared; use a file")
        # Every use is an explicit transaction that ends in commit or rollback, so the
        # pool need not roll back again when a connection is returned.
        engine = create_engine(url, connect_args={"timeout": 30}, pool_reset_on_return=None)

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_con: Any, _record: Any) -> None:
            dbapi_con.isolation_level = None  # we issue BEGIN ourselves
            cur = dbapi_con.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            raw = conn.connection.driver_connection  # the plain sqlite3 connection: fast
            if not raw.in_transaction:  # type: ignore[union-attr]  # (the writer's is)
                raw.execute("BEGIN")  # type: ignore[union-attr]

        writer = _WRITERS[engine] = SqliteWriter(engine)
        event.listen(engine, "engine_disposed", lambda _engine: writer.close())
        return engine
    return create_engine(url, pool_size=5, max_overflow=10)


def write(engine: Engine, *, shown: bool = True) -> AbstractContextManager[Connection]:
    """One write transaction: commits on success, rolls back on any exception.

    On PostgreSQL it counts up the change counter just before it commits (see
    :class:`ChangeCount`), unless told that nothing it writes is ever shown
    (``shown=False``: a login attempt). SQLite keeps that count itself.
    """
    writer = _WRITERS.get(engine)
    return writer if writer is not None else _pooled(engine, shown)


@contextmanager
def _pooled(engine: Engine, shown: bool) -> Iterator[Connection]:
    with engine.connect() as conn, conn.begin():
        yield conn
        if shown:  # the driver's own cursor: no statement to build
            raw = conn.connection.driver_connection
            try:
                raw.cursor().execute(_COUNT_CHANGE)  # type: ignore[union-attr]
            except engine.dialect.loaded_dbapi.Error as exc:
                raise SetupError(f"cannot write to the database: {exc}") from exc


_WRITERS: weakref.WeakKeyDictionary[Engine, SqliteWriter] = weakref.WeakKeyDictionary()


# libpq: give up connecting after 2 s; notice a dead peer within ~10 s
_PG_QUICK = {"connect_timeout": 2, "keepalives": 1, "keepalives_idle": 5,
             "keepalives_interval": 2, "keepalives_count": 2}
_COUNT_CHANGE = "UPDATE change_counter SET n = n + 1 WHERE id = 1"
_READ_CHANGES = "SELECT n FROM change_counter WHERE id = 1"
_DATA_VERSION = "PRAGMA data_version"


class ChangeCount:
    """A number that moves whenever anything in the database has changed: the pages'
    cache key.

    On PostgreSQL it is the change counter, which every write transaction (:func:`write`)
    counts up just before its commit, so a reader that sees a count also sees every change
    counted in it. On SQLite it is this reader's own count of the moves of SQLite's
    ``PRAGMA data_version``, which moves whenever another connection, of any process, has
    committed a change to the file: no write pays for it.

    The count is read on a connection of its own, outside any transaction (one round trip,
    no pool), by one thread at a time; :meth:`read` is None when it cannot be read (a
    schema not made by the migrations, a database gone away): then nothing may be cached
    on it. A new connection counts as a change, as changes may have been missed meanwhile.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._raw: Any = None
        self._sqlite = is_sqlite(engine)
        self._moves = 0  # SQLite: how often data_version has moved, as this reader saw
        self._version: int | None = None  # SQLite: the data_version last seen

    def read(self) -> int | None:
        for _ in range(2):  # a connection the server has dropped: once more on a new one
            try:
                if self._raw is None:
                    self._raw = self._connect()
                cur = self._raw.cursor()
                cur.execute(_DATA_VERSION if self._sqlite else _READ_CHANGES)
                row = cur.fetchone()
                cur.close()
                if row is None:
                    return None
                if not self._sqlite:
                    return int(row[0])
                if row[0] != self._version:
                    self._version = row[0]
                    self._moves += 1
                return self._moves
            except self.engine.dialect.dbapi.Error:  # type: ignore[union-attr]
                self.close()
        return None

    def _connect(self) -> Any:
        if self._sqlite:  # in autocommit already (see make_engine)
            proxied = self.engine.raw_connection()
            raw = proxied.driver_connection
            proxied.detach()  # ours now: the pool makes another when it needs one
            return raw
        # PostgreSQL: the reader runs in a web worker's event loop, so a server that stops
        # answering must fail it in seconds, not hang the worker for the system's timeouts
        args, params = self.engine.dialect.create_connect_args(self.engine.url)
        params = {**params, **_PG_QUICK}
        raw = self.engine.dialect.loaded_dbapi.connect(*args, **params)
        raw.autocommit = True
        raw.execute("SET statement_timeout = 2000")
        return raw

    def close(self) -> None:
        raw, self._raw = self._raw, None
        self._version = None
        if raw is not None:
            try:
                raw.close()
            except self.engine.dialect.dbapi.Error:  # type: ignore[union-attr]
                pass


@contextmanager
def read(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as conn, conn.begin():
        yield conn


def alembic_config(url: str) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def migrate(engine: Engine) -> None:
    """Create or upgrade the schema to the newest revision."""
    from alembic import command

    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def current_revision(engine: Engine) -> str | None:
    try:
        with engine.connect() as conn:
            if not inspect(conn).has_table("alembic_version"):
                return None
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except OperationalError as exc:
        raise SetupError(f"cannot open the database {engine.url!r}: {exc.orig}") from None


def require_schema(engine: Engine) -> None:
    """Fail with a clear message unless the database is migrated to our revision."""
    try:
        rev = current_revision(engine)
    except ProgrammingError as exc:  # pragma: no cover - permissions and the like
        raise SetupError(str(exc.orig)) from None
    if rev is None:
        raise SetupError(f"the database {engine.url!r} is not set up; run `workflow init` "
                         f"(with --demo for the Ishøj–Vallensbæk demo data)")
    if rev != HEAD_REVISION:
        raise SetupError(f"the database is at schema {rev}, this version needs "
                         f"{HEAD_REVISION}; run `workflow init` to upgrade")
