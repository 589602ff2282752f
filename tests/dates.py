"""Dates for tests that run against the real clock (servers, subprocesses): chosen with the business
calendar, so that a test passes on every day of the year (`make test-calendar` runs them on many)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from babel.dates import format_date as babel_date

from calendars.worktime import PARIS, WorkCalendar

# A day is usable only if it is a working day everywhere: in Alsace-Moselle too (Good Friday, 26 December).
_CALENDARS = (WorkCalendar(), WorkCalendar(holiday_region="57"))


def is_plain_working_day(day: date) -> bool:
    return all(calendar.is_working_day(day) for calendar in _CALENDARS)


def working_days(count: int, after: int = 7, today: date | None = None) -> list[date]:
    """The first `count` working days at least `after` calendar days from today: past the minimum notice, well
    inside the booking horizon. Past the cancellation cut-off (24 business hours) only from `after=10`: 7 days
    ahead of 5 May 2027 17:45 (Ascension, 8 May) lie 23.5 of them, so a test that moves or cancels takes 10."""
    day, found = (today or date.today()) + timedelta(days=after), []
    while len(found) < count:
        if is_plain_working_day(day):
            found.append(day)
        day += timedelta(days=1)
    return found


def working_day(after: int = 7, today: date | None = None) -> date:
    return working_days(1, after, today)[0]


def contract_start(today: date | None = None) -> date:
    """A contract start about six months ago: the contract year does not turn during a test's bookings."""
    return ((today or date.today()) - timedelta(days=182)).replace(day=1)


def at(day: date, hour: int = 10) -> datetime:
    """`hour` o'clock in Paris on `day`."""
    return datetime.combine(day, time(hour), PARIS)


def now() -> datetime:
    """The clock (frozen by the caller's time_machine.travel)."""
    return datetime.now(UTC)


def said(day: date, locale: str = "fr") -> str:
    """A day as the refusals write it (« 1er » in French)."""
    return babel_date(day, "d'er' MMMM yyyy" if day.day == 1 and locale == "fr" else "d MMMM yyyy", locale=locale)
