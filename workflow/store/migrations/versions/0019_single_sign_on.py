"""Single sign-on: a user signed in by OpenID Connect is known by the provider
(``oidc_issuer``) and its subject (``oidc_subject``), unique together; the directory groups
(``directory_group``) say which role, municipality and cooperation a group gives.

Revision ID: 0019
Revises: 0016
Create Date: 2026-12-04 21:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('oidc_issuer', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True))
        batch_op.add_column(sa.Column('oidc_subject', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True))
    # an index, not a constraint: SQLite would have to copy the table for a constraint
    op.create_index('uq_user_oidc', 'user', ['oidc_issuer', 'oidc_subject'], unique=True)
    op.create_table('directory_group',
    sa.Column('group', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('role', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('municipality', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('cooperation_id', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.ForeignKeyConstraint(['municipality'], ['municipality.id'], ),
    sa.PrimaryKeyConstraint('group')
    )


def downgrade() -> None:
    op.drop_table('directory_group')
    op.drop_index('uq_user_oidc', table_name='user')
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_column('oidc_subject')
        batch_op.drop_column('oidc_issuer')
