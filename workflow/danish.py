"""Danish formatting: long dates ("19. juni 2017"), weekdays, amounts ("1.234,50 kr."),
numbers ("1.200"), percentages ("7,5 pct.") and lists ("a, b og c").

Month and weekday names are written out here rather than taken from the locale, which
may not be installed (and is process-global besides).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

MONTHS = ("januar", "februar", "marts", "april", "maj", "juni", "juli", "august",
          "september", "oktober", "november", "december")
WEEKDAYS = ("mandag", "tirsdag", "onsdag", "torsdag", "fredag", "lørdag", "søndag")


def long_date(d: date, *, weekday: bool = False) -> str:
    """``19. juni 2017``, or ``mandag den 19. juni 2017`` with ``weekday=True``."""
    text = f"{d.day}. {MONTHS[d.month - 1]} {d.year}"
    return f"{WEEKDAYS[d.weekday()]} den {text}" if weekday else text


def numeric_date(d: date, sep: str = ".") -> str:
    """``19.06.2017`` (Vallensbæk minutes use ``sep="-"``)."""
    return f"{d.day:02d}{sep}{d.month:02d}{sep}{d.year}"


def _group(digits: str) -> str:
    out: list[str] = []
    while len(digits) > 3:
        out.insert(0, digits[-3:])
        digits = digits[:-3]
    out.insert(0, digits)
    return ".".join(out)


def amount(value: Decimal | int | str, *, decimals: int = 2, unit: str = "kr.") -> str:
    """``1.234,50 kr.``; rounds half up, as an accountant would."""
    q = Decimal(value).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    sign = "-" if q < 0 else ""
    whole, _, frac = f"{abs(q):f}".partition(".")
    text = _group(whole) + ("," + frac if decimals else "")
    return f"{sign}{text} {unit}".rstrip()


def millions(value: Decimal | int | str) -> str:
    """``1,4 mio. kr.`` (one decimal, trailing ``,0`` kept off)."""
    m = (Decimal(value) / Decimal(1_000_000)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    text = amount(m, decimals=1, unit="mio. kr.")
    return text.replace(",0 ", " ")


def places(value: Decimal) -> int:
    """How many decimals ``value`` is written with (``Decimal("1.50")``: 2)."""
    exponent = value.as_tuple().exponent
    return max(-exponent, 0) if isinstance(exponent, int) else 0


def number(value: Decimal | int | str, *, decimals: int | None = 0) -> str:
    """``1.200`` (a count), ``1.234,5`` with ``decimals=1``, or with ``decimals=None`` as
    many decimals as the value is written with; no unit."""
    if decimals is None:
        decimals = places(Decimal(value))
    return amount(value, decimals=decimals, unit="")


def percent(value: Decimal | int | str) -> str:
    """``7,5 pct.``: as many decimals as the rate has, trailing zeros dropped."""
    q = Decimal(value).normalize()
    return amount(q, decimals=places(q), unit="pct.")


def join_and(values: Iterable[Any], word: str = "og") -> str:
    """``a``, ``a og b``, ``a, b og c`` (or with another ``word``: see :func:`join_or`)."""
    items = [str(v) for v in values]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + f" {word} " + items[-1] \
        if items else ""


def in_sentence(name: object) -> str:
    """A name as it reads inside a sentence: ``Det sociale område`` becomes ``det sociale
    område``, while what follows keeps its capitals (``rådgivning (PPR)``) and a first word
    that is an abbreviation (``PPR``) is left as it is."""
    text = str(name)
    first = text.split(" ", 1)[0]
    if not text or (len(first) > 1 and first.isupper()):
        return text
    return text[0].lower() + text[1:]


def join_or(values: Iterable[Any]) -> str:
    """``a``, ``a eller b``, ``a, b eller c``."""
    return join_and(values, "eller")
