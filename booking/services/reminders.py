"""Reminder mails before every booking, sent once."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from .. import contract
from ..extensions import db
from ..models import Booking
from . import claims, locking, notify


def send_reminders(now: datetime) -> int:
    """Remind the contact and the consultant of each confirmed booking starting within the reminder delay."""
    horizon = now + timedelta(hours=contract.current().policy.reminder_hours)
    due = db.session.scalars(
        select(Booking.id).where(
            Booking.status == "confirmed",
            Booking.reminded_at.is_(None),
            Booking.start_at > now,
            Booking.start_at <= horizon,
        )
    ).all()
    sent = 0
    for booking_id in due:
        with locking.locked([]):
            if claims.claim(booking_id, "reminded_at", now):
                notify.about_booking(booking_id, "reminder", "Votre rendez-vous approche.")
                sent += 1
    return sent
