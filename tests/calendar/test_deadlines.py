"""Deadline expressions: parsing, due dates on the Danish calendar, and the derivation text."""

from __future__ import annotations

from datetime import date

import pytest

from workflow.calendar.expressions import (
    DeadlineExpr,
    DeadlineSyntaxError,
    Due,
    Term,
    evaluate,
    parse,
)
from workflow.calendar.workdays import WorkCalendar
from workflow.config import Settings
from workflow.process.definition import load

CAL = WorkCalendar(country="DK", closure_days=[(6, 5), (12, 24), (12, 31)])
FIELDS = load(Settings().states_file).fields  # the shipped states.yaml


def danish(name: str) -> str:
    """The Danish label of a field, as the engine passes it (e.g. 'Mødedato')."""
    return FIELDS[name].label.da


def due(text: str, entered: date, **values: date) -> Due | None:
    return evaluate(parse(text), entered=entered, values=values, calendar=CAL, label=danish)


# ----------------------------------------------------------------------- parsing
def test_parse_terms() -> None:
    assert parse("20 working days") == DeadlineExpr(
        "20 working days", (Term(n=20, unit="working_days"),))
    expr = parse("meeting_date or 45 days")
    assert expr.terms == (Term(field="meeting_date"), Term(n=45, unit="days"))
    assert expr.fields() == ["meeting_date"]
    assert parse("5 working days before meeting_date").terms == (
        Term(n=5, unit="working_days", anchor="meeting_date", before=True),)
    assert parse("10 days after decision_date").terms == (
        Term(n=10, unit="days", anchor="decision_date"),)
    assert parse("1 week").terms == (Term(n=1, unit="weeks"),)
    assert parse("1 month").terms == (Term(n=1, unit="months"),)
    assert parse("  20   working   days ").terms == (Term(n=20, unit="working_days"),)
    assert parse("due_date or 5 days before meeting_date or 8 weeks").fields() == [
        "due_date", "meeting_date"]


@pytest.mark.parametrize("text", [
    "", "   ", "20 workin days", "twenty days", "-5 days", "0 days", "3651 days",
    "5 days after", "5 days before", "meeting-date", "20 working days or",
    "or 20 working days", "meeting_date or or 5 days", "20 Working Days", "5 fortnights",
    "5 days after Meeting_Date", "20 working days and 5 days",
])
def test_bad_expressions_are_refused(text: str) -> None:
    with pytest.raises(DeadlineSyntaxError):
        parse(text)


def test_a_syntax_error_is_a_value_error_and_says_what_is_wrong() -> None:
    with pytest.raises(ValueError, match="cannot read '20 workin days'"):
        parse("20 workin days")
    with pytest.raises(DeadlineSyntaxError, match="between 1 and 3650"):
        parse("0 days")


# -------------------------------------------------------------------- working days
def test_twenty_working_days_from_3_may_2018() -> None:
    # From Thursday 3 May 2018: Fri 4/5 is 1, Mon 7 - Wed 9 are 2-4, Thu 10/5 is Kristi
    # himmelfart (skipped), Fri 11 is 5, Mon 14 - Fri 18 are 6-10, Mon 21/5 is 2. pinsedag
    # (skipped), Tue 22 - Fri 25 are 11-14, Mon 28 - Fri 1/6 are 15-19, Mon 4 June is 20.
    assert due("20 working days", date(2018, 5, 3)) == Due(
        date(2018, 6, 4), "20 arbejdsdage fra 3. maj 2018")


def test_one_working_day_is_singular() -> None:
    # Wednesday 28 March 2018 + 1 working day: Easter is skipped to Tuesday 3 April
    assert due("1 working day", date(2018, 3, 28)) == Due(
        date(2018, 4, 3), "1 arbejdsdag fra 28. marts 2018")


@pytest.mark.parametrize(("text", "words"), [
    ("1 day", "1 dag"), ("2 days", "2 dage"), ("1 week", "1 uge"), ("3 weeks", "3 uger"),
    ("1 month", "1 måned"), ("4 months", "4 måneder"), ("10 working days", "10 arbejdsdage"),
])
def test_units_in_danish(text: str, words: str) -> None:
    result = due(text, date(2018, 1, 8))
    assert result is not None
    assert result.derivation.startswith(f"{words} fra 8. januar 2018")


def test_working_days_before_a_date() -> None:
    # Back from Tuesday 3 April 2018: 2/4 2. påskedag, 1/4 and 31/3 weekend, 30/3 and 29/3
    # holidays; Wed 28/3 is 1, Tue 27 is 2, Mon 26 is 3, Fri 23 is 4, Thu 22 March is 5.
    assert due("5 working days before meeting_date", date(2018, 1, 8),
               meeting_date=date(2018, 4, 3)) == Due(
        date(2018, 3, 22), "5 arbejdsdage før mødedato 3. april 2018")
    # without the date there is nothing to count from
    assert due("5 working days before meeting_date", date(2018, 1, 8)) is None


def test_days_after_a_date() -> None:
    # Friday 1 June 2018 + 10 days = Monday 11 June, a working day
    assert due("10 days after decision_date", date(2018, 1, 8),
               decision_date=date(2018, 6, 1)) == Due(
        date(2018, 6, 11), "10 dage efter afgørelsesdato 1. juni 2018")


# ---------------------------------------------------------------- alternatives
def test_meeting_date_or_45_days_with_the_meeting_date() -> None:
    assert due("meeting_date or 45 days", date(2018, 2, 12),
               meeting_date=date(2018, 4, 25)) == Due(
        date(2018, 4, 25), "Mødedato 25. april 2018")


def test_meeting_date_or_45_days_without_it() -> None:
    # 12 February 2018 + 45 days = Thursday 29 March, skærtorsdag; then langfredag, the
    # weekend and 2. påskedag: the first working day is Tuesday 3 April.
    assert due("meeting_date or 45 days", date(2018, 2, 12)) == Due(
        date(2018, 4, 3),
        "45 dage fra 12. februar 2018 (flyttet fra torsdag den 29. marts 2018)")


def test_a_value_that_is_not_a_date_is_passed_over() -> None:
    result = evaluate(parse("meeting_date or 45 days"), entered=date(2018, 1, 8),
                      values={"meeting_date": None}, calendar=CAL, label=danish)
    assert result is not None and result.derivation.startswith("45 dage fra")


def test_no_computable_alternative_gives_none() -> None:
    assert due("effective_date", date(2018, 1, 8)) is None
    assert due("due_date or effective_date", date(2018, 1, 8)) is None


def test_the_first_computable_alternative_wins() -> None:
    assert due("due_date or meeting_date", date(2018, 1, 8), due_date=date(2018, 3, 1),
               meeting_date=date(2018, 2, 1)) == Due(date(2018, 3, 1),
                                                     "Ministeriets frist 1. marts 2018")


def test_without_a_label_function_the_field_name_is_used() -> None:
    result = evaluate(parse("meeting_date or 45 days"), entered=date(2018, 1, 8),
                      values={"meeting_date": date(2018, 4, 25)}, calendar=CAL)
    assert result == Due(date(2018, 4, 25), "meeting_date 25. april 2018")


# ------------------------------------------------------- calendar days are moved
def test_eight_weeks_on_a_working_day_is_not_moved() -> None:
    # Monday 5 March 2018 + 56 days = Monday 30 April 2018
    assert due("8 weeks", date(2018, 3, 5)) == Due(date(2018, 4, 30), "8 uger fra 5. marts 2018")


def test_eight_weeks_landing_on_a_holiday_moves_forward() -> None:
    # Thursday 15 March 2018 + 56 days = Thursday 10 May, Kristi himmelfart -> Friday 11 May
    assert due("8 weeks", date(2018, 3, 15)) == Due(
        date(2018, 5, 11), "8 uger fra 15. marts 2018 (flyttet fra torsdag den 10. maj 2018)")


def test_eight_weeks_landing_on_a_weekend_moves_forward() -> None:
    # Saturday 17 March 2018 + 56 days = Saturday 12 May -> Monday 14 May
    assert due("8 weeks", date(2018, 3, 17)) == Due(
        date(2018, 5, 14), "8 uger fra 17. marts 2018 (flyttet fra lørdag den 12. maj 2018)")


def test_thirty_days_landing_on_a_closure_day_moves_past_christmas() -> None:
    # 24 November 2018 + 30 days = Monday 24 December (closure day); 25, 26 holidays
    assert due("30 days", date(2018, 11, 24)) == Due(
        date(2018, 12, 27),
        "30 dage fra 24. november 2018 (flyttet fra mandag den 24. december 2018)")


def test_months_are_clamped_then_moved() -> None:
    # 31 January 2018 + 2 months = 31 March (no clamping: March has 31 days), the Easter
    # Saturday; Sunday, 2. påskedag follow -> Tuesday 3 April
    assert due("2 months", date(2018, 1, 31)) == Due(
        date(2018, 4, 3), "2 måneder fra 31. januar 2018 (flyttet fra lørdag den 31. marts 2018)")
    # 31 January 2018 + 1 month = 28 February (clamped), a Wednesday
    assert due("1 month", date(2018, 1, 31)) == Due(date(2018, 2, 28),
                                                    "1 måned fra 31. januar 2018")


def test_working_day_deadlines_are_never_moved() -> None:
    # counted in working days, the result already is one: no "(flyttet ...)"
    result = due("1 working day", date(2018, 12, 21))
    assert result == Due(date(2018, 12, 27), "1 arbejdsdag fra 21. december 2018")
