"""Booking mails through a real local SMTP server (aiosmtpd), with iTIP parts mail clients act on, queued in
the transaction of the change (the outbox) and delivered by the scheduler's job."""
from datetime import date, datetime, timedelta, timezone
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from booking.extensions import db
from booking.models import OutboxMessage
from booking.services import bookings, mail
from booking.services.errors import Conflict
from calendars.worktime import PARIS

from booking.pgcluster import free_port
from . import factories as f

NOW = datetime(2026, 12, 2, 8, 0, tzinfo=timezone.utc)


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content, policy=policy.default)))
        return "250 OK"


@pytest.fixture
def smtp(app):
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port)
    yield inbox
    controller.stop()


def calendar_part(message):
    part = next(p for p in message.walk() if p.get_content_type() == "text/calendar")
    return part.get_param("method"), part.get_payload(decode=True).decode()


def test_confirm_reschedule_cancel_mails_update_the_same_event(app, smtp):
    company = f.company("serenite", contract_start=date(2026, 1, 1))
    contact = f.user("client", company)
    f.consultant()
    db.session.commit()
    start = datetime(2026, 12, 8, 10, tzinfo=PARIS)
    booking = bookings.book(contact, "erplib", start, NOW)
    bookings.reschedule(contact, booking, datetime(2026, 12, 9, 15, tzinfo=PARIS), NOW)
    bookings.cancel(contact, booking, NOW)
    assert smtp.messages == []  # queued with each change, not sent from the request
    assert mail.deliver(NOW) == 6 and mail.deliver(NOW) == 0
    to_client = [m for rcpt, m in smtp.messages if rcpt == [contact.email]]
    assert len(smtp.messages) == 6 and len(to_client) == 3
    assert all(m["To"] == rcpt[0] and m["From"] and m["Subject"] for rcpt, m in smtp.messages)
    methods = [calendar_part(m) for m in to_client]
    assert [m for m, _ in methods] == ["REQUEST", "REQUEST", "CANCEL"]
    for sequence, (method, ics) in enumerate(methods):
        assert f"UID:{booking.ical_uid}" in ics and f"SEQUENCE:{sequence}" in ics
        assert f"METHOD:{method}" in ics and ics.count("ORGANIZER") == 1 and "ATTENDEE" in ics
        assert "BEGIN:VTIMEZONE" in ics and "TZID=Europe/Paris" in ics
    assert "STATUS:CANCELLED" in methods[2][1]
    assert "DTSTART;TZID=Europe/Paris:20261209T150000" in methods[1][1]
    assert "annulé" in to_client[2]["Subject"]
    sent = db.session.scalars(select(OutboxMessage)).all()
    assert len(sent) == 6 and all(m.sent_at is not None and not m.error for m in sent)


def _standard_contact():
    """A Standard client's contact, and one consultant to book."""
    contact = f.user("client", f.company("standard"))
    f.consultant()
    db.session.commit()
    return contact


def test_without_a_mail_server_mail_stays_in_the_outbox(app):
    contact = _standard_contact()
    bookings.book(contact, "erplib", datetime(2026, 12, 8, 10, tzinfo=PARIS), NOW)
    assert mail.deliver(NOW) == 0
    kept = db.session.scalars(select(OutboxMessage)).all()
    assert len(kept) == 2 and all(m.sent_at is None and m.raw.isascii() and "BEGIN:VCALENDAR" in m.raw for m in kept)


def test_a_failing_mail_server_keeps_the_booking_and_records_the_error(app):
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port())  # nobody listens
    contact = _standard_contact()
    booking = bookings.book(contact, "erplib", datetime(2026, 12, 8, 10, tzinfo=PARIS), NOW)
    assert booking.status == "confirmed"
    assert mail.deliver(NOW) == 0
    failed = db.session.scalars(select(OutboxMessage)).all()
    assert len(failed) == 2
    assert all(m.error and m.sent_at is None and m.attempts == 1 for m in failed)
    assert all(m.next_attempt_at == NOW + timedelta(minutes=1) for m in failed)


def test_a_failed_mail_is_retried_with_backoff_once_the_server_answers(app, smtp):
    port = app.config["MAIL_PORT"]
    app.config.update(MAIL_PORT=free_port())  # the server is down at first
    contact = _standard_contact()
    bookings.book(contact, "erplib", datetime(2026, 12, 8, 10, tzinfo=PARIS), NOW)
    assert mail.deliver(NOW) == 0
    app.config.update(MAIL_PORT=port)
    assert mail.deliver(NOW + timedelta(seconds=30)) == 0  # not before its next attempt
    assert smtp.messages == []
    assert mail.deliver(NOW + timedelta(minutes=1)) == 2
    outbox = db.session.scalars(select(OutboxMessage)).all()
    assert sorted(rcpt for rcpt, _ in smtp.messages) == sorted([m.recipient] for m in outbox)
    assert contact.email in {m.recipient for m in outbox}
    assert all(m.sent_at is not None and m.attempts == 2 and not m.error for m in outbox)


def test_a_refused_change_queues_no_mail(app):
    contact = _standard_contact()
    start = datetime(2026, 12, 8, 10, tzinfo=PARIS)
    bookings.book(contact, "erplib", start, NOW)
    with pytest.raises(Conflict):
        bookings.book(f.user("client", contact.company), "erplib", start, NOW)
    assert len(db.session.scalars(select(OutboxMessage)).all()) == 2
