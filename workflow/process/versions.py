"""Definition versions: each one an application ran under is kept, by content hash.

A new ``states.yaml`` is refused while a live application is in a state it lacks
(a state is "live" unless it was final in the definition the application last ran under).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, insert, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from ..errors import StrandedApplications
from ..store import database as store
from ..store import tables as t
from .spec import Definition


def find_stranded(conn: Connection, definition: Definition) -> list[tuple[int, str, str]]:
    """Live applications whose state the definition lacks: (id, process, state)."""
    a = t.application
    stranded, finals = [], _FinalStates(conn)
    for r in conn.execute(select(a.c.id, a.c.process, a.c.state, a.c.definition_hash)
                          .order_by(a.c.id)):
        p = definition.processes.get(r.process)
        if (p is None or r.state not in p.states) and \
                not finals.was_final(r.definition_hash, r.process, r.state):
            stranded.append((r.id, r.process, r.state))
    return stranded


def register_definition(engine: Engine, definition: Definition, now: datetime) -> None:
    """Record the definition's hash; refuse it if it would strand a live application."""
    d = t.definition
    with store.read(engine) as conn:  # as a rule it is known: then nothing is written
        if conn.execute(select(d.c.hash).where(d.c.hash == definition.hash)).first():
            return
    with store.write(engine) as conn:
        if conn.execute(select(d.c.hash).where(d.c.hash == definition.hash)).first():
            return
        stranded = find_stranded(conn, definition)
        if stranded:
            raise StrandedApplications(definition.file, stranded)
        try:
            with conn.begin_nested():
                conn.execute(insert(d).values(hash=definition.hash, source=definition.source,
                                              file=definition.file, loaded_at=now))
        except IntegrityError:
            pass  # another worker registered the same definition a moment ago


class _FinalStates:
    """Whether a state was final in the definition an application last ran under."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.cache: dict[str, Definition | None] = {}

    def was_final(self, hash_: str, process: str, state: str) -> bool:
        from ..errors import DefinitionError
        from .definition import loads

        if hash_ not in self.cache:
            src = self.conn.execute(select(t.definition.c.source)
                                    .where(t.definition.c.hash == hash_)).scalar()
            try:
                self.cache[hash_] = loads(src) if src else None
            except DefinitionError:
                self.cache[hash_] = None
        old = self.cache[hash_]
        p = old.processes.get(process) if old else None
        return bool(p and state in p.states and p.states[state].final)
