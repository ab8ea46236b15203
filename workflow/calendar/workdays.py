"""The Danish working-day calendar: weekends, public holidays and configured closure days.

Public holidays come from the ``holidays`` package, which already knows that store
bededag was a holiday up to 2023 and not from 2024. Closure days (e.g. 5 June,
24 and 31 December) are configured in ``states.yaml`` under ``calendar``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from functools import cached_property
from typing import Any


class WorkCalendar:
    def __init__(self, country: str = "DK", closure_days: Iterable[tuple[int, int]] = ()) -> None:
        self.country = country
        self.closure_days = frozenset(closure_days)
        self._years: set[int] = set()

    @cached_property
    def _holidays(self) -> Any:
        import holidays

        return holidays.country_holidays(self.country, language="da")

    def holiday_name(self, d: date) -> str | None:
        if (d.month, d.day) in self.closure_days:
            return "lukkedag"
        name = self._holidays.get(d)
        return str(name) if name else None

    def is_working_day(self, d: date) -> bool:
        return d.weekday() < 5 and self.holiday_name(d) is None

    def add_working_days(self, start: date, n: int) -> date:
        """The n-th working day after ``start`` (before it, for negative n)."""
        step = timedelta(days=1 if n >= 0 else -1)
        d, left = start, abs(n)
        while left:
            d += step
            if self.is_working_day(d):
                left -= 1
        return d

    def next_working_day(self, d: date) -> date:
        """``d`` itself if it is a working day, else the first one after it."""
        while not self.is_working_day(d):
            d += timedelta(days=1)
        return d

    def working_days_between(self, start: date, end: date) -> int:
        """Working days after ``start`` up to and including ``end``."""
        if end <= start:
            return 0
        return sum(1 for i in range(1, (end - start).days + 1)
                   if self.is_working_day(start + timedelta(days=i)))


def add_months(d: date, months: int) -> date:
    """Same day ``months`` later, clamped to the month's end (31 Jan + 1 = 28/29 Feb)."""
    from calendar import monthrange  # here: validating states.yaml never needs it

    y, m = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, m + 1
    return date(year, month, min(d.day, monthrange(year, month)[1]))
