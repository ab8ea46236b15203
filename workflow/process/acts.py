"""A case's acts and area claims, read and written on the open connection: what each
party did in the current state, and which areas are claimed or released.

Low enough for every room that reads a case (the documents, the deadline keeper, the read
side) and for the transaction context (:mod:`workflow.engine.context`) to share.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, insert, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql import ColumnElement

from ..danish import join_and, long_date
from ..errors import GuardFailed, Said, in_danish
from ..rules.parts import PartsOf, clash_of, parts_of, split, tokens
from ..store import tables as t

if TYPE_CHECKING:
    from .names import Names


def area_parts(conn: Connection, cooperation: str | None) -> tuple[dict[str, list[str]],
                                                                    list[str]]:
    """Each area's declared part ids, and the areas in their order, of a cooperation."""
    rows = {r.id: r._mapping for r in conn.execute(
        select(t.area.c.id, t.area.c.parts).where(t.area.c.cooperation_id == cooperation)
        .order_by(t.area.c.position))}
    return parts_of(rows), list(rows)


def cooperation_of(conn: Connection, app_id: int) -> str | None:
    """The cooperation a case belongs to."""
    a = t.application
    return conn.execute(select(a.c.cooperation_id).where(a.c.id == app_id)).scalar()


def claim_rows(tokens_: list[str], parts: PartsOf) -> list[tuple[str, str]]:
    """The (area, part) rows a claim writes: an area whole is its '' row and every part's
    row; a part its own row. Sorted, so racing claims wait rather than deadlock."""
    rows: set[tuple[str, str]] = set()
    for token in tokens_:
        area, part = split(token)
        if part is None:
            rows.add((area, ""))
            rows.update((area, p) for p in parts.get(area) or [])
        else:
            rows.add((area, part))
    return sorted(rows)


def claimed_tokens(conn: Connection, app_id: int, *, live: bool = True,
                   outcome: str | None = None) -> list[str]:
    """An application's claim as a value (``social`` or ``social:s82``), in area order."""
    aa = t.application_area
    q = select(aa.c.area_id, aa.c.part_id).where(aa.c.application_id == app_id)
    if live:
        q = q.where(aa.c.live)
    if outcome is not None:
        q = q.where(aa.c.outcome == outcome)
    got = [(r.area_id, r.part_id) for r in conn.execute(q.order_by(aa.c.id))]
    parts, order = area_parts(conn, cooperation_of(conn, app_id))
    order = order + [a for a, _ in got if a not in order]
    whole = {a for a, p in got if p == ""}
    units_ = {a if a in whole else f"{a}:{p}" for a, p in got if a in whole or p}
    return tokens(units_, parts, order)


def insert_claims(conn: Connection, app_id: int, areas: list[str], names: Names) -> None:
    """Claim areas (or parts of them) for an application; a claim another transaction won
    is a GuardFailed.

    Claims are inserted in a fixed (sorted) order, so two transactions claiming
    overlapping areas wait for each other instead of deadlocking.
    """
    if not areas:
        return
    aa = t.application_area
    coop = cooperation_of(conn, app_id)
    parts, _ = area_parts(conn, coop)
    try:
        with conn.begin_nested():
            conn.execute(insert(aa), [{"application_id": app_id, "cooperation_id": coop,
                                       "area_id": a, "part_id": p, "live": True,
                                       "outcome": None}
                                      for a, p in claim_rows(areas, parts)])
    except IntegrityError:
        taken = unavailable_areas(conn, coop, exclude=app_id)
        clash = [a for a in areas if clash_of(a, taken, parts)]
        raise GuardFailed(Said(
            "another application claimed the same area at the same time: "
            + ", ".join(f"{a} ({clash_of(a, taken, parts)})" for a in clash),
            "en anden ansøgning har netop fået samme område: "
            + join_and(f"{names.area(a)} {in_danish(clash_of(a, taken, parts) or '')}"
                       for a in clash))) from None


def unavailable_areas(conn: Connection, cooperation: str | None, *,
                      exclude: int | None = None) -> dict[str, Said]:
    """Areas, and parts of areas (``social:s82``), of a cooperation that cannot go into a
    new application of it, and why. An area claimed whole is listed with every part."""
    out = {r.id: Said(f"released on {r.released_on.isoformat()}",
                      f"er frigivet den {long_date(r.released_on)}")
           for r in conn.execute(select(t.area.c.id, t.area.c.released_on)
                                 .where(t.area.c.released_on.is_not(None),
                                        t.area.c.cooperation_id == cooperation))}
    rel = t.area_part_release
    for r in conn.execute(select(rel.c.area_id, rel.c.part_id, rel.c.released_on)
                          .where(rel.c.cooperation_id == cooperation)):
        out.setdefault(f"{r.area_id}:{r.part_id}", Said(
            f"released on {r.released_on.isoformat()}",
            f"er frigivet den {long_date(r.released_on)}"))
    aa, a = t.application_area, t.application
    q = (select(aa.c.area_id, aa.c.part_id, a.c.case_number)
         .join(a, a.c.id == aa.c.application_id)
         .where(aa.c.live, aa.c.cooperation_id == cooperation))
    if exclude is not None:
        q = q.where(aa.c.application_id != exclude)
    for area_id, part_id, case_number in conn.execute(q):   # a case is named by its number
        out.setdefault(f"{area_id}:{part_id}" if part_id else area_id,
                       Said(f"in case {case_number}", f"indgår i sag {case_number}"))
    return out


def current_acts(conn: Connection, app_id: int, entered_version: int,
                 name: str | None = None) -> dict[str, Any]:
    """Non-void acts recorded since the state was entered: {municipality: data}, or with
    ``name=None`` {name: {municipality: data}}; the latest act wins."""
    return acts_of(conn, {app_id: entered_version}, name)[app_id]


def committee_acts(conn: Connection, app_id: int, name: str
                   ) -> dict[str, dict[str, dict[str, Any]]]:
    """The committee decisions under ``name`` in the case that still hold (not set
    aside), by municipality and committee, the latest per committee, in the order they
    were recorded: ``{"ishoj": {"Fagudvalget": {...}, "Økonomi- og Planudvalget": {...}}}``."""
    pa = t.party_act
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for r in conn.execute(select(pa.c.municipality, pa.c.data, pa.c.user_id, pa.c.at,
                                 pa.c.version)
                          .where(pa.c.application_id == app_id, pa.c.name == name,
                                 pa.c.void.is_(False)).order_by(pa.c.version)):
        data = dict(r.data or {})
        committees = out.setdefault(r.municipality, {})
        committees.pop(str(data.get("committee")), None)    # the latest one goes last
        committees[str(data.get("committee"))] = {**data, "user": r.user_id,
                                                  "at": r.at.isoformat(),
                                                  "version": r.version}
    return out


COMMITTEE_ACTS = {"committee": "application", "conditions_committee": "conditions"}


@dataclass(frozen=True)
class ActsRead:
    """What several applications' party acts say, from one read of them all, by id."""

    holding: dict[int, dict[str, Any]]   # :func:`acts_of`: what holds in the current state
    record: dict[int, dict[str, Any]]    # each party's latest act of each kind, ever
    committees: dict[int, list[dict[str, Any]]]  # every committee decision, in order


def read_acts(conn: Connection, entered: Mapping[int, int]) -> ActsRead:
    """The three views of the party acts of the applications ``entered`` (each one's
    version on entering its state) that a case's description shows, in one statement:
    what holds now, the record of each party's latest act of each kind (a later step's
    voiding marked ``"void"``), and every committee decision in the order recorded, with
    what it was about (``on``: the application, or the ministry's conditions)."""
    pa = t.party_act
    holding: dict[int, dict[str, Any]] = {i: {} for i in entered}
    record: dict[int, dict[str, Any]] = {i: {} for i in entered}
    committees: dict[int, list[dict[str, Any]]] = {i: [] for i in entered}
    for r in conn.execute(select(pa).where(pa.c.application_id.in_(list(entered)))
                          .order_by(pa.c.version)):
        at = r.at.isoformat()
        entry = {**(r.data or {}), "user": r.user_id, "at": at, "version": r.version}
        record[r.application_id].setdefault(r.name, {})[r.municipality] = \
            {**entry, "void": bool(r.void)}
        if not r.void and r.version > entered[r.application_id]:
            holding[r.application_id].setdefault(r.name, {})[r.municipality] = entry
        if r.name in COMMITTEE_ACTS:
            committees[r.application_id].append({
                **(r.data or {}), "municipality": r.municipality,
                "on": COMMITTEE_ACTS[r.name], "void": bool(r.void), "user": r.user_id,
                "at": at, "happened_on": r.happened_on.isoformat() if r.happened_on else None,
                "version": r.version})
    return ActsRead(holding, record, committees)


def acts_of(conn: Connection, entered: Mapping[int, int],
            name: str | None = None) -> dict[int, dict[str, Any]]:
    """:func:`current_acts` of several applications in one statement, by application id
    (``entered``: each one's version on entering its state); what a case page shows of
    what happened, voided acts too: :func:`read_acts`."""
    pa = t.party_act
    conds: list[ColumnElement[bool]] = [pa.c.application_id.in_(list(entered)),
                                        pa.c.void.is_(False)]
    if name is not None:
        conds.append(pa.c.name == name)
    rows = conn.execute(select(pa.c.application_id, pa.c.name, pa.c.municipality, pa.c.data,
                               pa.c.user_id, pa.c.at, pa.c.version)
                        .where(and_(*conds)).order_by(pa.c.version))
    out: dict[int, dict[str, dict[str, Any]]] = {app_id: {} for app_id in entered}
    for r in rows:
        if r.version <= entered[r.application_id]:
            continue
        entry = {**(r.data or {}), "user": r.user_id, "at": r.at.isoformat(),
                 "version": r.version}
        out[r.application_id].setdefault(r.name, {})[r.municipality] = entry
    if name is not None:
        return {app_id: acts.get(name, {}) for app_id, acts in out.items()}
    return dict(out)
