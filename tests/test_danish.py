"""Danish formatting of dates and amounts."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from workflow.danish import amount, join_and, join_or, long_date, millions, numeric_date


# -------------------------------------------------------------------------- dates
def test_long_date() -> None:
    assert long_date(date(2017, 6, 19)) == "19. juni 2017"
    assert long_date(date(2018, 5, 3)) == "3. maj 2018"
    assert long_date(date(2018, 12, 31)) == "31. december 2018"


def test_long_date_with_weekday() -> None:
    assert long_date(date(2017, 6, 19), weekday=True) == "mandag den 19. juni 2017"
    assert long_date(date(2018, 5, 12), weekday=True) == "lørdag den 12. maj 2018"
    assert long_date(date(2018, 3, 29), weekday=True) == "torsdag den 29. marts 2018"


@pytest.mark.parametrize(("month", "name"), list(enumerate(
    ["januar", "februar", "marts", "april", "maj", "juni", "juli", "august", "september",
     "oktober", "november", "december"], start=1)))
def test_every_month_name(month: int, name: str) -> None:
    assert long_date(date(2018, month, 1)) == f"1. {name} 2018"


def test_every_weekday_name() -> None:
    week = [long_date(date(2018, 1, d), weekday=True).split(" den ")[0] for d in range(1, 8)]
    assert week == ["mandag", "tirsdag", "onsdag", "torsdag", "fredag", "lørdag", "søndag"]


def test_numeric_date() -> None:
    assert numeric_date(date(2017, 6, 19)) == "19.06.2017"
    assert numeric_date(date(2018, 4, 5), sep="-") == "05-04-2018"  # Vallensbæk minutes


# ------------------------------------------------------------------------ amounts
@pytest.mark.parametrize(("value", "text"), [
    (Decimal("1234.5"), "1.234,50 kr."),
    (Decimal("0"), "0,00 kr."),
    (Decimal("7"), "7,00 kr."),
    (Decimal("999.999"), "1.000,00 kr."),
    (Decimal("1000000"), "1.000.000,00 kr."),
    (Decimal("123456789.01"), "123.456.789,01 kr."),
    (1234, "1.234,00 kr."),
    ("12.3", "12,30 kr."),
])
def test_amount(value: Decimal | int | str, text: str) -> None:
    assert amount(value) == text


@pytest.mark.parametrize(("value", "text"), [
    (Decimal("-1234.5"), "-1.234,50 kr."),
    (Decimal("-0.5"), "-0,50 kr."),
    (Decimal("-1000000"), "-1.000.000,00 kr."),
    (Decimal("-0.004"), "0,00 kr."),  # rounds to zero: no "-0,00"
])
def test_negative_amounts(value: Decimal, text: str) -> None:
    assert amount(value) == text


@pytest.mark.parametrize(("value", "text"), [
    (Decimal("0.125"), "0,13 kr."),   # half up, not banker's rounding (which gives 0,12)
    (Decimal("0.135"), "0,14 kr."),
    (Decimal("2.675"), "2,68 kr."),
    (Decimal("0.124"), "0,12 kr."),
    (Decimal("-0.125"), "-0,13 kr."),  # half away from zero
    (Decimal("1234.565"), "1.234,57 kr."),
])
def test_amounts_round_half_up(value: Decimal, text: str) -> None:
    assert amount(value) == text


def test_amount_options() -> None:
    assert amount(Decimal("1234.5"), decimals=0) == "1.235 kr."
    assert amount(Decimal("1234.5"), unit="DKK") == "1.234,50 DKK"
    assert amount(Decimal("1234.5"), unit="") == "1.234,50"
    assert amount(Decimal("1234.5678"), decimals=3) == "1.234,568 kr."


@pytest.mark.parametrize(("value", "text"), [
    (1_400_000, "1,4 mio. kr."),
    (Decimal("1450000"), "1,5 mio. kr."),   # half up
    (2_000_000, "2 mio. kr."),               # no trailing ",0"
    (10_000_000, "10 mio. kr."),
    (12_340_000, "12,3 mio. kr."),
    (1_234_000_000, "1.234 mio. kr."),
    (-1_400_000, "-1,4 mio. kr."),
    (250_000, "0,3 mio. kr."),
    ("3500000", "3,5 mio. kr."),
])
def test_millions(value: Decimal | int | str, text: str) -> None:
    assert millions(value) == text


# -------------------------------------------------------------------- round trip
def parse_danish_amount(text: str, unit: str = "kr.") -> Decimal:
    assert text.endswith(" " + unit)
    number = text[: -len(unit) - 1]
    whole, _, frac = number.partition(",")
    sign = "-" if whole.startswith("-") else ""
    groups = whole.lstrip("-").split(".")
    assert all(len(g) == 3 for g in groups[1:]) and 1 <= len(groups[0]) <= 3
    return Decimal(f"{sign}{''.join(groups)}.{frac}")


@given(st.decimals(min_value=Decimal("-1e12"), max_value=Decimal("1e12"), allow_nan=False,
                   allow_infinity=False, places=4))
def test_amount_round_trips(value: Decimal) -> None:
    text = amount(value)
    expected = value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    assert parse_danish_amount(text) == expected
    assert text.startswith("-") == (expected < 0)


def test_lists_with_og_and_eller() -> None:
    assert join_and([]) == "" and join_and(["a"]) == "a"
    assert join_and(["a", "b", "c"]) == "a, b og c"
    assert join_or(["»Jurist«", "»Projektleder«"]) == "»Jurist« eller »Projektleder«"
    assert join_or(["1", "2", "3"]) == "1, 2 eller 3"


def test_a_name_in_a_sentence_keeps_its_abbreviations() -> None:
    from workflow.danish import in_sentence

    assert in_sentence("Det sociale område") == "det sociale område"
    assert in_sentence("Pædagogisk psykologisk rådgivning (PPR)") == \
        "pædagogisk psykologisk rådgivning (PPR)"
    assert in_sentence("PPR") == "PPR" and in_sentence("") == ""
