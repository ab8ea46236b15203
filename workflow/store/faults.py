"""What a database error means: the database cannot be reached or used now (a 503, a
refused write), or a lost race on PostgreSQL (a conflict). The one judgement of it, for
the transactions (:mod:`.database`), SQLite's writer and the web layer."""

from __future__ import annotations

import sys

from sqlalchemy.exc import OperationalError

from ..errors import Said, SetupError


def unavailable(exc: BaseException) -> SetupError | None:
    """The SetupError to answer for ``exc`` when it says the database cannot be reached
    or used now (server down or restarting, connection lost, disk full, locked too long),
    else None: the one judgement of it, for the web layer's 503 and SQLite's writer.

    A lost race on PostgreSQL (deadlock, serialisation) is not unavailability: the
    engine says it as a conflict.
    """
    from sqlalchemy.exc import DBAPIError, InterfaceError

    orig: BaseException = exc
    if isinstance(exc, DBAPIError):
        if not (exc.connection_invalidated
                or isinstance(exc, OperationalError | InterfaceError)):
            return None
        orig = exc.orig or exc
    elif not _is_driver_unavailable(exc):
        return None
    if getattr(orig, "sqlstate", None) in RACE_SQLSTATES:
        return None
    return SetupError(Said("the database is not available right now; try again shortly",
                           "databasen kan ikke nås lige nu; prøv igen om lidt"))


def reason(exc: BaseException) -> str:
    """The first line of what the driver said of ``exc`` (for a log, an operator)."""
    orig = getattr(exc, "orig", None) or exc
    return (str(orig).strip().splitlines() or [type(orig).__name__])[0]


def _is_driver_unavailable(exc: BaseException) -> bool:
    """An error of a driver's own (raised on a driver cursor, see :mod:`.statements`) that
    says the database cannot be reached or used now."""
    import sqlite3

    if isinstance(exc, sqlite3.OperationalError | sqlite3.InterfaceError):
        return True
    psycopg = sys.modules.get("psycopg")
    return psycopg is not None and isinstance(exc, psycopg.OperationalError
                                              | psycopg.InterfaceError)


# PostgreSQL's "deadlock detected" and "could not serialize": the other change won.
RACE_SQLSTATES = frozenset({"40P01", "40001"})
