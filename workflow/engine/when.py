"""The day a step happened, as distinct from the moment it is recorded.

A council decision typed in today for last week's meeting happened last week: its letters,
its deadlines and its history count from then. A step's day is its own date field where
the transition names one (``on: meeting_date``), else the ``happened_on`` it is given, else
the day it is recorded. Both the day and the moment are stored (``audit_entry.happened_on``
beside ``at``).

A day in the future is refused, and so is a day before the step it follows: the day the
case entered its current state, or the acting municipality's own last step in it (two
councils' acts in one state are parallel, so the other council's later meeting does not
bound this one's).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import or_, select
from sqlalchemy.engine import Connection

from ..danish import long_date
from ..errors import InvalidData, Said
from ..process.spec import HAPPENED, TriggerInfo
from ..store import tables as t

if TYPE_CHECKING:
    from .workflow import Workflow


def step_day(info: TriggerInfo, vals: dict[str, Any], today: date) -> tuple[date, str]:
    """The day this step happened (``happened_on`` is taken out of ``vals``), and the field
    that gave it; :func:`check_day` checks it once the step's own date ranges are."""
    given = vals.pop(HAPPENED, None)
    field = next((c.on for c in info.candidates if c.on and c.on in vals), None)
    return (vals[field], field) if field else (given or today, HAPPENED)


def check_day(wf: Workflow, conn: Connection, row: dict[str, Any], day: date, name: str,
              now: datetime, party: str | None) -> None:
    """Refuse a step's day in the future or before the step it follows."""
    today = wf.local_date(now)
    if day == today:  # no step before it can be later than today
        return
    not_in_future(wf, name, day, today)
    label = wf.names.field(name)
    before = _previous(wf, conn, row, party)
    if before is not None and day < before[0]:
        step = wf.names.action(before[1]) if before[1] != "create" else "sagen blev oprettet"
        raise InvalidData(Said(
            f"{name}: {day.isoformat()} is before the step it follows ({before[1]} on "
            f"{before[0].isoformat()})",
            f"{label}: {long_date(day)} ligger før det forrige skridt ({step} "
            f"{long_date(before[0])})"))


def _previous(wf: Workflow, conn: Connection, row: dict[str, Any],
              party: str | None) -> tuple[date, str] | None:
    """The latest day among the step that entered the current state and this party's own
    steps since, with that step's trigger."""
    ae = t.audit_entry
    rows = conn.execute(select(ae.c.happened_on, ae.c.at, ae.c.trigger).where(
        ae.c.application_id == row["id"], ae.c.version >= row["entered_version"],
        or_(ae.c.version == row["entered_version"], ae.c.municipality == party)))
    days = [(happened_day(wf, r.happened_on, r.at), r.trigger) for r in rows]
    return max(days, key=lambda d: d[0]) if days else None


def opened_day(wf: Workflow, vals: dict[str, Any], now: datetime) -> date:
    """The day a new case was opened: the ``happened_on`` taken out of ``vals`` (not in the
    future), else today."""
    given: date | None = vals.pop(HAPPENED, None)
    today = wf.local_date(now)
    if given is None:
        return today
    not_in_future(wf, HAPPENED, given, today)
    return given


def not_in_future(wf: Workflow, name: str, day: date, today: date) -> None:
    """Refuse ``day`` (the value of the field ``name``) if it has not come yet."""
    if day > today:
        raise InvalidData(Said(
            f"{name}: {day.isoformat()} is in the future; a step is recorded once it has "
            f"happened (today is {today.isoformat()})",
            f"{wf.names.field(name)}: {long_date(day)} ligger i fremtiden; et skridt "
            f"registreres, når det er sket (i dag er {long_date(today)})"))


def happened_day(wf: Workflow, happened_on: date | None, at: datetime) -> date:
    """A record's day as it happened: its ``happened_on``, or (recorded before that was
    kept) the day it was recorded."""
    return happened_on or wf.local_date(at)
