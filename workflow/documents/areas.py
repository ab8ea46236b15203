"""The areas a draft prints: an application's claim read back as areas and parts.

An area asked (or granted) whole is one entry named as the area; an area asked in part is
one entry naming its parts, ``Det sociale område: serviceloven § 82 og § 86``. An area
asked whole and granted in part becomes two entries, the parts granted and the parts
refused, each with its outcome.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.engine import Connection

from ..danish import in_sentence, join_and
from ..store import tables as t


def part_names(names: list[str]) -> str:
    """``serviceloven § 82 og § 86``: a law named again before its next section is left
    out, so the list reads as it would be written."""
    out: list[str] = []
    before = None
    for name in names:
        law, sep, rest = name.partition("§")
        if sep and law.strip() and law == before:
            out.append(sep + rest)
        else:
            out.append(name)
        before = law if sep else None
    return join_and(out)


def application_areas(conn: Connection, app_id: int) -> list[dict[str, Any]]:
    """The application's areas (live or decided), in the areas' order: id, name, law_ref,
    run_by, outcome, ``parts`` (the part ids printed; None: the area whole) and ``phrase``
    (how it reads in a sentence: ``det sociale område (serviceloven § 82 og § 86)``)."""
    ar, aa = t.area, t.application_area
    rows = conn.execute(select(ar.c.id, ar.c.name_da, ar.c.law_ref, ar.c.run_by, ar.c.parts,
                               aa.c.part_id, aa.c.live, aa.c.outcome)
                        .join(aa, and_(aa.c.area_id == ar.c.id,
                                       aa.c.application_id == app_id))
                        .where(aa.c.live | aa.c.outcome.is_not(None))
                        .order_by(ar.c.position, aa.c.id)).all()
    by_area: dict[str, list[Any]] = {}
    for r in rows:
        by_area.setdefault(r.id, []).append(r)
    out: list[dict[str, Any]] = []
    for mine in by_area.values():
        first = mine[0]
        declared = {str(p["id"]): p for p in first.parts or []}
        whole = next((r for r in mine if r.part_id == ""), None)
        alone = [r for r in mine if r.part_id]
        if whole is not None and (whole.live or whole.outcome == "granted"
                                  or not any(r.outcome == "granted" for r in alone)):
            groups: list[tuple[str | None, list[Any]]] = [(whole.outcome, [])]
        else:
            groups = [(o, [r for r in alone if r.outcome == o])
                      for o in dict.fromkeys(r.outcome for r in alone)]
        for outcome, parts in groups:
            base = {"id": first.id, "name": first.name_da, "law_ref": first.law_ref,
                    "run_by": first.run_by, "outcome": outcome, "parts": None,
                    "phrase": in_sentence(first.name_da)}
            if parts:
                ids = [r.part_id for r in parts]
                named = [str(declared.get(p, {}).get("name_da") or p) for p in ids]
                base |= {"name": f"{first.name_da}: {part_names(named)}", "parts": ids,
                         "area_name": first.name_da, "part_names": named,
                         "phrase": f"{in_sentence(first.name_da)} ({part_names(named)})"}
            out.append(base)
    return out
