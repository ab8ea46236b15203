"""The tamper-evident chain: every audit entry and document version of a case linked to the
one before it by hash, on SQLite and PostgreSQL.

Real steps make the chain; a row is then changed or deleted by hand in SQL, as someone
with access to the database could, and :func:`workflow.store.chain.verify` must name the
first broken entry: the case, the kind, the row and what changed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import delete, func, select, update
from sqlalchemy.engine import Connection

from tests.factories import make_application
from workflow.engine.workflow import Workflow
from workflow.store import chain
from workflow.store import database as store
from workflow.store import tables as t


def links_of(wf: Workflow, app: int) -> list[dict[str, Any]]:
    cl = t.chain_link
    with wf.engine.connect() as conn:
        return [dict(r) for r in conn.execute(
            select(cl).where(cl.c.application_id == app).order_by(cl.c.seq)).mappings()]


def counts(wf: Workflow, app: int) -> tuple[int, int, int]:
    ae, d, dv, je = t.audit_entry, t.document, t.document_version, t.journal_entry
    with wf.engine.connect() as conn:
        audits = conn.execute(select(func.count()).where(ae.c.application_id == app)).scalar()
        versions = conn.execute(select(func.count()).select_from(dv.join(
            d, d.c.id == dv.c.document_id)).where(d.c.application_id == app)).scalar()
        entries = conn.execute(select(func.count()).where(je.c.application_id == app)).scalar()
    return int(audits or 0), int(versions or 0), int(entries or 0)


def verified(wf: Workflow, app: int | None = None) -> list[chain.CaseChain]:
    with wf.engine.connect() as conn:
        return chain.verify(conn, app)


def test_every_step_and_draft_is_linked_to_the_one_before(wf: Workflow) -> None:
    app = make_application(wf, state="council_approval")
    links = links_of(wf, app)
    audits, versions, entries = counts(wf, app)
    assert versions > 0 and entries == versions   # each version is journalised
    assert len(links) == audits + versions + entries
    assert [ln["seq"] for ln in links] == list(range(1, len(links) + 1))
    assert links[0]["prev_sha256"] == chain.GENESIS
    assert (links[0]["kind"], links[0]["key"]) == ("audit_entry", "1")
    for before, after in zip(links, links[1:], strict=False):
        assert after["prev_sha256"] == before["sha256"]
    # a step's drafts follow its audit entry, each followed by its journal entry
    kinds = [ln["kind"] for ln in links]
    assert kinds.index("document_version") > kinds.index("audit_entry")
    assert all(kinds[i + 1] == "journal_entry" for i, k in enumerate(kinds)
               if k == "document_version")
    (one,) = verified(wf, app)
    assert one.broken is None and one.links == len(links)
    with wf.engine.connect() as conn:
        assert chain.heads(conn, [app]) == {app: links[-1]["sha256"]}


def test_rebuilding_gives_the_hashes_the_steps_wrote(wf: Workflow) -> None:
    """The migration chains old rows with :func:`chain.rebuild`: the same hashes as live."""
    app = make_application(wf, state="council_approval")
    before = [(ln["kind"], ln["key"], ln["sha256"]) for ln in links_of(wf, app)]
    with store.write(wf.engine) as conn:
        assert chain.rebuild(conn, app) == len(before)
    assert [(ln["kind"], ln["key"], ln["sha256"]) for ln in links_of(wf, app)] == before


def _newest_version(conn: Connection, app: int) -> int:
    d, dv = t.document, t.document_version
    return int(conn.execute(select(func.max(dv.c.id)).select_from(
        dv.join(d, d.c.id == dv.c.document_id)).where(d.c.application_id == app)).scalar_one())


def _comment(conn: Connection, app: int) -> tuple[str, str]:
    ae = t.audit_entry
    conn.execute(update(ae).where(ae.c.application_id == app, ae.c.version == 3)
                 .values(comment="Skrevet om bagefter"))
    return "audit_entry 3", "ændret: comment"


def _data(conn: Connection, app: int) -> tuple[str, str]:
    ae = t.audit_entry
    conn.execute(update(ae).where(ae.c.application_id == app, ae.c.version == 2)
                 .values(data={"areas": ["social"]}))
    return "audit_entry 2", "ændret: data"


def _version_hash(conn: Connection, app: int) -> tuple[str, str]:
    dv = t.document_version
    vid = _newest_version(conn, app)
    conn.execute(update(dv).where(dv.c.id == vid).values(sha256="f" * 64))
    return f"document_version {vid}", "ændret: sha256"


def _version_bytes(conn: Connection, app: int) -> tuple[str, str]:
    dv = t.document_version
    vid = _newest_version(conn, app)
    conn.execute(update(dv).where(dv.c.id == vid).values(content=b"PK andre bytes"))
    return f"document_version {vid}", "ændret: content"


def _deleted_row(conn: Connection, app: int) -> tuple[str, str]:
    ae = t.audit_entry
    conn.execute(delete(ae).where(ae.c.application_id == app, ae.c.version == 4))
    return "audit_entry 4", "rækken er slettet"


def _deleted_link(conn: Connection, app: int) -> tuple[str, str]:
    cl = t.chain_link
    conn.execute(delete(cl).where(cl.c.application_id == app, cl.c.seq == 2))
    return "chain_link (led 2)", "leddet mangler"


def _deleted_tail(conn: Connection, app: int) -> tuple[str, str]:
    """The newest step and its link both gone: the case's version still counts it."""
    ae, cl, a, d, dv = t.audit_entry, t.chain_link, t.application, t.document, t.document_version
    last = conn.execute(select(a.c.version).where(a.c.id == app)).scalar_one()
    ids = select(dv.c.id).join(d, d.c.id == dv.c.document_id).where(
        d.c.application_id == app, dv.c.audit_version == last)
    made = [str(i) for i in conn.execute(ids).scalars()]
    je = t.journal_entry   # the versions' journal entries, which the tail holds too
    journalised = [str(n) for n in conn.execute(select(je.c.number).where(
        je.c.application_id == app, je.c.document_version_id.in_(ids))).scalars()]
    conn.execute(delete(t.document_download))
    conn.execute(delete(je).where(je.c.application_id == app,
                                  je.c.document_version_id.in_(ids)))
    conn.execute(delete(dv).where(dv.c.id.in_(ids)))
    conn.execute(delete(ae).where(ae.c.application_id == app, ae.c.version == last))
    conn.execute(delete(cl).where(cl.c.application_id == app, (
        (cl.c.kind == "audit_entry") & (cl.c.key == str(last)))
        | ((cl.c.kind == "document_version") & cl.c.key.in_(made))
        | ((cl.c.kind == "journal_entry") & cl.c.key.in_(journalised))))
    return f"audit_entry {last}", "rækken mangler"


def _forged_link(conn: Connection, app: int) -> tuple[str, str]:
    """A row changed and its link's digests made to match: the hash still tells."""
    cl = t.chain_link
    conn.execute(update(cl).where(cl.c.application_id == app, cl.c.seq == 1)
                 .values(prev_sha256="1" * 64))
    return "audit_entry 1 (led 1)", "forrige hash passer ikke"


TAMPERING: dict[str, Callable[[Connection, int], tuple[str, str]]] = {
    "an audit entry's text": _comment, "an audit entry's data": _data,
    "a document version's hash": _version_hash, "a document version's bytes": _version_bytes,
    "a deleted audit entry": _deleted_row, "a deleted link": _deleted_link,
    "the newest step deleted with its link": _deleted_tail, "a link's previous hash": _forged_link,
}


@pytest.mark.parametrize("how", list(TAMPERING))
def test_a_row_changed_by_hand_is_named(wf: Workflow, how: str) -> None:
    other = make_application(wf, state="drafting", title="Uberørt", areas=["social", "employment"])
    app = make_application(wf, state="council_approval")
    assert all(c.broken is None for c in verified(wf))
    with store.write(wf.engine) as conn:
        where, what = TAMPERING[how](conn, app)
    chains = {c.case: c for c in verified(wf)}
    assert chains[other].broken is None
    broken = chains[app].broken
    assert broken is not None
    said = str(broken)
    assert said.startswith(f"sag {app} (00.17.15-G01-{app}-18): {where}"), said
    assert what in said, said
    assert verified(wf, app)[0].broken == broken   # one case alone says the same


def test_a_row_added_outside_a_step_is_named(wf: Workflow) -> None:
    app = make_application(wf, state="drafting")
    ae = t.audit_entry
    with store.write(wf.engine) as conn:
        row = dict(conn.execute(select(ae).where(ae.c.application_id == app,
                                                 ae.c.version == 1)).mappings().one())
        conn.execute(ae.insert().values({**row, "version": 99, "comment": "indsat"}))
    broken = verified(wf, app)[0].broken
    assert broken is not None and (broken.kind, broken.key) == ("audit_entry", "99")
    assert "ikke i kæden" in broken.problem


class _StepMeanwhile:
    """A chained kind whose rows are read only after ``step`` has committed elsewhere: a
    step landing while ``verify`` reads, after the case's links and before its rows."""

    def __init__(self, real: chain.ChainKind, step: Callable[[], object]) -> None:
        self.real, self.step, self.done = real, step, False

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def select_rows(self, *args: Any, **kwargs: Any) -> Any:
        if not self.done:
            self.done = True
            self.step()
        return self.real.select_rows(*args, **kwargs)


def test_a_step_while_the_chain_is_verified_is_no_break(
        wf: Workflow, monkeypatch: pytest.MonkeyPatch) -> None:
    """``workflow audit verify`` on a live installation: a step committed while it reads
    is not named a row added outside a step (PostgreSQL: one REPEATABLE READ snapshot)."""
    from workflow.engine.casefile import CaseFile

    app = make_application(wf, state="drafting")
    before = len(links_of(wf, app))
    first = next(iter(chain.KINDS))
    monkeypatch.setitem(chain.KINDS, first, _StepMeanwhile(chain.KINDS[first], lambda: CaseFile(
        wf).add_note(app, "Notat skrevet mens kæden blev efterprøvet.", user="legal-ishoj")))
    (during,), heads = chain.verify_snapshot(wf.engine, app)
    monkeypatch.undo()
    assert during.broken is None and during.links == before
    (after,), later = chain.verify_snapshot(wf.engine, app)
    assert after.broken is None and after.links == before + 1
    assert later[app] != heads[app]


def test_a_new_kind_is_one_registration_and_one_call(wf: Workflow) -> None:
    """A kind registered later (the journal's, say) chains its rows after the others, and
    the links made before it still verify (they name the fields they cover)."""
    app = make_application(wf, state="drafting")
    pa = t.party_act
    kind = chain.register(chain.ChainKind("party_act", pa, key="id",
                                          fields=("name", "municipality", "version", "data")))
    try:
        with store.write(wf.engine) as conn:
            pid = conn.execute(select(func.max(pa.c.id)).where(
                pa.c.application_id == app)).scalar_one()
            # rows of the new kind made before it was registered are not in the chain...
            assert "ikke i kæden" in chain.verify(conn, app)[0].broken.problem  # type: ignore[union-attr]
            chain.rebuild(conn, app)
        assert verified(wf, app)[0].broken is None
        with store.write(wf.engine) as conn:
            conn.execute(update(pa).where(pa.c.id == pid).values(data={"x": 1}))
        broken = verified(wf, app)[0].broken
        assert broken is not None and (broken.kind, broken.key) == ("party_act", str(pid))
        assert "ændret: data" in broken.problem
    finally:
        chain.KINDS.pop(kind.name)


def test_the_chain_holds_after_an_export_imported_into_the_other_backend(
        wf: Workflow, tmp_path: Any) -> None:
    """The hashes are of plain values (moments in UTC with microseconds, bytes by their
    sha256), so a case exported from PostgreSQL and imported into SQLite (or from SQLite
    into a fresh SQLite) still verifies, link for link."""
    from datetime import UTC, datetime

    from workflow.operations import export

    app = make_application(wf, state="council_approval")
    before = links_of(wf, app)
    out = tmp_path / "all.zip"
    export.export_all(wf.engine.url.render_as_string(hide_password=False), out,
                      now=datetime(2018, 5, 1, tzinfo=UTC))
    target = f"sqlite:///{tmp_path / 'imported.db'}"
    export.import_all(target, out)
    engine = store.make_engine(target)
    try:
        with engine.connect() as conn:
            chains = chain.verify(conn)
            assert [c.broken for c in chains] == [None] * len(chains)
            assert chain.heads(conn, [app]) == {app: before[-1]["sha256"]}
    finally:
        engine.dispose()


def test_a_moment_with_microseconds_in_danish_time_hashes_as_stored(
        wf: Workflow, clock: Any) -> None:
    """A step's values are hashed as they are written (no read-back on the hot path): the
    moment, in any time zone and to the microsecond, must hash as the database returns it."""
    from zoneinfo import ZoneInfo

    clock.now = clock.now.astimezone(ZoneInfo("Europe/Copenhagen")).replace(microsecond=123457)
    app = make_application(wf, state="legal_review")
    clock.advance(seconds=1.000001)
    wf.fire(app, "approve_draft", user="legal-ishoj", comment="Godkendt – æøå \u00a0 \"citat\"")
    (one,) = verified(wf, app)
    assert one.broken is None and one.links == sum(counts(wf, app))
