"""SQLite's write path: one write connection per process.

SQLite lets one writer at a time in, so a process makes all its write transactions on one
connection of its own (:class:`SqliteWriter`), one thread at a time: threads queue on a
lock instead of in SQLite's busy loop, and a transaction costs no pool round.
"""

from __future__ import annotations

import threading
import weakref
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, OperationalError

from ..errors import SetupError
from .faults import reason, unavailable


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

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 *_: Any) -> None:
        """Commit, or roll back on an exception (which goes on, as a SetupError where it
        says the database cannot be written now: disk full, I/O error, locked too long);
        then let the next in."""
        conn, raw = self.conn, self.raw
        assert conn is not None
        try:
            if kind is not None:
                self._abort(conn, raw)
                if exc is not None and unavailable(exc) is not None:
                    raise SetupError(f"cannot write to the database: {reason(exc)}") \
                        from None
                return
            try:
                if conn.in_transaction():
                    conn.commit()
                else:
                    raw.commit()
            except (DBAPIError, self.dialect.loaded_dbapi.Error) as error:
                self._abort(conn, raw)
                raise SetupError(f"cannot write to the database: "
                                 f"{getattr(error, 'orig', None) or error}") from None
        finally:
            self._release()

    def _release(self) -> None:
        self.owner = None
        self.lock.release()

    def _begin(self) -> Connection:
        """The connection, in a fresh ``BEGIN IMMEDIATE``; a broken one (invalidated, or
        still in a transaction that was not ended) is replaced."""
        try:
            if self.conn is None or self.conn.invalidated \
                    or self.conn.get_transaction() is not None or self.raw.in_transaction:
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
        """Roll back whichever side holds the transaction; a connection that cannot, or is
        left in one, is replaced (closing it rolls back).

        SQLAlchemy's side is ended even when it is no longer active: a commit that failed
        (the disk full) leaves it inactive but open, and until it is rolled back every
        later use of the connection fails (``PendingRollbackError``).
        """
        try:
            if conn.get_transaction() is not None:
                conn.rollback()
            if raw.in_transaction:
                raw.rollback()
            if conn.invalidated or conn.get_transaction() is not None or raw.in_transaction:
                self._drop()
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
