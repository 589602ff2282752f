"""Tell the client contact and the consultant about a booking: mail with an iTIP invitation."""
from __future__ import annotations

from flask import current_app
from flask_babel import force_locale, format_datetime

from calendars.invite import EventData, Person, invitation, method_of
from .. import labels
from ..extensions import db
from ..models import Booking
from . import mail

SUBJECTS = {
    "confirmed": "Rendez-vous confirmé : {kind} le {when}",
    "rescheduled": "Rendez-vous déplacé : {kind} le {when}",
    "cancelled": "Rendez-vous annulé : {kind} du {when}",
    "proposed": "Proposition de rendez-vous de suivi : {kind} le {when}",
}


def event_data(booking: Booking) -> EventData:
    """The booking as a calendar event (shared by invitations and, later, feeds)."""
    kind = str(labels.KINDS.get(booking.kind, booking.kind))
    lines = [f"Client : {booking.company.name}", f"Consultant : {booking.consultant.name}"]
    if booking.ticket:
        lines.append(f"Ticket : {booking.ticket.reference} ({booking.ticket.priority})")
    return EventData(
        uid=booking.ical_uid, sequence=booking.sequence, start=booking.start_at, end=booking.end_at,
        summary=f"{kind} — {booking.company.name}", description="\n".join(lines),
        cancelled=booking.status in ("cancelled", "late_cancelled"),
        organizer=Person(current_app.config["MAIL_SENDER"], "ERP-Lib Planner"),
        attendees=tuple(Person(u.email, u.name) for u in (booking.contact, booking.consultant.user) if u),
        stamp=booking.updated_at,
    )


def booking_changed(booking_id: int, what: str) -> None:
    """Mail every attendee (after commit): confirmed, rescheduled, cancelled or proposed."""
    booking = db.session.get(Booking, booking_id)
    data = event_data(booking)
    ics = invitation(data)
    with force_locale("fr"):
        when = format_datetime(booking.start_at, "EEEE d MMMM yyyy 'à' HH:mm")
        kind = str(labels.KINDS.get(booking.kind, booking.kind))
    subject = SUBJECTS[what].format(kind=kind, when=when)
    body = f"Bonjour,\n\n{subject}.\n\n{data.description}\n\nL'invitation jointe met à jour votre agenda.\n"
    for person in data.attendees:
        mail.send(mail.message(person.email, subject, body, ics, method_of(data)), booking.id)
