"""The availability pipeline: each subtraction, the grid, notice, horizon, cap, preference, DST."""

from datetime import UTC, date, datetime, time, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event, select

from booking.extensions import db
from booking.models import ACTIVE_STATUSES, LONGEST, Absence, Booking, overlapping, with_status
from booking.services import availability
from calendars.worktime import PARIS

from . import factories as f

NOW = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)  # Wednesday 09:00 in Paris
MINUTE = timedelta(minutes=1)


def paris(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=PARIS)


def day_slots(company, day: str, kind="erplib", now=NOW, **kw):
    start, end = availability.local_range(date.fromisoformat(day), date.fromisoformat(day))
    return availability.slots(kind, company, start, end, now, **kw)


def hhmm(slots):
    return [s.start.astimezone(PARIS).strftime("%H:%M") for s in slots]


def test_a_free_day_offers_every_grid_start_that_fits(app):
    c, company = f.consultant(), f.company("standard")
    found = day_slots(company, "2026-12-03")
    assert hhmm(found)[:3] == ["09:00", "09:15", "09:30"]
    assert hhmm(found)[-1] == "17:15" and "12:00" not in hhmm(found) and "11:45" in hhmm(found)
    assert all(s.end - s.start == timedelta(minutes=45) and s.consultant_id == c.id for s in found)


def test_minimum_notice_is_four_business_hours(app):
    f.consultant()
    assert hhmm(day_slots(f.company(), "2026-12-02"))[0] == "14:30"  # 09:00 + 3h30 + 30 min


def test_existing_bookings_and_absences_are_subtracted(app):
    c, company = f.consultant(), f.company()
    f.booking(c, paris("2026-12-03 10:00"))
    c.absences.append(Absence(start_at=paris("2026-12-03 14:00"), end_at=paris("2026-12-03 16:00")))
    db.session.flush()
    starts = hhmm(day_slots(company, "2026-12-03"))
    assert "09:15" in starts and "09:30" not in starts and "10:45" in starts
    assert "14:00" not in starts and "15:45" not in starts and "16:00" in starts


def test_cancelled_bookings_and_expired_holds_free_the_slot(app):
    c, company = f.consultant(), f.company()
    f.booking(c, paris("2026-12-03 10:00"), status="cancelled")
    f.booking(c, paris("2026-12-03 11:00"), status="held", hold_expires_at=NOW - timedelta(minutes=1))
    f.booking(c, paris("2026-12-03 14:00"), status="held", hold_expires_at=NOW + timedelta(minutes=5))
    starts = hhmm(day_slots(company, "2026-12-03"))
    assert {"10:00", "11:00"} <= set(starts) and "14:00" not in starts


def test_daily_cap(app):
    c, company = f.consultant(daily_cap=1), f.company()
    f.booking(c, paris("2026-12-03 09:00"))
    assert day_slots(company, "2026-12-03") == [] and day_slots(company, "2026-12-04") != []


def test_horizon_and_holidays(app):
    f.consultant()
    company = f.company()
    assert day_slots(company, "2026-12-25") == []  # Christmas
    assert day_slots(company, "2027-01-29") != [] and day_slots(company, "2027-02-02") == []  # 60 days


def test_clock_change_week_keeps_local_hours(app):
    f.consultant()
    found = day_slots(f.company(), "2026-10-26", now=datetime(2026, 10, 20, 8, tzinfo=UTC))
    assert hhmm(found)[0] == "09:00" and found[0].start.hour == 8  # 09:00 CET = 08:00 UTC


def test_skills_decide_who_can_install(app):
    f.consultant(skills=("comptabilite",))
    installer = f.consultant(skills=("installation",))
    found = day_slots(f.company(), "2026-12-09", kind="minor_update")  # after its prerequisites gate
    assert found and {s.consultant_id for s in found} == {installer.id}
    assert found[-1].end.astimezone(PARIS).time() <= time(18)
    assert "11:00" not in hhmm(found)  # 2 h do not fit before the lunch break


def test_whole_days_for_major_installs(app):
    c = f.consultant(skills=("installation",))
    f.booking(c, paris("2026-12-04 16:00"))
    found = availability.slots("major_install", f.company(), paris("2026-12-03 00:00"), paris("2026-12-08 00:00"), NOW)
    assert [s.start.astimezone(PARIS).strftime("%a %H:%M") for s in found] == ["Thu 09:00", "Mon 09:00"]
    assert found[0].end == paris("2026-12-03 18:00")


def test_privileged_consultant_first_then_least_loaded(app):
    busy, idle, favourite = f.consultant(), f.consultant(), f.consultant()
    f.booking(busy, paris("2026-12-04 09:00"))
    f.booking(favourite, paris("2026-12-04 10:00"))
    serenite = f.company("serenite", privileged_consultant=favourite)
    standard = f.company("standard")
    assert {s.consultant_id for s in day_slots(serenite, "2026-12-03")} == {favourite.id}
    assert {s.consultant_id for s in day_slots(standard, "2026-12-03")} == {idle.id}


def test_find_rechecks_one_exact_start(app):
    c, company = f.consultant(), f.company()
    assert availability.find("erplib", company, paris("2026-12-03 10:00"), NOW).consultant_id == c.id
    assert availability.find("erplib", company, paris("2026-12-03 10:05"), NOW) is None  # off the grid
    f.booking(c, paris("2026-12-03 10:30"))
    assert availability.find("erplib", company, paris("2026-12-03 10:00"), NOW) is None


starts = st.integers(0, 4 * 24 * 4 - 1).map(lambda q: paris("2026-12-03 00:00") + timedelta(minutes=15 * q))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(starts, st.sampled_from([30, 45, 120])), max_size=12))
def test_slots_never_overlap_bookings_nor_leave_working_time(app, existing):
    consultant = f.consultant()
    company = f.company()
    placed = []
    for start, minutes in existing:
        end = start + timedelta(minutes=minutes)
        if all(end <= a or start >= b for a, b in placed):
            f.booking(consultant, start, minutes)
            placed.append((start, end))
    calendar = availability.calendar_for(consultant)
    earliest = calendar.add_minutes(NOW, 240)
    for slot in availability.slots("erplib", company, paris("2026-12-01 00:00"), paris("2026-12-08 00:00"), NOW):
        assert all(slot.end <= a or slot.start >= b for a, b in placed)
        assert calendar.between(slot.start, slot.end) == slot.end - slot.start
        assert slot.start >= earliest
    db.session.rollback()


def test_a_booking_begun_days_before_the_window_still_blocks_it(app):
    """Overlap queries look back LONGEST before their window, no further: a five-day priority consulting
    from Monday still takes Thursday, and a booking as long as any can be still blocks its last minute."""
    c, other, company = f.consultant(), f.consultant(), f.company()
    f.booking(c, paris("2026-12-07 09:00"), minutes=4 * 24 * 60 + 9 * 60, kind="priority_consulting")  # to Friday 18:00
    f.booking(other, paris("2026-12-15 09:00") - LONGEST + MINUTE, minutes=int(LONGEST / MINUTE))  # to 09:01

    def starts(consultant, day):
        return hhmm([s for s in day_slots(company, day) if s.consultant_id == consultant.id])

    assert starts(c, "2026-12-10") == [] and starts(c, "2026-12-14")[0] == "09:00"
    at_nine, at_ten = (
        availability.decide("erplib", company, paris(f"2026-12-15 {t}"), NOW, consultants=[other])
        for t in ("09:00", "10:00")
    )
    assert not isinstance(at_nine, availability.Slot) and isinstance(at_ten, availability.Slot)


def test_overlap_queries_read_the_window_not_the_history(app):
    """The bound turns "starts before the window's end" (every booking ever made) into an index range of
    the window's size: the same answers, read from LONGEST before the window on."""
    c, company = f.consultant(), f.company()
    for days in range(1, 400):  # a year of past sessions, done
        f.booking(c, paris("2026-12-01 09:00") - timedelta(days=days), status="completed")
    f.booking(c, paris("2026-12-03 10:00"))
    start, end = availability.local_range(date(2026, 12, 3), date(2026, 12, 3))
    window = db.session.scalars(select(Booking.id).where(Booking.consultant_id == c.id, overlapping(start, end)))
    assert len(window.all()) == 1
    assert "09:30" not in hhmm(day_slots(company, "2026-12-03")) and "10:45" in hhmm(day_slots(company, "2026-12-03"))
    query = select(Booking.id).where(Booking.consultant_id == c.id, overlapping(start, end)).compile(db.engine)
    plan = db.session.connection().exec_driver_sql(
        f"EXPLAIN QUERY PLAN {query}", tuple(query.params[name] for name in query.positiontup)
    )
    assert "(consultant_id=? AND start_at>? AND start_at<?)" in " ".join(row[-1] for row in plan)  # not the year


def test_a_whole_team_s_busy_time_is_read_by_consultant_and_window(app):
    """Every booking of the team has an active status, past ones included: the busy read says which statuses it
    leaves out, so that SQLite reads each consultant's window rather than every booking through that status."""
    for _ in range(12):  # more consultants than statuses: SQLite then preferred the status index
        f.consultant()
    start, end = availability.local_range(date(2026, 12, 3), date(2026, 12, 9))
    sent = []
    listener = lambda _conn, _cursor, statement, parameters, *_: sent.append((statement, parameters))  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        availability.slots("erplib", f.company(), start, end, NOW)
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    statement, parameters = next((s, p) for s, p in sent if "FROM bookings" in s and "booked" in s)
    plan = db.session.connection().exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
    assert "bookings USING INDEX ix_bookings_consultant_start (consultant_id=? AND start_at>? AND start_at<?)" in (
        " ".join(row[-1] for row in plan)
    )


def test_team_wide_windows_are_read_through_the_index_on_start(app):
    """The planner's week, the dashboard and the schedule read every consultant's bookings of a window: by their
    start, bounded on both sides, not through the status that nearly every booking has."""
    start, end = availability.local_range(date(2026, 12, 7), date(2026, 12, 11))
    query = select(Booking.id).where(with_status(ACTIVE_STATUSES), overlapping(start, end))
    compiled = query.compile(db.engine, compile_kwargs={"render_postcompile": True})
    parameters = compiled.construct_params()
    plan = db.session.connection().exec_driver_sql(
        f"EXPLAIN QUERY PLAN {compiled}", tuple(parameters[name] for name in compiled.positiontup)
    )
    assert "bookings USING INDEX ix_bookings_start (start_at>? AND start_at<?)" in " ".join(row[-1] for row in plan)
