"""What backups, restores, exports and imports share: the report they give, the schema
revision check, the kind of a file, a new output file, and what a database holds."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, Table, func, inspect, select
from sqlmodel import SQLModel

from .. import __version__
from ..errors import InvalidData, SetupError
from ..store import database as store
from ..store import tables as t

FORMAT = "workflow-export"


FORMAT_VERSION = 1


SQLITE_MAGIC = b"SQLite format 3\x00"


PGDUMP_MAGIC = b"PGDMP"


ZIP_MAGIC = b"PK\x03\x04"


BATCH = 500


@dataclass(frozen=True)
class Report:
    """What a command wrote or restored, for its one line (and ``--json``)."""

    action: str           # "backup", "restore", "export", "import"
    path: str             # the file written or read
    database: str         # the database's URL, password hidden
    kind: str             # what the file is: "SQLite copy", "pg_dump archive of schema x", …
    size: int
    cases: int
    revision: str
    rows: dict[str, int] = field(default_factory=dict)
    note: str = ""

    def line(self) -> str:
        tail = f"; {self.note}" if self.note else ""
        if self.action in ("backup", "export"):
            return (f"Wrote {self.path}: {self.kind} of {self.database}, {self.size:,} bytes, "
                    f"{self.cases} cases, schema {self.revision}{tail}.")
        verb = "Restored" if self.action == "restore" else "Imported"
        return (f"{verb} {self.path} ({self.kind}, {self.size:,} bytes) into {self.database}: "
                f"{self.cases} cases, schema {self.revision}{tail}.")

    def as_dict(self) -> dict[str, Any]:
        return {"action": self.action, "path": self.path, "database": self.database,
                "kind": self.kind, "size": self.size, "cases": self.cases,
                "revision": self.revision, "rows": self.rows, "note": self.note}


# ----------------------------------------------------------------------- common
def our_tables() -> list[Table]:
    """Every table of the schema, parents before children (the order to insert in)."""
    return list(SQLModel.metadata.sorted_tables)


def known_revisions() -> list[str]:
    """The schema revisions this version knows, oldest first."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(store.alembic_config("sqlite://"))
    return [r.revision for r in reversed(list(script.walk_revisions()))]


def check_revision(rev: str | None, what: str, *, known_only: bool = True) -> str:
    """``rev`` if this version knows it (or, not ``known_only``, if it is there at all),
    else an error naming what ``what`` holds."""
    known = known_revisions()
    if rev is None:
        raise InvalidData(f"{what} holds no workflow schema (no alembic_version)")
    if known_only and rev not in known:
        raise SetupError(f"{what} is at schema {rev!r}, which this version of workflow "
                         f"({__version__}) does not know (it knows {known[0]}–{known[-1]}); "
                         f"use the version that made it")
    return rev


def unknown_note(rev: str, *notes: str) -> str:
    """A backup's notes, and a word when its schema is one this version does not know."""
    unknown = () if rev in known_revisions() else (
        f"schema {rev} is unknown to this version ({__version__})",)
    return "; ".join((*notes, *unknown))


def upgrade_note(rev: str) -> str:
    return "" if rev == store.HEAD_REVISION else \
        f"run `workflow init` to upgrade it to {store.HEAD_REVISION} before use"


def shown_db(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=True)


def sqlite_file(engine: Engine) -> Path:
    return Path(engine.url.database or "")


def sniff(path: Path) -> str:
    """What ``path`` is: "sqlite", "pg_dump", "export"; InvalidData for anything else."""
    try:
        with path.open("rb") as f:
            head = f.read(16)
    except FileNotFoundError:
        raise SetupError(f"there is no file {path}") from None
    except OSError as exc:
        raise SetupError(f"cannot read {path}: {exc.strerror}") from None
    for kind, magic in (("sqlite", SQLITE_MAGIC), ("pg_dump", PGDUMP_MAGIC),
                        ("export", ZIP_MAGIC)):
        if head.startswith(magic):
            return kind
    raise InvalidData(f"{path} is not a workflow backup or export (neither a SQLite "
                      f"database, a pg_dump archive nor a zip)")


@contextmanager
def new_file(out: Path, *, force: bool) -> Iterator[Path]:
    """A temporary path beside ``out``, moved to ``out`` once the block succeeds (so a
    failed or interrupted run leaves no half file under the real name)."""
    folder = out.parent
    if not folder.is_dir():
        raise SetupError(f"cannot write {out}: there is no folder {folder}")
    if out.exists() and not force:
        raise SetupError(f"{out} exists already; choose another name, or pass --force to "
                         f"replace it")
    fd, name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".partial", dir=folder)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        with tmp.open("rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, out)
    finally:
        with suppress(FileNotFoundError):
            tmp.unlink()


def holdings(conn: Connection) -> dict[str, int]:
    """The rows in each of our tables that has any (the change counter aside: it is a
    cache key, always one row)."""
    present = set(inspect(conn).get_table_names())
    counts = {}
    for table in our_tables():
        if table.name in present and table is not t.change_counter:
            n = conn.execute(select(func.count()).select_from(table)).scalar_one()
            if n:
                counts[table.name] = int(n)
    return counts


def refuse_data(counts: dict[str, int], engine: Engine, hint: str) -> None:
    if counts:
        said = ", ".join(f"{name}: {n}" for name, n in counts.items())
        raise SetupError(f"the database {shown_db(engine)} is not empty ({said}); {hint}")


def count_cases(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(t.application)).scalar_one())


