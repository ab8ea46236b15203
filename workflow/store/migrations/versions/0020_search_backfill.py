"""Search finds the drafts made before revision 0018: the newest generated version of
each document gets its text indexed (``document:NAME:PARTY``), read back from the .docx
with python-docx (paragraphs, then table cells), where no text is indexed for it yet.

The live path indexes a draft's Markdown when it is made (``documents/drafts.py``); the
text read back here holds the same words, which is what search matches.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-05 02:00:00
"""

from __future__ import annotations

import io
from datetime import UTC, datetime

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None

MAX_BODY = 200_000   # as store/search.py keeps


def docx_text(content: bytes) -> str:
    """The words of a .docx: its paragraphs, then its tables' cells; '' if it is not one."""
    import docx

    try:
        document = docx.Document(io.BytesIO(content))
    except Exception:  # noqa: BLE001 - an unreadable file has no text to find it by
        return ""
    lines = [p.text for p in document.paragraphs]
    lines += [c.text for table in document.tables for row in table.rows for c in row.cells]
    return "\n".join(x for x in lines if x.strip()).replace("\0", " ")[:MAX_BODY]


def upgrade() -> None:
    bind = op.get_bind()
    doc = sa.table('document', sa.column('id', sa.Integer),
                   sa.column('application_id', sa.Integer), sa.column('name', sa.Text),
                   sa.column('party', sa.Text))
    dv = sa.table('document_version', sa.column('id', sa.Integer),
                  sa.column('document_id', sa.Integer), sa.column('number', sa.Integer),
                  sa.column('origin', sa.Text), sa.column('content', sa.LargeBinary))
    entry = sa.table('search_entry', sa.column('application_id', sa.Integer),
                     sa.column('source', sa.Text), sa.column('body', sa.Text),
                     sa.column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime))
    indexed = {(r.application_id, r.source) for r in bind.execute(
        sa.select(entry.c.application_id, entry.c.source)
        .where(entry.c.source.like('document:%')))}
    newest = (sa.select(dv.c.document_id, sa.func.max(dv.c.number).label('number'))
              .where(dv.c.origin == 'generated').group_by(dv.c.document_id).subquery())
    wanted = [(r.id, r.application_id, f"document:{r.name}:{r.party or ''}", r.number)
              for r in bind.execute(sa.select(doc.c.id, doc.c.application_id, doc.c.name,
                                              doc.c.party, newest.c.number)
                                    .join(newest, newest.c.document_id == doc.c.id))]
    now = datetime.now(UTC)
    for doc_id, app_id, source, number in wanted:
        if (app_id, source) in indexed:
            continue
        content = bind.execute(sa.select(dv.c.content).where(
            dv.c.document_id == doc_id, dv.c.number == number)).scalar_one()
        body = docx_text(bytes(content))
        if body:
            bind.execute(sa.insert(entry).values(application_id=app_id, source=source,
                                                 body=body, updated_at=now))


def downgrade() -> None:
    """Nothing to undo: the entries are what the live path would have written."""
