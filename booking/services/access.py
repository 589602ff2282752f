"""Load-and-authorise helpers: another company's object is a 404, never a 403 that confirms it exists."""

from __future__ import annotations

from datetime import UTC, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from ..date_format import format_date, format_datetime
from ..extensions import db
from ..labels import PRIORITIES as PRIORITY_LABELS
from ..models import PRIORITIES, Booking, Company, Ticket, User
from .errors import Conflict, Invalid, NotFound


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
    """Clients act for their own company; staff name one. A client naming another company is refused
    (`staff_only_field`), where the answer was their own company's, the name silently ignored; their own id, or
    none, is their company."""
    if user.role == "client":
        if company_id is not None and company_id != user.company_id:
            # the same answer for any other id, existing or not: nothing is said about other companies
            raise Invalid(
                _l(
                    "company_id est réservé aux planificateurs et aux administrateurs : un client agit pour sa "
                    "propre société, omettez ce champ."
                ),
                code="staff_only_field",
                field="company_id",
            )
        assert user.company is not None  # the database refuses a client without a company
        return user.company
    company = db.session.get(Company, company_id) if company_id else None
    if company is None:
        raise NotFound(_l("Indiquez une société cliente existante (company_id)."), code="company_not_found")
    return company


def ticket_for(company: Company, reference: str, priority: str, opened_at) -> Ticket:
    """The company's ticket with this reference, refused when it is recorded with another priority or opening
    (`ticket_differs`); a new one stays unsaved until its booking is written."""
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
    if ticket is None:
        return Ticket(company=company, reference=reference, priority=priority, opened_at=opened_at)
    return as_recorded(ticket, priority, opened_at)


def ticket_again(ticket: Ticket) -> Ticket:
    """A ticket `ticket_for` found new, read again under the company's lock, before its booking is written: if
    another booking wrote the same reference meanwhile, that ticket is the one meant (as `ticket_for` would now
    answer), not a second one that the unique reference refuses."""
    if ticket.id is not None:
        return ticket
    found = _ticket(ticket.company.id, ticket.reference)
    return ticket if found is None else as_recorded(found, ticket.priority, ticket.opened_at)


def as_recorded(ticket: Ticket, priority: str, opened_at: datetime) -> Ticket:
    """`ticket` when the priority and opening sent are the ones it is recorded with, to the minute (the page's
    form gives no seconds); refused otherwise, saying how it is recorded: a callback counted from another
    priority would be promised and watched against the wrong deadline."""
    if ticket.priority == priority and _minute(ticket.opened_at) == _minute(opened_at):
        return ticket
    values = {
        "reference": ticket.reference,
        "priority": PRIORITY_LABELS.get(ticket.priority, ticket.priority),
        "day": format_date(ticket.opened_at, "d MMMM yyyy"),
        "time": format_datetime(ticket.opened_at, "HH:mm"),
    }
    raise Conflict(
        _l(
            "Le ticket %(reference)s est enregistré en priorité %(priority)s, ouvert le %(day)s à %(time)s : "
            "indiquez ces valeurs, ou, si sa priorité a changé, contactez votre planificateur.",
            **values,
        ),
        code="ticket_differs",
        # a page refused shows the week again, and that week lists the recorded ticket's windows
        # (`callbacks.as_known`), its forms sending the recorded values: nothing is left to type
        on_page=_l(
            "Le ticket %(reference)s est enregistré en priorité %(priority)s, ouvert le %(day)s à %(time)s. "
            "La semaine ci-dessous liste les créneaux de rappel de ce ticket tel qu'il est enregistré : "
            "choisissez-en un à nouveau. Si sa priorité a changé, contactez votre planificateur.",
            **values,
        ),
    )


def _minute(instant: datetime) -> datetime:
    return instant.astimezone(UTC).replace(second=0, microsecond=0)


def _ticket(company_id: int, reference: str) -> Ticket | None:
    return db.session.scalar(by_reference(company_id, reference))


def by_reference(company_id: int, reference: str):
    """The query of the company's ticket a reference names: whatever its case and surrounding spaces (« tck-1 » is
    the ticket recorded as « TCK-1 », not a second one with its own priority); another company's is not looked at.
    Both sides are lowered by the database, so that they are folded alike. Tickets are written under the company's
    lock, after this lookup, so no two differ by case only; rows written before this rule may: the first recorded
    is the one meant."""
    return (
        select(Ticket)
        .where(Ticket.company_id == company_id, func.lower(Ticket.reference) == func.lower(reference.strip()))
        .order_by(Ticket.id)
        .limit(1)
    )
