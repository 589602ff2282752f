"""The timeline's positions and `fits` are derived from the company's calendar less what each consultant lost;
here they are checked against each consultant's own calendar, walked instant by instant, on generated instances
that cross a clock change and a holiday, with whole and partial absences."""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from solver.generate import generate
from solver.instance import read_instance
from solver.timeline import Option, Timeline


def _own_positions(t: Timeline, consultant: str, span: str, minutes: int) -> list[tuple[datetime, datetime]]:
    """Every legal position of `consultant`, from its own calendar alone."""
    calendar, horizon, found = t.calendars[consultant], t.instance.horizon, []
    if span == "days":
        count = max(1, math.ceil(minutes / t.day_minutes))
        day = horizon.start.astimezone(t.tz).date()
        while datetime.combine(day, datetime.min.time(), t.tz) < horizon.end:
            if t.business.day_intervals(day):
                whole, d = [], day
                while whole is not None and len(whole) < count and d <= day + timedelta(days=count * 3 + 7):
                    company = t.business.day_intervals(d)
                    if company:
                        whole = whole + [company] if calendar.day_intervals(d) == company else None
                    d += timedelta(days=1)
                if whole and len(whole) == count:
                    start, end = whole[0][0][0], whole[-1][-1][1]
                    if start >= horizon.start and end <= horizon.end:
                        found.append((start, end))
            day += timedelta(days=1)
        return found
    free = calendar.intervals(horizon.start, horizon.end)
    instant, step, duration = horizon.start, timedelta(minutes=t.grid), timedelta(minutes=minutes)
    while not t.on_grid(instant):  # a horizon starts at any instant (now)
        instant = instant.replace(second=0, microsecond=0) + timedelta(minutes=1)
    while instant < horizon.end:
        if t.on_grid(instant) and any(a <= instant and instant + duration <= b for a, b in free):
            found.append((instant, instant + duration))
        instant += step
    return found


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(1, 10_000),
    start=st.sampled_from([date(2027, 3, 22), date(2027, 10, 25), date(2027, 4, 26), date(2027, 12, 20)]),
    cascade=st.booleans(),
    late=st.sampled_from([timedelta(0), timedelta(minutes=7, seconds=30)]),
)
def test_positions_and_fits_agree_with_each_consultant_s_own_calendar(seed, start, cascade, late):
    raw = generate(6, 2, seed, jobs=1, start=start, cascade=cascade)
    raw["horizon"]["start"] = (datetime.fromisoformat(raw["horizon"]["start"]) + late).isoformat()  # off the grid
    tuesday = start + timedelta(days=1)  # a morning off and a whole day off, beside the generator's own
    raw["consultants"][0]["unavailable"] += [
        {"start": f"{tuesday}T10:00:00+01:00", "end": f"{tuesday}T11:30:00+01:00"},
        {
            "start": f"{tuesday + timedelta(days=2)}T00:00:00+01:00",
            "end": f"{tuesday + timedelta(days=3)}T00:00:00+01:00",
        },
    ]
    instance = read_instance(raw)
    t = Timeline(instance)
    listed = 0
    kinds = {(item.span, item.duration_minutes) for item in [*instance.bookings, *instance.priority_jobs]}
    for consultant in instance.consultants:
        for span, minutes in kinds:
            item = next(
                i
                for i in [*instance.bookings, *instance.priority_jobs]
                if (i.span, i.duration_minutes) == (span, minutes)
            )
            options, starts = t.positions(consultant.id, item)
            expected = _own_positions(t, consultant.id, span, minutes)
            assert [(o.start, o.end) for o in options] == expected
            listed += len(expected)
            assert {o.consultant for o in options} <= {consultant.id} and starts == [a for a, _ in expected]
    assert listed > 0
    for booking in instance.bookings:  # where it is, on every consultant, and a grid step later
        for consultant in instance.consultants:
            for shift in (timedelta(0), timedelta(minutes=t.grid)):
                start = booking.start + shift
                option = Option(consultant.id, start, t.end_of(booking, consultant.id, start))
                assert t.fits(booking, option) == t._fits_exactly(booking, consultant.id, start, option.end), option
