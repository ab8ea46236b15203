"""Parts of areas: an area may be declared with parts (serviceloven § 82 under the social
area), and an ``areas`` value names an area whole (``social``) or one part of it
(``social:s82``). Pure functions over those tokens and the areas' declared parts.

A value is compared at the level of *units*: an area without parts is one unit, an area
with parts is its parts, so ``social`` is the same as naming every part of social.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ..errors import Said

#: {area id: [part id, ...]} in declaration order (an area without parts: [])
PartsOf = Mapping[str, Sequence[str]]


def split(token: str) -> tuple[str, str | None]:
    """``social:s82`` -> (``social``, ``s82``); ``social`` -> (``social``, None)."""
    area, sep, part = token.partition(":")
    return (area, part) if sep else (area, None)


def area_of(token: str) -> str:
    return split(token)[0]


def parts_of(rows: Mapping[str, Any]) -> dict[str, list[str]]:
    """The declared part ids of each area row (a mapping with ``parts``: [{"id", ...}])."""
    out: dict[str, list[str]] = {}
    for area_id, row in rows.items():
        try:
            parts = row["parts"]
        except (KeyError, TypeError):
            parts = None
        out[area_id] = [str(p["id"]) for p in parts or []]
    return out


def units(tokens: Iterable[str], parts: PartsOf) -> set[str]:
    """The units a value covers: ``social`` with parts -> every ``social:<part>``."""
    out: set[str] = set()
    for token in tokens:
        area, part = split(token)
        if part is None and parts.get(area):
            out.update(f"{area}:{p}" for p in parts[area])
        else:
            out.add(token)
    return out


def tokens(units_: Iterable[str], parts: PartsOf, order: Sequence[str]) -> list[str]:
    """Units written back as a value: an area whose every part is there is named whole;
    in the areas' order (``order``), then the parts' declared order."""
    have = set(units_)
    out: list[str] = []
    for area in order:
        declared = parts.get(area) or []
        if not declared:
            if area in have:
                out.append(area)
            continue
        mine = [p for p in declared if f"{area}:{p}" in have]
        if area in have or (mine and len(mine) == len(declared)):
            out.append(area)
        else:
            out.extend(f"{area}:{p}" for p in mine)
    return out


def areas_counted(tokens_: Iterable[str]) -> list[str]:
    """The areas a value names, each once (an area asked in part counts as one)."""
    return list(dict.fromkeys(area_of(x) for x in tokens_))


def clash_of(token: str, taken: Mapping[str, Said], parts: PartsOf) -> Said | None:
    """Why ``token`` cannot be claimed (``taken`` from :func:`unavailable_areas`): its area
    or part is released or claimed, or (asked whole) one of its parts is."""
    area, part = split(token)
    if area in taken:
        return taken[area]
    if part is not None:
        return taken.get(token)
    for p in parts.get(area) or []:
        if f"{area}:{p}" in taken:
            return taken[f"{area}:{p}"]
    return None
