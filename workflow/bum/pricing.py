"""BUM cost-price arithmetic, exact to the øre: the price of a year (direct costs plus
overhead), its a-conto instalments and their dates, and the true-up against the actual
cost."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from typing import NamedTuple

ØRE = Decimal("0.01")
QUARTERS = 4


def to_øre(value: Decimal) -> Decimal:
    return value.quantize(ØRE, rounding=ROUND_HALF_UP)


class Price(NamedTuple):
    direct: Decimal
    rate: Decimal           # overhead, in per cent of the direct costs
    overhead: Decimal
    total: Decimal


def cost_price(direct: Decimal, rate: Decimal) -> Price:
    """Direct costs plus overhead, the overhead rounded half up to the øre."""
    overhead = to_øre(direct * rate / 100)
    return Price(direct, rate, overhead, direct + overhead)


def instalments(total: Decimal, count: int) -> list[Decimal]:
    """``count`` a-conto payments that add up to ``total`` exactly (the last takes the rest)."""
    if count < 1:
        raise ValueError("at least one instalment")
    each = (total / count).quantize(ØRE, rounding=ROUND_DOWN)
    return [each] * (count - 1) + [total - each * (count - 1)]


def payment_dates(year: int, start: date | None = None) -> list[date]:
    """When the a-conto payments of ``year`` fall due: the first day of each quarter, and
    in the first year the start day and the quarters after it."""
    quarters = [date(year, m, 1) for m in (1, 4, 7, 10)]
    if start is not None and start.year == year:
        quarters = [start] + [q for q in quarters if q > start]
    return quarters


def months_in_force(year: int, start: date | None = None) -> int:
    """The months of ``year`` the agreement covers (a month begun counts in full)."""
    return 12 - start.month + 1 if start is not None and start.year == year else 12


class TrueUp(NamedTuple):
    actual: Price
    paid: Decimal
    balance: Decimal        # > 0: the purchaser pays more; < 0: the provider pays back


def true_up(actual_direct: Decimal, rate: Decimal, paid: Decimal) -> TrueUp:
    actual = cost_price(actual_direct, rate)
    return TrueUp(actual, paid, actual.total - paid)
