"""Plausible dates: the range a date given to a step must lie in, declared in states.yaml.

A transition's ``dates:`` names, per date field it takes, the days the value may not be
before (``not_before``) and after (``not_after``)::

    dates:
      meeting_date: {not_before: [opened, act:meeting], not_after: [today]}

A bound is one of these *anchors*:

========================  ==============================================================
``today``                 the step's own day
``opened``                the day the case was opened
``entered:STATE``         the day the case first entered STATE (``entered:submitted``:
                          the day the application was sent)
``act:NAME``              the day the acting municipality recorded its act NAME
                          (``act:meeting``: the day its meeting was put on the agenda)
a date field              that date, from this step's data or the case's
========================  ==============================================================

An anchor with no date yet (no act recorded, a field not filled in) bounds nothing. The
check runs once the branch is chosen, before anything is written; a date outside its
range is refused with the field, the range and where each end comes from, in English and
Danish (:class:`~workflow.errors.InvalidData`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from typing import NamedTuple

from ..danish import long_date
from ..errors import InvalidData, Said

FIXED_ANCHORS = ("today", "opened")
PREFIXES = ("entered:", "act:")


class Bounds(NamedTuple):
    not_before: tuple[str, ...] = ()
    not_after: tuple[str, ...] = ()


class Anchor(NamedTuple):
    """An anchor's day, and what it is, for the message."""

    day: date
    said: Said


Resolve = Callable[[str], Anchor | None]


def anchor_problem(anchor: str, *, states: Mapping[str, object], acts: set[str],
                   date_fields: set[str]) -> str | None:
    """Why ``anchor`` is not one that a definition may name, or None if it is."""
    if anchor in FIXED_ANCHORS:
        return None
    if anchor.startswith("entered:"):
        state = anchor.removeprefix("entered:")
        return None if state in states else f"unknown state {state!r} in {anchor!r}"
    if anchor.startswith("act:"):
        act = anchor.removeprefix("act:")
        return None if act in acts else \
            f"no transition records an act {act!r} (record: or joint:) in {anchor!r}"
    if anchor in date_fields:
        return None
    return (f"unknown anchor {anchor!r}; use today, opened, entered:STATE, act:NAME or a "
            f"date field")


def check(values: Mapping[str, object], dates: Mapping[str, Bounds], resolve: Resolve,
          label: Callable[[str], str]) -> None:
    """Refuse the first given date that lies outside its declared range (``label``: a
    field's Danish name)."""
    for name, bounds in dates.items():
        value = values.get(name)
        if not isinstance(value, date):
            continue
        lows = [a for a in map(resolve, bounds.not_before) if a is not None]
        highs = [a for a in map(resolve, bounds.not_after) if a is not None]
        low = max(lows, key=lambda a: a.day) if lows else None
        high = min(highs, key=lambda a: a.day) if highs else None
        if (low is None or value >= low.day) and (high is None or value <= high.day):
            continue
        raise InvalidData(Said(
            f"{name}: {value.isoformat()} is outside the allowed range: "
            f"{_range_en(low, high)}",
            f"{label(name)}: {long_date(value)} ligger uden for det mulige: {_range_da(low, high)}"
        ))


def _range_en(low: Anchor | None, high: Anchor | None) -> str:
    parts = []
    if low is not None:
        parts.append(f"not before {low.day.isoformat()} ({low.said})")
    if high is not None:
        parts.append(f"not after {high.day.isoformat()} ({high.said})")
    return " and ".join(parts)


def _range_da(low: Anchor | None, high: Anchor | None) -> str:
    if low is not None and high is not None:
        return (f"datoen skal ligge fra {long_date(low.day)} ({low.said.da}) til "
                f"{long_date(high.day)} ({high.said.da})")
    if low is not None:
        return f"datoen må ikke ligge før {long_date(low.day)} ({low.said.da})"
    assert high is not None
    return f"datoen må ikke ligge efter {long_date(high.day)} ({high.said.da})"
