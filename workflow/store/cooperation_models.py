"""The tables of an installation's cooperations: the cooperations, their members and their
areas (keyed within the cooperation), as ``workflow setup`` writes them from an
installation file (``workflow/installation/``)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import JSON, Column, ForeignKeyConstraint
from sqlmodel import Field, SQLModel

AREA_KEY = (["cooperation_id", "area_id"], ["area.cooperation_id", "area.id"])


class Cooperation(SQLModel, table=True):
    """A mandatory cooperation (or any group of municipalities sharing areas): its cases,
    areas and members; an installation may hold many (``installation/``)."""

    id: str = Field(primary_key=True, max_length=40, description='e.g. "ishoj-vallensbaek"')
    name: str = Field(max_length=200, description="in Danish, as the letters name it")
    texts: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False),
                                  description="local texts by key (background: markdown)")
    settings: dict[str, Any] = Field(default_factory=dict,
                                     sa_column=Column(JSON, nullable=False),
                                     description="e.g. area_count: {1: {min, max}}")


class CooperationMember(SQLModel, table=True):
    __tablename__ = "cooperation_member"

    cooperation_id: str = Field(foreign_key="cooperation.id", primary_key=True,
                                max_length=40)
    municipality_id: str = Field(foreign_key="municipality.id", primary_key=True,
                                 max_length=40)


class Area(SQLModel, table=True):
    """An area of a cooperation: its ``id`` (as states.yaml names it, e.g. employment) is
    unique within the cooperation; the key is (cooperation_id, id)."""

    cooperation_id: str = Field(foreign_key="cooperation.id", primary_key=True,
                                max_length=40)
    id: str = Field(primary_key=True, max_length=40)
    name_da: str = Field(max_length=200)
    name_en: str = Field(max_length=200)
    law_ref: str = Field(default="", max_length=200, description="§ 1, stk. 2 reference")
    run_by: str = Field(foreign_key="municipality.id", max_length=40,
                        description="the bemyndigede municipality today")
    position: int = Field(default=0)
    released_on: date | None = None
    released_by: int | None = Field(default=None, foreign_key="application.id")
    parts: list[dict[str, Any]] | None = Field(
        default=None, sa_column=Column(JSON, nullable=True),
        description='the parts an application may ask for alone: [{"id", "name_da", '
                    '"law_ref"}]; none: the area is asked for whole')


class AreaPartRelease(SQLModel, table=True):
    """A part of an area released by a partial grant (a whole area: ``area.released_on``)."""

    __tablename__ = "area_part_release"
    __table_args__ = (ForeignKeyConstraint(*AREA_KEY),)

    cooperation_id: str = Field(primary_key=True, max_length=40)
    area_id: str = Field(primary_key=True, max_length=40)
    part_id: str = Field(primary_key=True, max_length=40)
    released_on: date
    released_by: int | None = Field(default=None, foreign_key="application.id")
