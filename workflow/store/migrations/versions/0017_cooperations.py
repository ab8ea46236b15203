"""Cooperations: many in one installation, from an installation file.

``cooperation`` and ``cooperation_member`` are new. An area is keyed within its
cooperation, (cooperation_id, id), so two cooperations may both have "employment"; the
claims (``application_area``) and released parts (``area_part_release``) carry the
cooperation too, and a live claim is unique per (cooperation, area, part). These three
tables are rebuilt for the new keys. ``application.cooperation_id`` says whose case it
is; ``user.cooperation_id`` limits an admin to one cooperation. The municipality gets
what its letters need: council type, logo, signatories, contacts, agenda layout.

Existing rows get the one cooperation there was: made of the municipalities marked
``cooperation``, with the id of their ids joined by "-" (e.g. "ishoj-vallensbaek").

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04 21:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def _s(n: int) -> sqlmodel.sql.sqltypes.AutoString:
    return sqlmodel.sql.sqltypes.AutoString(length=n)


def _postgresql() -> bool:
    return bool(op.get_bind().dialect.name == "postgresql")


def _one_cooperation() -> str | None:
    """The cooperation existing rows belong to, made of the members there are."""
    conn = op.get_bind()
    members = conn.execute(sa.text("SELECT id, name FROM municipality WHERE cooperation "
                                   "ORDER BY id")).all()
    rows = sum(conn.execute(sa.text(f"SELECT COUNT(*) FROM {t}")).scalar() or 0
               for t in ("area", "application"))
    if not members and not rows:
        return None
    coop = "-".join(m.id for m in members)[:40] or "cooperation"
    names = [str(m.name).removesuffix(" Kommune") for m in members]
    name = (" og ".join(names) + " Kommuners forpligtende samarbejde") if names else coop
    conn.execute(sa.text("INSERT INTO cooperation (id, name, texts, settings) "
                         "VALUES (:id, :name, '{}', '{}')"), {"id": coop, "name": name})
    for m in members:
        conn.execute(sa.text("INSERT INTO cooperation_member VALUES (:c, :m)"),
                     {"c": coop, "m": m.id})
    return coop


def _areas() -> None:
    op.create_table(
        'area_new',
        sa.Column('cooperation_id', _s(40), nullable=False),
        sa.Column('id', _s(40), nullable=False),
        sa.Column('name_da', _s(200), nullable=False),
        sa.Column('name_en', _s(200), nullable=False),
        sa.Column('law_ref', _s(200), nullable=False),
        sa.Column('run_by', _s(40), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('released_on', sa.Date(), nullable=True),
        sa.Column('released_by', sa.Integer(), nullable=True),
        sa.Column('parts', sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(['cooperation_id'], ['cooperation.id'], ),
        sa.ForeignKeyConstraint(['released_by'], ['application.id'], ),
        sa.ForeignKeyConstraint(['run_by'], ['municipality.id'], ),
        sa.PrimaryKeyConstraint('cooperation_id', 'id'))
    op.create_table(
        'area_part_release_new',
        sa.Column('cooperation_id', _s(40), nullable=False),
        sa.Column('area_id', _s(40), nullable=False),
        sa.Column('part_id', _s(40), nullable=False),
        sa.Column('released_on', sa.Date(), nullable=False),
        sa.Column('released_by', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['cooperation_id', 'area_id'],
                                ['area_new.cooperation_id', 'area_new.id'], ),
        sa.ForeignKeyConstraint(['released_by'], ['application.id'], ),
        sa.PrimaryKeyConstraint('cooperation_id', 'area_id', 'part_id'))
    with op.batch_alter_table('application_area', schema=None) as batch_op:
        batch_op.drop_index('uq_area_live_claim')
        batch_op.drop_index(batch_op.f('ix_application_area_application_id'))
    if _postgresql():
        op.drop_constraint('uq_application_area_claim', 'application_area', type_='unique')
    op.create_table(
        'application_area_new',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('application_id', sa.Integer(), nullable=False),
        sa.Column('cooperation_id', _s(40), nullable=False),
        sa.Column('area_id', _s(40), nullable=False),
        sa.Column('part_id', _s(40), nullable=False, server_default=''),
        sa.Column('live', sa.Boolean(), nullable=False),
        sa.Column('outcome', _s(40), nullable=True),
        sa.ForeignKeyConstraint(['application_id'], ['application.id'], ),
        sa.ForeignKeyConstraint(['cooperation_id', 'area_id'],
                                ['area_new.cooperation_id', 'area_new.id'], ),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('application_id', 'area_id', 'part_id',
                            name='uq_application_area_claim'))


def _copy(coop: str | None) -> None:
    if coop is None:
        return
    area = "name_da, name_en, law_ref, run_by, position, released_on, released_by, parts"
    claim = "id, application_id, area_id, part_id, live, outcome"
    release = "area_id, part_id, released_on, released_by"
    for table, cols in (("area", area), ("area_part_release", release),
                        ("application_area", claim)):
        keyed = ("id, " + cols) if table == "area" else cols
        op.get_bind().execute(sa.text(
            f"INSERT INTO {table}_new (cooperation_id, {keyed}) "
            f"SELECT :c, {keyed} FROM {table}"), {"c": coop})


def upgrade() -> None:
    op.create_table(
        'cooperation',
        sa.Column('id', _s(40), nullable=False),
        sa.Column('name', _s(200), nullable=False),
        sa.Column('texts', sa.JSON(), nullable=False),
        sa.Column('settings', sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint('id'))
    op.create_table(
        'cooperation_member',
        sa.Column('cooperation_id', _s(40), nullable=False),
        sa.Column('municipality_id', _s(40), nullable=False),
        sa.ForeignKeyConstraint(['cooperation_id'], ['cooperation.id'], ),
        sa.ForeignKeyConstraint(['municipality_id'], ['municipality.id'], ),
        sa.PrimaryKeyConstraint('cooperation_id', 'municipality_id'))
    with op.batch_alter_table('municipality', schema=None) as batch_op:
        batch_op.add_column(sa.Column('council_type', _s(40), nullable=False,
                                      server_default='kommunalbestyrelse'))
        batch_op.add_column(sa.Column('logo', sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column('logo_type', _s(40), nullable=True))
        batch_op.add_column(sa.Column('signatories', sa.JSON(), nullable=False,
                                      server_default='[]'))
        batch_op.add_column(sa.Column('contacts', sa.JSON(), nullable=False,
                                      server_default='[]'))
        batch_op.add_column(sa.Column('agenda_layout', _s(40), nullable=False,
                                      server_default='standard'))
        batch_op.add_column(sa.Column('agenda_template', _s(200), nullable=True))
    op.execute("UPDATE municipality SET council_type = 'byraad' WHERE council LIKE '%Byråd%'")
    coop = _one_cooperation()
    _areas()
    _copy(coop)
    for table in ("application_area", "area_part_release", "area"):
        op.drop_table(table)
    for table in ("area", "area_part_release", "application_area"):
        op.rename_table(f"{table}_new", table)
    with op.batch_alter_table('application_area', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_application_area_application_id'),
                              ['application_id'], unique=False)
        batch_op.create_index('uq_area_live_claim', ['cooperation_id', 'area_id', 'part_id'],
                              unique=True, sqlite_where=sa.text('live'),
                              postgresql_where=sa.text('live'))
    if _postgresql():   # the copied ids: the sequence follows
        op.execute("SELECT setval(pg_get_serial_sequence('application_area', 'id'), "
                   "COALESCE((SELECT MAX(id) FROM application_area), 0) + 1, false)")
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('cooperation_id', _s(40), nullable=True))
        batch_op.create_foreign_key('fk_user_cooperation_id', 'cooperation',
                                    ['cooperation_id'], ['id'])
    with op.batch_alter_table('application', schema=None) as batch_op:
        batch_op.add_column(sa.Column('cooperation_id', _s(40), nullable=True))
    if coop is not None:
        op.get_bind().execute(sa.text("UPDATE application SET cooperation_id = :c"),
                              {"c": coop})
    with op.batch_alter_table('application', schema=None) as batch_op:
        batch_op.alter_column('cooperation_id', existing_type=_s(40), nullable=False)
        batch_op.create_foreign_key('fk_application_cooperation_id', 'cooperation',
                                    ['cooperation_id'], ['id'])


def downgrade() -> None:
    """Back to one cooperation: refused if the database holds more than one."""
    conn = op.get_bind()
    if (conn.execute(sa.text("SELECT COUNT(*) FROM cooperation")).scalar() or 0) > 1:
        raise RuntimeError("the database holds more than one cooperation: 0016 had one")
    with op.batch_alter_table('application', schema=None) as batch_op:
        batch_op.drop_constraint('fk_application_cooperation_id', type_='foreignkey')
        batch_op.drop_column('cooperation_id')
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_constraint('fk_user_cooperation_id', type_='foreignkey')
        batch_op.drop_column('cooperation_id')
    for table in ("application_area", "area_part_release", "area"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('cooperation_id')
    with op.batch_alter_table('municipality', schema=None) as batch_op:
        for column in ('agenda_template', 'agenda_layout', 'contacts', 'signatories',
                       'logo_type', 'logo', 'council_type'):
            batch_op.drop_column(column)
    op.drop_table('cooperation_member')
    op.drop_table('cooperation')
