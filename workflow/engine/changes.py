"""A case's last change, and how it is said (for a conflict's message); a transaction
wrapped so that a database that is down reads as a SetupError and a lost race as a
ConflictError."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError

from ..errors import ConflictError, SetupError
from ..store import tables as t
from ..store.faults import RACE_SQLSTATES


def describe_change(entry: Any) -> str:
    if entry is None:
        return ""
    return (f"{entry.user_id} at {entry.at:%Y-%m-%d %H:%M:%S} UTC "
            f"({entry.trigger}: {entry.from_state or '—'} → {entry.to_state})")


def last_change(conn: Connection, app_id: int) -> Any:
    ae = t.audit_entry
    return conn.execute(select(ae).where(ae.c.application_id == app_id)
                        .order_by(ae.c.version.desc()).limit(1)).first()


class translate_db_errors:
    """Wrap a transaction: a database that is down reads as a SetupError, a lost race
    as a ConflictError (both after the rollback)."""

    def __init__(self, cm: Any, app_id: int | None) -> None:
        self.cm = cm
        self.app_id = app_id

    def __enter__(self) -> Connection:
        try:
            return self.cm.__enter__()  # type: ignore[no-any-return]
        except OperationalError as exc:
            raise SetupError(f"cannot open the database: {exc.orig}") from None

    def __exit__(self, *exc: Any) -> Any:
        try:
            return self.cm.__exit__(*exc)
        finally:
            err = exc[1]
            if isinstance(err, OperationalError) and \
                    getattr(err.orig, "sqlstate", None) in RACE_SQLSTATES:
                raise ConflictError(
                    "a simultaneous change to the same data won the race; nothing was "
                    "changed. Reload and try again.", application_id=self.app_id) from None


def conflict(conn: Connection, app_id: int, had: int, now_at: int | None) -> ConflictError:
    """The error for a case changed by someone else first, naming who and when."""
    e = last_change(conn, app_id)
    who = describe_change(e) or "someone"
    current = e.version if e else now_at
    return ConflictError(
        f"application {app_id} was changed first by {who}; it is now at version "
        f"{current}, you had version {had}. Reload it and try again.",
        application_id=app_id, changed_by=e.user_id if e else None, version=current)
