"""Backups, restores and the portable export of a whole installation: what ``workflow
backup``, ``restore``, ``export --all`` and ``import`` do.

A *backup* is the database's own kind of copy, taken safely while others write: on SQLite
through SQLite's online backup API (one read transaction: a consistent snapshot, writers
carry on), on PostgreSQL a ``pg_dump`` archive (custom format) of the installation's
schema, taken in an exported snapshot so the case count reported is the archive's. It
restores onto the same kind of database, into an empty one (or, told so, over one).

An *export* moves an installation between SQLite and PostgreSQL: a zip with one JSON-lines
file per table (rows in primary-key order) and a manifest of the schema revision and each
table's row count and sha256. The sha256 is of the table's canonical lines
(:func:`table_digests`), so an import proves itself: the target, read back, has the same
digests, or nothing is imported.
"""

from __future__ import annotations

import re
import secrets
import sqlite3
import tempfile
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, inspect

from ..errors import InvalidData, SetupError
from ..store import database as store
from .checks import (
    Report,
    check_revision,
    count_cases,
    holdings,
    new_file,
    our_tables,
    refuse_data,
    shown_db,
    sniff,
    sqlite_file,
    unknown_note,
    upgrade_note,
)
from .postgres import PgTools, pg_tool, run_pg_tool, sql_name


# ---------------------------------------------------------------------- backup
def backup(url: str, out: Path, *, force: bool = False) -> Report:
    """Back up the database at ``url`` to ``out`` while it stays in use."""
    engine = store.make_engine(url)
    try:
        if store.is_sqlite(engine):
            return _backup_sqlite(engine, out, force)
        return _backup_pg(engine, out, force)
    finally:
        engine.dispose()


def _backup_sqlite(engine: Engine, out: Path, force: bool) -> Report:
    db = sqlite_file(engine)
    if not db.is_file():
        raise SetupError(f"there is no database {db} to back up")
    if out.exists() and out.resolve() == db.resolve():
        raise SetupError(f"{out} is the database itself; write the backup elsewhere")
    check_revision(store.current_revision(engine), f"the database {db}", known_only=False)
    with new_file(out, force=force) as tmp:
        src = sqlite3.connect(db, timeout=30)
        dst = sqlite3.connect(tmp)
        try:
            src.backup(dst)  # all pages in one step: one read transaction, one snapshot
            dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
            cases, rev = _check_sqlite_copy(dst, f"the backup {out}", known_only=False)
        finally:
            dst.close()
            src.close()
        size = tmp.stat().st_size
    return Report("backup", str(out), shown_db(engine), "SQLite copy", size, cases, rev,
                  note=unknown_note(rev, "integrity ok"))


def _check_sqlite_copy(conn: sqlite3.Connection, what: str, *,
                       known_only: bool = True) -> tuple[int, str]:
    """The cases in a SQLite copy and its revision, once SQLite finds it sound."""
    try:
        problems = [r[0] for r in conn.execute("PRAGMA integrity_check")]
    except sqlite3.DatabaseError as exc:
        problems = [str(exc)]
    if problems != ["ok"]:
        raise SetupError(f"{what} is damaged: {problems[0]}")
    try:
        (rev,) = conn.execute("SELECT version_num FROM alembic_version").fetchone() or (None,)
        cases = conn.execute("SELECT count(*) FROM application").fetchone()[0]
    except sqlite3.DatabaseError:
        raise InvalidData(f"{what} is not a workflow database") from None
    return int(cases), check_revision(rev, what, known_only=known_only)


def _backup_pg(engine: Engine, out: Path, force: bool) -> Report:
    pg = PgTools.of(engine)
    pg_dump = pg_tool("pg_dump")
    with new_file(out, force=force) as tmp, pg.connect() as conn:
        # The dump runs in this transaction's snapshot: what is counted is what is dumped.
        conn.autocommit = False
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        snapshot = conn.execute("SELECT pg_export_snapshot()").fetchone()[0]
        try:
            rev = conn.execute("SELECT version_num FROM alembic_version").fetchone()[0]
            cases = conn.execute("SELECT count(*) FROM application").fetchone()[0]
        except Exception as exc:  # psycopg's UndefinedTable and the like
            raise SetupError(f"the database {shown_db(engine)} is not set up in schema "
                             f"{pg.schema}: {store.reason(exc)}") from None
        check_revision(rev, f"the database {shown_db(engine)}", known_only=False)
        run_pg_tool([pg_dump, "--format=custom", f"--snapshot={snapshot}",
              f"--schema={sql_name(pg.schema)}", f"--file={tmp}", f"--dbname={pg.conninfo()}"],
             pg)
        conn.rollback()
        size = tmp.stat().st_size
    return Report("backup", str(out), shown_db(engine), f"pg_dump archive of schema {pg.schema}",
                  size, int(cases), str(rev), note=unknown_note(str(rev)))


# --------------------------------------------------------------------- restore
def restore(url: str, source: Path, *, force: bool = False) -> Report:
    """Restore the backup ``source`` into the database at ``url``: into an empty one, or
    over one that holds data when ``force``."""
    kind = sniff(source)
    engine = store.make_engine(url)
    try:
        sqlite = store.is_sqlite(engine)
        if kind == "export":
            raise InvalidData(f"{source} is an export, not a backup: use `workflow import`")
        if sqlite != (kind == "sqlite"):
            have = "a SQLite backup" if kind == "sqlite" else "a PostgreSQL (pg_dump) backup"
            raise InvalidData(f"{source} is {have}, and the database {shown_db(engine)} is "
                              f"not of that kind; move between SQLite and PostgreSQL with "
                              f"`workflow export --all` and `workflow import`")
        report = _restore_sqlite(engine, source, force) if sqlite \
            else _restore_pg(engine, source, force)
    finally:
        engine.dispose()
    check = store.make_engine(url)
    try:  # what the restored database says of itself, not what the file said
        rev = check_revision(store.current_revision(check), f"the restored {shown_db(check)}")
        with store.read(check) as conn:
            cases = count_cases(conn)
    finally:
        check.dispose()
    return Report("restore", str(source), report.database, report.kind, report.size, cases,
                  rev, note=upgrade_note(rev))


def _restore_sqlite(engine: Engine, source: Path, force: bool) -> Report:
    db = sqlite_file(engine)
    if not db.parent.is_dir():
        raise SetupError(f"cannot restore into {db}: there is no folder {db.parent}")
    if db.exists() and db.resolve() == source.resolve():
        raise SetupError(f"{source} is the database itself")
    src = sqlite3.connect(source)
    try:
        _check_sqlite_copy(src, f"the backup {source}")
        if db.exists():
            with store.read(engine) as conn:
                counts = holdings(conn)
            engine.dispose()
            if not force:
                refuse_data(counts, engine, "restore into an empty database, or pass "
                                             "--force to replace what it holds")
        dst = sqlite3.connect(db, timeout=30)
        try:
            src.backup(dst)
            dst.execute("PRAGMA journal_mode=WAL")
        finally:
            dst.close()
    finally:
        src.close()
    return Report("restore", str(source), shown_db(engine), "SQLite copy",
                  source.stat().st_size, 0, "")


_SCHEMA_ENTRY = re.compile(r"^\d+; \d+ \d+ SCHEMA - (.+) \S+$")


_SCHEMA_ITEM = re.compile(r"^\d+; \d+ \d+ (SCHEMA|COMMENT - SCHEMA|ACL - SCHEMA) ")


def _archive(pg_restore: str, source: Path, pg: PgTools) -> tuple[str, list[str], str]:
    """The schema a pg_dump archive holds, its table of contents without the schema's own
    entries (the restore makes the schema itself), and its schema revision."""
    listing = run_pg_tool([pg_restore, "--list", str(source)], pg).splitlines()
    schemas = [m[1] for line in listing if (m := _SCHEMA_ENTRY.match(line))]
    if len(schemas) != 1:
        raise InvalidData(f"{source} is not a workflow backup: a pg_dump archive of one "
                          f"schema (it holds {len(schemas)})")
    rows = run_pg_tool([pg_restore, "--data-only", "--table=alembic_version", "--file=-",
                 str(source)], pg).splitlines()
    copy = next((i for i, line in enumerate(rows) if line.startswith("COPY ")), None)
    rev = rows[copy + 1] if copy is not None and copy + 1 < len(rows) else None
    rev = check_revision(None if rev in (None, "\\.") else rev, f"the backup {source}")
    return schemas[0], [line for line in listing if not _SCHEMA_ITEM.match(line)], rev


def _schema_exists(conn: Any, schema: str) -> bool:
    return conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s",
                        (schema,)).fetchone() is not None


def _restore_pg(engine: Engine, source: Path, force: bool) -> Report:
    pg = PgTools.of(engine)
    pg_restore = pg_tool("pg_restore")
    dumped, toc, _rev = _archive(pg_restore, source, pg)
    target = pg.schema
    with store.read(engine) as conn:
        counts = holdings(conn)
        foreign = sorted(set(inspect(conn).get_table_names())
                         - {tb.name for tb in our_tables()} - {"alembic_version"})
    engine.dispose()
    if foreign:
        raise SetupError(f"the schema {target} holds tables that are not workflow's "
                         f"({', '.join(foreign)}); restore into a schema of workflow's own")
    if not force:
        refuse_data(counts, engine, "restore into an empty database, or pass --force to "
                                     "replace what it holds")
    with pg.connect() as conn:
        if dumped != target and _schema_exists(conn, dumped):
            raise SetupError(f"the backup holds the schema {dumped}, which is in use in this "
                             f"database; restore it into schema {dumped} (with --force), or "
                             f"into another database")
        before = _counter(conn, target)
        aside = f"{target[:40]}_replaced_{secrets.token_hex(4)}"
        had = _schema_exists(conn, target)
        with conn.transaction():  # the old schema moves aside until the new one is whole
            if had:
                conn.execute(f"ALTER SCHEMA {sql_name(target)} RENAME TO {sql_name(aside)}")
            conn.execute(f"CREATE SCHEMA {sql_name(dumped)}")
        try:
            with tempfile.NamedTemporaryFile("w", suffix=".list", encoding="utf-8") as lst:
                lst.write("\n".join(toc) + "\n")
                lst.flush()
                run_pg_tool([pg_restore, "--no-owner", "--no-privileges", "--single-transaction",
                      "--exit-on-error", f"--use-list={lst.name}", f"--dbname={pg.conninfo()}",
                      str(source)], pg)
            if dumped != target:
                conn.execute(f"ALTER SCHEMA {sql_name(dumped)} RENAME TO {sql_name(target)}")
        except BaseException:
            with conn.transaction():
                conn.execute(f"DROP SCHEMA IF EXISTS {sql_name(dumped)} CASCADE")
                if had:
                    conn.execute(f"ALTER SCHEMA {sql_name(aside)} RENAME TO {sql_name(target)}")
            raise
        with conn.transaction():
            if had:
                conn.execute(f"DROP SCHEMA {sql_name(aside)} CASCADE")
            # past any count a web worker may have cached pages under (see store.ChangeCount)
            if _counter(conn, target) is not None:
                conn.execute(f"UPDATE {sql_name(target)}.change_counter "
                             f"SET n = GREATEST(n, %s) + 1", (before or 0,))
    return Report("restore", str(source), shown_db(engine),
                  f"pg_dump archive of schema {dumped}", source.stat().st_size, 0, "")


def _counter(conn: Any, schema: str) -> int | None:
    row = conn.execute("SELECT to_regclass(%s)", (f"{sql_name(schema)}.change_counter",)
                       ).fetchone()
    if row is None or row[0] is None:
        return None
    value = conn.execute(f"SELECT max(n) FROM {sql_name(schema)}.change_counter").fetchone()
    return int(value[0] or 0)
