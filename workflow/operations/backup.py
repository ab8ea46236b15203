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

import base64
import hashlib
import json
import os
import re
import secrets
import shutil
import sqlite3
import subprocess
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Connection, Engine, Table, delete, func, insert, inspect, select
from sqlalchemy.types import Date, DateTime, Integer, LargeBinary, TypeDecorator
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


def _check_revision(rev: str | None, what: str, *, known_only: bool = True) -> str:
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


def _unknown_note(rev: str, *notes: str) -> str:
    """A backup's notes, and a word when its schema is one this version does not know."""
    unknown = () if rev in known_revisions() else (
        f"schema {rev} is unknown to this version ({__version__})",)
    return "; ".join((*notes, *unknown))


def _upgrade_note(rev: str) -> str:
    return "" if rev == store.HEAD_REVISION else \
        f"run `workflow init` to upgrade it to {store.HEAD_REVISION} before use"


def _shown(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=True)


def _sqlite_file(engine: Engine) -> Path:
    return Path(engine.url.database or "")


def _sniff(path: Path) -> str:
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
def _new_file(out: Path, *, force: bool) -> Iterator[Path]:
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


def _refuse_data(counts: dict[str, int], engine: Engine, hint: str) -> None:
    if counts:
        said = ", ".join(f"{name}: {n}" for name, n in counts.items())
        raise SetupError(f"the database {_shown(engine)} is not empty ({said}); {hint}")


def _count_cases(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(t.application)).scalar_one())


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
    db = _sqlite_file(engine)
    if not db.is_file():
        raise SetupError(f"there is no database {db} to back up")
    if out.exists() and out.resolve() == db.resolve():
        raise SetupError(f"{out} is the database itself; write the backup elsewhere")
    _check_revision(store.current_revision(engine), f"the database {db}", known_only=False)
    with _new_file(out, force=force) as tmp:
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
    return Report("backup", str(out), _shown(engine), "SQLite copy", size, cases, rev,
                  note=_unknown_note(rev, "integrity ok"))


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
    return int(cases), _check_revision(rev, what, known_only=known_only)


@dataclass(frozen=True)
class _Pg:
    """How the PostgreSQL tools reach the installation: libpq parameters and its schema."""

    params: dict[str, Any]
    schema: str

    @classmethod
    def of(cls, engine: Engine) -> _Pg:
        url = engine.url
        params: dict[str, Any] = {k: v for k, v in (
            ("host", url.host), ("port", url.port), ("dbname", url.database),
            ("user", url.username), ("password", url.password)) if v is not None}
        params.update({k: v if isinstance(v, str) else v[-1] for k, v in url.query.items()})
        return cls(params, search_path_schema(str(params.get("options") or "")))

    def conninfo(self) -> str:
        from psycopg.conninfo import make_conninfo

        return make_conninfo(**{k: v for k, v in self.params.items() if k != "password"})

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        if self.params.get("password"):
            env["PGPASSWORD"] = str(self.params["password"])
        return env

    def connect(self) -> Any:
        import psycopg

        return psycopg.connect(**self.params, autocommit=True)


def search_path_schema(options: str) -> str:
    """The schema the installation lives in: the first of ``search_path`` in libpq's
    ``options`` (``-csearch_path=wf``, ``-c search_path=wf,public``), else ``public``.

    The options are split as libpq splits them: on spaces, a backslash keeping one."""
    words = [w.replace("\\ ", " ") for w in re.split(r"(?<!\\)\s+", options.strip()) if w]
    for i, word in enumerate(words):
        setting = word[2:] if word.startswith("-c") and len(word) > 2 else (
            words[i + 1] if word == "-c" and i + 1 < len(words) else word.removeprefix("--"))
        name, eq, value = setting.partition("=")
        if eq and name.strip().lower().replace("-", "_") == "search_path":
            for schema in (s.strip() for s in value.split(",")):
                if schema and schema not in ("$user", '"$user"'):
                    return schema[1:-1].replace('""', '"') if schema.startswith('"') \
                        else schema.lower()
    return "public"


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise SetupError(f"{name} is not installed or not on PATH: install the PostgreSQL "
                         f"client tools (Debian: postgresql-client), of the server's major "
                         f"version or newer")
    return path


def _run(argv: list[str], pg: _Pg) -> str:
    proc = subprocess.run(argv, env=pg.env(), capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        said = [line for line in proc.stderr.splitlines() if line.strip()]
        raise SetupError(f"{Path(argv[0]).name} failed: "
                         f"{said[0] if said else f'exit status {proc.returncode}'}")
    return proc.stdout


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _backup_pg(engine: Engine, out: Path, force: bool) -> Report:
    pg = _Pg.of(engine)
    pg_dump = _tool("pg_dump")
    with _new_file(out, force=force) as tmp, pg.connect() as conn:
        # The dump runs in this transaction's snapshot: what is counted is what is dumped.
        conn.autocommit = False
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        snapshot = conn.execute("SELECT pg_export_snapshot()").fetchone()[0]
        try:
            rev = conn.execute("SELECT version_num FROM alembic_version").fetchone()[0]
            cases = conn.execute("SELECT count(*) FROM application").fetchone()[0]
        except Exception as exc:  # psycopg's UndefinedTable and the like
            raise SetupError(f"the database {_shown(engine)} is not set up in schema "
                             f"{pg.schema}: {store.reason(exc)}") from None
        _check_revision(rev, f"the database {_shown(engine)}", known_only=False)
        _run([pg_dump, "--format=custom", f"--snapshot={snapshot}",
              f"--schema={_quoted(pg.schema)}", f"--file={tmp}", f"--dbname={pg.conninfo()}"],
             pg)
        conn.rollback()
        size = tmp.stat().st_size
    return Report("backup", str(out), _shown(engine), f"pg_dump archive of schema {pg.schema}",
                  size, int(cases), str(rev), note=_unknown_note(str(rev)))


# --------------------------------------------------------------------- restore
def restore(url: str, source: Path, *, force: bool = False) -> Report:
    """Restore the backup ``source`` into the database at ``url``: into an empty one, or
    over one that holds data when ``force``."""
    kind = _sniff(source)
    engine = store.make_engine(url)
    try:
        sqlite = store.is_sqlite(engine)
        if kind == "export":
            raise InvalidData(f"{source} is an export, not a backup: use `workflow import`")
        if sqlite != (kind == "sqlite"):
            have = "a SQLite backup" if kind == "sqlite" else "a PostgreSQL (pg_dump) backup"
            raise InvalidData(f"{source} is {have}, and the database {_shown(engine)} is "
                              f"not of that kind; move between SQLite and PostgreSQL with "
                              f"`workflow export --all` and `workflow import`")
        report = _restore_sqlite(engine, source, force) if sqlite \
            else _restore_pg(engine, source, force)
    finally:
        engine.dispose()
    check = store.make_engine(url)
    try:  # what the restored database says of itself, not what the file said
        rev = _check_revision(store.current_revision(check), f"the restored {_shown(check)}")
        with store.read(check) as conn:
            cases = _count_cases(conn)
    finally:
        check.dispose()
    return Report("restore", str(source), report.database, report.kind, report.size, cases,
                  rev, note=_upgrade_note(rev))


def _restore_sqlite(engine: Engine, source: Path, force: bool) -> Report:
    db = _sqlite_file(engine)
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
                _refuse_data(counts, engine, "restore into an empty database, or pass "
                                             "--force to replace what it holds")
        dst = sqlite3.connect(db, timeout=30)
        try:
            src.backup(dst)
            dst.execute("PRAGMA journal_mode=WAL")
        finally:
            dst.close()
    finally:
        src.close()
    return Report("restore", str(source), _shown(engine), "SQLite copy",
                  source.stat().st_size, 0, "")


_SCHEMA_ENTRY = re.compile(r"^\d+; \d+ \d+ SCHEMA - (.+) \S+$")
_SCHEMA_ITEM = re.compile(r"^\d+; \d+ \d+ (SCHEMA|COMMENT - SCHEMA|ACL - SCHEMA) ")


def _archive(pg_restore: str, source: Path, pg: _Pg) -> tuple[str, list[str], str]:
    """The schema a pg_dump archive holds, its table of contents without the schema's own
    entries (the restore makes the schema itself), and its schema revision."""
    listing = _run([pg_restore, "--list", str(source)], pg).splitlines()
    schemas = [m[1] for line in listing if (m := _SCHEMA_ENTRY.match(line))]
    if len(schemas) != 1:
        raise InvalidData(f"{source} is not a workflow backup: a pg_dump archive of one "
                          f"schema (it holds {len(schemas)})")
    rows = _run([pg_restore, "--data-only", "--table=alembic_version", "--file=-",
                 str(source)], pg).splitlines()
    copy = next((i for i, line in enumerate(rows) if line.startswith("COPY ")), None)
    rev = rows[copy + 1] if copy is not None and copy + 1 < len(rows) else None
    rev = _check_revision(None if rev in (None, "\\.") else rev, f"the backup {source}")
    return schemas[0], [line for line in listing if not _SCHEMA_ITEM.match(line)], rev


def _schema_exists(conn: Any, schema: str) -> bool:
    return conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s",
                        (schema,)).fetchone() is not None


def _restore_pg(engine: Engine, source: Path, force: bool) -> Report:
    pg = _Pg.of(engine)
    pg_restore = _tool("pg_restore")
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
        _refuse_data(counts, engine, "restore into an empty database, or pass --force to "
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
                conn.execute(f"ALTER SCHEMA {_quoted(target)} RENAME TO {_quoted(aside)}")
            conn.execute(f"CREATE SCHEMA {_quoted(dumped)}")
        try:
            with tempfile.NamedTemporaryFile("w", suffix=".list", encoding="utf-8") as lst:
                lst.write("\n".join(toc) + "\n")
                lst.flush()
                _run([pg_restore, "--no-owner", "--no-privileges", "--single-transaction",
                      "--exit-on-error", f"--use-list={lst.name}", f"--dbname={pg.conninfo()}",
                      str(source)], pg)
            if dumped != target:
                conn.execute(f"ALTER SCHEMA {_quoted(dumped)} RENAME TO {_quoted(target)}")
        except BaseException:
            with conn.transaction():
                conn.execute(f"DROP SCHEMA IF EXISTS {_quoted(dumped)} CASCADE")
                if had:
                    conn.execute(f"ALTER SCHEMA {_quoted(aside)} RENAME TO {_quoted(target)}")
            raise
        with conn.transaction():
            if had:
                conn.execute(f"DROP SCHEMA {_quoted(aside)} CASCADE")
            # past any count a web worker may have cached pages under (see store.ChangeCount)
            if _counter(conn, target) is not None:
                conn.execute(f"UPDATE {_quoted(target)}.change_counter "
                             f"SET n = GREATEST(n, %s) + 1", (before or 0,))
    return Report("restore", str(source), _shown(engine),
                  f"pg_dump archive of schema {dumped}", source.stat().st_size, 0, "")


def _counter(conn: Any, schema: str) -> int | None:
    row = conn.execute("SELECT to_regclass(%s)", (f"{_quoted(schema)}.change_counter",)
                       ).fetchone()
    if row is None or row[0] is None:
        return None
    value = conn.execute(f"SELECT max(n) FROM {_quoted(schema)}.change_counter").fetchone()
    return int(value[0] or 0)


# ---------------------------------------------------------------- export/import
def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    return value


def _line(row: Any) -> bytes:
    """One row as its canonical line: the same on SQLite and PostgreSQL."""
    return (json.dumps([_plain(v) for v in row], ensure_ascii=False, sort_keys=True,
                       separators=(",", ":")) + "\n").encode("utf-8")


def _decoder(table: Table) -> Callable[[list[Any]], dict[str, Any]]:
    """What turns a table's line (decoded JSON) back into the values to insert."""
    def identity(v: Any) -> Any:
        return v

    def by_type(column: Any) -> Callable[[Any], Any]:
        kind = column.type
        if isinstance(kind, TypeDecorator):
            kind = kind.impl_instance
        if isinstance(kind, DateTime):
            return datetime.fromisoformat
        if isinstance(kind, Date):
            return date.fromisoformat
        if isinstance(kind, LargeBinary):
            return base64.b64decode
        return identity

    names = [c.name for c in table.columns]
    convert = [by_type(c) for c in table.columns]
    return lambda values: {n: None if v is None else f(v)
                           for n, f, v in zip(names, convert, values, strict=True)}


def _rows(conn: Connection, table: Table) -> Iterator[bytes]:
    query = select(table).order_by(*table.primary_key.columns)
    for row in conn.execute(query, execution_options={"yield_per": BATCH}):
        yield _line(row)


def table_digests(conn: Connection) -> dict[str, dict[str, Any]]:
    """Each table's rows and the sha256 of its canonical lines, in primary-key order."""
    digests = {}
    for table in our_tables():
        digest, n = hashlib.sha256(), 0
        for line in _rows(conn, table):
            digest.update(line)
            n += 1
        digests[table.name] = {"rows": n, "sha256": digest.hexdigest()}
    return digests


@contextmanager
def snapshot(engine: Engine) -> Iterator[Connection]:
    """A read transaction that sees one moment of the database throughout (SQLite's read
    transaction is one; PostgreSQL's needs REPEATABLE READ)."""
    if store.is_sqlite(engine):
        with store.read(engine) as conn:
            yield conn
        return
    with engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn, \
            conn.begin():
        conn.exec_driver_sql("SET TRANSACTION READ ONLY")
        yield conn


def export_all(url: str, out: Path, *, now: datetime, force: bool = False) -> Report:
    """Write the whole installation at ``url`` to the zip ``out``."""
    engine = store.make_engine(url)
    try:
        store.require_schema(engine)
        with _new_file(out, force=force) as tmp, snapshot(engine) as conn, \
                zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
            listed: dict[str, Any] = {}
            for table in our_tables():
                digest, n = hashlib.sha256(), 0
                with zf.open(_entry(f"tables/{table.name}.jsonl", now), "w") as f:
                    for line in _rows(conn, table):
                        digest.update(line)
                        f.write(line)
                        n += 1
                listed[table.name] = {"rows": n, "sha256": digest.hexdigest(),
                                      "columns": [c.name for c in table.columns]}
            manifest = {"format": FORMAT, "format_version": FORMAT_VERSION,
                        "schema_revision": store.HEAD_REVISION, "workflow": __version__,
                        "source": engine.dialect.name, "exported_at": now.isoformat(),
                        "tables": listed}
            zf.writestr(_entry("manifest.json", now),
                        json.dumps(manifest, ensure_ascii=False, indent=2))
            cases = listed["application"]["rows"]
        size = out.stat().st_size
    finally:
        engine.dispose()
    return Report("export", str(out), _shown(engine), "export (zip of JSON lines)", size,
                  cases, store.HEAD_REVISION, rows={k: v["rows"] for k, v in listed.items()})


def _entry(name: str, now: datetime) -> zipfile.ZipInfo:
    """A compressed zip entry dated ``now`` (the export's moment, in UTC)."""
    info = zipfile.ZipInfo(name, date_time=now.utctimetuple()[:6])
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def read_manifest(zf: zipfile.ZipFile, source: Path) -> dict[str, Any]:
    """The export's manifest, once it is one this version can import."""
    try:
        manifest = json.loads(zf.read("manifest.json"))
    except (KeyError, ValueError):
        raise InvalidData(f"{source} is not a workflow export (no readable "
                          f"manifest.json)") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise InvalidData(f"{source} is not a workflow export")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise InvalidData(f"{source} is an export of format version "
                          f"{manifest.get('format_version')!r}; this version reads "
                          f"{FORMAT_VERSION}")
    rev = manifest.get("schema_revision")
    if rev != store.HEAD_REVISION:
        raise InvalidData(f"{source} is an export of schema {rev}; this version imports "
                          f"schema {store.HEAD_REVISION} only: upgrade the database it came "
                          f"from with `workflow init` of this version, and export it again")
    listed = manifest.get("tables") or {}
    for table in our_tables():
        columns = [c.name for c in table.columns]
        if (listed.get(table.name) or {}).get("columns") != columns:
            raise InvalidData(f"{source}: the table {table.name} is missing or has other "
                              f"columns than schema {rev}'s")
    return manifest


def import_all(url: str, source: Path) -> Report:
    """Load the export ``source`` into the empty database at ``url`` (made if need be)."""
    if _sniff(source) != "export":
        raise InvalidData(f"{source} is not an export (a zip made by `workflow export`); "
                          f"a backup is restored with `workflow restore`")
    with zipfile.ZipFile(source) as zf:
        manifest = read_manifest(zf, source)
        engine = store.make_engine(url)
        try:
            _prepare_import_target(engine)
            with store.write(engine, shown=False) as conn:
                conn.execute(delete(t.change_counter))  # the export has the source's count
                for table in our_tables():
                    with zf.open(f"tables/{table.name}.jsonl") as f:
                        _load(conn, table, f, manifest["tables"][table.name], source)
                if not store.is_sqlite(engine):
                    reset_sequences(conn)
                read_back = table_digests(conn)
                differ = [n for n, d in read_back.items() if d != {
                    k: manifest["tables"][n][k] for k in ("rows", "sha256")}]
                if differ:  # rolls back: nothing imported
                    raise SetupError(f"the imported tables do not read back as exported: "
                                     f"{', '.join(differ)}; nothing was imported")
        finally:
            engine.dispose()
    rows = {name: d["rows"] for name, d in read_back.items()}
    return Report("import", str(source), _shown(engine),
                  f"export of {manifest.get('source', '?')} made {manifest.get('exported_at')}",
                  source.stat().st_size, rows["application"], store.HEAD_REVISION, rows=rows,
                  note="every table's sha256 matches")


def _prepare_import_target(engine: Engine) -> None:
    """Refuse a target that is not empty; migrate an empty one to the newest schema."""
    if store.is_sqlite(engine):
        db = _sqlite_file(engine)
        if not db.parent.is_dir():
            raise SetupError(f"cannot make {db}: there is no folder {db.parent}")
    else:  # the schema named in the URL, made if it is not there yet
        pg = _Pg.of(engine)
        with pg.connect() as conn:
            conn.execute(f"CREATE SCHEMA IF NOT EXISTS {_quoted(pg.schema)}")
    rev = store.current_revision(engine)
    with store.read(engine) as conn:
        counts = holdings(conn)
        present = set(inspect(conn).get_table_names())
    _refuse_data(counts, engine, "import into an empty database: a new SQLite file or an "
                                 "empty PostgreSQL schema (without `workflow init`)")
    if rev is None and present & {tb.name for tb in our_tables()}:
        raise SetupError(f"the database {_shown(engine)} holds workflow's tables without a "
                         f"schema revision; import into an empty database")
    if rev is not None and rev != store.HEAD_REVISION:
        raise SetupError(f"the database {_shown(engine)} is at schema {rev}; run "
                         f"`workflow init` to upgrade it, or import into a new database")
    store.migrate(engine)


def _load(conn: Connection, table: Table, f: IO[bytes], listed: dict[str, Any],
          source: Path) -> None:
    decode = _decoder(table)
    digest, n, batch = hashlib.sha256(), 0, []
    for line in f:
        digest.update(line)
        n += 1
        batch.append(decode(json.loads(line)))
        if len(batch) >= BATCH:
            conn.execute(insert(table), batch)
            batch = []
    if batch:
        conn.execute(insert(table), batch)
    if (n, digest.hexdigest()) != (listed["rows"], listed["sha256"]):
        raise InvalidData(f"{source} is damaged: tables/{table.name}.jsonl has {n} rows and "
                          f"sha256 {digest.hexdigest()[:12]}…, the manifest says "
                          f"{listed['rows']} and {str(listed['sha256'])[:12]}…; nothing was "
                          f"imported")


def reset_sequences(conn: Connection, tables: Iterable[Table] | None = None) -> None:
    """PostgreSQL: each serial id's sequence (of ``tables``, default all) just past the
    highest id, so new rows get fresh ids after rows were inserted with theirs."""
    quote = conn.dialect.identifier_preparer.quote
    for table in our_tables() if tables is None else tables:
        pk = list(table.primary_key.columns)
        if len(pk) != 1 or not isinstance(pk[0].type, Integer):
            continue
        name, column = quote(table.name), quote(pk[0].name)
        conn.exec_driver_sql(
            f"SELECT setval(pg_get_serial_sequence(%(t)s, %(c)s), "
            f"COALESCE(MAX({column}), 0) + 1, false) FROM {name}",
            {"t": name, "c": pk[0].name})
