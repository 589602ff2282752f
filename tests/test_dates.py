"""The dates that real-clock tests pick (tests/dates.py) are right on every day of four years: working
days everywhere, past the notice and the cut-off, inside the horizon, in one contract year."""

from __future__ import annotations

from datetime import date, timedelta

from calendars.worktime import WorkCalendar

from .dates import contract_start, working_days

EVERY_DAY = [date(2026, 1, 1) + timedelta(days=n) for n in range(4 * 365 + 1)]  # 2026–2029, 29 Feb 2028 too


def test_working_days_are_working_days_in_every_region_on_every_day_of_four_years():
    alsace = WorkCalendar(holiday_region="57")
    for today in EVERY_DAY:
        days = working_days(3, after=5, today=today)
        assert days == sorted(set(days)) and days[0] >= today + timedelta(days=5)
        assert days[-1] <= today + timedelta(days=30), today  # well inside the 60-day horizon
        assert all(day.weekday() < 5 and alsace.is_working_day(day) for day in days), today


def test_a_contract_year_does_not_turn_within_two_months_of_any_day():
    for today in EVERY_DAY:
        start = contract_start(today)
        assert start.day == 1 and 150 <= (today - start).days <= 213, today


def test_known_traps_are_skipped():
    # the Christmas and Easter weeks, the Ascension bridge, Good Friday in Alsace-Moselle
    assert date(2026, 12, 25) not in working_days(10, after=0, today=date(2026, 12, 20))
    assert date(2027, 3, 26) not in working_days(10, after=0, today=date(2027, 3, 20))
    assert date(2027, 5, 6) not in working_days(10, after=0, today=date(2027, 5, 1))
