"""Model and database-constraint tests, on SQLite and on a real PostgreSQL."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from booking.extensions import db
from booking.models import Booking, User

from . import factories as f

PARIS_9AM = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)


def test_instants_round_trip_in_utc(any_app):
    c = f.consultant()
    local = datetime.fromisoformat("2026-12-07T10:15:00+01:00")
    b = f.booking(c, local)
    db.session.commit()
    db.session.expire_all()
    stored = db.session.get(Booking, b.id)
    assert stored.start_at == local
    assert stored.start_at.tzinfo == UTC and stored.start_at.hour == 9


def test_naive_instants_are_refused(any_app):
    c = f.consultant()
    with pytest.raises(Exception, match="timezone-aware"):
        f.booking(c, datetime(2026, 12, 7, 9, 0))


@pytest.mark.parametrize(
    "offset, minutes, overlaps",
    [
        (0, 45, True),  # same slot
        (30, 45, True),  # starts inside
        (-30, 45, True),  # ends inside
        (-60, 180, True),  # contains
        (45, 45, False),  # back to back: [start, end) ranges touch, do not overlap
        (-45, 45, False),
    ],
)
def test_database_forbids_overlapping_active_bookings(any_app, offset, minutes, overlaps):
    c = f.consultant()
    f.booking(c, PARIS_9AM)
    db.session.commit()
    second = Booking(
        kind="minor_update",
        status="confirmed",
        consultant=c,
        company=f.company(),
        start_at=PARIS_9AM + timedelta(minutes=offset),
        end_at=PARIS_9AM + timedelta(minutes=offset + minutes),
    )
    db.session.add(second)
    if overlaps:
        with pytest.raises(IntegrityError, match="ex_bookings_no_overlap|exclusion|conflicting key"):
            db.session.commit()
        db.session.rollback()
        assert db.session.scalar(select(func.count()).select_from(Booking)) == 1
    else:
        db.session.commit()
        assert db.session.scalar(select(func.count()).select_from(Booking)) == 2


def test_inactive_bookings_do_not_block_and_cannot_be_revived_over_others(any_app):
    c = f.consultant()
    cancelled = f.booking(c, PARIS_9AM, status="cancelled")
    f.booking(c, PARIS_9AM)  # the freed slot can be booked again
    db.session.commit()
    cancelled.status = "confirmed"
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_moving_a_booking_onto_another_is_refused(any_app):
    c = f.consultant()
    f.booking(c, PARIS_9AM)
    later = f.booking(c, PARIS_9AM + timedelta(hours=2))
    db.session.commit()
    later.start_at, later.end_at = PARIS_9AM + timedelta(minutes=15), PARIS_9AM + timedelta(minutes=60)
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_two_consultants_may_share_a_slot(any_app):
    f.booking(f.consultant(), PARIS_9AM)
    f.booking(f.consultant(), PARIS_9AM)
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(Booking)) == 2


@pytest.mark.parametrize("field, value", [("kind", "massage"), ("status", "maybe")])
def test_unknown_codes_are_refused(any_app, field, value):
    b = f.booking(f.consultant(), PARIS_9AM)
    db.session.commit()
    setattr(b, field, value)
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_client_users_need_a_company_and_staff_have_none(any_app):
    db.session.add(User(email="x@test.example", name="X", role="client", password_hash="x"))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
    db.session.add(User(email="y@test.example", name="Y", role="planner", password_hash="x", company=f.company()))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_passwords_are_hashed_with_a_modern_scheme(app):
    u = f.user("planner")
    u.set_password(f.PASSWORD)  # the app's method (the factories' users share a cheap hash)
    assert u.password_hash.startswith("scrypt:") and f.PASSWORD not in u.password_hash
    assert u.check_password(f.PASSWORD) and not u.check_password("wrong")
