"""Database access: the SQLAlchemy engine, write transactions and schema migrations.

SQLite runs in WAL mode with ``synchronous=NORMAL`` and takes the write lock at the
start of a write transaction (``BEGIN IMMEDIATE``), so two writers queue instead of
failing half-way. As SQLite lets one writer at a time in anyway, a process makes all its
write transactions on one connection of its own (:class:`SqliteWriter`), one thread at a
time: threads queue on a lock instead of in SQLite's busy loop, and a transaction costs no
pool round. PostgreSQL takes a pooled connection per transaction and locks the
application row (``SELECT … FOR UPDATE``); both also check the version column, so a lost
update is impossible.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.exc import DBAPIError, OperationalError, ProgrammingError

from .errors import SetupError

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
        if shown:
            count_change(engine.dialect, conn.connection.driver_connection)


def count_change(dialect: Dialect, raw: Any) -> None:
    """Count up the change counter, on the transaction of the driver connection ``raw``."""
    try:
        raw.cursor().execute(_COUNT_CHANGE)
    except dialect.loaded_dbapi.Error as exc:
        raise SetupError(f"cannot write to the database: {exc}") from exc


class SqliteWriter:
    """The connection one process makes its SQLite write transactions on; used as a
    context manager, it is one write transaction.

    A transaction holds a lock for its whole length, so threads take turns (SQLite would
    admit one writer at a time anyway). It starts with ``BEGIN IMMEDIATE`` on the driver
    connection; the SQLAlchemy :class:`Connection` handed out joins that transaction when
    it is first used (its begin hook sees one open), and the transaction ends on whichever
    of the two holds it: statements run straight on the driver (see :mod:`.fastpath`)
    cost no SQLAlchemy transaction at all.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = weakref.ref(engine)  # the engine keeps its writer, not the reverse
        self.dialect = engine.dialect
        self.lock = threading.Lock()
        self.owner: int | None = None
        self.conn: Connection | None = None
        self.raw: Any = None  # the driver connection under ``conn``

    def __enter__(self) -> Connection:
        """Take the lock and begin; the connection is in ``BEGIN IMMEDIATE``."""
        if self.owner == threading.get_ident():
            raise RuntimeError("a write transaction inside another on the same thread "
                               "would wait for itself")
        self.lock.acquire()
        self.owner = threading.get_ident()
        try:
            return self._begin()
        except BaseException:
            self._release()
            raise

    def __exit__(self, kind: type[BaseException] | None, *_: Any) -> None:
        """Commit, or roll back on an exception (which goes on); then let the next in."""
        conn, raw = self.conn, self.raw
        assert conn is not None
        try:
            if kind is not None:
                self._abort(conn, raw)
                return
            try:
                if conn.in_transaction():
                    conn.commit()
                else:
                    raw.commit()
            except (DBAPIError, self.dialect.loaded_dbapi.Error) as exc:
                self._abort(conn, raw)
                raise SetupError(f"cannot write to the database: "
                                 f"{getattr(exc, 'orig', None) or exc}") from None
        finally:
            self._release()

    def _release(self) -> None:
        self.owner = None
        self.lock.release()

    def _begin(self) -> Connection:
        """The connection, in a fresh ``BEGIN IMMEDIATE``; a broken one is replaced."""
        try:
            if self.conn is None or self.conn.invalidated:
                self._drop()
                engine = self._engine()
                if engine is None:
                    raise SetupError("the database engine has been closed")
                self.conn = engine.connect()
                self.raw = self.conn.connection.driver_connection
            self.raw.execute("BEGIN IMMEDIATE")
            return self.conn
        except (OperationalError, self.dialect.loaded_dbapi.Error) as exc:
            self._drop()
            raise SetupError(f"cannot open the database for writing: "
                             f"{getattr(exc, 'orig', None) or exc}") from None

    def _abort(self, conn: Connection, raw: Any) -> None:
        """Roll back whichever side holds the transaction; a connection that cannot is
        replaced (closing it rolls back)."""
        try:
            if conn.in_transaction():
                conn.rollback()
            if raw.in_transaction:
                raw.rollback()
        except Exception:  # noqa: BLE001 - the caller's exception is the one to report
            self._drop()

    def close(self) -> None:
        """Close the connection (the engine is being disposed of)."""
        with self.lock:
            self._drop()

    def _drop(self) -> None:
        conn, self.conn, self.raw = self.conn, None, None
        if conn is not None:
            try:
                conn.invalidate()  # closes the driver connection; not back to the pool
                conn.close()
            except Exception:  # noqa: BLE001 - it is going away either way
                pass


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
                if row is None or not self._sqlite:
                    return None if row is None else int(row[0])
                if row[0] != self._version:
                    self._version = row[0]
                    self._moves += 1
                return self._moves
            except self.engine.dialect.dbapi.Error:  # type: ignore[union-attr]
                self.close()
        return None

    def _connect(self) -> Any:
        if is_sqlite(self.engine):  # in autocommit already (see make_engine)
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
