"""The tamper-evident record: every chained row of a case carries the hash of the one before.

Each audit entry, document version and journal entry (and any kind registered with
:func:`register`) gets a ``chain_link`` row, written in the same transaction as the row
itself, under the case's lock (the engine holds the application row ``FOR UPDATE`` on
PostgreSQL; SQLite has one writer). A link holds the case, its place in the case's chain
(``seq``, 1, 2, … without gaps; unique, so two steps can never fork the chain), the kind
and key of the row, the previous link's hash and its own: sha256 over the canonical
serialisation (sorted, compact JSON) of the row's meaningful fields plus the previous hash.
``digests`` keeps a short hash of each field, so that :func:`verify` can say which field
changed; its keys are the fields the link covers, so a field registered later leaves the
older links valid.

Adding a kind is one line and one call::

    register(ChainKind("bum_price", t.bum_price, key="id", fields=(...)))
    append(conn, app_id, "bum_price", row_id)   # after inserting the row

:func:`verify` recomputes the chain of one case or of all and names the first break of
each: a changed field, a deleted row, a missing or altered link, a row outside the chain
(:func:`verify_snapshot`: on one snapshot, while steps go on).
:func:`rebuild` chains a case's existing rows anew (the migration that introduced the
chain uses it); it gives the same hashes as the steps that wrote them.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Table,
    and_,
    bindparam,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Connection, Dialect, Engine
from sqlalchemy.sql import FromClause

from . import database as store
from . import tables as t
from .canonical import fields_of as _fields
from .canonical import link_hash, plain
from .canonical import short_digests as _short
from .statements import Prepared

GENESIS = "0" * 64   # the "previous hash" of a case's first link


@dataclass(frozen=True)
class ChainKind:
    """A kind of row chained per case: its table, its key column (unique within the case),
    the fields whose change the chain detects, and how the row finds its case (a column of
    its own table by default; ``via``: a joined table holding ``application_id``).

    A field may be added to ``fields`` later (older links name the fields they cover, and
    keep verifying), never removed: the links that covered it would no longer verify."""

    name: str
    table: Table
    key: str
    fields: tuple[str, ...]
    via: tuple[Table, str, str] | None = None  # (table, its column, our column) to join on

    def source(self) -> FromClause:
        if self.via is None:
            return self.table
        other, theirs, ours = self.via
        return self.table.join(other, other.c[theirs] == self.table.c[ours])

    def case_column(self) -> ColumnElement[Any]:
        return (self.via[0] if self.via else self.table).c.application_id

    def select_rows(self, fields: Sequence[str] | None = None) -> Any:
        cols = [self.table.c[self.key].label("_key"), self.case_column().label("_case"),
                *(self.table.c[f] for f in (self.fields if fields is None else fields))]
        return select(*cols).select_from(self.source())


KINDS: dict[str, ChainKind] = {}
JOURNAL_FIELDS = ("number", "registered_at", "registered_by", "dated", "kind", "direction",
                  "doc_type", "party", "description", "filename", "media_type", "sha256",
                  "size", "document_version_id", "text", "corrects")


def register(kind: ChainKind) -> ChainKind:
    """Chain a kind of row from now on (its rows are then expected in every case's chain)."""
    KINDS[kind.name] = kind
    return kind


register(ChainKind("audit_entry", t.audit_entry, key="version", fields=(
    "version", "trigger", "from_state", "to_state", "user_id", "role", "municipality", "at",
    "happened_on", "comment", "data")))
register(ChainKind("document_version", t.document_version, key="id", fields=(
    "document_id", "number", "created_at", "created_by", "trigger", "audit_version", "state",
    "letter_date", "template", "template_sha256", "input_sha256", "input", "approval_sha256",
    "sha256", "size", "content", "recipe", "origin", "edited_from", "note"),
    via=(t.document, "id", "document_id")))
register(ChainKind("journal_entry", t.journal_entry, key="number", fields=JOURNAL_FIELDS))
register(ChainKind("journal_exemption", t.journal_exemption, key="id", fields=(
    "number", "field", "ground", "reason", "decided_by", "decided_at")))


# ------------------------------------------------------------------ writing
def append(conn: Connection, case: int, kind: str, key: Any) -> str:
    """Chain the row ``key`` of ``kind`` in ``case``, just written in this transaction
    (which must hold the case's lock); returns its hash. The row is read back, so the hash
    is of what the database holds, exactly as :func:`verify` will read it."""
    spec = KINDS[kind]
    row = conn.execute(spec.select_rows().where(
        spec.case_column() == case, spec.table.c[spec.key] == key)).mappings().one()
    cl = t.chain_link
    last = conn.execute(select(cl.c.seq, cl.c.sha256).where(cl.c.application_id == case)
                        .order_by(cl.c.seq.desc()).limit(1)).first()
    seq, prev = (last.seq + 1, last.sha256) if last is not None else (1, GENESIS)
    return _insert(conn, case, seq, spec, row, prev)


def relink(conn: Connection, case: int, kind: str, key: Any) -> None:
    """Hash the links of ``case`` anew from the one of ``kind`` ``key`` on, from the rows as
    they stand now: for a step that amends its own audit entry (the versions it issued)
    before it commits, so its links are of what commits. Only links of this transaction
    may follow it (the caller holds the case's lock)."""
    cl = t.chain_link
    start = conn.execute(select(cl.c.seq).where(
        cl.c.application_id == case, cl.c.kind == kind, cl.c.key == str(key))).scalar_one()
    prev = GENESIS if start == 1 else conn.execute(select(cl.c.sha256).where(
        cl.c.application_id == case, cl.c.seq == start - 1)).scalar_one()
    for ln in conn.execute(select(cl).where(cl.c.application_id == case, cl.c.seq >= start)
                           .order_by(cl.c.seq)).all():
        spec = KINDS[ln.kind]
        column = spec.table.c[spec.key]
        typed = int(ln.key) if column.type.python_type is int else ln.key
        names = list(ln.digests)
        row = conn.execute(spec.select_rows(names).where(
            spec.case_column() == case, column == typed)).mappings().one()
        fields = _fields(names, row)
        prev_of, prev = prev, link_hash(case, ln.seq, ln.kind, ln.key, prev, fields)
        conn.execute(update(cl).where(cl.c.id == ln.id).values(
            prev_sha256=prev_of, sha256=prev, digests=_short(fields)))


class HotChain:
    """The chain's two statements on a transition's hot path (the head of the case's
    chain, the new link), compiled once per database and run on the transaction's driver
    cursor like the engine's own (:mod:`.statements`)."""

    def __init__(self, dialect: Dialect) -> None:
        cl = t.chain_link
        last = select(func.max(cl.c.seq)).where(cl.c.application_id == bindparam("case"))
        self.head = Prepared(select(cl.c.seq, cl.c.sha256).where(
            cl.c.application_id == bindparam("case"), cl.c.seq == last.scalar_subquery()),
            dialect, [cl.c.seq, cl.c.sha256])
        self.insert = Prepared(cl.insert().values(
            application_id=bindparam("case"), seq=bindparam("seq"), kind=bindparam("kind"),
            key=bindparam("key"), prev_sha256=bindparam("prev"), sha256=bindparam("sha"),
            digests=bindparam("digests")), dialect)

    def append(self, cur: Any, case: int, kind: str, row: Mapping[str, Any], *,
               head: tuple[Any, Any] | None = None) -> str:
        """Chain the row of ``kind`` just written with the values ``row`` (every field of
        the kind, as written: they hash as the database gives them back). ``head``: the
        chain's last (seq, sha256), (None, None) for none yet, as read under the case's
        lock in this transaction with nothing chained since; else it is read here."""
        spec = KINDS[kind]
        last = self.head.one(cur, {"case": case}) if head is None else \
            (head if head[0] is not None else None)
        seq, prev = (last[0] + 1, last[1]) if last is not None else (1, GENESIS)
        fields = _fields(spec.fields, row)
        key = str(row[spec.key])
        sha = link_hash(case, seq, kind, key, prev, fields)
        self.insert.run(cur, {"case": case, "seq": seq, "kind": kind, "key": key,
                              "prev": prev, "sha": sha, "digests": _short(fields)})
        return sha


def _insert(conn: Connection, case: int, seq: int, spec: ChainKind, row: Mapping[Any, Any],
            prev: str, names: Sequence[str] | None = None) -> str:
    fields = _fields(spec.fields if names is None else names, row)
    key = str(row["_key"])
    sha = link_hash(case, seq, spec.name, key, prev, fields)
    conn.execute(insert(t.chain_link).values(
        application_id=case, seq=seq, kind=spec.name, key=key, prev_sha256=prev, sha256=sha,
        digests=_short(fields)))
    return sha


class _Places:
    """Where an existing row goes in a rebuilt chain, as the steps placed it: an audit
    entry, then the document versions its step made, each followed by its journal entry;
    an upload, a note (or another row of no step) after the step before its moment."""

    def __init__(self, rows: Sequence[tuple[ChainKind, Sequence[str], Mapping[Any, Any]]]
                 ) -> None:
        self.steps = sorted((plain(r["at"]), r["version"]) for s, names, r in rows
                            if s.name == "audit_entry" and "at" in names)
        self.version_step = {r["_key"]: r.get("audit_version") for s, _, r in rows
                             if s.name == "document_version"}

    def of(self, kind: str, row: Mapping[Any, Any]) -> tuple[Any, ...]:
        if kind == "audit_entry":
            return (row["version"], 0)
        if kind == "document_version" or (kind == "journal_entry"
                                          and row.get("document_version_id") is not None):
            version = row["_key"] if kind == "document_version" else row["document_version_id"]
            step = self.version_step.get(version)
            return (step if step is not None else 1 << 30, 1, version,
                    0 if kind == "document_version" else 1)
        moment = plain(row.get("registered_at") or row.get("decided_at") or row.get("at"))
        if moment is None:    # a kind of no moment: after everything else, by its key
            return (1 << 30, 3, kind, str(row["_key"]))
        before = bisect.bisect_right(self.steps, (moment, 1 << 30))
        step = self.steps[before - 1][1] if before else 0
        return (step, 2, str(moment), kind, str(row["_key"]))


def rebuild(conn: Connection, case: int,
            only: Mapping[str, Sequence[str]] | None = None) -> int:
    """Chain the case's rows anew (its old links are replaced): every audit entry in version
    order, each followed by the document versions its step made; returns the links.
    ``only``: the kinds and their fields as a migration knew them (a kind or a field
    registered later may not exist yet at that revision)."""
    conn.execute(delete(t.chain_link).where(t.chain_link.c.application_id == case))
    chosen = {k: tuple(v) for k, v in only.items()} if only is not None else \
        {k: spec.fields for k, spec in KINDS.items()}
    rows = [(KINDS[name], names, row) for name, names in chosen.items()
            for row in conn.execute(KINDS[name].select_rows(names)
                                    .where(KINDS[name].case_column() == case)).mappings()]
    places = _Places(rows)
    rows.sort(key=lambda sr: places.of(sr[0].name, sr[2]))
    prev = GENESIS
    for seq, (spec, names, row) in enumerate(rows, start=1):
        prev = _insert(conn, case, seq, spec, row, prev, names)
    return len(rows)


# ------------------------------------------------------------------ verifying
@dataclass(frozen=True)
class Break:
    """The first place a case's chain does not hold."""

    case: int
    case_number: str
    seq: int | None
    kind: str
    key: str
    problem: str

    def __str__(self) -> str:
        where = f"{self.kind} {self.key}" if self.key else self.kind
        at = f" (led {self.seq})" if self.seq is not None else ""
        return f"sag {self.case} ({self.case_number}): {where}{at}: {self.problem}"


@dataclass(frozen=True)
class CaseChain:
    case: int
    case_number: str
    links: int
    broken: Break | None


def verify(conn: Connection, case: int | None = None) -> list[CaseChain]:
    """Each case's chain recomputed (one case, or all), with its first break if any."""
    a = t.application
    query = select(a.c.id, a.c.case_number, a.c.version).order_by(a.c.id)
    if case is not None:
        query = query.where(a.c.id == case)
    return [_verify_case(conn, r.id, r.case_number, r.version) for r in conn.execute(query)]


def verify_snapshot(engine: Engine, case: int | None = None
                    ) -> tuple[list[CaseChain], dict[int, str]]:
    """:func:`verify` and :func:`heads` on one snapshot of the database, as ``workflow
    audit verify`` runs them on a live installation: a step committed while they read is
    wholly in what they see or wholly not (on PostgreSQL's read committed, its audit entry
    could be read after its case's links were, and be named a row added outside a step)."""
    with store.read(engine, snapshot=True) as conn:
        chains = verify(conn, case)
        return chains, heads(conn, [c.case for c in chains])


def _verify_case(conn: Connection, case: int, number: str, version: int) -> CaseChain:
    cl = t.chain_link
    links = list(conn.execute(select(cl).where(cl.c.application_id == case)
                              .order_by(cl.c.seq)).mappings())
    rows = {(spec.name, str(r["_key"])): (spec, r) for spec in KINDS.values()
            for r in conn.execute(spec.select_rows().where(spec.case_column() == case))
            .mappings()}

    def broken(seq: int | None, kind: str, key: str, problem: str) -> CaseChain:
        return CaseChain(case, number, len(links), Break(case, number, seq, kind, key, problem))

    prev, seen = GENESIS, set()
    for expected, link in enumerate(links, start=1):
        kind, key, seq = link["kind"], link["key"], link["seq"]
        if seq != expected:
            return broken(expected, "chain_link", "",
                          f"leddet mangler (næste led er nr. {seq}): en kæderække er slettet")
        if link["prev_sha256"] != prev:
            return broken(seq, kind, key, "leddets forrige hash passer ikke med leddet før: "
                          "kæden er ændret eller flettet")
        seen.add((kind, key))
        got = rows.get((kind, key))
        if got is None:
            return broken(seq, kind, key, "rækken er slettet")
        spec, row = got
        stored = link["digests"] or {}
        # the fields the link was made with (a field registered later is not in old links)
        fields = _fields([f for f in spec.fields if f in stored] or spec.fields, row)
        if link_hash(case, seq, kind, key, prev, fields) != link["sha256"]:
            changed = [f for f, d in _short(fields).items() if stored.get(f) != d]
            what = ("ændret: " + ", ".join(changed)) if changed else \
                "leddets hash er ændret"
            return broken(seq, kind, key, what)
        prev = link["sha256"]
    extra = sorted((k for k in rows if k not in seen), key=lambda k: (k[0], _num(k[1])))
    if extra:
        kind, key = extra[0]
        return broken(None, kind, key, "rækken er ikke i kæden (tilføjet uden om et trin)")
    audit = sorted(int(k) for kind, k in rows if kind == "audit_entry")
    gaps = [v for v in range(1, version + 1) if v not in set(audit)]
    if gaps:
        return broken(None, "audit_entry", str(gaps[0]),
                      f"rækken mangler (sagen er i version {version}): den er slettet")
    return CaseChain(case, number, len(links), None)


def _num(key: str) -> tuple[int, str]:
    return (int(key), "") if key.isdigit() else (0, key)


def heads(conn: Connection, cases: Iterable[int] | None = None) -> dict[int, str]:
    """The newest hash of each case's chain (to write down, print or compare later)."""
    cl = t.chain_link
    last = select(cl.c.application_id, func.max(cl.c.seq).label("seq")) \
        .group_by(cl.c.application_id)
    if cases is not None:
        last = last.where(cl.c.application_id.in_(list(cases)))
    sub = last.subquery()
    return {r.application_id: r.sha256 for r in conn.execute(
        select(cl.c.application_id, cl.c.sha256).join(sub, and_(
            sub.c.application_id == cl.c.application_id, sub.c.seq == cl.c.seq)))}


def kinds() -> Sequence[str]:
    return list(KINDS)
