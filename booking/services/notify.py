"""Tell people what happened: mails with an iTIP invitation for booking changes, plain mails for alerts.
Always called inside the transaction that makes the change: the mail is queued with it (see `mail`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from functools import cache

from babel import numbers
from flask import current_app
from flask_babel import force_locale, gettext
from sqlalchemy import select

from calendars.invite import EventData, Person
from calendars.worktime import PARIS

from .. import contract, labels
from ..date_format import format_date, in_french
from ..extensions import db
from ..models import Booking, Company, Consultant, PriorityRequest, ReshufflePlan, Ticket, User
from ..models.types import utcnow
from . import consent_text, links, mail, quotes
from .consent_text import Cost
from .prerequisites import checklist

SUBJECTS = {
    "confirmed": "Rendez-vous confirmé : {kind} le {when}",
    "rescheduled": "Rendez-vous déplacé : {kind} le {when}",
    "cancelled": "Rendez-vous annulé : {kind} du {when}",
    "reassigned": "Rendez-vous confié à un autre consultant : {kind} du {when}",
    "proposed": "Proposition de rendez-vous de suivi : {kind} le {when}",
    "reminder": "Rappel : {kind} le {when}",
    "prerequisites_reminder": "Prérequis à confirmer avant votre intervention du {when}",
    "prerequisites_missing": "Intervention du {when} reportée : prérequis non confirmés",
    "callback_at_risk": "Rappel à risque : {kind} du {when} après le délai d'engagement",
}
CANCELLED = ("cancelled", "late_cancelled", "prerequisites_missing")


def _no_costs(booking: Booking) -> Cost:
    raise RuntimeError("notify.use_costs was not called: the app factory gives the booking mails their costs")


_cost_of: Callable[[Booking], Cost] = _no_costs


def use_costs(cost_of: Callable[[Booking], Cost]) -> None:
    """Given by the app factory (`costs.for_booking`): `costs` reads the hour bank, which tells people through this
    module, so this module cannot import it (as `contract.use_edited`)."""
    global _cost_of
    _cost_of = cost_of


def event_data(booking: Booking, kind: str | None = None) -> EventData:
    """The booking as a calendar event (shared by invitations and downloads); `kind`: the service's name
    (by default in the reader's language)."""
    kind = kind or str(labels.KINDS.get(booking.kind, booking.kind))
    lines = [f"Client : {booking.company.name}", f"Consultant : {booking.consultant.name}"]
    if booking.ticket:
        lines.append(f"Ticket : {booking.ticket.reference} ({booking.ticket.priority})")
    return EventData(
        uid=booking.ical_uid,
        sequence=booking.sequence,
        start=booking.start_at,
        end=booking.end_at,
        summary=f"{kind} — {booking.company.name}",
        description="\n".join(lines),
        cancelled=booking.status in CANCELLED,
        organizer=Person(current_app.config["MAIL_SENDER"], "ERP-Lib Planner"),
        attendees=tuple(Person(u.email, u.name) for u in (booking.contact, booking.consultant.user) if u),
        stamp=booking.updated_at,
    )


@cache
def _french(kind: str) -> str:
    """A service's name in French, the language of the mails (looked up once per process)."""
    with force_locale("fr"):
        return str(labels.KINDS.get(kind, kind))


def _subject(what: str, booking: Booking, start: datetime | None = None) -> str:
    when = in_french(start or booking.start_at, "EEEE d MMMM yyyy 'à' HH:mm", PARIS)
    return SUBJECTS[what].format(kind=_french(booking.kind), when=when)


def planners() -> list[User]:
    return list(db.session.scalars(select(User).where(User.role == "planner", User.active.is_(True))))


def booking_changed(
    booking: Booking, what: str, before: tuple[datetime, int] | None = None, *, now: datetime | None = None
) -> None:
    """Queue the updated invitation for every attendee: confirmed, rescheduled, cancelled; a proposal (a hold the
    client has yet to confirm) goes without one, its invitation comes with the confirmation. `before`: the
    booking's (start, consultant id) before this change. A consultant who no longer attends gets a CANCEL of the
    same UID at the new SEQUENCE, else their calendar would keep a ghost meeting (RFC 5546, 3.2.5: an attendee
    removed is sent a CANCEL); the new one gets the REQUEST with the others. `now`: the change's time, which the
    mail's cancellation limit is said against, as the change's page said it (None: the clock's)."""
    _queue(booking, what, None, with_invite=what != "proposed", now=now)
    if before is not None and before[1] != booking.consultant_id:
        _removed(booking, *before)


def _removed(booking: Booking, start: datetime, consultant_id: int) -> None:
    """The CANCEL for the previous consultant alone, with the time they had in their calendar (the UID
    and SEQUENCE are what calendars match; the time helps a person reading the mail)."""
    previous = db.session.get(Consultant, consultant_id)
    if previous is None or previous.user is None:
        return
    person = Person(previous.user.email, previous.user.name)
    data = event_data(booking, _french(booking.kind))
    data = replace(
        data, cancelled=True, attendees=(person,), start=start, end=start + (booking.end_at - booking.start_at)
    )
    subject = _subject("reassigned", booking, start)
    body = (
        f"Bonjour,\n\n{subject}.\n\n{data.description}\n\nCe rendez-vous n'est plus à votre agenda : "
        "l'invitation jointe l'en retire.\n"
    )  # no link: the booking is no longer theirs to see
    mail.queue([person.email], subject, body, data, booking.id)


def about_booking(
    booking_id: int, what: str, text: str | None, *, to_planners: bool = False, with_invite: bool = False
) -> None:
    """A mail about one booking, read afresh (a job may have changed it with a plain UPDATE)."""
    booking = db.session.get_one(Booking, booking_id, populate_existing=True)
    _queue(booking, what, text, to_planners=to_planners, with_invite=with_invite)


def _queue(
    booking: Booking,
    what: str,
    text: str | None,
    *,
    to_planners: bool = False,
    with_invite: bool = False,
    now: datetime | None = None,
) -> None:
    """To the booking's contact and consultant (the event's attendees), optionally to every planner;
    without `text`, the event's description and a word about the attached invitation. The contact's copy also
    says what they consented to or consumed (`_consent`)."""
    db.session.flush()  # the stamp is the change's own updated_at
    subject = _subject(what, booking)
    data = event_data(booking, _french(booking.kind))
    invite = "\n\nL'invitation jointe met à jour votre agenda." if with_invite else ""
    if text is None:
        text = f"{data.description}{invite}"
    body = f"Bonjour,\n\n{subject}.\n\n{text}\n"
    consent = _consent(booking, what, now or utcnow())
    # planners() only when asked: a generator's first iterable is evaluated at once, query included
    people = [*data.attendees, *([Person(u.email, u.name) for u in planners()] if to_planners else [])]
    contact = booking.contact.email if booking.contact else None
    event = data if with_invite else None
    mail.queue_bodies(
        [
            ([p.email for p in people if p.email == contact], body + consent + _client_links(booking)),
            ([p.email for p in people if p.email != contact], body + _staff_link(booking)),
        ],
        subject,
        event,
        booking.id,
    )


def _consent(booking: Booking, what: str, now: datetime) -> str:
    """What the client consented to (a confirmation, a proposal) or consumed (a late cancellation), in the words of
    the pages (`consent_text`, said here in French as every booking mail); empty for other changes."""
    if what == "confirmed":
        cost = _cost_of(booking)
        with force_locale("fr"):
            lines = [*consent_text.cost_lines(cost), consent_text.cancel_limit(cost, now)]
    elif what == "proposed" and booking.hold_expires_at is not None:
        cost, until = _cost_of(booking), in_french(booking.hold_expires_at, _LIMIT, PARIS)
        with force_locale("fr"):
            lines = [
                f"C'est une proposition, à confirmer avant le {until} dans votre portail : "
                "sans confirmation, le créneau est libéré et rien n'est compté.",
                *consent_text.cost_lines(cost),
                consent_text.cancel_limit(cost, now),
            ]
    elif what == "cancelled" and booking.status == "late_cancelled":
        cost = _cost_of(booking)
        with force_locale("fr"):
            lines = [consent_text.consumed(cost)]
    else:
        return ""
    return "\n" + "\n".join(lines) + "\n"


_LIMIT = "EEEE d MMMM 'à' H 'h' mm"  # « jeudi 3 décembre à 11 h 00 », as the pages write a limit (`consent_text.limit`)


def _client_links(booking: Booking) -> str:
    """See, reschedule, cancel: signed links that still need a login (see `links`); only "see" once the
    booking can no longer change."""
    text = f"\nVoir le rendez-vous : {links.url(booking, 'voir')}\n"
    if booking.status == "confirmed":  # a held one is confirmed from its page first
        text += f"Le déplacer : {links.url(booking, 'deplacer')}\nL'annuler : {links.url(booking, 'annuler')}\n"
    return text


def _staff_link(booking: Booking) -> str:
    """Consultants and planners: their own page for the booking (the link leads there by role)."""
    return f"\nVoir dans votre planning : {links.url(booking, 'voir')}\n"


def prerequisites_reminder(booking_id: int) -> None:
    booking = db.session.get_one(Booking, booking_id)
    missing = "\n".join(f"- {label}" for _, label, done in checklist(booking) if not done)
    hours = contract.current().service(booking.kind).prerequisites_gate_hours
    about_booking(
        booking_id,
        "prerequisites_reminder",
        f"Confirmez dans votre portail, au plus tard {hours} heures ouvrées avant l'intervention :\n{missing}",
    )


def prerequisites_missing(booking_id: int) -> None:
    about_booking(
        booking_id,
        "prerequisites_missing",
        "Les prérequis n'ont pas tous été confirmés à temps : l'intervention n'aura pas lieu. "
        "Un nouveau créneau vous est proposé dans votre portail, à réserver en un clic.",
        to_planners=True,
        with_invite=True,
    )


def company_alert(company: Company, subject: str, text: str) -> None:
    """A plain mail to the company's contacts and to the planners."""
    mail.queue([user.email for user in [*company.contacts, *planners()]], subject, f"Bonjour,\n\n{text}\n")


def call_requested(ticket: Ticket, deadline: datetime) -> None:
    """Tell the planners that a client asked to be called: no callback window fits before the deadline."""
    when = in_french(deadline, "EEEE d MMMM 'à' HH:mm", PARIS)
    with force_locale("fr"):  # the planners' mail is French, whatever the language of the client's page
        priority = str(labels.PRIORITIES.get(ticket.priority, ticket.priority)).lower()
    subject = f"Rappel à organiser : ticket {ticket.reference} ({ticket.company.name})"
    text = (
        f"{ticket.company.name} demande à être rappelé pour le ticket {ticket.reference} "
        f"(priorité {priority}) : aucun créneau de rappel ne tient "
        f"avant l'échéance de prise en charge, le {when}.\n\nAppelez le client, puis notez-le sur la page "
        f"Planification : {current_app.config['PUBLIC_URL'].rstrip('/')}/planification/\n"
    )
    mail.queue([user.email for user in planners()], subject, f"Bonjour,\n\n{text}")


def quote_ready(request: PriorityRequest, plan: ReshufflePlan) -> None:
    """Tell the requester that a priority-consulting quote waits for them, with its total, limit and link."""
    quote = quotes.build(request, plan)
    assert quote is not None and quote.valid_until is not None  # told once the plan is ready, while it waits
    until = in_french(quote.valid_until, "EEEE d MMMM yyyy 'à' HH:mm", PARIS)
    link = f"{current_app.config['PUBLIC_URL'].rstrip('/')}/portail/priorite/{request.id}/devis"
    total = numbers.format_currency(quote.total, "EUR", locale="fr_FR")
    subject = "Devis de conseil prioritaire à valider"
    body = (
        f"Bonjour,\n\nLe devis de votre demande de conseil prioritaire ({request.skill}) est prêt : "
        f"{total} HT au total, valable jusqu'au {until}.\n\nLisez-le (dates, consultant, rendez-vous déplacés) "
        f"et acceptez-le ici : {link}\n"
    )
    mail.queue([request.requester.email], subject, body)


def request_refused(request: PriorityRequest) -> None:
    """Tell the requester that a planner refused their request, why, and what they can do instead: in the language
    of their account (the mail is theirs alone, unlike a booking's, which consultants read too)."""
    site = current_app.config["PUBLIC_URL"].rstrip("/")
    with force_locale(request.requester.locale or "fr"):
        subject = gettext("Demande de conseil prioritaire refusée")
        asked = gettext(
            "Un planificateur a refusé votre demande de conseil prioritaire du %(day)s (%(duration)s, %(skill)s).",
            day=format_date(request.requested_at, "d MMMM yyyy"),
            duration=labels.duration_label(request.amount, request.unit),
            skill=labels.SKILLS.get(request.skill, request.skill),
        )
        why = gettext("Motif : %(reason)s", reason=request.refusal_reason)
        next_steps = gettext(
            "Vous pouvez réserver un rendez-vous ordinaire (%(book)s) ou envoyer une nouvelle demande qui tient compte "
            "de ce motif (%(requests)s).",
            book=f"{site}/portail/reserver",
            requests=f"{site}/portail/priorite",
        )
        body = "\n\n".join((gettext("Bonjour,"), asked, why, next_steps)) + "\n"
    mail.queue([request.requester.email], subject, body)


def password_link(user: User, raw: str, purpose: str, valid_hours: int) -> None:
    """The set-password link: an invitation to the portal, or a reset asked by its owner or an admin."""
    link = f"{current_app.config['PUBLIC_URL'].rstrip('/')}/mot-de-passe/{raw}"
    if purpose == "invite":
        where = f" pour {user.company.name}" if user.company else ""
        subject = "Votre accès au planning ERP-Lib"
        text = (
            f"Un compte a été créé pour vous{where} sur le planning ERP-Lib (identifiant : {user.email}).\n\n"
            f"Choisissez votre mot de passe ici : {link}"
        )
    else:
        subject = "Nouveau mot de passe pour le planning ERP-Lib"
        text = (
            "Une demande de nouveau mot de passe a été faite pour votre compte. Choisissez-le ici : "
            f"{link}\n\nSi vous n'avez rien demandé, ignorez ce message : votre mot de passe actuel reste valable."
        )
    text += f"\n\nCe lien ne sert qu'une fois et expire dans {valid_hours} heures."
    mail.queue([user.email], subject, f"Bonjour {user.name},\n\n{text}\n")
