"""The schedule version and the cached availability listing: any change is seen at once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, text

from booking.extensions import db
from booking.models import Absence, ExternalBusy, ExternalCalendar, ScheduleVersion
from booking.services import availability
from calendars.worktime import PARIS

from . import factories as f

NOW = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)  # Wednesday 09:00 in Paris
DAY = datetime(2026, 12, 8, tzinfo=PARIS)


def version() -> int:
    db.session.commit()  # PostgreSQL bumps at commit
    return db.session.scalar(select(ScheduleVersion.value))


def test_every_change_availability_reads_bumps_the_version(any_app):
    consultant = f.consultant()
    steps = [
        lambda: f.booking(consultant, DAY.replace(hour=10)),
        lambda: db.session.execute(text("UPDATE bookings SET status = 'cancelled'")),
        lambda: db.session.add(Absence(consultant=consultant, start_at=DAY, end_at=DAY + timedelta(hours=3))),
        lambda: db.session.add(
            ExternalBusy(
                calendar=ExternalCalendar(consultant_id=consultant.id, label="x"),
                consultant_id=consultant.id,
                start_at=DAY,
                end_at=DAY + timedelta(hours=1),
            )
        ),
        lambda: setattr(consultant.user, "active", False),
        lambda: db.session.execute(text("DELETE FROM external_busy")),
    ]
    seen = [version()]
    for step in steps:
        step()
        seen.append(version())
    assert all(b > a for a, b in zip(seen, seen[1:], strict=False)), seen


def test_the_listing_follows_changes_made_after_it_was_cached(any_app):
    consultant = f.consultant()
    company = f.company()
    db.session.commit()
    start, end = availability.local_range(DAY.date(), DAY.date())
    first = availability.listing("erplib", company, start, end, NOW)
    assert first == availability.slots("erplib", company, start, end, NOW)
    ten = next(s for s in first if s.start.astimezone(PARIS).hour == 10 and s.start.minute == 0)
    f.booking(consultant, ten.start)
    db.session.commit()
    again = availability.listing("erplib", company, start, end, NOW + timedelta(seconds=20))
    assert ten.start not in {s.start for s in again}
    assert again == availability.slots("erplib", company, start, end, NOW + timedelta(seconds=20))


def test_the_listing_cuts_at_this_instants_notice(app):
    f.consultant()
    company = f.company()
    db.session.commit()
    start, end = availability.local_range(NOW.date(), (NOW + timedelta(days=1)).date())
    early = availability.listing("erplib", company, start, end, NOW)
    later = NOW + timedelta(seconds=50)  # same minute: the cached entry, cut at the later notice
    assert availability.listing("erplib", company, start, end, later) == [
        s for s in availability.slots("erplib", company, start, end, later)
    ]
    assert len(early) >= len(availability.listing("erplib", company, start, end, later))


def test_companies_share_a_cached_listing_unless_one_has_its_own_consultant(any_app):
    busy, idle, favourite = f.consultant(), f.consultant(), f.consultant()
    f.booking(busy, DAY.replace(hour=9))
    f.booking(favourite, DAY.replace(hour=14))
    first, second = f.company("standard"), f.company("confort")
    serenite = f.company("serenite", privileged_consultant=favourite)
    db.session.commit()
    start, end = availability.local_range(DAY.date(), DAY.date())
    listed = {}
    for company in (first, serenite, second):
        listed[company.id] = availability.listing("erplib", company, start, end, NOW)
    # the two companies without a privileged consultant share one entry; the Sérénité one has its own
    assert len(availability.caches().listings) == 2
    for company in (first, serenite, second):
        assert listed[company.id] == availability.slots("erplib", company, start, end, NOW)
    assert listed[serenite.id][0].consultant_id == favourite.id
    assert {s.consultant_id for s in listed[first.id]} == {idle.id}
