"""Opening a case: the checks of the case it is opened from, and the rows a new case is
(the application, its case number, its first audit entry, its fixed area claims and its
deadlines), written in the caller's transaction."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection

from ..danish import join_and, join_or
from ..errors import GuardFailed, InvalidData, NotFound, Said, in_danish
from ..process import values
from ..process.acts import insert_claims, unavailable_areas
from ..process.spec import HAPPENED, KindSpec, ProcessSpec
from ..store import chain, search
from ..store import tables as t

if TYPE_CHECKING:
    from .workflow import Actor, Workflow


def check_source(wf: Workflow, conn: Connection, spec: KindSpec, source: int,
                 vals: Mapping[str, Any], actor: Actor) -> None:
    """A case may be opened from ``source`` if it is of the kind's source process, in
    one of its states, and was granted the area named in the new case's data."""
    assert spec.opens_from is not None
    process, states, area_field = spec.opens_from
    a, aa = t.application, t.application_area
    row = conn.execute(select(a.c.process, a.c.state, a.c.parties, a.c.case_number)
                       .where(a.c.id == source)).first()
    if row is None:
        raise NotFound.application(source)
    wf.check_party(actor, source, list(row.parties), row.case_number)
    if row.process != process or row.state not in states:
        raise GuardFailed(Said(
            f"a {spec.name} is opened from a {process} case in {' or '.join(states)}; "
            f"{row.case_number} is {row.state}",
            f"»{spec.label.da}« oprettes fra en sag i "
            f"{join_or(wf.names.state(s) for s in states)}; "
            f"{row.case_number} er i {wf.names.state(row.state)}"))
    area = str(vals.get(area_field))   # an area (granted whole) or a part (social:s82)
    area_id, _, part = area.partition(":")
    granted = conn.execute(select(aa.c.id).where(
        aa.c.application_id == source, aa.c.area_id == area_id, aa.c.part_id == part,
        aa.c.outcome == "granted")).first()
    if granted is None:
        raise GuardFailed(Said(f"{row.case_number} was not granted the area {area!r}",
                               f"{row.case_number} fik ikke bevilget området "
                               f"{wf.names.area(str(area))}"))


def insert_case(wf: Workflow, conn: Connection, *, process: ProcessSpec, kind: str,
                round: int | None, title: str, actor_id: str, role: str,
                municipality: str | None, now: datetime, day: date, parties: list[str],
                data: dict[str, Any], cooperation: str,
                link: tuple[int, str] | None = None) -> int:
    """Insert a case opened at ``now`` (recorded) on ``day`` (as it happened); its case
    number carries the year of ``day``."""
    initial = process.kinds[kind].initial
    a = t.application
    app_id = conn.execute(insert(a).values(
        process=process.name, cooperation_id=cooperation, kind=kind, round=round,
        title=title, case_number="",
        state=initial, version=1, entered_version=1, entered_at=now, entered_on=day,
        opened_on=day, definition_hash=wf.definition.hash, parties=parties, data=data,
        created_at=now, created_by=actor_id, updated_at=now, updated_by=actor_id,
    ).returning(a.c.id)).scalar_one()
    case = process.case_number.format(id=app_id, yy=f"{day.year % 100:02d}", yyyy=day.year)
    conn.execute(update(a).where(a.c.id == app_id).values(case_number=case))
    search.set_parties(conn, app_id, parties)
    search.index_text(conn, app_id, "case", f"{case} {title}", now)
    audit: dict[str, Any] = {"kind": kind, "title": title, **data}
    if round is not None:
        audit["round"] = round
    if link:
        audit["link"] = {"kind": link[1], "application": link[0]}
        conn.execute(insert(t.link).values(from_id=app_id, to_id=link[0], kind=link[1],
                                           created_at=now))
    conn.execute(insert(t.audit_entry).values(
        application_id=app_id, version=1, trigger="create", from_state=None,
        to_state=initial, user_id=actor_id, role=role, municipality=municipality, at=now,
        happened_on=day, comment="", data=audit))
    chain.append(conn, app_id, "audit_entry", 1)
    fixed = process.kinds[kind].areas
    if fixed:
        taken = unavailable_areas(conn, cooperation)
        clash = [x for x in fixed if x in taken]
        if clash:
            raise GuardFailed(Said(
                f"cannot open a {kind} application: not available: "
                + ", ".join(f"{x} ({taken[x]})" for x in clash),
                "sagen kan ikke oprettes, fordi "
                + join_and(f"{wf.names.area(x)} {in_danish(taken[x])}" for x in clash)))
        insert_claims(conn, app_id, list(fixed), wf.names)
    row = {"id": app_id, "state": initial, "entered_version": 1, "entered_at": now,
           "entered_on": day, "data": data, "parties": parties}
    wf.deadlines.sync(conn, process, row, old_state=None, version=1, now=now,
                        acts_by_party={})
    return int(app_id)


def check_new(wf: Workflow, *, kind: str, title: str, round: int | None,
              data: Mapping[str, Any] | None, source: int | None, user: str | None
              ) -> tuple[ProcessSpec, KindSpec, dict[str, Any], str]:
    """What opening a ``kind`` case is given, checked before any database work: its
    process, the kind, the parsed data and the title on one line."""
    try:
        process = wf.definition.process_for_kind(kind)
    except KeyError:
        known = ", ".join(wf.definition.kinds)
        raise InvalidData(Said(f"unknown kind {kind!r}; known: {known}",
                               f"ukendt sagstype »{kind}«; kendte: {known}")) from None
    spec = process.kinds[kind]
    rounds = " or ".join(map(str, spec.rounds))
    if spec.rounds and round not in spec.rounds:
        raise InvalidData(Said(f"a {kind} application needs --round {rounds}",
                               f"»{spec.label.da}« skal have runde "
                               f"{join_or(map(str, spec.rounds))}"))
    if not spec.rounds and round is not None:
        raise InvalidData(Said(f"a {kind} application has no rounds",
                               f"»{spec.label.da}« har ingen runder"))
    vals = values.parse_data(data or {}, fields=wf.definition.fields,
                             allowed=(*spec.fields, HAPPENED),
                             trigger=f"a new {kind}", areas=wf.areas,
                             municipalities=wf.municipalities)
    missing = [f for f in spec.requires if f not in vals]
    if missing:
        raise InvalidData(Said(f"a new {kind} needs {', '.join(missing)} "
                               f"(--data {missing[0]}=…)",
                               f"udfyld {wf.names.fields(missing)}"))
    if source is not None and spec.opens_from is None:
        raise InvalidData(Said(f"a {kind} is not opened from another case",
                               f"»{spec.label.da}« oprettes ikke fra en anden "
                               f"sag"))
    title = " ".join((title or "").split())  # one line: a title is also a heading
    values.check_text(title, "the title", "titlen", one_line=True)
    check_user(user)
    if not title or len(title) > 300:
        raise InvalidData(Said("the title must be 1–300 characters",
                               "titlen skal være på 1–300 tegn"))
    return process, spec, vals, title


def check_user(user: str | None) -> None:
    """A user name that is no text (a lone surrogate: a byte that is not UTF-8 on the
    command line) names nobody, and no database could look it up."""
    values.check_text(user or "", "the user name", "brugernavnet")
