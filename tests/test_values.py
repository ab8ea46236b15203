"""Transition data as typed: Danish and machine numbers, money to the øre, whole numbers."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from workflow.definition import FieldSpec, Label
from workflow.values import from_json, parse_value, to_json

AREAS = ["social", "employment"]
MUNICIPALITIES = ["ishoj", "vallensbaek"]


def field(kind: str) -> FieldSpec:
    return FieldSpec("x", kind, Label("X", "X"))


def parse(kind: str, raw: Any) -> Any:
    return parse_value(field(kind), raw, areas=AREAS, municipalities=MUNICIPALITIES)


@pytest.mark.parametrize(("raw", "expected"), [
    ("1.234,50", "1234.50"),          # Danish, grouped
    ("1.234.567,89", "1234567.89"),
    ("1234,5", "1234.50"),            # decimal comma
    ("1234.5", "1234.50"),            # decimal point (API, machines)
    ("1.234.567", "1234567.00"),      # several dots can only be thousands
    ("12 345,00 kr.", "12345.00"),
    (1234, "1234.00"),
    (0.1, "0.10"),                    # a JSON float is read as the text it prints as
    ("0", "0.00"),
])
def test_money_is_read_as_a_dane_or_a_machine_writes_it(raw: Any, expected: str) -> None:
    value = parse("money", raw)
    assert isinstance(value, Decimal) and value == Decimal(expected)
    assert to_json({"a": value}) == {"a": expected}


@pytest.mark.parametrize(("raw", "message"), [
    ("1,005", "more than two decimals"),
    ("12,3,4", "is not a number"),
    ("-5", "between 0"),
    ("NaN", "is not a number"),
    ("Infinity", "is not a number"),
    (True, "is not a number"),
    ("1e13", "between 0"),
])
def test_bad_money_is_refused_saying_why(raw: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse("money", raw)


def test_percent_and_integer() -> None:
    assert parse("percent", "7,5") == Decimal("7.5")
    assert parse("percent", "7.5 %") == Decimal("7.5")
    assert parse("percent", 0) == Decimal(0)
    with pytest.raises(ValueError, match="percentage"):
        parse("percent", "7,12345")
    assert parse("integer", "420") == 420 and parse("integer", 3) == 3
    for bad in ("4,5", "-1", "", True, "1e3"):
        with pytest.raises(ValueError, match="whole number|between"):
            parse("integer", bad)
    assert parse("area", "social") == "social"
    with pytest.raises(ValueError, match="unknown area 'jobs'"):
        parse("area", "jobs")


def test_amounts_come_back_from_json_exact() -> None:
    fields = {"a": FieldSpec("a", "money", Label("A", "A")),
              "p": FieldSpec("p", "percent", Label("P", "P"))}
    back = from_json({"a": "1327160.48", "p": "7.5"}, fields)
    assert back == {"a": Decimal("1327160.48"), "p": Decimal("7.5")}
