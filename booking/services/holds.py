"""Temporary holds that a client keeps while confirming; expired holds free the slot."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update

from ..extensions import db
from ..models import AuditEntry, Booking
from . import locking


def expire(now: datetime, consultant_ids: list[int] | None = None) -> int:
    """Mark holds past their expiry as expired (every one, or these consultants'), in one statement,
    audited; safe to run twice. The job sweeps them each minute; a booking that the database refused
    because of one not yet swept calls it for its consultants."""
    query = update(Booking).where(Booking.status == "held", Booking.hold_expires_at <= now)
    if consultant_ids is not None:
        query = query.where(Booking.consultant_id.in_(consultant_ids))
    with locking.locked([]):
        expired_ids = db.session.scalars(query.values(status="expired", updated_at=now).returning(Booking.id)).all()
        db.session.add_all(
            AuditEntry(actor_id=None, action="booking.hold_expired", object_type="booking", object_id=booking_id)
            for booking_id in expired_ids
        )
    return len(expired_ids)
