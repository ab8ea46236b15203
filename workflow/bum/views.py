"""An agreement's years as the pages, the API, the command line and the documents show
them: amounts as Decimal, dates as date, the a-conto payments numbered and totalled."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any


# ------------------------------------------------------------ reading the year records
def as_date(value: Any) -> date | None:
    if isinstance(value, date) or value is None:
        return value
    try:
        return date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def as_decimal(value: Any) -> Decimal | None:
    """A stored amount ("1234.50") as Decimal; None for nothing or nonsense."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        out = Decimal(str(value))
    except ArithmeticError:
        return None
    return out if out.is_finite() else None


def as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    text = str(value or "").strip()
    return int(text) if text.isdigit() else None


YEAR_AMOUNTS = ("direct_costs", "overhead_rate", "overhead", "price", "unit_price",
                "budget_frame")


TRUE_UP_AMOUNTS = ("actual_direct", "actual_overhead", "actual_total", "paid", "balance")


def year_view(year: str | int, entry: Mapping[str, Any]) -> dict[str, Any]:
    """One year of an agreement: volume, level, amounts as Decimal (with the a-conto
    payments numbered and totalled), dates as date, and its true-up if made."""
    a_conto = [{"number": i, "due": as_date(a.get("due")), "amount": as_decimal(a.get("amount"))}
               for i, a in enumerate(entry.get("a_conto") or [], 1) if isinstance(a, Mapping)]
    amounts = [a["amount"] for a in a_conto if a["amount"] is not None]
    raw = entry.get("true_up")
    return {
        "year": int(year), "expected_volume": as_int(entry.get("expected_volume")),
        "service_level": entry.get("service_level"),
        **{k: as_decimal(entry.get(k)) for k in YEAR_AMOUNTS},
        "a_conto": a_conto, "a_conto_total": sum(amounts, Decimal("0.00")) if amounts else None,
        "notice_on": as_date(entry.get("notice_on")), "signed_on": as_date(entry.get("signed_on")),
        "true_up": {**{k: as_decimal(raw.get(k)) for k in TRUE_UP_AMOUNTS},
                    "until": as_date(raw.get("until"))} if isinstance(raw, Mapping) else None}


def year_views(data: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The agreement's years (``data["years"]``), oldest first."""
    raw = data.get("years")
    if not isinstance(raw, Mapping):
        return []
    return sorted((year_view(y, e) for y, e in raw.items()
                   if str(y).isdigit() and isinstance(e, Mapping)), key=lambda r: r["year"])
