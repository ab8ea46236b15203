"""Lists and search that scale: the parties of a case as indexed rows
(``application_party``), the text a case is found by (``search_entry``: on PostgreSQL a
generated ``tsvector`` in the ``danish`` configuration under a GIN index; on SQLite an
FTS5 table kept by triggers), and the indexes the lists sort by (updated, state, case
number). Existing cases are backfilled: their parties, their case number and title, and
the newest version of each of their sections (drafts are indexed as they are made).

Revision ID: 0018
Revises: 0016
Create Date: 2026-12-04 21:20:00
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None

FTS_TRIGGERS = [
    """CREATE TRIGGER search_entry_ai AFTER INSERT ON search_entry BEGIN
         INSERT INTO search_fts(rowid, body) VALUES (new.id, new.body); END""",
    """CREATE TRIGGER search_entry_ad AFTER DELETE ON search_entry BEGIN
         INSERT INTO search_fts(search_fts, rowid, body) VALUES ('delete', old.id, old.body);
       END""",
    """CREATE TRIGGER search_entry_au AFTER UPDATE ON search_entry BEGIN
         INSERT INTO search_fts(search_fts, rowid, body) VALUES ('delete', old.id, old.body);
         INSERT INTO search_fts(rowid, body) VALUES (new.id, new.body); END""",
]


def upgrade() -> None:
    op.create_table(
        'application_party',
        sa.Column('application_id', sa.Integer(), nullable=False),
        sa.Column('municipality', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.ForeignKeyConstraint(['application_id'], ['application.id']),
        sa.PrimaryKeyConstraint('application_id', 'municipality'))
    op.create_index('ix_application_party_municipality', 'application_party',
                    ['municipality', 'application_id'], unique=False)
    op.create_table(
        'search_entry',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('application_id', sa.Integer(), nullable=False),
        sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['application_id'], ['application.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('application_id', 'source', name='uq_search_entry_source'))
    op.create_index(op.f('ix_search_entry_application_id'), 'search_entry',
                    ['application_id'], unique=False)
    op.create_index('ix_application_updated', 'application', ['updated_at', 'id'])
    op.create_index('ix_application_state_updated', 'application',
                    ['state', 'updated_at', 'id'])
    op.create_index('ix_application_case_number', 'application', ['case_number', 'id'])
    op.create_index('ix_application_process_updated', 'application',
                    ['process', 'updated_at', 'id'])
    op.create_index('ix_application_kind_updated', 'application', ['kind', 'updated_at', 'id'])
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("ALTER TABLE search_entry ADD COLUMN tsv tsvector GENERATED ALWAYS AS "
                   "(to_tsvector('danish', body)) STORED")
        op.execute("CREATE INDEX ix_search_entry_tsv ON search_entry USING gin (tsv)")
    else:
        op.execute("CREATE VIRTUAL TABLE search_fts USING fts5(body, content='search_entry', "
                   "content_rowid='id', tokenize='unicode61 remove_diacritics 0')")
        for trigger in FTS_TRIGGERS:
            op.execute(trigger)
    _backfill(bind)


def _backfill(bind: sa.Connection) -> None:
    app = sa.table('application', sa.column('id', sa.Integer), sa.column('parties', sa.JSON),
                   sa.column('title', sa.Text), sa.column('case_number', sa.Text))
    party = sa.table('application_party', sa.column('application_id', sa.Integer),
                     sa.column('municipality', sa.Text))
    entry = sa.table('search_entry', sa.column('application_id', sa.Integer),
                     sa.column('source', sa.Text), sa.column('body', sa.Text),
                     sa.column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime))
    cs = sa.table('case_section', sa.column('application_id', sa.Integer),
                  sa.column('name', sa.Text), sa.column('number', sa.Integer),
                  sa.column('body', sa.Text))
    now = datetime.now(UTC)
    parties, entries = [], []
    for r in bind.execute(sa.select(app.c.id, app.c.parties, app.c.title, app.c.case_number)):
        parties += [{"application_id": r.id, "municipality": m}
                    for m in dict.fromkeys(r.parties or [])]
        entries.append({"application_id": r.id, "source": "case", "updated_at": now,
                        "body": f"{r.case_number} {r.title}"})
    newest: dict[tuple[int, str], tuple[int, str]] = {}
    for r in bind.execute(sa.select(cs.c.application_id, cs.c.name, cs.c.number, cs.c.body)):
        key = (r.application_id, r.name)
        if key not in newest or newest[key][0] < r.number:
            newest[key] = (r.number, r.body)
    entries += [{"application_id": a, "source": f"section:{n}", "body": body,
                 "updated_at": now} for (a, n), (_, body) in newest.items()]
    if parties:
        bind.execute(sa.insert(party), parties)
    if entries:
        bind.execute(sa.insert(entry), entries)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        for name in ("search_entry_ai", "search_entry_ad", "search_entry_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS search_fts")
    for name in ('ix_application_kind_updated', 'ix_application_process_updated',
                 'ix_application_case_number', 'ix_application_state_updated',
                 'ix_application_updated'):
        op.drop_index(name, table_name='application')
    op.drop_index(op.f('ix_search_entry_application_id'), table_name='search_entry')
    op.drop_table('search_entry')
    op.drop_index('ix_application_party_municipality', table_name='application_party')
    op.drop_table('application_party')
