"""Deadline expressions from ``states.yaml`` and how a due date is derived from them.

Grammar (alternatives are tried left to right; the first that can be computed wins)::

    expr   := term ("or" term)*
    term   := FIELD                                  a date entered as data, e.g. meeting_date
            | N UNIT [("after" | "before") FIELD]    counted from the state's entry, or a date
            | MM-DD "of" FIELD                       a fixed day of the year held by FIELD
                                                     (a year, or a date's year)
    UNIT   := working day(s) | day(s) | week(s) | month(s)

Examples: ``20 working days``, ``meeting_date or 45 days``, ``8 weeks``,
``due_date or 10 working days``, ``5 working days before meeting_date``,
``03-01 of cycle_year`` (1 March of the agreement's yearly cycle).

Calendar-day deadlines that land on a weekend or holiday move to the next working day
(as Danish administrative deadlines do); the derivation says so.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date, timedelta
from typing import NamedTuple

from ..danish import long_date
from .workdays import WorkCalendar, add_months

_UNITS = {
    "working day": "working_days", "working days": "working_days",
    "day": "days", "days": "days", "week": "weeks", "weeks": "weeks",
    "month": "months", "months": "months",
}
_UNIT_DA = {"working_days": ("arbejdsdag", "arbejdsdage"), "days": ("dag", "dage"),
            "weeks": ("uge", "uger"), "months": ("måned", "måneder")}
_OFFSET = re.compile(
    r"^(?P<n>\d+)\s+(?P<unit>working days?|days?|weeks?|months?)"
    r"(?:\s+(?P<dir>after|before)\s+(?P<anchor>[a-z_][a-z0-9_]*))?$")
_FIELD = re.compile(r"^[a-z_][a-z0-9_]*$")
_DAY_OF = re.compile(r"^(?P<m>\d\d)-(?P<d>\d\d)\s+of\s+(?P<field>[a-z_][a-z0-9_]*)$")


class DeadlineSyntaxError(ValueError):
    pass


class Term(NamedTuple):
    field: str | None = None          # a date field used as it is
    n: int = 0
    unit: str = ""
    anchor: str | None = None         # counted from this date field instead of entry
    before: bool = False
    month_day: tuple[int, int] | None = None   # with anchor: that day of the anchor's year

    def fields(self) -> list[str]:
        return [f for f in (self.field, self.anchor) if f]


class DeadlineExpr(NamedTuple):
    text: str
    terms: tuple[Term, ...]

    def fields(self) -> list[str]:
        return [f for t in self.terms for f in t.fields()]


def parse(text: str) -> DeadlineExpr:
    if not isinstance(text, str) or not text.strip():
        raise DeadlineSyntaxError("a deadline must be a non-empty text")
    terms = []
    for raw in re.split(r"\s+or\s+", text.strip()):
        part = " ".join(raw.split())
        day_of = _DAY_OF.match(part)
        m = _OFFSET.match(part)
        if day_of:
            month, day = int(day_of["m"]), int(day_of["d"])
            try:
                date(2023, month, day)  # not a leap year: 02-29 has no place in a yearly cycle
            except ValueError:
                raise DeadlineSyntaxError(f"{part!r}: {day_of['m']}-{day_of['d']} is not a day "
                                          f"of every year (MM-DD)") from None
            terms.append(Term(anchor=day_of["field"], month_day=(month, day)))
        elif m:
            n = int(m["n"])
            if n <= 0 or n > 3650:
                raise DeadlineSyntaxError(f"{part!r}: the count must be between 1 and 3650")
            terms.append(Term(n=n, unit=_UNITS[m["unit"]], anchor=m["anchor"],
                              before=m["dir"] == "before"))
        elif _FIELD.match(part):
            terms.append(Term(field=part))
        else:
            raise DeadlineSyntaxError(
                f"cannot read {part!r}: expected a date field, '<n> working days|days|"
                f"weeks|months [after|before <field>]' or 'MM-DD of <field>'")
    return DeadlineExpr(text=text, terms=tuple(terms))


class Due(NamedTuple):
    due: date
    derivation: str


def evaluate(expr: DeadlineExpr, *, entered: date, values: Mapping[str, object],
             calendar: WorkCalendar, label: Callable[[str], str] = str) -> Due | None:
    """The due date and a Danish derivation, or None if no alternative can be computed.

    ``values`` holds the data (dates as ``date``); ``label`` names a field in Danish.
    """
    for term in expr.terms:
        if term.field:
            value = values.get(term.field)
            if isinstance(value, date):
                return Due(value, f"{label(term.field)} {long_date(value)}")
            continue
        if term.month_day:
            held = values.get(term.anchor or "")
            year = held.year if isinstance(held, date) else held
            if not isinstance(year, int) or isinstance(year, bool) or not 1 <= year <= 9999:
                continue
            raw = date(year, *term.month_day)
            due = calendar.next_working_day(raw)
            text = f"{long_date(raw)} i {label(term.anchor or '').lower()} {year}"
            if due != raw:
                text += f" (flyttet fra {long_date(raw, weekday=True)})"
            return Due(due, text)
        if term.anchor:
            base = values.get(term.anchor)
            if not isinstance(base, date):
                continue
            origin = f"{'før' if term.before else 'efter'} {label(term.anchor).lower()} " \
                     f"{long_date(base)}"
        else:
            base, origin = entered, f"fra {long_date(entered)}"
        n = -term.n if term.before else term.n
        one, many = _UNIT_DA[term.unit]
        text = f"{term.n} {one if term.n == 1 else many} {origin}"
        if term.unit == "working_days":
            return Due(calendar.add_working_days(base, n), text)
        if term.unit == "months":
            raw = add_months(base, n)
        else:
            raw = base + timedelta(days=n * (7 if term.unit == "weeks" else 1))
        due = calendar.next_working_day(raw)
        if due != raw:
            text += f" (flyttet fra {long_date(raw, weekday=True)})"
        return Due(due, text)
    return None
