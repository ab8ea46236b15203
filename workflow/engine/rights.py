"""The rights check of a case's own work (filing in its case file, deciding and exporting
an aktindsigt): the user's municipality is a party to the case, and the user has one of
the roles that do that work."""

from __future__ import annotations

from collections.abc import Sequence

from ..errors import PermissionDenied, Said
from .workflow import Actor, Workflow


def check_case_role(wf: Workflow, actor: Actor, app_id: int, parties: Sequence[str],
                    case_number: str, roles: Sequence[str], *, may_not: str,
                    done_da: str) -> None:
    """A PermissionDenied unless ``actor`` may see the case and is of one of ``roles`` in
    one of its municipalities: "``actor`` may not ``may_not``"; in Danish, "``done_da``
    af »role« i en af sagens kommuner"."""
    wf.check_party(actor, app_id, list(parties), case_number)
    if actor.role in roles and actor.municipality in parties:
        return
    names = wf.definition.roles
    raise PermissionDenied(Said(
        f"{actor.id} ({actor.role}) may not {may_not}; that takes {' or '.join(roles)} of "
        f"a municipality party to the case",
        f"{done_da} af " + " eller ".join(f"»{names[r].da}«" for r in roles if r in names)
        + " i en af sagens kommuner"))
