"""A case's documents as they are read: listed with every version, whether council
approvals still match, who may download which, and the downloads themselves (.docx or
PDF), each recorded in the history."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.engine import Connection

from .. import danish
from ..errors import DocumentError, NotFound, PermissionDenied, Said
from ..process.spec import Definition
from ..store import database as store
from ..store import keyset
from ..store import tables as t
from ..store.keyset import Entry, Position
from .pdf import convert_to_pdf


# ------------------------------------------------------------------------ reading
def list_documents(conn: Connection, definition: Definition, app_id: int) -> list[dict[str, Any]]:
    """Documents of an application with every version (no bytes) and approval checks."""
    return documents_of(conn, definition, [app_id])[app_id]


def documents_of(conn: Connection, definition: Definition, app_ids: Sequence[int], *,
                 versions: bool = True) -> dict[int, list[dict[str, Any]]]:
    """:func:`list_documents` of several applications in three statements, by id; with
    ``versions=False`` without the list of versions (``latest`` and the approvals' checks
    still there): only each document's newest version is read, as a list of cases
    shows them."""
    from ..process.acts import acts_of

    d = t.document
    docs: dict[int, dict[str, Any]] = {}
    by_app: dict[int, dict[int, dict[str, Any]]] = {app_id: {} for app_id in app_ids}
    for r in conn.execute(select(d).where(d.c.application_id.in_(list(app_ids)))
                          .order_by(d.c.id)):
        spec = definition.drafts.get(r.name)
        docs[r.id] = by_app[r.application_id][r.id] = {
            "id": r.id, "name": r.name, "party": r.party or None,
            "label": spec.label.da if spec else r.name,
            **({"versions": []} if versions else {})}
    if not docs:
        return {app_id: [] for app_id in app_ids}
    latest = _every_version(conn, docs) if versions else _newest_versions(conn, docs)
    for doc_id, doc in docs.items():
        doc["latest"] = latest[doc_id]["number"] if doc_id in latest else None
        doc["approvals"] = []
    # the acts that approve drafts: a council's decision, its acceptance of conditions
    every = acts_of(conn, {app_id: 0 for app_id in app_ids if by_app[app_id]})
    for app_id, named in every.items():
        for party, act in ((p, a) for acts in named.values() for p, a in acts.items()):
            for item in act.get("approved", []):
                approved_doc = by_app[app_id].get(item["document_id"])
                if approved_doc is not None:
                    current = latest[approved_doc["id"]]
                    approved_doc["approvals"].append({
                        "party": party, "number": item["number"], "sha256": item["sha256"],
                        "matches": current["approval_sha256"] == item["approval_sha256"],
                        "same_bytes": current["sha256"] == item["sha256"]})
    return {app_id: list(found.values()) for app_id, found in by_app.items()}


def _every_version(conn: Connection, docs: dict[int, dict[str, Any]]
                   ) -> dict[int, dict[str, Any]]:
    """Every version of ``docs`` into each one's ``versions``, oldest first (no bytes); the
    newest of each, by document."""
    dv = t.document_version
    cols = [c for c in dv.c if c.name not in ("content", "input")]
    for r in conn.execute(select(*cols).where(dv.c.document_id.in_(list(docs)))
                          .order_by(dv.c.document_id, dv.c.number)):
        docs[r.document_id]["versions"].append({
            "number": r.number, "created_at": r.created_at.isoformat(),
            "created_by": r.created_by, "trigger": r.trigger, "audit_version": r.audit_version,
            "state": r.state, "letter_date": r.letter_date.isoformat(), "template": r.template,
            "template_sha256": r.template_sha256, "input_sha256": r.input_sha256,
            "approval_sha256": r.approval_sha256,
            "sha256": r.sha256, "size": r.size, "stale": r.stale,
            "stale_at": r.stale_at.isoformat() if r.stale_at else None,
            "origin": r.origin, "edited_from": r.edited_from, "note": r.note})
    return {k: v["versions"][-1] for k, v in docs.items() if v["versions"]}


def _newest_versions(conn: Connection, docs: dict[int, dict[str, Any]]
                     ) -> dict[int, dict[str, Any]]:
    """Each document's newest version: its number and the hashes approvals are checked by."""
    dv = t.document_version
    newest = (select(dv.c.document_id, func.max(dv.c.number).label("number"))
              .where(dv.c.document_id.in_(list(docs))).group_by(dv.c.document_id).subquery())
    q = (select(dv.c.document_id, dv.c.number, dv.c.sha256, dv.c.approval_sha256)
         .join(newest, (dv.c.document_id == newest.c.document_id)
               & (dv.c.number == newest.c.number)))
    return {r.document_id: {"number": r.number, "sha256": r.sha256,
                            "approval_sha256": r.approval_sha256} for r in conn.execute(q)}


def current_council_acts(conn: Connection, app_id: int) -> dict[str, dict[str, Any]]:
    from ..process.acts import current_acts

    return dict(current_acts(conn, app_id, 0, "council"))


def _may_not_download(definition: Definition, user: Any, draft: str) -> tuple[str, str]:
    """Who may download ``draft``, said to a user who may not (in English, in Danish)."""
    spec = definition.drafts.get(draft)
    extra = spec.readers if spec else ()
    roles = list(definition.download_roles) + [r for r in extra
                                               if r not in definition.download_roles]
    own = " (their own municipality's)" if spec and spec.per_party and extra else ""
    eget = " (egen kommunes)" if own else ""
    label = spec.label.da if spec else draft
    return (f"{user.id} ({user.role}) may not download {draft}; that takes "
            f"{' or '.join(roles)}{own}",
            f"»{label}« kan hentes af "
            f"{danish.join_or(f'»{definition.roles[r].da}«' for r in roles)}{eget}")


@dataclass(frozen=True)
class Download:
    filename: str
    content: bytes
    number: int
    sha256: str
    format: str


def readable_version(conn: Connection, definition: Definition, *, document_id: int,
                     user: Any, number: int | None, check_party: Any) -> tuple[Any, Any]:
    """A document and one of its versions (default: the newest), if ``user`` may read it."""
    d, dv, a = t.document, t.document_version, t.application
    doc = conn.execute(select(d.c.id, d.c.name, d.c.party, d.c.application_id,
                              a.c.case_number, a.c.parties)
                       .join(a, a.c.id == d.c.application_id)
                       .where(d.c.id == document_id)).first()
    if doc is None:
        raise NotFound(Said(f"no document {document_id}",
                            f"dokument {document_id} findes ikke"))
    check_party(user, doc.application_id, doc.parties, doc.case_number)
    if not definition.may_download(user.role, user.municipality, doc.name,
                                   doc.party or None):
        en, da = _may_not_download(definition, user, doc.name)
        raise PermissionDenied(Said(en, da))
    q = select(dv).where(dv.c.document_id == document_id)
    q = q.where(dv.c.number == number) if number is not None else \
        q.where(dv.c.number == select(func.max(dv.c.number))
                .where(dv.c.document_id == document_id).scalar_subquery())
    ver = conn.execute(q).mappings().first()
    if ver is None:
        raise NotFound(Said(f"document {document_id} has no version {number}",
                            f"dokument {document_id} har ingen version {number}"))
    return doc, ver


def download(engine: Any, definition: Definition, *, document_id: int, user: Any,
             number: int | None, pdf: bool, now: datetime,
             check_party: Any) -> Download:
    """The exact stored bytes of a version (or a PDF of them), logged."""
    with store.read(engine) as conn:
        doc, ver = readable_version(conn, definition, document_id=document_id, user=user,
                                    number=number, check_party=check_party)
    content = bytes(ver["content"])
    if hashlib.sha256(content).hexdigest() != ver["sha256"]:
        raise DocumentError(f"document {document_id} version {ver['number']}: the stored bytes "
                            f"do not match their sha256; refusing to hand them out")
    fmt = "pdf" if pdf else "docx"
    if pdf:
        content = convert_to_pdf(content)
    stem = f"{doc.case_number}-{doc.name}{'-' + doc.party if doc.party else ''}-v{ver['number']}"
    with store.write(engine) as conn:
        conn.execute(insert(t.document_download).values(
            version_id=ver["id"], application_id=doc.application_id, user_id=user.id, at=now,
            sha256=ver["sha256"], format=fmt))
    return Download(f"{stem}.{fmt}", content, ver["number"], ver["sha256"], fmt)


def downloads(conn: Connection, app_id: int, *, after: Position | None = None,
              limit: int | None = None, newest: bool = False) -> list[Entry]:
    """The download log of an application, as history entries with their keys (those after
    ``after``, at most ``limit``)."""
    dd, dv, d = t.document_download, t.document_version, t.document
    rows = conn.execute(select(dd.c.id.label("row_id"), dd.c.user_id, dd.c.at, dd.c.sha256,
                               dd.c.format, dv.c.number, d.c.id, d.c.name, d.c.party)
                        .join(dv, dv.c.id == dd.c.version_id).join(d, d.c.id == dv.c.document_id)
                        .where(dd.c.application_id == app_id,
                               keyset.after(dd.c.at, dd.c.id, after))
                        .order_by(*keyset.order(dd.c.at, dd.c.id, newest)).limit(limit))
    return [((r.at, keyset.DOWNLOADS, r.row_id),
             {"version": None, "trigger": "download", "from": None, "to": None,
              "user": r.user_id, "role": None, "municipality": None, "at": r.at.isoformat(),
              "comment": "", "data": {"document": r.id, "name": r.name,
                                      "party": r.party or None, "number": r.number,
                                      "sha256": r.sha256, "format": r.format}}) for r in rows]
