"""Claim a row before acting on it, so that a job run twice (or by two schedulers) acts once."""

from __future__ import annotations

from datetime import datetime
from typing import cast

from sqlalchemy import CursorResult, update

from ..extensions import db
from ..models import Booking


def claim(booking_id: int, column: str, now: datetime, **changes) -> bool:
    """Set `column` from NULL to now (plus `changes`) on one booking; True only for the one caller
    whose UPDATE changed the row. Runs inside the caller's transaction."""
    field = getattr(Booking, column)
    result = cast(
        CursorResult,
        db.session.execute(
            update(Booking).where(Booking.id == booking_id, field.is_(None)).values({column: now, **changes})
        ),
    )
    return result.rowcount == 1
