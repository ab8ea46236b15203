"""Who acts in a step, and what a fired trigger did: the engine's small value types."""

from __future__ import annotations

from typing import NamedTuple

from ..documents.drafts import Made


class Actor(NamedTuple):
    id: str
    name: str
    role: str
    municipality: str | None
    cooperation: str | None = None   # an admin limited to one cooperation (None: all)


class Outcome(NamedTuple):
    """What a fired trigger did."""

    application_id: int
    trigger: str
    from_state: str
    to_state: str
    version: int
    waiting_for: tuple[str, ...] = ()
    spawned: tuple[int, ...] = ()
    documents: tuple[Made, ...] = ()
    process: str = ""           # the process the case runs (an application, an agreement)
