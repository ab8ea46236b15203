"""Statements on the hot path, compiled once per database and run on the driver's cursor.

A transition runs three statements (load application and user, update application,
insert audit entry); on SQLite the load also reads the head of the case's chain (see
:class:`HotStatements`). Building and compiling them through SQLAlchemy on every call costs
~10× what the database needs (see ``bench/``), so each is compiled once with SQLAlchemy's
own compiler, and the column types' own bind/result processors convert the values, so
the rows are exactly what SQLAlchemy itself would write and read. They run inside the
transaction of the SQLAlchemy ``Connection`` that owns it, on a cursor of its driver
connection.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Column, Date, DateTime, bindparam, func, select, update
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.sql import Executable

from . import tables as t

Processor = Callable[[Any], Any] | None


class Prepared:
    """One statement, compiled for one dialect, with its value converters."""

    def __init__(self, stmt: Executable, dialect: Dialect,
                 result_columns: Sequence[Column[Any]] = (),
                 shared: dict[type, Processor] | None = None) -> None:
        compiled = stmt.compile(dialect=dialect)  # type: ignore[attr-defined]
        self.sql: str = compiled.string
        self.positional: bool = bool(compiled.positional)
        self.names: list[str] = list(compiled.positiontup or compiled.binds)
        shared = {} if shared is None else shared
        self.binds: dict[str, Processor] = {}
        for name, bp in compiled.binds.items():
            convert = bp.type.dialect_impl(dialect).bind_processor(dialect)
            if convert is not None and bp.type._type_affinity in _IMMUTABLE:
                convert = shared.setdefault(type(bp.type), _last_one(convert))
            self.binds[name] = convert
        results = [c.type.dialect_impl(dialect).result_processor(dialect, None)
                   for c in result_columns]
        # only the values that need converting are touched on every call
        self.converting = [(i, p) for i, n in enumerate(self.names)
                           if (p := self.binds[n]) is not None]
        self.converted = [(i, p) for i, p in enumerate(results) if p is not None]

    def params(self, values: Mapping[str, Any]) -> Sequence[Any] | dict[str, Any]:
        out = [values[n] for n in self.names]
        for i, p in self.converting:
            if out[i] is not None:
                out[i] = p(out[i])
        return out if self.positional else dict(zip(self.names, out, strict=True))

    def run(self, cur: Any, values: Mapping[str, Any]) -> Any:
        """Run on ``cur``, a cursor of the transaction (see :func:`cursor`)."""
        cur.execute(self.sql, self.params(values))
        return cur

    def one(self, cur: Any, values: Mapping[str, Any]) -> tuple[Any, ...] | None:
        row = self.run(cur, values).fetchone()
        if row is None:
            return None
        out = list(row)
        for i, p in self.converted:
            if out[i] is not None:
                out[i] = p(out[i])
        return tuple(out)

    def rowcount(self, cur: Any, values: Mapping[str, Any]) -> int:
        return int(self.run(cur, values).rowcount)


def cursor(conn: Connection) -> Any:
    """A cursor on the driver connection under ``conn``, inside its transaction: one per
    transaction serves all the statements here."""
    return conn.connection.driver_connection.cursor()  # type: ignore[union-attr]


# types whose converter may remember its last value, as their values cannot change in
# place: a transition writes the same moment three times, over two statements
_IMMUTABLE = (DateTime, Date)


def _last_one(convert: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``convert``, remembering its last value."""
    last: tuple[Any, Any] = (object(), None)

    def remembering(value: Any) -> Any:
        nonlocal last
        seen = last  # one read: another thread may replace the pair, never half of it
        if seen[0] is value:
            return seen[1]
        out = convert(value)
        last = (value, out)
        return out
    return remembering


APP_COLUMNS = ("id", "process", "kind", "round", "title", "case_number", "state", "version",
               "entered_version", "parties", "data", "cooperation_id")
USER_COLUMNS = ("name", "role", "municipality", "active")


class HotStatements:
    """The three statements of a transition, for one database."""

    def __init__(self, dialect: Dialect) -> None:
        a, u, ae = t.application, t.user, t.audit_entry
        cols = [a.c[n] for n in APP_COLUMNS] + [u.c[n] for n in USER_COLUMNS]
        # SQLite: the head of the case's chain (its last seq and hash) in the same read, as
        # the write lock is the transaction's from its BEGIN IMMEDIATE, so nothing can chain
        # in between. Not on PostgreSQL: there the row lock is taken as this statement
        # runs, and its subqueries would see the snapshot from before a wait for it.
        self.chain_head = dialect.name == "sqlite"
        head: list[Any] = []
        if self.chain_head:
            cl, top = t.chain_link, t.chain_link.alias("head")
            last = select(func.max(cl.c.seq)).where(cl.c.application_id == a.c.id) \
                .correlate(a).scalar_subquery()
            head = [last.label("chain_seq"),
                    select(top.c.sha256).where(top.c.application_id == a.c.id,
                                               top.c.seq == last)
                    .scalar_subquery().label("chain_sha256")]
        load = (select(*cols, *head)
                .select_from(a.outerjoin(u, u.c.id == bindparam("user_id")))
                .where(a.c.id == bindparam("app_id")))
        if dialect.name == "postgresql":
            load = load.with_for_update(of=a)
        self.load = Prepared(load, dialect, cols)
        shared: dict[type, Processor] = {}
        stay = (update(a).where(a.c.id == bindparam("app_id"), a.c.version == bindparam("old"))
                .values(state=bindparam("state"), version=bindparam("version"),
                        updated_at=bindparam("at"), updated_by=bindparam("user"),
                        definition_hash=bindparam("definition_hash")))
        move = stay.values(entered_version=bindparam("version"), entered_at=bindparam("at"),
                           entered_on=bindparam("on"))
        # (state entered anew, data changed): the data column is written only when changed
        self.update = {
            (moves, writes): Prepared(base.values(data=bindparam("data")) if writes else base,
                                      dialect, shared=shared)
            for moves, base in ((False, stay), (True, move)) for writes in (False, True)}
        self.audit = Prepared(ae.insert().values(
            application_id=bindparam("app_id"), version=bindparam("version"),
            trigger=bindparam("trigger"), from_state=bindparam("from_state"),
            to_state=bindparam("to_state"), user_id=bindparam("user"), role=bindparam("role"),
            municipality=bindparam("municipality"), at=bindparam("at"),
            happened_on=bindparam("on"), comment=bindparam("comment"),
            data=bindparam("data")), dialect, shared=shared)

    def split(self, got: Sequence[Any]) -> tuple[dict[str, Any], Sequence[Any],
                                                 tuple[Any, Any] | None]:
        """A row of ``load``: the application (APP_COLUMNS), the user (USER_COLUMNS) and
        the chain's head (its last seq and sha256, or None where not read with it)."""
        n, m = len(APP_COLUMNS), len(APP_COLUMNS) + len(USER_COLUMNS)
        head = (got[m], got[m + 1]) if self.chain_head else None
        return dict(zip(APP_COLUMNS, got[:n], strict=True)), got[n:m], head
