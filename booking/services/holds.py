"""Temporary holds that a client keeps while confirming; expired holds free the slot."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, update

from ..extensions import db
from ..models import AuditEntry, Booking
from . import locking


def expire(now: datetime) -> int:
    """Mark holds past their expiry as expired, in one statement (safe to run twice)."""
    with locking.locked([]):
        expired_ids = db.session.scalars(
            update(Booking)
            .where(Booking.status == "held", Booking.hold_expires_at <= now)
            .values(status="expired", updated_at=now)
            .returning(Booking.id)
        ).all()
        db.session.add_all(
            AuditEntry(actor_id=None, action="booking.hold_expired", object_type="booking", object_id=booking_id)
            for booking_id in expired_ids
        )
    return len(expired_ids)


# Built once: every booking runs it.
_EXPIRE_FOR = (update(Booking)
               .where(Booking.consultant_id.in_(bindparam("ids", expanding=True)), Booking.status == "held",
                      Booking.hold_expires_at <= bindparam("now"))
               .values(status="expired", updated_at=bindparam("now")))


def expire_for(consultant_ids: list[int], now: datetime) -> None:
    """Inside a booking's lock: free these consultants' expired holds before the insert,
    so that the database constraint does not count them."""
    db.session.execute(_EXPIRE_FOR, {"ids": consultant_ids, "now": now})
