"""The committee stages an agenda item prints: each committee a municipality's council
decisions pass through first, in its declared order, with the decision recorded there."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..process.values import as_date


def committee_path(municipality: Mapping[str, Any], decided: Mapping[str, Mapping[str, Any]],
                   *, council_done: bool = False) -> list[dict[str, Any]]:
    """One entry per committee of ``municipality`` (its declared ones in order, then any
    recorded under a name no longer declared), each with its decision if recorded:
    ``decided`` is the municipality's ``{committee: act data}``. Once the council itself
    has decided (``council_done``), a committee that did not treat the case is left out:
    the stages are optional."""
    names = list(municipality.get("committees") or [])
    names += [n for n in decided if n not in names]
    out = []
    for name in names:
        act = decided.get(name) or {}
        if council_done and not act:
            continue
        out.append({"name": name, "decision": act.get("decision"),
                    "meeting_date": as_date(act.get("committee_date")),
                    "agenda_ref": act.get("agenda_ref"), "reason": act.get("reason")})
    return out


# what a draft calls them: (context key, committee act, the council's own acts)
STAGES = (("committees", "committee", ("council",)),
          ("conditions_committees", "conditions_committee",
           ("conditions", "conditions_declined")))


def committee_views(municipality: Mapping[str, Any],
                    committees: Mapping[str, Mapping[str, Mapping[str, Any]]],
                    acts: Mapping[str, Mapping[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """A per-party draft's ``committees`` (on the application) and
    ``conditions_committees`` (on the ministry's conditions): ``committees`` is
    {act name: {party: {committee: data}}}, ``acts`` the case's acts by name and party."""
    party = municipality["id"]
    return {key: committee_path(municipality, committees.get(act, {}).get(party, {}),
                                council_done=any(party in acts.get(c, {}) for c in council))
            for key, act, council in STAGES}
