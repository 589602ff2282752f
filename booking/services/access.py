"""Load-and-authorise helpers: another company's object is a 404, never a 403 that confirms it exists."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..extensions import db
from ..models import PRIORITIES, Booking, Company, Ticket, User
from .errors import Invalid, NotFound


def booking_for(user: User, booking_id: int) -> Booking:
    """The booking if `user` may see it: clients their company's, consultants their own, staff all."""
    booking = db.session.get(Booking, booking_id)
    if booking is None or not (
        user.role in ("planner", "admin")
        or (user.role == "client" and booking.company_id == user.company_id)
        or (user.role == "consultant" and user.consultant and booking.consultant_id == user.consultant.id)
    ):
        raise NotFound(_l("Aucun rendez-vous n°%(id)s parmi les vôtres.", id=booking_id), code="booking_not_found")
    return booking


def bookings_query(user: User):
    """The bookings `user` may list."""
    query = select(Booking).order_by(Booking.start_at)
    if user.role == "client":
        return query.where(Booking.company_id == user.company_id)
    if user.role == "consultant":
        return query.where(Booking.consultant_id == (user.consultant.id if user.consultant else -1))
    return query


def company_for(user: User, company_id: int | None) -> Company:
    """Clients act for their own company; staff name one."""
    if user.role == "client":
        assert user.company is not None  # the database refuses a client without a company
        return user.company
    company = db.session.get(Company, company_id) if company_id else None
    if company is None:
        raise NotFound(_l("Indiquez une société cliente existante (company_id)."), code="company_not_found")
    return company


def ticket_for(company: Company, reference: str, priority: str, opened_at) -> Ticket:
    """The company's ticket with this reference; a new one stays unsaved until its booking is written."""
    if priority not in PRIORITIES:
        raise Invalid(
            _l(
                "Priorité de ticket inconnue « %(priority)s » : choisissez parmi %(known)s.",
                priority=priority,
                known=", ".join(PRIORITIES),
            ),
            code="invalid_priority",
        )
    reference = reference.strip()
    if not reference or len(reference) > 40:
        raise Invalid(_l("Indiquez la référence du ticket (40 caractères au plus)."), code="invalid_ticket")
    ticket = _ticket(company.id, reference)
    return ticket or Ticket(company=company, reference=reference, priority=priority, opened_at=opened_at)


def ticket_again(ticket: Ticket) -> Ticket:
    """A ticket `ticket_for` found new, read again under the company's lock, before its booking is written: if
    another booking wrote the same reference meanwhile, that ticket is the one meant (as `ticket_for` would now
    answer), not a second one that the unique reference refuses."""
    if ticket.id is not None:
        return ticket
    return _ticket(ticket.company.id, ticket.reference) or ticket


def _ticket(company_id: int, reference: str) -> Ticket | None:
    # References are unique per company: another company's ticket of the same reference is not looked at.
    return db.session.scalar(select(Ticket).where(Ticket.company_id == company_id, Ticket.reference == reference))
