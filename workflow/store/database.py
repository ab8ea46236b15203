"""Database access: the SQLAlchemy engine, write transactions and schema migrations.

SQLite runs in WAL mode with ``synchronous=NORMAL`` and takes the write lock at the
start of a write transaction (``BEGIN IMMEDIATE``), so two writers queue instead of
failing half-way; a process writes on one connection of its own (see
:mod:`.sqlitewriter`). PostgreSQL takes a pooled connection per transaction and locks the
application row (``SELECT … FOR UPDATE``); both also check the version column, so a lost
update is impossible.
"""

from __future__ import annotations

import json
import re
import weakref
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError, ProgrammingError

from ..errors import SetupError
from .faults import RACE_SQLSTATES as RACE_SQLSTATES
from .faults import reason as reason
from .faults import unavailable as unavailable
from .sqlitewriter import SqliteWriter

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
HEAD_REVISION = "0022"  # tests/store/test_store.py checks that this is Alembic's head


def is_sqlite(engine: Engine | Connection) -> bool:
    return engine.dialect.name == "sqlite"


SUPPORTED = ("sqlite", "postgresql")
# SQLite reads the file through a memory map of up to this many bytes, not a read() call
# a page: a case's thousand documents read back in a third of the time
SQLITE_MMAP = 1 << 30


def make_engine(url: str) -> Engine:
    """The engine for ``url``: SQLite (a file) or PostgreSQL, anything else a SetupError.

    JSON columns are read defensively (:func:`_json_loads`): text stored before it was
    refused (a lone surrogate) reads as U+FFFD, so no read of it can fail."""
    parsed = _parse_url(url)
    if parsed.get_backend_name() == "sqlite":
        if url in ("sqlite://", "sqlite:///:memory:") or parsed.database in (None, "",
                                                                             ":memory:"):
            raise SetupError("an in-memory SQLite database cannot be shared; use a file")
        # Every use is an explicit transaction that ends in commit or rollback, so the
        # pool need not roll back again when a connection is returned.
        engine = _create(url, connect_args={"timeout": 30}, pool_reset_on_return=None,
                         json_deserializer=_json_loads)

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_con: Any, _record: Any) -> None:
            dbapi_con.isolation_level = None  # we issue BEGIN ourselves
            cur = dbapi_con.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute(f"PRAGMA mmap_size={SQLITE_MMAP}")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            raw = conn.connection.driver_connection  # the plain sqlite3 connection: fast
            if not raw.in_transaction:  # type: ignore[union-attr]  # (the writer's is)
                raw.execute("BEGIN")  # type: ignore[union-attr]

        writer = _WRITERS[engine] = SqliteWriter(engine)
        event.listen(engine, "engine_disposed", lambda _engine: writer.close())
        return engine
    # A server that is gone must fail a request in seconds (a 503), not hold a worker for
    # the system's TCP timeouts; the URL may say otherwise.
    quick = {k: v for k, v in _PG_CONNECT.items() if k not in parsed.query}
    return _create(url, pool_size=5, max_overflow=10, connect_args=quick,
                   json_deserializer=_json_loads)


def _parse_url(url: str) -> Any:
    """``url`` parsed, or a SetupError naming what is wrong with it (password hidden)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        raise SetupError(f"WORKFLOW_DATABASE_URL is not a database URL: {_hidden(url)!r} "
                         f"(use sqlite:///FILE or postgresql://USER@HOST/DB)") from None
    if parsed.get_backend_name() not in SUPPORTED:
        raise SetupError(f"unsupported database {parsed.get_backend_name()!r} in "
                         f"{parsed.render_as_string(hide_password=True)!r}: workflow runs "
                         f"on SQLite (sqlite:///FILE) or PostgreSQL (postgresql://USER@HOST/DB)")
    return parsed


def _hidden(url: str) -> str:
    """``url`` with anything between ``://`` and ``@`` (a password) hidden."""
    scheme, sep, rest = url.partition("://")
    return f"{scheme}{sep}***@{rest.rpartition('@')[2]}" if "@" in rest else url


def _create(url: str, **kwargs: Any) -> Engine:
    """``create_engine``, with a driver that is not installed said as a SetupError."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    try:
        return create_engine(url, **kwargs)
    except (NoSuchModuleError, ArgumentError, ImportError) as exc:
        shown = make_url(url).render_as_string(hide_password=True)
        raise SetupError(f"cannot use the database URL {shown!r}: "
                         f"{str(exc).splitlines()[0]}") from None


# a JSON text holding an escaped surrogate ("\ud800"): only then is there more to do
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89abcdefABCDEF]")


def _json_loads(text: str | bytes) -> Any:
    """A stored JSON value, with any lone surrogate in it (from before such text was
    refused) replaced by U+FFFD: such a string could be neither encoded nor shown."""
    raw = text.decode("utf-8") if isinstance(text, bytes | bytearray | memoryview) \
        else text
    value = json.loads(raw)
    return _mended(value) if _SURROGATE_ESCAPE.search(raw) else value


def _mended(value: Any) -> Any:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:  # paired surrogates were joined by json.loads already
            return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
        return value
    if isinstance(value, list):
        return [_mended(v) for v in value]
    if isinstance(value, dict):
        return {_mended(k): _mended(v) for k, v in value.items()}
    return value


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
# the engine's own connections: give up connecting after 5 s; a dead peer within ~30 s
_PG_CONNECT = {"connect_timeout": 5, "keepalives": 1, "keepalives_idle": 10,
               "keepalives_interval": 5, "keepalives_count": 4}
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
def read(engine: Engine, *, snapshot: bool = False) -> Iterator[Connection]:
    """A read transaction. ``snapshot``: every statement in it sees the database as of its
    first, as a SQLite read transaction always does; on PostgreSQL (read committed, where
    each statement sees what was committed before it began) that takes REPEATABLE READ,
    READ ONLY (which never fails to serialise: only writers can)."""
    with engine.connect() as conn:
        if snapshot and not is_sqlite(engine):
            conn.execution_options(isolation_level="REPEATABLE READ",
                                   postgresql_readonly=True)
        with conn.begin():
            yield conn


def _missing_file(engine: Engine) -> Path | None:
    """The path of ``engine``'s SQLite file if there is none there yet, else None."""
    url = engine.url
    if not is_sqlite(engine) or not url.database or url.database == ":memory:" \
            or url.query.get("uri") or url.database.startswith("file:"):
        return None
    path = Path(url.database)
    return None if path.exists() else path


def alembic_config(url: str) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def migrate(engine: Engine, revision: str = "head") -> None:
    """Create or upgrade the schema to the newest revision (or to ``revision``).

    On SQLite the foreign keys are off while it runs, as SQLite's own recipe for
    rebuilding a table wants (a rebuilt parent would otherwise take its children's rows
    with it); they are checked before the upgrade commits."""
    from alembic import command

    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.connect() as conn:
        raw = conn.connection.driver_connection if is_sqlite(engine) else None
        if raw is not None:
            raw.execute("PRAGMA foreign_keys=OFF")  # outside a transaction, or it is a no-op
        try:
            with conn.begin():
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, revision)
                if raw is not None and raw.execute("PRAGMA foreign_key_check").fetchall():
                    raise SetupError("the upgrade would break foreign keys; nothing changed")
        finally:
            if raw is not None:
                raw.execute("PRAGMA foreign_keys=ON")


def current_revision(engine: Engine) -> str | None:
    try:
        with engine.connect() as conn:
            if not inspect(conn).has_table("alembic_version"):
                return None
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except OperationalError as exc:
        raise SetupError(f"cannot open the database {engine.url!r}: {exc.orig}") from None


def require_schema(engine: Engine) -> None:
    """Fail with a clear message unless the database is migrated to our revision.

    A SQLite file that does not exist is said so, and not made (as connecting would)."""
    missing = _missing_file(engine)
    if missing is not None and not missing.parent.is_dir():
        raise SetupError(f"cannot open the database {missing}: there is no folder "
                         f"{missing.parent}")
    if missing is not None:
        raise SetupError(f"the database {missing} does not exist; run `workflow init` "
                         f"(with --demo for the Ishøj–Vallensbæk demo data)")
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
