"""Booking mails through a real local SMTP server (aiosmtpd), with iTIP parts mail clients act on, queued in
the transaction of the change (the outbox) and delivered by the scheduler's job."""

import os
import signal
import subprocess
import sys
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select, update

from booking.extensions import db
from booking.models import OutboxMessage
from booking.models.types import utcnow
from booking.pgcluster import free_port
from booking.services import bookings, mail
from booking.services.errors import Conflict
from calendars.worktime import PARIS

from . import factories as f

NOW = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)


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


# --- Faults: a mail server that goes away, a scheduler killed mid-batch, mail that cannot leave ---


def _queue(count: int) -> list[int]:
    """`count` mails queued in one committed change; their outbox ids."""
    mail.queue([f"r{n}@example.test" for n in range(count)], "Sujet", "Corps")
    db.session.commit()
    return list(db.session.scalars(select(OutboxMessage.id).order_by(OutboxMessage.id)))


def _received(inbox) -> Counter:
    """How many times each Message-ID arrived."""
    return Counter(message["Message-ID"] for _rcpt, message in inbox.messages)


def _outbox() -> list[OutboxMessage]:
    f.reread()
    return db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()


class DyingInbox(Inbox):
    """Receives `accept` messages, then takes in the next one and dies before answering it."""

    def __init__(self, accept: int, die=None):
        super().__init__()
        self.accept, self.die = accept, die

    async def handle_DATA(self, server, session, envelope):
        answer = await super().handle_DATA(server, session, envelope)
        if len(self.messages) > self.accept:
            (self.die or server.transport.abort)()
        return answer


def _serve(handler, port: int) -> Controller:
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    return controller


def test_a_mail_server_dying_mid_batch_gets_every_mail_once_but_the_one_in_flight(app):
    ids, port = _queue(12), free_port()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, PUBLIC_URL="https://planning.example.fr")
    dying = DyingInbox(accept=5)
    controller = _serve(dying, port)
    try:
        assert mail.deliver(NOW) == 5
    finally:
        controller.stop()
    assert [m.sent_at is not None for m in _outbox()] == [True] * 5 + [False] * 7  # marked one by one
    back = Inbox()
    controller = _serve(back, port)  # the server comes back
    try:
        assert mail.deliver(NOW + timedelta(minutes=1)) == 7
    finally:
        controller.stop()
    received = _received(dying) + _received(back)
    assert set(received) == {f"<outbox-{id_}@planning.example.fr>" for id_ in ids}
    assert [count for count in received.values() if count > 1] == [2]  # the one in flight, and only it
    assert received[f"<outbox-{ids[5]}@planning.example.fr>"] == 2
    assert all(message["Date"] for _rcpt, message in dying.messages + back.messages)
    assert all(m.sent_at is not None and not m.error for m in _outbox())


def test_a_scheduler_killed_mid_batch_resends_at_most_the_mail_in_flight(any_app, tmp_path):
    """kill -9 of a real `flask scheduler --once` while the mail server holds its sixth mail."""
    ids, port = _queue(12), free_port()
    scheduler = {}
    dying = DyingInbox(accept=5, die=lambda: os.kill(scheduler["process"].pid, signal.SIGKILL))
    controller = _serve(dying, port)
    env = {
        **os.environ,
        "DATABASE_URL": db.engine.url.render_as_string(hide_password=False),
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": str(port),
        "PUBLIC_URL": "https://planning.example.fr",
    }
    try:
        scheduler["process"] = subprocess.Popen(
            [os.path.join(os.path.dirname(sys.executable), "flask"), "--app", "wsgi", "scheduler", "--once"],
            env=env,
            stdout=open(tmp_path / "scheduler.log", "w"),
            stderr=subprocess.STDOUT,
        )
        assert scheduler["process"].wait(60) == -signal.SIGKILL, (tmp_path / "scheduler.log").read_text()
    finally:
        controller.stop()
    assert sum(m.sent_at is not None for m in _outbox()) == 5
    any_app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, PUBLIC_URL="https://planning.example.fr")
    back = Inbox()
    controller = _serve(back, port)
    try:
        # The claimed mail waits out its backoff (the dead scheduler's attempt), then leaves.
        assert mail.deliver(utcnow() + timedelta(minutes=2)) == 7
    finally:
        controller.stop()
    received = _received(dying) + _received(back)
    assert set(received) == {f"<outbox-{id_}@planning.example.fr>" for id_ in ids}
    assert sorted(received.values()) == [1] * 11 + [2]
    assert all(m.sent_at is not None for m in _outbox())


def test_after_eight_failed_attempts_a_mail_is_failed_alerted_and_can_be_retried(app, caplog):
    (id_,) = _queue(1)
    port = free_port()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port)  # nobody listens
    when = NOW
    for attempt in range(1, mail.MAX_ATTEMPTS + 1):
        assert mail.deliver(when) == 0
        (entry,) = _outbox()
        assert entry.attempts == attempt
        when = entry.next_attempt_at or when
    assert entry.failed_at == when and entry.next_attempt_at is None and entry.error
    assert any(r.levelname == "ERROR" and f"mail {id_} " in r.getMessage() for r in caplog.records), caplog.text
    assert mail.deliver(when + timedelta(days=1)) == 0 and _outbox()[0].attempts == mail.MAX_ATTEMPTS  # not dropped:
    assert mail.counts() == {"queued": 0, "sent": 0, "failed": 1}  # failed, visible
    mail.retry_now(id_, when + timedelta(days=1))
    (entry,) = _outbox()
    assert entry.failed_at is None and entry.attempts == 0
    inbox = Inbox()
    controller = _serve(inbox, port)
    try:
        assert mail.deliver(when + timedelta(days=1)) == 1
    finally:
        controller.stop()
    assert _outbox()[0].sent_at is not None and len(inbox.messages) == 1


class RefusingInbox(Inbox):
    """An unknown mailbox is refused for good (5xx); the others are taken."""

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("r1@"):
            return "550 5.1.1 <r1@example.test>: no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"


def test_a_mailbox_refused_for_good_fails_at_once_and_the_next_mails_leave(app, caplog):
    ids = _queue(3)
    port = free_port()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port)
    inbox = RefusingInbox()
    controller = _serve(inbox, port)
    try:
        assert mail.deliver(NOW) == 2
    finally:
        controller.stop()
    refused = _outbox()[1]
    assert refused.id == ids[1] and refused.failed_at == NOW and refused.attempts == 1 and "550" in refused.error
    assert [m.sent_at is not None for m in _outbox()] == [True, False, True]
    assert any(r.levelname == "ERROR" for r in caplog.records)


def test_mail_that_can_no_longer_leave_is_failed_not_left_queued(app):
    """A last attempt cut off by a crash, and mail kept for days while no server was set."""
    crashed, stale, fresh = _queue(3)
    assert mail.deliver(NOW) == 0  # composed, kept: no server yet
    db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == crashed)
        .values(attempts=mail.MAX_ATTEMPTS, next_attempt_at=NOW - timedelta(minutes=1))
    )
    db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == stale)
        .values(created_at=utcnow() - mail.RESEND_WITHIN - timedelta(minutes=1))
    )
    db.session.commit()
    inbox = Inbox()
    port = free_port()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port)
    controller = _serve(inbox, port)
    try:
        assert mail.deliver(NOW) == 1
    finally:
        controller.stop()
    by_id = {m.id: m for m in _outbox()}
    assert by_id[crashed].failed_at == NOW and by_id[crashed].error == mail.INTERRUPTED
    assert by_id[stale].failed_at == NOW and by_id[stale].error == mail.EXPIRED
    assert by_id[fresh].sent_at == NOW and len(inbox.messages) == 1
