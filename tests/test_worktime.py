"""Business time: named cases (clock changes, French holidays) and properties."""

from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from calendars.worktime import PARIS, BusinessDuration, WorkCalendar, parse_week

UTC = UTC
CAL = WorkCalendar()
MOSELLE = WorkCalendar(holiday_region="57")


def paris(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=PARIS)


def local(instant: datetime) -> str:
    return instant.astimezone(PARIS).strftime("%a %Y-%m-%d %H:%M")


def hours(day: date, calendar=CAL) -> float:
    return sum((b - a).total_seconds() for a, b in calendar.day_intervals(day)) / 3600


def test_friday_1730_plus_two_business_hours_is_monday_1030():
    assert local(CAL.add_minutes(paris("2026-11-27 17:30"), 120)) == "Mon 2026-11-30 10:30"
    assert local(CAL.add(paris("2026-11-27 17:30"), BusinessDuration.parse("2h"))) == "Mon 2026-11-30 10:30"


@pytest.mark.parametrize(
    "start, expected",
    [
        ("2026-12-01 10:00", "Wed 2026-12-02 10:00"),  # Tuesday → Wednesday, same time
        ("2026-11-27 16:00", "Mon 2026-11-30 16:00"),  # Friday → Monday
        ("2026-11-28 10:00", "Tue 2026-12-01 09:00"),  # Saturday: counts from Monday's opening
        ("2026-12-01 13:00", "Wed 2026-12-02 14:00"),  # lunch break: counts from 14:00
        ("2026-12-01 18:00", "Wed 2026-12-02 18:00"),  # closing time stays closing time
        ("2026-05-13 10:00", "Fri 2026-05-15 10:00"),  # Ascension Thursday skipped
        ("2026-12-24 11:00", "Mon 2026-12-28 11:00"),  # Christmas Friday skipped
    ],
)
def test_plus_one_business_day_is_the_same_time_on_the_next_working_day(start, expected):
    assert local(CAL.add_days(paris(start), 1)) == expected


@pytest.mark.parametrize(
    "day", ["2026-05-01", "2026-05-08", "2026-05-14", "2026-05-25", "2026-12-25", "2026-11-28", "2026-11-29"]
)
def test_public_holidays_and_weekends_have_no_working_time(day):
    assert CAL.day_intervals(date.fromisoformat(day)) == []


def test_alsace_moselle_adds_good_friday_and_26_december():
    for day in (date(2026, 4, 3), date(2025, 12, 26)):  # both Fridays
        assert hours(day) == 7.5 and hours(day, MOSELLE) == 0
    assert hours(date(2026, 4, 2), MOSELLE) == 7.5


@pytest.mark.parametrize("monday", [date(2026, 3, 23), date(2026, 3, 30), date(2026, 10, 19), date(2026, 10, 26)])
def test_clock_change_weeks_keep_every_block_at_local_time(monday):
    days = [monday + timedelta(days=n) for n in range(5)]
    for day in days:
        blocks = CAL.day_intervals(day)
        assert [(a.astimezone(PARIS).time(), b.astimezone(PARIS).time()) for a, b in blocks] == [
            (time(9), time(12, 30)),
            (time(14), time(18)),
        ]
    summer = date(2026, 3, 29) < monday < date(2026, 10, 25)
    assert CAL.day_intervals(days[0])[0][0].hour == (7 if summer else 8)


@pytest.mark.parametrize(
    "start, minutes, expected",
    [
        ("2026-03-27 17:30", 120, "Mon 2026-03-30 10:30"),  # across the spring-forward night
        ("2026-10-23 17:30", 120, "Mon 2026-10-26 10:30"),  # across the fall-back night
        ("2026-03-27 09:00", 450 * 2, "Mon 2026-03-30 18:00"),
    ],
)
def test_adding_hours_across_a_clock_change(start, minutes, expected):
    assert local(CAL.add_minutes(paris(start), minutes)) == expected


def test_between_counts_business_time_not_wall_time_across_clock_changes():
    assert CAL.between(paris("2026-03-27 17:00"), paris("2026-03-30 10:00")) == timedelta(hours=2)
    assert CAL.between(paris("2026-10-23 17:00"), paris("2026-10-26 10:00")) == timedelta(hours=2)
    week = CAL.intervals(paris("2026-10-19 00:00"), paris("2026-10-31 00:00"))
    assert sum((b - a for a, b in week), timedelta()) == timedelta(hours=75)


def test_between_is_negative_backwards():
    assert CAL.between(paris("2026-12-02 10:00"), paris("2026-12-01 10:00")) == -timedelta(hours=7, minutes=30)


def test_absences_remove_working_time():
    absent = WorkCalendar(absences=((paris("2026-12-01 10:00"), paris("2026-12-01 16:00")),))
    blocks = absent.day_intervals(date(2026, 12, 1))
    assert [(local(a)[-5:], local(b)[-5:]) for a, b in blocks] == [("09:00", "10:00"), ("16:00", "18:00")]
    assert local(absent.add_minutes(paris("2026-12-01 09:30"), 60)) == "Tue 2026-12-01 16:30"


def test_whole_day_absence_makes_a_non_working_day():
    absent = WorkCalendar(absences=((paris("2026-12-02 00:00"), paris("2026-12-03 00:00")),))
    assert local(absent.add_days(paris("2026-12-01 10:00"), 1)) == "Thu 2026-12-03 10:00"


def test_custom_weekly_pattern():
    part_time = WorkCalendar(week=parse_week({"0": [["08:00", "12:00"]], "2": [["13:00", "17:00"]]}))
    assert hours(date(2026, 11, 30), part_time) == 4 and hours(date(2026, 12, 1), part_time) == 0
    assert local(part_time.add_minutes(paris("2026-11-30 11:00"), 120)) == "Wed 2026-12-02 14:00"


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        CAL.add_minutes(datetime(2026, 12, 1, 10), 60)
    with pytest.raises(ValueError):
        BusinessDuration.parse("2 semaines")
    with pytest.raises(ValueError, match="ends before"):
        parse_week({"0": [["12:00", "09:00"]]})
    with pytest.raises(ValueError, match="no working time"):
        WorkCalendar(week=((),) * 7).add_minutes(paris("2026-12-01 10:00"), 1)


# Properties: instants anywhere in 2025–2027, with extra weight on the clock-change weekends.
CLOCK_CHANGES = [
    datetime(2026, 3, 29, 1, tzinfo=UTC),
    datetime(2026, 10, 25, 1, tzinfo=UTC),
    datetime(2027, 3, 28, 1, tzinfo=UTC),
]
instants = st.one_of(
    st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 1), timezones=st.just(UTC)),
    st.builds(
        lambda base, minutes: base + timedelta(minutes=minutes),
        st.sampled_from(CLOCK_CHANGES),
        st.integers(-5 * 1440, 5 * 1440),
    ),
)
calendars = st.sampled_from([CAL, MOSELLE])


@settings(max_examples=300, deadline=None)
@given(calendars, instants, st.integers(0, 6000))
def test_adding_minutes_adds_exactly_that_much_business_time(calendar, start, minutes):
    end = calendar.add_minutes(start, minutes)
    assert end >= start
    assert calendar.between(start, end) == timedelta(minutes=minutes)


@settings(max_examples=200, deadline=None)
@given(calendars, instants, st.integers(1, 20 * 1440))
def test_intervals_lie_inside_working_blocks(calendar, start, span):
    end = start + timedelta(minutes=span)
    result = calendar.intervals(start, end)
    for (a, b), following in zip(result, result[1:] + [None], strict=False):
        assert start <= a < b <= end
        if following:
            assert b <= following[0]
        la, lb = a.astimezone(PARIS), b.astimezone(PARIS)
        assert la.date() == lb.date() and la.weekday() < 5 and not calendar.is_holiday(la.date())
        assert (time(9) <= la.time() and lb.time() <= time(12, 30)) or (time(14) <= la.time() and lb.time() <= time(18))


@settings(max_examples=200, deadline=None)
@given(calendars, instants, st.integers(0, 30))
def test_adding_days_lands_on_the_nth_working_day(calendar, start, days):
    end = calendar.add_days(start, days)
    first = calendar.local_day(calendar.next_working_moment(start))
    last = calendar.local_day(end)
    working = [first + timedelta(days=n) for n in range(1, (last - first).days + 1)]
    assert calendar.is_working_day(last)
    assert sum(calendar.is_working_day(d) for d in working) == days


@settings(max_examples=200, deadline=None)
@given(instants, st.integers(0, 10000), st.integers(0, 10000))
def test_between_is_additive(start, m1, m2):
    b, c = start + timedelta(minutes=m1), start + timedelta(minutes=m1 + m2)
    assert CAL.between(start, b) + CAL.between(b, c) == CAL.between(start, c)


@given(st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2028, 12, 31)), st.integers(1, 60 * 60))
def test_minutes_before_undoes_add_minutes(naive, minutes):
    calendar = WorkCalendar(holiday_region="57")
    start = calendar.next_working_moment(naive.replace(tzinfo=PARIS))
    later = calendar.add_minutes(start, minutes)
    back = calendar.minutes_before(later, minutes)
    assert calendar.between(back, later) == timedelta(minutes=minutes)
    assert back >= start  # the latest such instant: never before where add_minutes started
