"""The Danish working-day calendar: weekends, public holidays, closure days, month sums."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from workflow.calendar.workdays import WorkCalendar, add_months

# The calendar states.yaml configures: 5 June (grundlovsdag), 24 and 31 December.
CAL = WorkCalendar(country="DK", closure_days=[(6, 5), (12, 24), (12, 31)])
PLAIN = WorkCalendar(country="DK")  # public holidays only


# ------------------------------------------------------------------ which days
@pytest.mark.parametrize(("day", "name"), [
    (date(2018, 1, 1), "nytår"),
    (date(2018, 3, 29), "skærtorsdag"),
    (date(2018, 3, 30), "langfredag"),
    (date(2018, 4, 1), "påskedag"),
    (date(2018, 4, 2), "anden påskedag"),
    (date(2017, 5, 12), "store bededag"),
    (date(2018, 4, 27), "store bededag"),
    (date(2023, 5, 5), "store bededag"),
    (date(2018, 5, 10), "himmelfart"),
    (date(2018, 5, 20), "pinsedag"),
    (date(2018, 5, 21), "anden pinsedag"),
    (date(2018, 12, 25), "juledag"),
    (date(2018, 12, 26), "anden juledag"),
    (date(2024, 5, 9), "himmelfart"),
])
def test_danish_public_holidays_are_not_working_days(day: date, name: str) -> None:
    assert not CAL.is_working_day(day)
    assert not PLAIN.is_working_day(day)
    holiday = PLAIN.holiday_name(day)
    assert holiday is not None and name in holiday.lower()


def test_store_bededag_is_abolished_from_2024() -> None:
    friday = date(2024, 4, 26)  # the fourth Friday after Easter 2024
    assert friday.weekday() == 4
    assert CAL.is_working_day(friday)
    assert CAL.holiday_name(friday) is None
    year = [date(2024, 1, 1) + timedelta(days=i) for i in range(366)]
    assert not any("bededag" in (CAL.holiday_name(d) or "").lower() for d in year)
    # and the day after store bededag 2018 is back to normal
    assert CAL.add_working_days(date(2018, 4, 26), 1) == date(2018, 4, 30)
    assert CAL.add_working_days(date(2024, 4, 25), 1) == date(2024, 4, 26)


@pytest.mark.parametrize("day", [date(2018, 6, 5), date(2018, 12, 24), date(2018, 12, 31),
                                 date(2024, 6, 5), date(2024, 12, 24), date(2024, 12, 31)])
def test_closure_days_are_configured_not_public_holidays(day: date) -> None:
    assert day.weekday() < 5  # all on weekdays in these years
    assert not CAL.is_working_day(day)
    assert CAL.holiday_name(day) == "lukkedag"
    assert PLAIN.is_working_day(day)
    assert PLAIN.holiday_name(day) is None


def test_weekends_are_not_working_days_but_not_holidays_either() -> None:
    saturday, sunday, monday = date(2018, 1, 6), date(2018, 1, 7), date(2018, 1, 8)
    assert not CAL.is_working_day(saturday) and not CAL.is_working_day(sunday)
    assert CAL.holiday_name(saturday) is None
    assert CAL.is_working_day(monday)


@pytest.mark.parametrize(("year", "working_days"), [
    # 2018 starts on a Monday: 52 weeks + 1 day = 261 weekdays. Weekday holidays:
    # 1/1, 29/3, 30/3, 2/4, 27/4 (bededag), 10/5, 21/5, 25/12, 26/12 = 9; closure days
    # 5/6, 24/12, 31/12 = 3. 261 - 12 = 249.
    (2018, 249),
    # 2024 (leap, starts on a Monday): 262 weekdays. Weekday holidays: 1/1, 28/3, 29/3,
    # 1/4, 9/5, 20/5, 25/12, 26/12 = 8 (no store bededag); closure days 3. 262 - 11 = 251.
    (2024, 251),
])
def test_working_days_in_a_whole_year(year: int, working_days: int) -> None:
    assert CAL.working_days_between(date(year - 1, 12, 31), date(year, 12, 31)) == working_days


# ------------------------------------------------------------- counting forward
def test_five_working_days_over_easter_2018() -> None:
    # From Tuesday 27 March 2018: Wed 28/3 is 1; Thu 29/3 skærtorsdag, Fri 30/3 langfredag,
    # Sat 31/3, Sun 1/4 påskedag and Mon 2/4 2. påskedag are skipped; Tue 3/4 is 2,
    # Wed 4/4 is 3, Thu 5/4 is 4 and Fri 6/4 is 5.
    assert CAL.add_working_days(date(2018, 3, 27), 5) == date(2018, 4, 6)
    assert CAL.working_days_between(date(2018, 3, 27), date(2018, 4, 6)) == 5
    # one working day after Wednesday before Easter is the Tuesday after it
    assert CAL.add_working_days(date(2018, 3, 28), 1) == date(2018, 4, 3)


@pytest.mark.parametrize(("start", "n", "expected"), [
    (date(2018, 1, 5), 1, date(2018, 1, 8)),      # Friday -> Monday
    (date(2018, 1, 6), 1, date(2018, 1, 8)),      # from a Saturday
    (date(2018, 1, 8), 0, date(2018, 1, 8)),      # zero days: the start itself
    (date(2018, 1, 6), 0, date(2018, 1, 6)),      # even when it is not a working day
    (date(2018, 1, 8), 10, date(2018, 1, 22)),    # two plain weeks
    # Kristi himmelfart Thu 10/5 2018: Wed 9/5 + 1 = Fri 11/5
    (date(2018, 5, 9), 1, date(2018, 5, 11)),
    # pinse: Fri 18/5 + 1 skips Sat, Sun (pinsedag), Mon 21/5 (2. pinsedag) -> Tue 22/5
    (date(2018, 5, 18), 1, date(2018, 5, 22)),
    # grundlovsdag closure day: Mon 4/6 + 1 = Wed 6/6
    (date(2018, 6, 4), 1, date(2018, 6, 6)),
    # Christmas: Fri 21/12 + 1 skips 22, 23 (weekend), 24 (closure), 25, 26 -> Thu 27/12
    (date(2018, 12, 21), 1, date(2018, 12, 27)),
    # New Year: Fri 28/12 + 1 skips 29, 30, 31 (closure), 1/1 -> Wed 2/1 2019
    (date(2018, 12, 28), 1, date(2019, 1, 2)),
])
def test_add_working_days(start: date, n: int, expected: date) -> None:
    assert CAL.add_working_days(start, n) == expected


def test_grundlovsdag_counts_only_with_the_closure_day() -> None:
    assert CAL.add_working_days(date(2018, 6, 4), 1) == date(2018, 6, 6)
    assert PLAIN.add_working_days(date(2018, 6, 4), 1) == date(2018, 6, 5)


# ------------------------------------------------------------ counting backward
@pytest.mark.parametrize(("start", "n", "expected"), [
    (date(2018, 1, 8), -1, date(2018, 1, 5)),     # Monday -> Friday
    (date(2018, 4, 3), -1, date(2018, 3, 28)),    # over all of Easter
    # Fri 6/4: 5/4 is 1, 4/4 is 2, 3/4 is 3, 2/4..29/3 skipped, 28/3 is 4, 27/3 is 5
    (date(2018, 4, 6), -5, date(2018, 3, 27)),
    (date(2019, 1, 2), -1, date(2018, 12, 28)),   # over New Year and 31/12
    (date(2018, 6, 6), -1, date(2018, 6, 4)),     # over grundlovsdag
])
def test_add_working_days_backwards(start: date, n: int, expected: date) -> None:
    assert CAL.add_working_days(start, n) == expected


# ------------------------------------------------------------------ next and between
@pytest.mark.parametrize(("day", "expected"), [
    (date(2018, 1, 8), date(2018, 1, 8)),         # a working day is its own next
    (date(2018, 1, 6), date(2018, 1, 8)),
    (date(2018, 3, 29), date(2018, 4, 3)),
    (date(2018, 12, 24), date(2018, 12, 27)),
    (date(2018, 12, 29), date(2019, 1, 2)),
    (date(2018, 6, 5), date(2018, 6, 6)),
])
def test_next_working_day(day: date, expected: date) -> None:
    assert CAL.next_working_day(day) == expected


def test_working_days_between() -> None:
    assert CAL.working_days_between(date(2018, 1, 5), date(2018, 1, 8)) == 1
    assert CAL.working_days_between(date(2018, 1, 8), date(2018, 1, 8)) == 0
    assert CAL.working_days_between(date(2018, 1, 9), date(2018, 1, 8)) == 0  # end first
    # 24/12 closure, 25 and 26 holidays, 27 and 28 working, weekend, 31/12 closure,
    # 1/1 holiday, 2/1 working: 3
    assert CAL.working_days_between(date(2018, 12, 23), date(2019, 1, 2)) == 3


# ------------------------------------------------------------------------ months
@pytest.mark.parametrize(("start", "months", "expected"), [
    (date(2018, 1, 31), 1, date(2018, 2, 28)),    # clamped to the month's end
    (date(2024, 1, 31), 1, date(2024, 2, 29)),    # leap year
    (date(2024, 2, 29), 12, date(2025, 2, 28)),
    (date(2024, 2, 29), 48, date(2028, 2, 29)),
    (date(2018, 5, 31), 1, date(2018, 6, 30)),
    (date(2018, 1, 15), 1, date(2018, 2, 15)),
    (date(2018, 11, 30), 2, date(2019, 1, 30)),   # over the year's end
    (date(2018, 12, 31), 1, date(2019, 1, 31)),
    (date(2018, 3, 31), -1, date(2018, 2, 28)),   # backwards, clamped
    (date(2018, 1, 15), -1, date(2017, 12, 15)),
    (date(2018, 1, 15), 0, date(2018, 1, 15)),
    (date(2018, 1, 31), 25, date(2020, 2, 29)),
])
def test_add_months(start: date, months: int, expected: date) -> None:
    assert add_months(start, months) == expected


# -------------------------------------------------------------------- properties
DAYS = st.dates(min_value=date(1990, 1, 1), max_value=date(2060, 12, 31))


@given(DAYS, st.integers(min_value=1, max_value=300))
def test_adding_n_working_days_lands_on_a_working_day_n_working_days_on(d: date,
                                                                       n: int) -> None:
    result = CAL.add_working_days(d, n)
    assert result > d
    assert CAL.is_working_day(result)
    assert CAL.working_days_between(d, result) == n
    # and it is the first such day: one day earlier there were only n - 1
    assert CAL.working_days_between(d, result - timedelta(days=1)) == n - 1


@given(DAYS, st.integers(min_value=1, max_value=300))
def test_counting_backwards_lands_on_a_working_day(d: date, n: int) -> None:
    result = CAL.add_working_days(d, -n)
    assert result < d
    assert CAL.is_working_day(result)
    # the walk counted `result` and the n - 1 working days after it, before d
    assert CAL.working_days_between(result, d) == n - 1 + CAL.is_working_day(d)


@given(DAYS, st.integers(min_value=-120, max_value=120))
def test_add_months_keeps_the_day_or_clamps_to_the_last(d: date, months: int) -> None:
    result = add_months(d, months)
    assert (result.year * 12 + result.month) - (d.year * 12 + d.month) == months
    if result.day != d.day:
        assert result.day < d.day
        assert (result + timedelta(days=1)).day == 1  # clamped to the month's last day
