"""Upgrades: a database made at every earlier Alembic revision, holding data of that
revision, upgrades to the newest with its data intact, and the application works on it.

The data is what the real code makes at the newest revision (the demo's examples with
their drafts, deadlines and reminders, a session, a token, …), each table's rows put into
the older database where that table existed then, with the columns it had then; the
tables a later revision added start empty. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, insert, inspect, select
from sqlalchemy import column as sa_column
from sqlalchemy import table as sa_table

from tests.conftest import Clock
from tests.factories import make_application, walk_fire
from tests.operations.test_ops import fill, pg_schemas, rows_of  # noqa: F401  (pg_schemas: a fixture)
from workflow.accounts import directory
from workflow.accounts import logins as accounts
from workflow.config import Settings
from workflow.engine.queries import get_application, history, list_applications
from workflow.engine.workflow import Workflow
from workflow.installation import demo
from workflow.operations import checks, export
from workflow.store import chain
from workflow.store import database as store
from workflow.store import tables as t

REVISIONS = checks.known_revisions()
EARLIER = REVISIONS[:-1]
NOW = datetime(2027, 3, 4, 9, 0, tzinfo=UTC)
# a column added later whose old rows get a value: a claim from before 0009 is of a whole area
# from before 0015, a draft's version was made from its template, with no note
# from before 0017, every row belongs to the one cooperation there was (of the municipalities
# marked cooperation), and a municipality has the letters' defaults
COOP = "ishoj-vallensbaek"
WHOLE = {("application_area", "part_id"): "", ("document_version", "origin"): "generated",
         ("document_version", "note"): "", ("application", "cooperation_id"): COOP,
         ("area", "cooperation_id"): COOP, ("application_area", "cooperation_id"): COOP,
         ("area_part_release", "cooperation_id"): COOP,
         ("municipality", "council_type"): ("kommunalbestyrelse", "byraad"),
         ("municipality", "signatories"): [], ("municipality", "contacts"): [],
         ("municipality", "agenda_layout"): "standard"}


def test_the_revisions_are_a_line_ending_at_head() -> None:
    assert REVISIONS[-1] == store.HEAD_REVISION
    assert REVISIONS == sorted(REVISIONS) and len(EARLIER) >= 6


def migrate_to(engine: Engine, revision: str) -> None:
    store.migrate(engine, revision)


@pytest.fixture(scope="module")
def newest(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict[str, Any]]]:
    """Every table's rows, as the real code made them at the newest revision."""
    url = f"sqlite:///{tmp_path_factory.mktemp('newest') / 'newest.db'}"
    engine = store.make_engine(url)
    store.migrate(engine)
    demo.load_setup(engine, files=(0,))   # one cooperation: what 0017 makes of older rows
    with store.write(engine) as conn:  # a directory group, so 0019's table has a row
        directory.replace_groups(conn, [{"group": "GG-Ishoj-Jura", "role": "legal",
                                         "municipality": "ishoj"}])
    engine.dispose()
    fill(url)
    part_released(url)
    return {name: [dict(zip([c.name for c in table.columns], row, strict=True))
                   for row in rows_of(url)[name]]
            for name, table in ((tb.name, tb) for tb in checks.our_tables())}


def part_released(url: str) -> None:
    """An eighth case, opened a year before the others' last day, granted two parts of the
    social area and completed: the rows of ``area_part_release`` (the examples grant no
    part). Its steps are dated the road's way, so the clock walks forward with them."""
    wf = Workflow.open(Settings(database_url=url), clock=Clock(datetime(2026, 1, 8, 9, tzinfo=UTC)))
    try:
        app = make_application(wf, state="submitted", round=2,
                               areas=["social", "nature_environment"])
        walk_fire(wf, app, "record_decision", user="pl-ishoj", data={
            "reference": "2018-77", "decision_date": "2018-06-01",
            "outcome": "partly_granted", "granted_areas": "social:s82,social:s86"})
        walk_fire(wf, app, "start_transition", user="pl-ishoj",
                  data={"effective_date": "2019-01-01"})
        walk_fire(wf, app, "complete", user="pl-ishoj")
        assert wf.clock() < NOW
    finally:
        wf.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'old.db'}"
    url, schema = request.getfixturevalue("pg_schemas")()
    engine = store.make_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    engine.dispose()
    return url


def present_tables(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        names = set(inspect(conn).get_table_names())
    return [tb for tb in checks.our_tables() if tb.name in names]


@pytest.mark.parametrize("revision", EARLIER)
def test_a_database_of_an_earlier_revision_upgrades_with_its_data(
        revision: str, empty_url: str,
        newest: dict[str, list[dict[str, Any]]]) -> None:
    engine = store.make_engine(empty_url)
    try:
        migrate_to(engine, revision)
        assert store.current_revision(engine) == revision
        then = present_tables(engine)
        assert 0 < len(then) <= len(checks.our_tables())
        had: dict[str, set[str]] = {}   # each table's columns at that revision
        with engine.begin() as conn:  # (not store.write: no change counter before 0005)
            for table in then:
                had[table.name] = {c["name"] for c in inspect(conn).get_columns(table.name)
                                   if (table.name, c["name"]) != ("search_entry", "tsv")}
                # (PostgreSQL's generated tsv column is 0018's, beside the models)
                assert had[table.name] <= set(table.columns.keys()), table.name
                rows = rows_then(table.name, newest, had)
                if table is not t.change_counter and rows:
                    old = sa_table(table.name, *(sa_column(c, table.c[c].type)
                                                  for c in had[table.name]))
                    conn.execute(insert(old), [{k: v for k, v in row.items()
                                                if k in had[table.name]} for row in rows])
            if not store.is_sqlite(engine):  # as if the rows had been made one by one
                export.reset_sequences(conn, then)
            if "chain_link" in had:   # the chain as that revision's code made it: of the
                known = {k: [f for f in spec.fields if f in had[spec.table.name]]  # kinds
                         for k, spec in chain.KINDS.items()        # and fields it had
                         if spec.table.name in had}
                for case in conn.execute(select(t.application.c.id)).scalars():
                    chain.rebuild(conn, case, known)
        names = {tb.name for tb in then}
        before = read(engine, then, had)
        for table in then:
            if table is t.chain_link:    # rebuilt above, of the rows that revision had
                assert len(before[table.name]) > 0
            elif table is not t.change_counter and table is not t.application_area:
                assert len(before[table.name]) == len(rows_then(table.name, newest, had)) > 0, \
                    table.name

        store.migrate(engine)
        assert store.current_revision(engine) == store.HEAD_REVISION
        after = read(engine, checks.our_tables())
        kept = read(engine, then, had)
        for table in then:
            assert kept[table.name] == before[table.name], table.name
            new = [c for c in table.columns.keys() if c not in had[table.name]]
            with engine.connect() as conn:   # a column added later is empty in old rows
                for c in new:
                    want = WHOLE.get((table.name, c))
                    allowed = want if isinstance(want, tuple) else (want,)
                    assert all(v is None or v in allowed for v in
                               conn.execute(select(table.c[c])).scalars()), (table.name, c)
        added = {tb.name for tb in checks.our_tables()} - names - {"change_counter"}
        assert all(after[name] == [] for name in added - {"journal_entry", "chain_link",
                                                          "cooperation", "cooperation_member",
                                                          "application_party", "search_entry"})
        if "cooperation" in added:   # 0017 made the one cooperation of the rows there were
            assert [r[0] for r in after["cooperation"]] == [COOP]
            assert {r[1] for r in after["cooperation_member"]} == \
                {"ishoj", "vallensbaek"}
        if "application_party" in added:   # 0018 made rows of the parties, indexed the titles
            with engine.connect() as conn:
                assert sorted(conn.execute(select(t.application_party)).all()) == sorted(
                    (r.id, m) for r in conn.execute(select(t.application)) for m in set(r.parties))
                cased = set(conn.execute(select(t.search_entry.c.application_id).where(
                    t.search_entry.c.source == "case")).scalars())
                assert cased == set(conn.execute(select(t.application.c.id)).scalars())
        if "journal_entry" in added:   # 0013 fills in the journal of the versions before it
            assert_journal_backfilled(engine)
        assert len(after["change_counter"]) == 1
        if "chain_link" in added:   # 0014 chained every case's existing rows
            with engine.connect() as conn:
                chains = chain.verify(conn)
            assert [c.case for c in chains] == [1, 2, 3, 4, 5, 6, 7, 8]
            assert all(c.broken is None and c.links > 0 for c in chains), chains
            assert len(after["chain_link"]) == sum(c.links for c in chains) == \
                len(after["audit_entry"]) + len(after.get("document_version", [])) + \
                len(after["journal_entry"])
    finally:
        engine.dispose()
    the_application_works(empty_url, has_documents="document" in names)


def assert_journal_backfilled(engine: Engine) -> None:
    """Every document version made before 0013 has its journal entry, numbered 1, 2, …
    per case in the order made."""
    je, dv = t.journal_entry, t.document_version
    with engine.connect() as conn:
        versions = {r.id: r for r in conn.execute(select(dv.c.id, dv.c.sha256, dv.c.letter_date))}
        entries = conn.execute(select(je).order_by(je.c.application_id, je.c.number)).all()
    assert sorted(e.document_version_id for e in entries) == sorted(versions)
    assert all(e.sha256 == versions[e.document_version_id].sha256 and e.kind == "generated"
               and e.dated == versions[e.document_version_id].letter_date for e in entries)
    by_case: dict[int, list[int]] = {}
    for e in entries:
        by_case.setdefault(e.application_id, []).append(e.number)
    assert all(n == list(range(1, len(n) + 1)) for n in by_case.values())


def rows_then(name: str, newest: dict[str, list[dict[str, Any]]],
              had: dict[str, set[str]]) -> list[dict[str, Any]]:
    """The newest rows of table ``name`` that could exist at the older revision: a
    your-turn notice (a reminder without a deadline) only from 0011, which made it; a
    claim of part of an area only from 0009."""
    rows = newest[name]
    if name == "application_area" and "part_id" not in had[name]:
        rows = [r for r in rows if r["part_id"] == ""]   # claims of whole areas
    if name == "reminder" and "audit_version" not in had[name]:
        rows = [r for r in rows if r["deadline_id"] is not None]
    return rows


def read(engine: Engine, tables: list[Any], columns: dict[str, set[str]] | None = None
         ) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of ``tables`` (only the ``columns`` named per table, where given)."""
    with engine.connect() as conn:
        return {tb.name: [tuple(r) for r in conn.execute(
            select(*(c for c in tb.columns if columns is None or c.name in columns[tb.name]))
            .order_by(*(c for c in tb.primary_key.columns      # (a key column added
                        if columns is None or c.name in columns[tb.name])))]  # since: not)
            for tb in tables}


def the_application_works(url: str, *, has_documents: bool) -> None:
    wf = Workflow.open(Settings(database_url=url), clock=lambda: NOW)
    try:
        listed = list_applications(wf, user="admin")
        assert [a["id"] for a in listed] == [1, 2, 3, 4, 5, 6, 7, 8]
        for a in listed:
            shown = get_application(wf, a["id"], user="admin")
            steps = [h["version"] for h in history(wf, a["id"], user="admin")
                     if h["version"] is not None]  # (not the downloads, the reminders)
            assert steps == list(range(1, shown["version"] + 1))
        assert get_application(wf, 2, user="pl-ishoj")["state"] == "council_approval"
        out = wf.fire(5, "withdraw", user="pl-vallensbaek", data={"reason": "Prøve"})
        assert out.version == 2
        new = wf.create(kind="dispensation", round=1, title="Efter opgraderingen",
                        user="pl-ishoj")
        assert new == 9
        if has_documents:
            got = wf.download(1, user="legal-ishoj")
            assert hashlib.sha256(got.content).hexdigest() == got.sha256
        with wf.engine.connect() as conn:   # the steps after the upgrade chain on
            assert all(c.broken is None for c in chain.verify(conn))
    finally:
        wf.close()
    engine = store.make_engine(url)
    try:
        assert accounts.authenticate(engine, "sec-ishoj", "demo", client="127.0.0.1",
                                     now=NOW) == "sec-ishoj"
    finally:
        engine.dispose()


def test_drafts_made_before_search_are_found_after_the_upgrade(wf: Workflow) -> None:
    """Revision 0020 indexes the newest draft of each document that has no text in search
    (as every draft made before 0018): a word only the draft holds finds the case."""
    from alembic import command
    from sqlalchemy import delete

    from workflow.engine import lists

    app = make_application(wf, state="legal_review", title="Ansøgning om hjemtagning")
    se = t.search_entry
    with store.write(wf.engine) as conn:
        indexed = conn.execute(select(se.c.source, se.c.body).where(
            se.c.application_id == app, se.c.source.like("document:%"))).all()
        conn.execute(delete(se).where(se.c.source.like("document:%")))
    assert indexed, "the draft was indexed when it was made"
    word = "Strukturaftalen" if "Strukturaftalen" in indexed[0].body else \
        max((w for w in indexed[0].body.split() if w.isalpha()), key=len)

    def found() -> list[int]:
        with store.read(wf.engine) as conn:
            page = lists.search(wf, conn, wf.actor(conn, "pl-ishoj"), word)
        return [r["id"] for r in page.rows]

    assert found() == []
    command.downgrade(store.alembic_config(wf.engine.url.render_as_string(
        hide_password=False)), "0019")
    store.migrate(wf.engine)
    assert found() == [app]
    with store.read(wf.engine) as conn:
        again = conn.execute(select(se.c.source).where(
            se.c.application_id == app, se.c.source.like("document:%"))).scalars().all()
    assert sorted(again) == sorted(r.source for r in indexed)
    store.migrate(wf.engine)   # at head: nothing runs twice
