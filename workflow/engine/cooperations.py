"""The cooperations of an installation, as the engine reads them: their members and
areas (loaded once per process), who may see a cooperation's cases, and which cooperation
a new case belongs to."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.engine import Connection, RowMapping

from ..errors import InvalidData, PermissionDenied, Said
from ..store import tables as t
from .actors import Actor

if TYPE_CHECKING:
    from .workflow import Workflow

Areas = dict[str, dict[str, RowMapping]]


def load(conn: Connection) -> tuple[dict[str, RowMapping], dict[str, list[str]], Areas]:
    """The cooperations by id, their members (in id order) and their areas by id."""
    cooperations = {r.id: r for r in conn.execute(
        select(t.cooperation).order_by(t.cooperation.c.id)).mappings()}
    cm = t.cooperation_member
    members: dict[str, list[str]] = {c: [] for c in cooperations}
    for c, m in conn.execute(select(cm.c.cooperation_id, cm.c.municipality_id)
                             .order_by(cm.c.cooperation_id, cm.c.municipality_id)):
        members[c].append(m)
    areas: Areas = {c: {} for c in cooperations}
    for r in conn.execute(select(t.area).order_by(t.area.c.cooperation_id,
                                                  t.area.c.position)).mappings():
        areas[r.cooperation_id][r.id] = r
    return cooperations, members, areas


def every_area(areas: Areas) -> dict[str, RowMapping]:
    """Every area id once (the first cooperation's row where two have one): for names."""
    out: dict[str, RowMapping] = {}
    for coop_areas in areas.values():
        for a, r in coop_areas.items():
            out.setdefault(a, r)
    return out


def sees(wf: Workflow, actor: Actor, parties: list[str], cooperation: str | None) -> bool:
    """Whether ``actor`` may see a case of ``cooperation`` with these parties: a
    party's user, an admin of the whole installation, or an admin of its cooperation
    (an agreement with a buyer outside: an admin of a party's cooperation)."""
    if actor.role == "admin":
        if actor.cooperation is None:
            return True
        return cooperation == actor.cooperation if cooperation else any(
            p in wf.members.get(actor.cooperation, []) for p in parties)
    return actor.municipality in parties

def choose(wf: Workflow, actor: Actor, parties: list[str] | None,
       cooperation: str | None) -> str:
    """The cooperation a new case of ``actor`` belongs to: the one of the actor's
    municipality (of a party's, for a buyer outside any), or ``cooperation`` where
    there are several; refused if ambiguous or not a member."""
    mine = wf.cooperations_of(actor.municipality)
    if not mine and parties:
        mine = list(dict.fromkeys(c for p in parties for c in wf.cooperations_of(p)))
    if actor.role == "admin" and actor.cooperation:
        mine = [actor.cooperation]
    if cooperation is not None:
        if cooperation not in mine:
            raise PermissionDenied(Said(
                f"{actor.id} ({actor.municipality or 'no municipality'}) is not in the "
                f"cooperation {cooperation!r} ({', '.join(mine) or 'none'})",
                f"{wf.names.party(actor.municipality)} er ikke med i samarbejdet "
                f"»{cooperation}«"))
        return cooperation
    if len(mine) == 1:
        return mine[0]
    if not mine:
        raise PermissionDenied(Said(
            f"{actor.id} ({actor.municipality or 'no municipality'}) is not in the "
            f"cooperation: it is a member of none",
            f"{wf.names.party(actor.municipality)} er ikke med i noget samarbejde"))
    raise InvalidData(Said(
        f"{actor.municipality} is in several cooperations ({', '.join(mine)}): say "
        f"which with cooperation",
        f"{wf.names.party(actor.municipality)} er med i flere samarbejder "
        f"({', '.join(wf.cooperations[c].name for c in mine)}); vælg ét"))


def visible(wf: Workflow, actor: Actor) -> list[str]:
    """The cooperations whose data ``actor`` may see."""
    if actor.role == "admin":
        return [actor.cooperation] if actor.cooperation else list(wf.cooperations)
    return wf.cooperations_of(actor.municipality)


def parties_for(wf: Workflow, actor: Actor, spec: Any, vals: Mapping[str, Any], kind: str,
                cooperation: str | None) -> tuple[list[str], str]:
    """A new case's parties and cooperation: a BUM agreement's are named in its data; an
    application's are its cooperation's members. Refused if the actor is not one."""
    if spec.parties:  # named in the data (a BUM agreement's provider, purchaser)
        parties = list(dict.fromkeys(str(vals[f]) for f in spec.parties))
        if len(parties) < len(spec.parties):
            raise InvalidData(Said(
                f"{' and '.join(spec.parties)} must be different municipalities",
                f"{wf.names.fields(spec.parties)} skal være to forskellige "
                f"kommuner"))
        where, hvor = f"a party to this {kind}", "part i aftalen"
        coop = choose(wf, actor, parties, cooperation)
    else:
        coop = choose(wf, actor, None, cooperation)
        parties, where, hvor = wf.parties(coop), "in the cooperation", \
            "med i samarbejdet"
    if actor.municipality not in parties:
        raise PermissionDenied(Said(
            f"{actor.id} ({actor.municipality or 'no municipality'}) is not {where} "
            f"({', '.join(parties)})",
            f"{wf.names.party(actor.municipality)} er ikke {hvor} "
            f"({wf.names.parties(parties)})"))
    return parties, coop


def short_name(wf: Workflow, cooperation: str) -> str:
    """A cooperation's short name (its local text ``short_name``, else its name)."""
    row = wf.cooperations[cooperation]
    return str((row.texts or {}).get("short_name", "")).strip() or str(row.name)


def short_names(wf: Workflow, actor: Actor | Any) -> str:
    """What the pages, the calendar and e-mails call the installation for ``actor``: the
    short names of the cooperations it may see (of all, for no one); a national one of
    many cooperations: their number."""
    coops = visible(wf, actor) if isinstance(actor, Actor) else list(wf.cooperations)
    if len(coops) > 3:
        return f"{len(coops)} forpligtende samarbejder"
    return " · ".join(short_name(wf, c) for c in coops)
