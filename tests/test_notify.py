"""Booking mails repeat what the client consented to or consumed, in French: a confirmation its cost and its
free-cancellation limit, a late cancellation what it consumed, a consultant's proposal that it waits for the
client's confirmation, until when, and what it would cost."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine
from sqlalchemy import select

from booking.extensions import db
from booking.models import Booking, OutboxMessage, User
from booking.services import bookings
from calendars.worktime import PARIS

from . import factories as f

NOW = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)  # Wednesday 09:00 in Paris
LATE = datetime(2026, 12, 7, 14, 0, tzinfo=UTC)  # Monday 15:00: less than 24 business hours before Tuesday 14:00


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def paris(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=PARIS)


def contact_of(tier: str) -> User:
    contact = f.user("client", f.company(tier))
    f.consultant(skills=("installation",))
    db.session.commit()
    return contact


def last_mail(booking: Booking, to: User) -> OutboxMessage:
    db.session.flush()
    found = select(OutboxMessage).where(OutboxMessage.booking_id == booking.id, OutboxMessage.recipient == to.email)
    return db.session.scalars(found.order_by(OutboxMessage.id.desc())).first()


def words(mail: OutboxMessage) -> str:
    return mail.body.replace("\u202f", " ").replace("\xa0", " ")


def test_the_confirmation_states_the_cost_and_the_free_cancellation_limit(app):
    contact = contact_of("standard")
    booking = bookings.book(contact, "erplib", paris("2026-12-08 14:00"), NOW)
    body = words(last_mail(booking, contact))
    assert "Facturable : 45 minutes, soit 90,00 € HT" in body
    assert "Annulation gratuite jusqu'au jeudi 3 décembre à 11 h 00 ; après, la séance est décomptée." in body
    staff = words(last_mail(booking, booking.consultant.user))
    assert "Facturable" not in staff and "Annulation" not in staff  # the client's consent, not the consultant's


def test_the_confirmation_splits_a_session_the_hour_bank_covers(app):
    contact = contact_of("serenite")
    booking = bookings.book(contact, "erplib", paris("2026-12-08 14:00"), NOW)
    body = words(last_mail(booking, contact))
    assert "Banque d'heures : 45 minutes incluses" in body and "Facturable : rien" in body


def test_a_late_cancellation_says_the_session_was_consumed(app):
    contact = contact_of("standard")
    booking = bookings.book(contact, "erplib", paris("2026-12-08 14:00"), NOW)
    bookings.cancel(contact, booking, LATE)
    assert booking.status == "late_cancelled"
    body = words(last_mail(booking, contact))
    assert "Rendez-vous annulé tardivement : la séance est décomptée (45 minutes facturées, 90,00 € HT)." in body


def test_a_late_cancellation_of_an_included_service_counts_nothing(app):
    contact = contact_of("confort")
    booking = bookings.book(contact, "minor_update", paris("2026-12-08 14:00"), NOW, environment="production")
    bookings.cancel(contact, booking, LATE)
    assert booking.status == "late_cancelled"
    body = words(last_mail(booking, contact))
    assert (
        "Rendez-vous annulé ; l'annulation est enregistrée comme tardive, rien ne vous est décompté ni facturé." in body
    )


def test_a_proposal_asks_to_be_confirmed_by_its_limit_with_its_cost_and_no_invitation(app):
    contact = contact_of("standard")
    consultant = db.session.scalars(select(User).where(User.role == "consultant")).one()
    session = bookings.book(contact, "erplib", paris("2026-12-07 10:00"), NOW)
    after = paris("2026-12-07 10:50")
    bookings.record_outcome(consultant, session, "completed", after)
    proposal = bookings.propose_follow_up(consultant, session, paris("2026-12-09 14:00"), after)
    mail = last_mail(proposal, contact)
    body = words(mail)
    assert mail.subject.startswith("Proposition de rendez-vous de suivi")
    assert "à confirmer avant le mercredi 9 décembre à 10 h 50" in body
    assert "Facturable : 45 minutes, soit 90,00 € HT" in body
    assert mail.event is None and "invitation" not in body  # nothing in a calendar until the client confirms
    bookings.confirm(contact, proposal, paris("2026-12-08 09:00"))
    assert last_mail(proposal, contact).event is not None  # the invitation comes with the confirmation


def test_the_mail_says_the_cancellation_limit_at_the_change_s_time_not_the_clock_s(app, frozen):
    """A change made at NOW (its page said « Annulation gratuite jusqu'au … ») whose mail is composed when the clock
    already reads past that limit (a slow request, a job's batch): the mail says what the page did."""
    contact = contact_of("standard")
    frozen.move_to(LATE)
    booking = bookings.book(contact, "erplib", paris("2026-12-08 14:00"), NOW)
    body = words(last_mail(booking, contact))
    assert "Annulation gratuite jusqu'au jeudi 3 décembre à 11 h 00 ; après, la séance est décomptée." in body
    assert "Moins de" not in body
