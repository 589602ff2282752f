"""Read-only views of the schedule for the home pages."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ..extensions import db
from ..models import ACTIVE_STATUSES, Booking, Company, Consultant, PriorityRequest, overlapping, with_status
from ..text_order import by_name, name_key


def upcoming(
    now: datetime, *, company_id: int | None = None, consultant_id: int | None = None, days: int = 14, limit: int = 50
) -> list[Booking]:
    """Active bookings starting in the next `days`, optionally for one company or consultant."""
    query = (
        select(Booking)
        .options(joinedload(Booking.company), joinedload(Booking.consultant).joinedload(Consultant.user))
        .where(Booking.status.in_(ACTIVE_STATUSES), Booking.end_at > now, Booking.start_at < now + timedelta(days=days))
        .order_by(Booking.start_at)
        .limit(limit)
    )
    if company_id is not None:
        query = query.where(Booking.company_id == company_id)
    if consultant_id is not None:
        query = query.where(Booking.consultant_id == consultant_id)
    return list(db.session.scalars(query))


def load_by_consultant(start: datetime, end: datetime) -> list[tuple[Consultant, int, float]]:
    """Each consultant with their number of active bookings and booked hours in [start, end)."""
    load: dict[int, list] = {}
    rows = db.session.execute(
        select(Booking.consultant_id, Booking.start_at, Booking.end_at).where(
            with_status(ACTIVE_STATUSES), overlapping(start, end)
        )
    )
    for consultant_id, b_start, b_end in rows:
        count_minutes = load.setdefault(consultant_id, [0, 0.0])
        count_minutes[0] += 1
        count_minutes[1] += (b_end - b_start).total_seconds() / 60
    consultants = by_name(db.session.scalars(select(Consultant).options(joinedload(Consultant.user))))
    result = []
    for consultant in consultants:
        count, minutes = load.get(consultant.id, (0, 0.0))
        result.append((consultant, count, round(minutes / 60, 1)))
    return result


def pending_priority_requests() -> list[PriorityRequest]:
    return list(
        db.session.scalars(
            select(PriorityRequest)
            .where(PriorityRequest.status.in_(("requested", "accepted", "planned")))
            .order_by(PriorityRequest.requested_at)
        )
    )


def companies() -> list[Company]:
    return sorted(db.session.scalars(select(Company)), key=lambda c: (c.tier, name_key(c.name)))
