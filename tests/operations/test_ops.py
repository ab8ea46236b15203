"""Backups, restores, export and import (``workflow backup``, ``restore``, ``export --all``,
``import``) on a real SQLite file and the real PostgreSQL server, with data of every kind:
the demo's examples (applications, BUM agreements, their Word drafts, deadlines and
reminders), a web session, an API token, a login attempt, a download, a changed password.

A backup is checked against the database as it was when it was taken, row for row; an
export against the source in the other kind of database; the SQLite backup against a
process that keeps writing cases all the while (and is then killed).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import create_engine, select, text

from tests import samples
from tests.conftest import PG_BASE_URL, SQLITE_ONLY
from tests.engine.test_edited import edited_copy
from workflow import __version__
from workflow.accounts import logins as accounts
from workflow.cli.app import cli
from workflow.config import Settings
from workflow.engine import aktindsigt, casetext, edited
from workflow.engine.casefile import CaseFile, Filing
from workflow.engine.queries import get_application, history, list_applications
from workflow.engine.workflow import Workflow
from workflow.errors import AuthError
from workflow.installation import demo
from workflow.operations import checks, export, postgres
from workflow.store import database as store
from workflow.store import tables as t

HEAD = store.HEAD_REVISION   # the schema revision a fresh database is at
TODAY = date(2027, 3, 3)                          # the examples are dated up to this day
NOW = datetime(2027, 3, 3, 9, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[2]


# ------------------------------------------------------------------------ helpers
def run(url: str, *args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), env={"WORKFLOW_DATABASE_URL": url,
                                                    **(env or {})})


def ok(url: str, *args: str, env: dict[str, str] | None = None) -> str:
    result = run(url, *args, env=env)
    assert result.exit_code == 0, f"{args}: {result.output}"
    return result.stdout


def fails(url: str, *args: str, code: int, env: dict[str, str] | None = None) -> str:
    """A command that must fail cleanly: its one-line error."""
    result = run(url, *args, env=env)
    assert result.exit_code == code, result.output
    assert result.stdout == "" and "Traceback" not in result.stderr
    (line,) = result.stderr.splitlines()
    assert line.startswith("error: ")
    return line


def fill(url: str) -> None:
    """Data of every kind, made by the real code: the examples 1-7 (documents, deadlines,
    reminders, links, a BUM agreement), a session, a token, a failed login, a download,
    a password of its own."""
    settings = Settings(database_url=url)
    demo.load_examples(lambda clock: Workflow.open(settings, clock=clock), today=TODAY)
    engine = store.make_engine(url)
    try:
        accounts.set_password(engine, "legal-ishoj", "ny-adgangskode-2027", now=NOW)
        accounts.start_session(engine, "pl-ishoj", now=NOW, client="127.0.0.1")
        accounts.issue_token(engine, "admin", created_by="admin", now=NOW, label="ESDH")
        accounts.session_secret(engine)
        with pytest.raises(AuthError):
            accounts.authenticate(engine, "sec-ishoj", "forkert", client="10.0.0.7", now=NOW)
    finally:
        engine.dispose()
    wf = Workflow.open(settings, clock=lambda: NOW)
    try:
        letter = wf.download(1, user="legal-ishoj")
        files = CaseFile(wf)   # an upload (its bytes in the database) and a note
        files.attach_file(2, io.BytesIO(samples.PDF), "brev.pdf", Filing(
            "received", TODAY, "Indenrigsministeriet", "Brev", "ministry_request"),
            user="legal-ishoj")
        note = files.add_note(2, "Notat om sagen.", user="pl-ishoj")
        aktindsigt.exempt(wf, 2, note, ground="internal", reason="Internt notat",
                          user="legal-ishoj")   # and the note exempt from aktindsigt
        # the case's own text, and its letter edited by hand (example 2 is at the councils)
        casetext.save_section(wf, 2, "reasons", "Kommunernes egen begrundelse.",
                              user="legal-ishoj")
        edited.file_edited(wf, 1, edited_copy(letter.content, "Ophævelse af det",
                                              "Rettet i hånden."),
                           user="legal-vallensbaek", note="Sproglig rettelse")
    finally:
        wf.close()


def rows_of(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, as Python values, in primary-key order."""
    engine = store.make_engine(url)
    try:
        with store.read(engine, snapshot=True) as conn:
            return {table.name: [tuple(r) for r in conn.execute(
                select(table).order_by(*table.primary_key.columns))]
                for table in checks.our_tables()}
    finally:
        engine.dispose()


def digests(url: str) -> dict[str, dict[str, Any]]:
    engine = store.make_engine(url)
    try:
        with store.read(engine, snapshot=True) as conn:
            return export.table_digests(conn)
    finally:
        engine.dispose()


def without_counter(rows: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in rows.items() if k != "change_counter"}


def works(url: str, cases: int) -> None:
    """The application works on ``url``: lists and shows its cases, opens a new one (a
    fresh id), and checks the demo password against its stored hash."""
    wf = Workflow.open(Settings(database_url=url), clock=lambda: NOW)
    try:
        listed = list_applications(wf, user="admin")
        assert [a["id"] for a in listed] == list(range(1, cases + 1))
        assert get_application(wf, 2, user="pl-ishoj")["state"] == "council_approval"
        assert [h["version"] for h in history(wf, 6, user="pl-ishoj")][0] == 1
        new = wf.create(kind="dispensation", round=2, title="Efter gendannelsen",
                        user="pl-ishoj")
        assert new == cases + 1
        wf.fire(new, "withdraw", user="pl-ishoj", data={"reason": "prøve"})
        got = wf.download(1, user="legal-ishoj")
        assert hashlib.sha256(got.content).hexdigest() == got.sha256
    finally:
        wf.close()
    engine = store.make_engine(url)
    try:
        assert accounts.authenticate(engine, "pl-vallensbaek", "demo", client="127.0.0.1",
                                     now=NOW) == "pl-vallensbaek"
        assert accounts.authenticate(engine, "legal-ishoj", "ny-adgangskode-2027",
                                     client="127.0.0.1", now=NOW) == "legal-ishoj"
    finally:
        engine.dispose()


@pytest.fixture
def filled(db_url: str) -> str:
    fill(db_url)
    return db_url


@pytest.fixture
def pg_schemas(request: pytest.FixtureRequest) -> Iterator[Callable[[], tuple[str, str]]]:
    """Fresh PostgreSQL schemas (not made yet: a URL naming one): (url, schema); dropped
    at the end."""
    request.getfixturevalue("pg_engine")  # skips (or fails under CI) without a server
    admin = create_engine(PG_BASE_URL)
    made: list[str] = []

    def new() -> tuple[str, str]:
        name = f"wf_ops_{os.getpid()}_{len(made)}"
        made.append(name)
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {name} CASCADE"))
        return f"{PG_BASE_URL}?options=-csearch_path%3D{name}", name

    yield new
    with admin.begin() as conn:
        for name in made:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {name} CASCADE"))
    admin.dispose()


def schemas_like(prefix: str) -> list[str]:
    admin = create_engine(PG_BASE_URL)
    try:
        with admin.connect() as conn:
            return list(conn.execute(text("SELECT nspname FROM pg_namespace WHERE nspname "
                                          "LIKE :p ORDER BY 1"), {"p": prefix + "%"}).scalars())
    finally:
        admin.dispose()


# ------------------------------------------------------------------ backup/restore
def test_a_backup_restores_the_database_as_it_was(filled: str, tmp_path: Path) -> None:
    url = filled
    at_backup = rows_of(url)
    out = tmp_path / "backup.bin"
    said = ok(url, "backup", str(out))
    sqlite = url.startswith("sqlite")
    kind = "SQLite copy" if sqlite else "pg_dump archive of schema wf_test_"
    assert said.startswith(f"Wrote {out}: {kind}") and f" 7 cases, schema {HEAD}" in said
    assert f"{out.stat().st_size:,} bytes" in said
    assert out.read_bytes()[:5] == (b"SQLit" if sqlite else b"PGDMP")
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".partial")]

    # Work goes on; then the backup is restored over it.
    wf = Workflow.open(Settings(database_url=url), clock=lambda: NOW)
    wf.fire(5, "propose_areas", user="pl-vallensbaek",
            data={"areas": "social,nature_environment"})
    wf.create(kind="dispensation", round=1, title="Efter sikkerhedskopien", user="pl-ishoj")
    wf.close()
    assert rows_of(url) != at_backup

    refused = fails(url, "restore", str(out), code=8)
    assert "is not empty (" in refused and "application: 8" in refused
    assert "--force" in refused
    said = ok(url, "restore", str(out), "--force")
    assert said.startswith(f"Restored {out} (") and said.endswith(
        f": 7 cases, schema {HEAD}.\n")
    restored = rows_of(url)
    assert without_counter(restored) == without_counter(at_backup)
    if not sqlite:  # past every count a worker may have cached a page under
        assert restored["change_counter"][0][1] > at_backup["change_counter"][0][1]
    works(url, 7)

    if sqlite:  # and into a database that is not there yet
        fresh = f"sqlite:///{tmp_path / 'fresh.db'}"
        ok(fresh, "restore", str(out))
        assert rows_of(fresh) == at_backup
        with sqlite3.connect(tmp_path / "fresh.db") as conn:
            assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_a_postgresql_backup_restores_into_another_schema(
        pg_schemas: Callable[[], tuple[str, str]], tmp_path: Path) -> None:
    source, first = pg_schemas()
    target, second = pg_schemas()
    engine = store.make_engine(source)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {first}")
    store.migrate(engine)
    demo.load_setup(engine)
    engine.dispose()
    fill(source)
    before = rows_of(source)
    out = tmp_path / "pg.dump"
    assert f"pg_dump archive of schema {first} of" in ok(source, "backup", str(out))

    # Its schema is still in use in this database: restoring it elsewhere would clash.
    refused = fails(target, "restore", str(out), code=8)
    assert refused == (f"error: the backup holds the schema {first}, which is in use in "
                       f"this database; restore it into schema {first} (with --force), or "
                       f"into another database")
    assert schemas_like(second) == []

    admin = create_engine(PG_BASE_URL)
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA {first} CASCADE"))
    admin.dispose()
    said = ok(target, "restore", str(out))
    assert said.endswith(f": 7 cases, schema {HEAD}.\n")
    assert schemas_like(first) == [] and schemas_like(second) == [second]
    after = rows_of(target)
    assert without_counter(after) == without_counter(before)
    works(target, 7)


def test_backup_and_restore_say_what_is_wrong(db_url: str, tmp_path: Path) -> None:
    sqlite = db_url.startswith("sqlite")
    out = tmp_path / "b.bin"
    assert fails(db_url, "backup", str(tmp_path / "no" / "b.bin"), code=8) == \
        f"error: cannot write {tmp_path / 'no' / 'b.bin'}: there is no folder {tmp_path / 'no'}"
    ok(db_url, "backup", str(out))
    assert fails(db_url, "backup", str(out), code=8) == \
        f"error: {out} exists already; choose another name, or pass --force to replace it"
    info = json.loads(ok(db_url, "backup", str(out), "--force", "--json"))
    assert info["cases"] == 0 and info["revision"] == HEAD and info["action"] == "backup"
    assert info["size"] == out.stat().st_size

    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"not a backup at all")
    assert "is not a workflow backup or export" in fails(db_url, "restore", str(junk), code=2)
    assert fails(db_url, "restore", str(tmp_path / "none.bin"), code=8) == \
        f"error: there is no file {tmp_path / 'none.bin'}"
    other = f"sqlite:///{tmp_path / 'other.db'}" if not sqlite else None
    if other is not None:  # a PostgreSQL backup is not for SQLite
        said = fails(other, "restore", str(out), code=2)
        assert "is a PostgreSQL (pg_dump) backup" in said and "workflow import" in said
        assert not (tmp_path / "other.db").exists()
        # without pg_dump, a clear word, and no file left behind
        nothing = tmp_path / "empty-bin"
        nothing.mkdir()
        said = fails(db_url, "backup", str(tmp_path / "c.bin"), code=8,
                     env={"PATH": str(nothing)})
        assert said.startswith("error: pg_dump is not installed or not on PATH")
        assert sorted(p.name for p in tmp_path.iterdir()) == ["b.bin", "empty-bin", "junk.bin"]
    else:
        missing = tmp_path / "missing.db"
        assert fails(f"sqlite:///{missing}", "backup", str(tmp_path / "c.bin"), code=8) == \
            f"error: there is no database {missing} to back up"
        assert not missing.exists()
        assert "is the database itself" in fails(
            db_url, "backup", db_url.removeprefix("sqlite:///"), "--force", code=8)
        damaged = tmp_path / "damaged.db"
        damaged.write_bytes(out.read_bytes()[:8192] + b"\0" * 8192 * 3)
        assert fails(f"sqlite:///{tmp_path / 'x.db'}", "restore", str(damaged),
                     code=8).startswith(f"error: the backup {damaged} is damaged")


@pytest.fixture(params=["sqlite", "postgresql"])
def two_empty(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str]:
    """Two databases of one kind, not made yet (PostgreSQL: two schemas)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'a.db'}", f"sqlite:///{tmp_path / 'b.db'}"
    new = request.getfixturevalue("pg_schemas")
    return new()[0], new()[0]


def at_revision(url: str, revision: str) -> None:

    engine = store.make_engine(url)
    try:
        if not store.is_sqlite(engine):
            with engine.begin() as conn:
                conn.exec_driver_sql(f"CREATE SCHEMA {postgres.PgTools.of(engine).schema}")
        store.migrate(engine, revision)
    finally:
        engine.dispose()


def set_revision(url: str, revision: str) -> None:
    engine = store.make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = :r"), {"r": revision})
    engine.dispose()


def test_a_restore_checks_the_schema_revision(two_empty: tuple[str, str],
                                              tmp_path: Path) -> None:
    """A backup of an earlier revision restores, and says to upgrade it (which works); one
    of a revision this version does not know is backed up but never restored."""
    source, target = two_empty
    at_revision(source, "0005")
    out = tmp_path / "old.bin"
    assert ", 0 cases, schema 0005" in ok(source, "backup", str(out))
    if not source.startswith("sqlite"):  # its schema may not be in use elsewhere
        engine = store.make_engine(source)
        with engine.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {postgres.PgTools.of(engine).schema} CASCADE")
        engine.dispose()
    said = ok(target, "restore", str(out))
    assert said.endswith(f": 0 cases, schema 0005; run `workflow init` to upgrade it to {HEAD} "
                         "before use.\n")
    assert f"schema 0005 -> {HEAD}." in ok(target, "init")

    set_revision(target, "0099")  # as a later version of workflow would leave it
    newer = tmp_path / "newer.bin"
    said = ok(target, "backup", str(newer))
    assert ", 0 cases, schema 0099; " in said
    assert said.endswith(f"; schema 0099 is unknown to this version ({__version__}).\n")
    again = f"sqlite:///{tmp_path / 'again.db'}" if target.startswith("sqlite") else target
    said = fails(again, "restore", str(newer), "--force", code=8)
    assert "is at schema '0099', which this version of workflow" in said
    assert "use the version that made it" in said
    if target.startswith("sqlite"):
        assert not (tmp_path / "again.db").exists()
    engine = store.make_engine(target)  # untouched
    assert store.current_revision(engine) == "0099"
    engine.dispose()


# ------------------------------------------------------------------ live SQLite
WRITER = """
import sys
from datetime import UTC, datetime
from workflow.config import Settings
from workflow.engine.casefile import CaseFile, Filing
from workflow.engine import casetext, edited
from workflow.engine.workflow import Workflow

url, log = sys.argv[1], sys.argv[2]
wf = Workflow.open(Settings(database_url=url), clock=lambda: datetime(2027, 3, 3, 9, tzinfo=UTC))
with open(log, "a", buffering=1) as f:
    while True:
        app = wf.create(kind="dispensation", round=1, title="Løbende sag", user="pl-ishoj")
        f.write(f"{app} 1\\n")
        wf.fire(app, "withdraw", user="pl-ishoj", data={"reason": "Skrevet under backup"})
        f.write(f"{app} 2\\n")
"""


def committed(log: Path) -> dict[int, int]:
    """What the writer had committed (each case's version) by the time of reading."""
    done: dict[int, int] = {}
    for line in log.read_text().splitlines():
        app, version = map(int, line.split())
        done[app] = max(version, done.get(app, 0))
    return done


@SQLITE_ONLY
def test_a_sqlite_backup_is_whole_while_another_process_writes(filled: str,
                                                               tmp_path: Path) -> None:
    """Backups taken while a process keeps writing cases: each restores to a sound
    database holding every case committed before it began, each at a version that its
    last audit entry matches; the writer is killed mid-write at the end."""
    log = tmp_path / "writer.log"
    log.touch()
    writer = subprocess.Popen([sys.executable, "-c", WRITER, filled, str(log)], cwd=ROOT,
                              env={k: v for k, v in os.environ.items()
                                   if not k.startswith("WORKFLOW_")})
    backups: list[tuple[Path, dict[int, int]]] = []
    try:
        deadline = time.monotonic() + 60
        while len(committed(log)) < 30:
            assert writer.poll() is None, "the writer stopped"
            assert time.monotonic() < deadline, "the writer wrote too little"
            time.sleep(0.05)
        for i in range(4):
            before = committed(log)
            out = tmp_path / f"live-{i}.db"
            said = ok(filled, "backup", str(out))
            assert said.endswith("; integrity ok.\n")
            backups.append((out, before))
            time.sleep(0.2)
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait(30)
    final = committed(log)
    assert len(final) > len(backups[0][1]) + 10, "the writer did not write during the backups"

    seen = []
    for i, (out, before) in enumerate(backups):
        url = f"sqlite:///{tmp_path / f'restored-{i}.db'}"
        ok(url, "restore", str(out))
        with sqlite3.connect(tmp_path / f"restored-{i}.db") as conn:
            assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            versions = dict(conn.execute("SELECT id, version FROM application"))
            audited = dict(conn.execute(
                "SELECT application_id, max(version) FROM audit_entry GROUP BY 1"))
            counted = dict(conn.execute(
                "SELECT application_id, count(*) FROM audit_entry GROUP BY 1"))
        assert versions == audited == counted  # each case at its last audit entry, no gaps
        missing = {a: v for a, v in before.items() if versions.get(a, 0) < v}
        assert missing == {}, f"backup {i} lost committed work: {missing}"
        seen.append(len(versions))
    assert seen == sorted(seen) and seen[-1] > seen[0]  # taken while the cases grew
    with sqlite3.connect(filled.removeprefix("sqlite:///")) as conn:  # the killed writer's
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]


# ------------------------------------------------------------------ export/import
@pytest.fixture
def other_url(db_url: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """An empty database of the other kind than ``db_url``'s (not made yet)."""
    if db_url.startswith("sqlite"):
        url, _ = request.getfixturevalue("pg_schemas")()
        return url
    return f"sqlite:///{tmp_path / 'imported.db'}"


def test_an_export_imports_into_the_other_kind_of_database(filled: str, other_url: str,
                                                           tmp_path: Path) -> None:
    out = tmp_path / "export.zip"
    said = ok(filled, "export", "--all", str(out))
    assert said.startswith(f"Wrote {out}: export (zip of JSON lines) of ")
    assert said.endswith(f", {out.stat().st_size:,} bytes, 7 cases, schema {HEAD}.\n")
    source = rows_of(filled)
    with zipfile.ZipFile(out) as zf:
        manifest = json.loads(zf.read("manifest.json"))
        names = sorted(zf.namelist())
    assert manifest["schema_revision"] == HEAD and manifest["format"] == "workflow-export"
    assert names == sorted(["manifest.json"] + [f"tables/{tb.name}.jsonl"
                                                for tb in checks.our_tables()])
    assert {n: d["rows"] for n, d in manifest["tables"].items()} == \
        {n: len(r) for n, r in source.items()}
    for name in ("document_version", "reminder", "web_session", "api_token",
                 "login_attempt", "document_download", "setting", "party_act", "link",
                 "journal_entry", "stored_file", "stored_file_chunk", "case_section"):
        assert manifest["tables"][name]["rows"] > 0, name

    said = ok(other_url, "import", str(out))
    assert said.endswith(f": 7 cases, schema {HEAD}; every table's sha256 matches.\n")
    imported = rows_of(other_url)
    assert imported == source                       # every row of every table, as values
    assert digests(other_url) == digests(filled)    # and byte for byte as the export has it
    versions = imported["document_version"]
    sha, content = (t.document_version.c.keys().index(k) for k in ("sha256", "content"))
    assert versions and all(hashlib.sha256(v[content]).hexdigest() == v[sha]
                            for v in versions)
    works(other_url, 7)   # fresh ids after the imported ones (PostgreSQL's sequences)

    again = fails(other_url, "import", str(out), code=8)
    assert "is not empty (" in again and "import into an empty database" in again


def test_import_refuses_another_revision_a_damaged_file_and_a_backup(
        filled: str, tmp_path: Path) -> None:
    out = tmp_path / "export.zip"
    ok(filled, "export", "--all", str(out))
    target = f"sqlite:///{tmp_path / 'target.db'}"

    def rewritten(name: str, change: Callable[[str, bytes], bytes]) -> Path:
        path = tmp_path / name
        with zipfile.ZipFile(out) as src, zipfile.ZipFile(path, "w") as dst:
            for item in src.namelist():
                dst.writestr(item, change(item, src.read(item)))
        return path

    older = rewritten("older.zip", lambda item, data: data.replace(
        f'"schema_revision": "{HEAD}"'.encode(), b'"schema_revision": "0006"')
        if item == "manifest.json" else data)
    assert fails(target, "import", str(older), code=2) == (
        f"error: {older} is an export of schema 0006; this version imports schema {HEAD} "
        f"only: upgrade the database it came from with `workflow init` of this version, "
        f"and export it again")
    assert not (tmp_path / "target.db").exists()

    damaged = rewritten("damaged.zip", lambda item, data: data.replace(
        b"Hjemtagning", b"Hjemtagnimg", 1) if item == "tables/application.jsonl" else data)
    said = fails(target, "import", str(damaged), code=2)
    assert said.startswith(f"error: {damaged} is damaged: tables/application.jsonl has 7 "
                           f"rows and sha256 ")
    assert said.endswith("nothing was imported")
    engine = store.make_engine(target)  # rolled back: an empty database, which imports
    with store.read(engine) as conn:
        assert checks.holdings(conn) == {}
    engine.dispose()
    ok(target, "import", str(out))
    assert rows_of(target) == rows_of(filled)

    backup = tmp_path / "b.db"
    ok(filled, "backup", str(backup))
    assert "a backup is restored with `workflow restore`" in fails(
        f"sqlite:///{tmp_path / 't2.db'}", "import", str(backup), code=2)
    assert "is an export, not a backup: use `workflow import`" in fails(
        f"sqlite:///{tmp_path / 't3.db'}", "restore", str(out), code=2)
    result = run(filled, "export", str(tmp_path / "e.zip"))
    assert result.exit_code == 2 and "say --all" in result.stderr


def test_the_search_path_names_the_schema() -> None:
    assert postgres.search_path_schema("-csearch_path=wf_test_1") == "wf_test_1"
    assert postgres.search_path_schema("-c search_path=Wf,public") == "wf"
    assert postgres.search_path_schema('-c search_path="$user","Mixed\\ Case"') == "Mixed Case"
    assert postgres.search_path_schema('-c search_path="Mixed\\ Case"') == "Mixed Case"
    assert postgres.search_path_schema("--search_path=a -c statement_timeout=5") == "a"
    assert postgres.search_path_schema("-c statement_timeout=5") == "public"
    assert postgres.search_path_schema("") == "public"
