"""A callback's commitment (acknowledge and take-charge deadlines) and the callbacks at risk of missing it.
Callback windows open CALLBACK_PREPARATION_MINUTES after now (availability.earliest), not after the booking
notice, so that an urgent ticket can be called back within its take-charge deadline. When no window fits before
it, the client may ask to be called (`request_call`): planners see the ticket until a callback is booked for it
or one of them records the call."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, select

from .. import contract
from ..extensions import db
from ..models import ACTIVE_STATUSES, Booking, Company, Ticket, User
from . import access, audit, availability, claims, locking, notify
from .bookings import take_charge_deadline
from .errors import Conflict, NotFound


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


def request_call(
    user: User, reference: str, priority: str, opened_at: datetime, now: datetime
) -> tuple[Ticket, bool, datetime]:
    """The client asks to be called before the ticket's take-charge deadline, no callback window fitting before
    it (or the deadline passed with none free): recorded on the ticket, the planners told by mail. Checked again
    under the company's lock: refused when the priority promises no deadline or a window now fits; asked again,
    nothing more happens (False). With the deadline, which the page states."""
    company = user.company
    assert company is not None  # a client's request (the page is for clients only)
    ticket = access.ticket_for(company, reference, priority, opened_at)
    with locking.locked([locking.company(company.id)]):  # re-read: a request made meanwhile is seen
        ticket = access.ticket_again(ticket)
        deadline = take_charge_deadline(company, ticket.priority, ticket.opened_at)
        if deadline is None:
            raise Conflict(
                _l("Cette priorité n'a pas de délai de prise en charge : réservez un créneau de rappel."),
                code="no_commitment",
            )
        if ticket.call_requested_at is not None and ticket.called_at is None:
            return ticket, False, deadline
        if deadline > now and _window_before(company, deadline, now):
            raise Conflict(
                _l("Un créneau de rappel est libre avant l'échéance : réservez-le plutôt."),
                code="callback_window_free",
            )
        ticket.call_requested_at, ticket.called_at = now, None
        db.session.add(ticket)
        db.session.flush()
        audit.record(user, "ticket.call_requested", ticket, deadline=deadline.astimezone(UTC).strftime(_ISO))
        notify.call_requested(ticket, deadline)
    return ticket, True, deadline


_ISO = "%Y-%m-%dT%H:%M:%SZ"


def _window_before(company: Company, deadline: datetime, now: datetime) -> bool:
    # uncached, under the lock: the windows as they stand; a window counts when it starts before the deadline
    found = availability.slots("callback", company, now, deadline + timedelta(days=1), now)
    return any(slot.start < deadline for slot in found)


def as_known(company: Company, ticket: dict) -> tuple[dict, Ticket | None]:
    """The ticket a callback week lists windows for: a reference the company already has is its ticket as
    recorded, whatever priority or opening was typed (the click would refuse them: `access.as_recorded`, the
    same rule). (the ticket's reference, priority and opening; the recorded ticket when what was typed differs,
    for the page to say so, else None). A known reference is said as first recorded, whatever its case typed."""
    found = db.session.scalar(access.by_reference(company.id, ticket["reference"]))
    if found is None:
        return ticket, None
    try:
        access.as_recorded(found, ticket["priority"], ticket["opened_at"])
    except Conflict:
        return {**ticket, "reference": found.reference, "priority": found.priority, "opened_at": found.opened_at}, found
    return {**ticket, "reference": found.reference}, None


def call_requested(company: Company, reference: str) -> datetime | None:
    """When the company's client asked to be called for this ticket, if the call is still to be made."""
    ticket = db.session.scalar(access.by_reference(company.id, reference))
    return ticket.call_requested_at if ticket is not None and ticket.called_at is None else None


def calls_to_make(now: datetime) -> list[tuple[Ticket, datetime | None]]:
    """Calls clients asked for and no one has made yet, with each ticket's take-charge deadline, soonest first;
    a ticket that got a callback window since (booked by the client or a planner) is left out."""
    booked = exists().where(
        Booking.ticket_id == Ticket.id, Booking.kind == "callback", Booking.status.in_(ACTIVE_STATUSES)
    )
    found = db.session.scalars(
        select(Ticket).where(Ticket.call_requested_at.is_not(None), Ticket.called_at.is_(None), ~booked)
    ).all()
    due = [(ticket, take_charge_deadline(ticket.company, ticket.priority, ticket.opened_at)) for ticket in found]
    return sorted(due, key=lambda pair: (pair[1] or datetime.max.replace(tzinfo=UTC), pair[0].id))


def mark_called(actor: User, ticket_id: int, now: datetime) -> bool:
    """A planner records that the client was called; recorded once (False: someone already had)."""
    ticket = db.session.get(Ticket, ticket_id)
    if ticket is None or ticket.call_requested_at is None:
        raise NotFound(_l("Aucune demande de rappel pour ce ticket."), code="not_found")
    with locking.locked([locking.company(ticket.company_id)]):  # re-read: two planners at once record it once
        if ticket.called_at is not None:
            return False
        ticket.called_at = now
        audit.record(actor, "ticket.called", ticket)
    return True
