"""The portable export of a whole installation and its import: a zip of JSON lines, one
file per table, with a manifest of the schema revision and each table's row count and
digest, readable by SQLite and PostgreSQL alike."""

from __future__ import annotations

import base64
import hashlib
import json
import zipfile
from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Connection, Engine, Table, delete, insert, inspect, select
from sqlalchemy.types import Date, DateTime, Integer, LargeBinary, TypeDecorator

from .. import __version__
from ..errors import InvalidData, SetupError
from ..store import database as store
from ..store import tables as t
from .checks import (
    BATCH,
    FORMAT,
    FORMAT_VERSION,
    Report,
    holdings,
    new_file,
    our_tables,
    refuse_data,
    shown_db,
    sniff,
    sqlite_file,
)
from .postgres import PgTools, sql_name


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




def export_all(url: str, out: Path, *, now: datetime, force: bool = False) -> Report:
    """Write the whole installation at ``url`` to the zip ``out``."""
    engine = store.make_engine(url)
    try:
        store.require_schema(engine)
        with new_file(out, force=force) as tmp, store.read(engine, snapshot=True) as conn, \
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
    return Report("export", str(out), shown_db(engine), "export (zip of JSON lines)", size,
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
    if sniff(source) != "export":
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
    return Report("import", str(source), shown_db(engine),
                  f"export of {manifest.get('source', '?')} made {manifest.get('exported_at')}",
                  source.stat().st_size, rows["application"], store.HEAD_REVISION, rows=rows,
                  note="every table's sha256 matches")


def _prepare_import_target(engine: Engine) -> None:
    """Refuse a target that is not empty; migrate an empty one to the newest schema."""
    if store.is_sqlite(engine):
        db = sqlite_file(engine)
        if not db.parent.is_dir():
            raise SetupError(f"cannot make {db}: there is no folder {db.parent}")
    else:  # the schema named in the URL, made if it is not there yet
        pg = PgTools.of(engine)
        with pg.connect() as conn:
            conn.execute(f"CREATE SCHEMA IF NOT EXISTS {sql_name(pg.schema)}")
    rev = store.current_revision(engine)
    with store.read(engine) as conn:
        counts = holdings(conn)
        present = set(inspect(conn).get_table_names())
    refuse_data(counts, engine, "import into an empty database: a new SQLite file or an "
                                 "empty PostgreSQL schema (without `workflow init`)")
    if rev is None and present & {tb.name for tb in our_tables()}:
        raise SetupError(f"the database {shown_db(engine)} holds workflow's tables without a "
                         f"schema revision; import into an empty database")
    if rev is not None and rev != store.HEAD_REVISION:
        raise SetupError(f"the database {shown_db(engine)} is at schema {rev}; run "
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
