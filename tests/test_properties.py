"""Invariants under generated sequences: the Sérénité hour bank, and free slots in the weeks of the
clock changes with absences."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from booking.extensions import db
from booking.models import Absence, Booking, LedgerEntry
from booking.services import availability, bookings, hour_bank
from booking.services.errors import ServiceError
from calendars.worktime import PARIS

from . import factories as f

NOW = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)
YEAR = date(2026, 1, 1)
CONSUMED = ("confirmed", "late_cancelled", "completed", "no_show")

# (day offset from Monday 7 December, start hour): some collide, some fall on holidays or weekends
starts = st.tuples(st.integers(0, 27), st.sampled_from([9, 10, 11, 14, 15, 16]))
steps = st.lists(
    st.one_of(st.tuples(st.just("book"), starts), st.tuples(st.just("cancel"), st.integers(0, 30), st.booleans())),
    max_size=25,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps)
def test_hour_bank_never_negative_and_each_booking_accounts_for_its_minutes(app, plan):
    company = f.company("serenite", contract_start=YEAR)
    contact = f.user("client", company)
    f.consultant(skills=("installation",))
    f.consultant(skills=("installation",))
    made: list[Booking] = []
    for step in plan:
        try:
            if step[0] == "book":
                day, hour = step[1]
                start = datetime(2026, 12, 7, hour, tzinfo=PARIS) + timedelta(days=day)
                made.append(bookings.book(contact, "erplib", start, NOW))
            elif made:
                booking = made[step[1] % len(made)]
                late = step[2]  # an hour before the start: past the cut-off, the session is consumed
                bookings.cancel(contact, booking, booking.start_at - timedelta(hours=1) if late else NOW)
        except ServiceError:
            pass  # refused (slot taken, holiday, cap, already cancelled): nothing may have changed
        left = hour_bank.balance(company, YEAR)
        assert 0 <= left <= 600
        included, billable = defaultdict(int), defaultdict(int)
        for line in db.session.scalars(
            select(LedgerEntry).where(  # this example's company: examples share the database
                LedgerEntry.company_id == company.id, LedgerEntry.booking_id.is_not(None)
            )
        ):
            included[line.booking_id] -= line.minutes
            billable[line.booking_id] += line.billable_minutes
        for booking in made:
            if booking.status in CONSUMED:
                assert included[booking.id] + billable[booking.id] == 45, booking.status
                assert included[booking.id] >= 0 and billable[booking.id] >= 0
            else:
                assert included[booking.id] == 0 and billable[booking.id] == 0, booking.status
        assert sum(included[b.id] for b in made) == 600 - left
        if any(billable.values()):
            assert left < 45  # billable minutes only once the included ones ran out
    db.session.rollback()


clock_change_days = st.sampled_from([date(2027, 3, 22), date(2026, 10, 19)])  # Mondays of the weeks


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    clock_change_days,
    st.integers(0, 4 * 24 - 1),
    st.lists(st.tuples(st.integers(0, 6 * 24), st.integers(1, 24)), max_size=3),
)
def test_slots_in_clock_change_weeks_stay_in_working_time_and_out_of_notice(app, monday, quarter, absences):
    consultant = f.consultant()
    company = f.company()
    week_start = datetime.combine(monday, datetime.min.time(), PARIS)
    now = week_start - timedelta(days=1) + timedelta(minutes=15 * quarter)
    for hour, length in absences:  # absences in hours from Monday 00:00 local
        db.session.add(
            Absence(
                consultant=consultant,
                start_at=week_start + timedelta(hours=hour),
                end_at=week_start + timedelta(hours=hour + length),
                reason="test",
            )
        )
    db.session.flush()
    calendar = availability.calendar_for(consultant)
    earliest = availability.BUSINESS.add_minutes(now, 240)
    found = availability.slots("erplib", company, week_start, week_start + timedelta(days=7), now)
    for slot in found:
        assert slot.end - slot.start == timedelta(minutes=45)
        assert calendar.between(slot.start, slot.end) == timedelta(minutes=45)  # inside working time, no absence
        assert slot.start >= earliest
        local = slot.start.astimezone(PARIS)
        assert local.minute % 15 == 0 and 9 <= local.hour < 18
    assert len({s.start for s in found}) == len(found)
    db.session.rollback()
