"""Transition data as typed: Danish and machine numbers, money to the øre, whole numbers."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from workflow.process.definition import FieldSpec, Label
from workflow.process.values import from_json, parse_value, to_json

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


@pytest.mark.parametrize(("raw", "problem"), [
    ("a\ud800b", "contains \\ud800, a lone UTF-16 surrogate, which is not text"),
    ("\udcff", "contains \\udcff, a lone UTF-16 surrogate, which is not text"),
    ("æ\udfff", "contains \\udfff, a lone UTF-16 surrogate, which is not text"),
    ("a\x00b", "contains a NUL character"),
])
def test_text_that_is_no_text_is_refused_naming_the_character(raw: str, problem: str) -> None:
    from workflow.process.values import text_problem

    assert text_problem(raw) == problem
    assert text_problem(raw, one_line=True) == problem
    with pytest.raises(ValueError) as caught:
        parse("text", raw)
    assert str(caught.value.args[0]) == problem
    assert "\\" in problem or "NUL" in problem  # said with a visible escape


def test_a_title_is_one_line_without_control_characters() -> None:
    from workflow.process.values import text_problem

    for fine in ("Ansøgning – runde 2 😀", "Glad \U0001F600", "a b"):
        assert text_problem(fine, one_line=True) is None
    for raw, shown in (("a\x1b]0;x\x07", "\\x1b"), ("\x07", "\\x07"), ("a\x9bb", "\\x9b"),
                       ("a\x7f", "\\x7f"), ("a\nb", "\\n"), ("a\rb", "\\r")):
        problem = text_problem(raw, one_line=True)
        assert problem == f"contains the control character {shown}"
        assert problem is not None and problem.da == f"indeholder styretegnet {shown}"
    # text of more lines keeps its lines and tabs, and nothing else that is no letter:
    # no escape, no C1 control, no line separator, no bidirectional override
    assert text_problem("Linje 1\r\nLinje 2\tmed tab", one_line=False) is None
    for raw, shown in (("a\x1b[2J", "\\x1b"), ("a\x9b2J", "\\x9b"), ("a\x85b", "\\x85"),
                       ("a\u2028b", "\\u2028"), ("fil\u202efdp.exe", "\\u202e"),
                       ("a\u2066b", "\\u2066")):
        for one_line in (False, True):
            problem = text_problem(raw, one_line=one_line)
            assert problem == f"contains the control character {shown}", (raw, one_line)
    assert parse("text", " Linje 1\n\tLinje 2 ") == "Linje 1\n\tLinje 2"
    assert parse("text", "Glad \U0001F600") == "Glad \U0001F600"


def test_an_unknown_key_is_named_visibly() -> None:
    from workflow.errors import InvalidData
    from workflow.process.definition import FieldSpec as Spec
    from workflow.process.values import parse_data

    with pytest.raises(InvalidData) as caught:
        parse_data({"\udcffx\x1b": "v"}, fields={"x": Spec("x", "text", Label("X", "X"))},
                   allowed=["x"], trigger="t", areas=AREAS, municipalities=MUNICIPALITIES)
    assert str(caught.value) == "\\udcffx\\x1b: t does not take this key (it takes: x)"
