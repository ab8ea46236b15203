"""The case file: uploaded files' bytes by sha256, and the journal (the aktliste).

``stored_file`` holds each file once by its sha256 (its bytes in ``stored_file_chunk``,
or in the folder WORKFLOW_FILES names); ``journal_entry`` numbers every document and note
of a case. The journal is filled in for the document versions made before it, in the order
they were made; the database refuses any change to a journal entry once written.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04 18:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
REFUSAL = "journal entries cannot be changed: a correction is a new entry"


def upgrade() -> None:
    op.create_table('stored_file',
    sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('place', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('sha256')
    )
    op.create_table('stored_file_chunk',
    sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['sha256'], ['stored_file.sha256'], ),
    sa.PrimaryKeyConstraint('sha256', 'seq')
    )
    op.create_table('journal_entry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('application_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('registered_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('registered_by', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
    sa.Column('dated', sa.Date(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('direction', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('doc_type', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('party', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('description', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('filename', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('media_type', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('size', sa.BigInteger(), nullable=True),
    sa.Column('document_version_id', sa.Integer(), nullable=True),
    sa.Column('text', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('corrects', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['application_id'], ['application.id'], ),
    sa.ForeignKeyConstraint(['document_version_id'], ['document_version.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('application_id', 'number', name='uq_journal_entry_number')
    )
    with op.batch_alter_table('journal_entry', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_journal_entry_application_id'), ['application_id'], unique=False)
    _backfill()
    _immutable()


def _backfill() -> None:
    """An entry for every document version made so far, numbered in the order made."""
    op.execute(sa.text(
        "INSERT INTO journal_entry (application_id, number, registered_at, registered_by, "
        "dated, kind, direction, doc_type, party, description, filename, media_type, "
        "sha256, size, document_version_id) "
        "SELECT d.application_id, ROW_NUMBER() OVER (PARTITION BY d.application_id "
        "ORDER BY dv.created_at, dv.id), dv.created_at, dv.created_by, dv.letter_date, "
        "'generated', 'internal', 'draft', d.party, d.name, '', :docx, dv.sha256, dv.size, "
        "dv.id FROM document_version dv JOIN document d ON d.id = dv.document_id"
    ).bindparams(docx=DOCX))


def _immutable() -> None:
    """No UPDATE of a journal entry, on either database."""
    if op.get_bind().dialect.name == "sqlite":
        op.execute("CREATE TRIGGER journal_entry_immutable BEFORE UPDATE ON journal_entry "
                   f"BEGIN SELECT RAISE(ABORT, '{REFUSAL}'); END")
        return
    op.execute("CREATE FUNCTION journal_entry_immutable() RETURNS trigger LANGUAGE plpgsql "
               f"AS $$ BEGIN RAISE EXCEPTION '{REFUSAL}'; END $$")
    op.execute("CREATE TRIGGER journal_entry_immutable BEFORE UPDATE ON journal_entry "
               "FOR EACH ROW EXECUTE FUNCTION journal_entry_immutable()")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS journal_entry_immutable")
    else:
        op.execute("DROP TRIGGER IF EXISTS journal_entry_immutable ON journal_entry")
        op.execute("DROP FUNCTION IF EXISTS journal_entry_immutable()")
    with op.batch_alter_table('journal_entry', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_journal_entry_application_id'))
    op.drop_table('journal_entry')
    op.drop_table('stored_file_chunk')
    op.drop_table('stored_file')
