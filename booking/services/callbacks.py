"""Callback windows at risk of missing the tier's take-charge commitment."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from .. import contract
from ..extensions import db
from ..models import Booking
from . import availability, claims, locking, notify
from .bookings import take_charge_deadline


def alert_at_risk(now: datetime) -> int:
    """Tell the planners (once) when a ticket's take-charge deadline is near and its callback comes later."""
    margin = timedelta(hours=contract.current().policy.callback_risk_hours)
    candidates = db.session.scalars(select(Booking).where(
        Booking.kind == "callback", Booking.status == "confirmed", Booking.risk_alerted_at.is_(None),
        Booking.ticket_id.is_not(None), Booking.start_at > now)).all()
    alerted = 0
    for booking in candidates:
        deadline = take_charge_deadline(booking.company, booking.ticket.priority, booking.ticket.opened_at)
        if deadline is None or booking.start_at < deadline:
            continue
        if deadline < now or availability.BUSINESS.between(now, deadline) > margin:
            continue
        reference = booking.ticket.reference
        with locking.locked([]):
            if claims.claim(booking.id, "risk_alerted_at", now):
                notify.about_booking(booking.id, "callback_at_risk",
                                     f"Le ticket {reference} doit être pris en charge avant le "
                                     f"{deadline.astimezone(availability.PARIS):%d/%m %H:%M} ; le rappel est prévu après.",
                                     to_planners=True)
                alerted += 1
    return alerted
