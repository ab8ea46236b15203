"""The directory groups of single sign-on, as a SQLModel table (beside :mod:`.models`):
which role, municipality and cooperation a group of the organisation's directory (Entra ID,
AD FS) gives its members. Created by Alembic like the rest; :mod:`.tables` registers it.
"""

from __future__ import annotations

from sqlmodel import Field, SQLModel


class DirectoryGroup(SQLModel, table=True):
    """A directory group a signing-in user may be a member of, and what it gives."""

    __tablename__ = "directory_group"

    group: str = Field(primary_key=True, max_length=200,
                       description="as the provider names it in the groups claim: an Entra "
                                   "ID object id, an AD FS group or role name")
    role: str = Field(max_length=40)
    municipality: str | None = Field(default=None, foreign_key="municipality.id",
                                     max_length=40)
    cooperation_id: str | None = Field(default=None, max_length=40,
                                       description="an admin limited to one cooperation")
