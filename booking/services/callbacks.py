"""A callback's commitment (acknowledge and take-charge deadlines) and the callbacks at risk of missing it.
Callback windows open CALLBACK_PREPARATION_MINUTES after now (availability.earliest), not after the booking
notice, so that an urgent ticket can be called back within its take-charge deadline."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from .. import contract
from ..extensions import db
from ..models import ACTIVE_STATUSES, Booking, Company
from . import audit, availability, claims, locking, notify
from .bookings import take_charge_deadline


@dataclass(frozen=True)
class Commitment:
    """When the client's ticket must be acknowledged and taken charge of (None: the tier promises nothing)."""

    acknowledge: datetime | None
    take_charge: datetime | None


def commitment(company: Company, priority: str, opened_at: datetime) -> Commitment:
    """The ticket's deadlines under the company's tier, in business time from its opening."""
    tier = contract.current().tier(company.tier)
    acknowledge = tier.commitment(priority, "acknowledge")
    return Commitment(
        availability.BUSINESS.add(opened_at, acknowledge) if acknowledge else None,
        take_charge_deadline(company, priority, opened_at),
    )


def commitments(company: Company) -> list[tuple[str, object, object]]:
    """(priority, acknowledge, take-charge) durations of the company's tier, to show before a ticket is given."""
    tier = contract.current().tier(company.tier)
    return [
        (p, tier.commitment(p, "acknowledge"), tier.commitment(p, "take_charge"))
        for p in ("bloquante", "majeure", "mineure", "basse")
    ]


def fits(slots: list, deadline: datetime | None, shown_until: datetime) -> bool:
    """Whether a window shown (up to `shown_until`) starts before the take-charge deadline; a deadline
    beyond what is shown, or none, is not judged here."""
    return deadline is None or deadline > shown_until or any(slot.start < deadline for slot in slots)


FIRST_WINDOW_DAYS = 14  # how far the first free window of a late ticket is looked for


def first_window(company: Company, now: datetime) -> availability.Slot | None:
    """The first free callback window from `now` (within FIRST_WINDOW_DAYS): what a ticket whose take-charge
    deadline has already passed is offered, the page says when; booked, it is listed `at_risk` for planners."""
    found = availability.listing("callback", company, now, now + timedelta(days=FIRST_WINDOW_DAYS), now)
    return found[0] if found else None


def at_risk(now: datetime) -> list[tuple[Booking, datetime]]:
    """Upcoming callbacks that start at or after their ticket's take-charge deadline, with that deadline."""
    found = db.session.scalars(
        select(Booking)
        .where(
            Booking.kind == "callback",
            Booking.status.in_(ACTIVE_STATUSES),
            Booking.ticket_id.is_not(None),
            Booking.end_at > now,
        )
        .order_by(Booking.start_at)
    ).all()
    risky = []
    for booking in found:
        assert booking.ticket is not None  # the query keeps callbacks with a ticket
        deadline = take_charge_deadline(booking.company, booking.ticket.priority, booking.ticket.opened_at)
        if deadline is not None and booking.start_at >= deadline:
            risky.append((booking, deadline))
    return risky


def alert_at_risk(now: datetime) -> int:
    """Tell the planners (once) when a ticket's take-charge deadline is near and its callback comes later."""
    margin = timedelta(hours=contract.current().policy.callback_risk_hours)
    candidates = db.session.scalars(
        select(Booking).where(
            Booking.kind == "callback",
            Booking.status == "confirmed",
            Booking.risk_alerted_at.is_(None),
            Booking.ticket_id.is_not(None),
            Booking.start_at > now,
        )
    ).all()
    alerted = 0
    for booking in candidates:
        assert booking.ticket is not None  # the query keeps callbacks with a ticket
        deadline = take_charge_deadline(booking.company, booking.ticket.priority, booking.ticket.opened_at)
        if deadline is None or booking.start_at < deadline:
            continue
        if deadline < now or availability.BUSINESS.between(now, deadline) > margin:
            continue
        reference = booking.ticket.reference
        with locking.locked([]):
            if claims.claim(booking.id, "risk_alerted_at", now):
                audit.record(
                    None,
                    "booking.callback_at_risk",
                    booking,
                    deadline=deadline.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                )
                notify.about_booking(
                    booking.id,
                    "callback_at_risk",
                    f"Le ticket {reference} doit être pris en charge avant le "
                    f"{deadline.astimezone(availability.PARIS):%d/%m %H:%M} ; le rappel est prévu après.",
                    to_planners=True,
                )
                alerted += 1
    return alerted
