"""Command line: the tamper-evident record (``workflow audit verify``) and the regeneration
of a stored document version (``workflow reproduce``), registered on ``workflow.cli.app.cli``.

``audit verify`` is the operator's check, like a backup: it reads WORKFLOW_DATABASE_URL
directly, with no acting user. ``reproduce`` hands out a document's content, so it asks
who is acting, as ``download`` does.
"""

from __future__ import annotations

import click

from .common import as_option, json_option, open_workflow
from .plain import emit_json


@click.group()
def audit() -> None:
    """The tamper-evident record of every case."""


@audit.command("verify")
@click.argument("app_id", type=int, metavar="[ID]", required=False)
@json_option
def audit_verify(app_id: int | None, as_json: bool) -> None:
    """Recompute the hash chain of one case (or of all) and name the first broken entry.

    Every audit entry and document version carries the hash of the one before it in its
    case; a row changed, deleted or added by hand breaks the chain there. Exits with 11
    when a chain is broken."""
    from ..config import Settings
    from ..errors import NotFound, NotProven, Said
    from ..store import chain
    from ..store import database as store

    engine = store.make_engine(Settings.from_env().database_url)
    try:
        store.require_schema(engine)
        chains, heads = chain.verify_snapshot(engine, app_id)
    finally:
        engine.dispose()
    if app_id is not None and not chains:
        raise NotFound.application(app_id)
    broken = [c for c in chains if c.broken is not None]
    if as_json:
        emit_json([{"case": c.case, "case_number": c.case_number, "links": c.links,
                    "head": heads.get(c.case), "ok": c.broken is None,
                    "broken": None if c.broken is None else {
                        "kind": c.broken.kind, "key": c.broken.key, "seq": c.broken.seq,
                        "problem": c.broken.problem}} for c in chains])
    else:
        for c in chains:
            if c.broken is None:
                head = heads.get(c.case, "")
                click.echo(f"sag {c.case} ({c.case_number}): {c.links} led, kæden holder "
                           f"(seneste hash {head[:16]}…)")
            else:
                click.echo(f"BRUDT {c.broken}")
    if broken:
        first = broken[0].broken
        raise NotProven(Said(
            f"the chain of {len(broken)} of {len(chains)} cases is broken; first: {first}",
            f"kæden er brudt i {len(broken)} af {len(chains)} sager; først: {first}"))


@click.command()
@click.argument("document_id", type=int, metavar="DOC")
@click.option("--version", "number", type=int, metavar="N", help="Default: the newest.")
@as_option
@json_option
def reproduce(document_id: int, number: int | None, user: str | None, as_json: bool) -> None:
    """Make a stored document version again and compare it with the stored bytes.

    The version is regenerated from what was stored with it (its rendering context,
    letterhead and engine version) and the templates as they are now; says "identisk",
    or what differs and why (a changed template, another engine). Exits with 11 when the
    bytes differ."""
    from ..errors import NotProven, Said

    got = open_workflow().reproduce(document_id, user=user, number=number)
    if as_json:
        emit_json({"document": got.document_id, "number": got.number,
                   "identical": got.identical, "stored_sha256": got.stored_sha256,
                   "new_sha256": got.new_sha256, "reasons": got.reasons})
    else:
        click.echo(str(got))
    if not got.identical:
        raise NotProven(Said(
            f"document {document_id} version {got.number} does not regenerate to its "
            f"stored bytes", f"dokument {document_id} version {got.number} kan ikke laves "
            f"igen til de samme bytes"))


COMMANDS = (audit, reproduce)
