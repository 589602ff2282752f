"""Outgoing mail: through SMTP when MAIL_SERVER is set, always recorded in the outbox."""
from __future__ import annotations

import logging
import smtplib
from email.message import EmailMessage

from flask import current_app

from ..extensions import db
from ..models import OutboxMessage
from ..models.types import utcnow
from . import locking

log = logging.getLogger(__name__)


def message(recipient: str, subject: str, body: str, ics: bytes | None = None, method: str | None = None) -> EmailMessage:
    """A plain-text mail, with the invitation as a text/calendar part that mail clients act on."""
    msg = EmailMessage()
    msg["From"] = current_app.config["MAIL_SENDER"]
    msg["To"] = recipient
    msg["Subject"] = subject
    msg.set_content(body)
    if ics is not None:
        # method= on the part is what makes Gmail and Outlook update or remove the event.
        msg.add_alternative(ics.decode(), subtype="calendar", params={"method": method})
        msg.add_attachment(ics, maintype="application", subtype="ics", filename="invitation.ics")
    return msg


def send(messages: list[EmailMessage], booking_id: int | None = None) -> list[OutboxMessage]:
    """Send now if an SMTP server is configured (one connection for all); keep a copy of each in the
    outbox either way, in one transaction. Call it after the booking's transaction: a slow mail
    server must not hold its locks."""
    entries = [OutboxMessage(recipient=m["To"], subject=m["Subject"], raw=m.as_string(), booking_id=booking_id)
               for m in messages]
    server = current_app.config.get("MAIL_SERVER")
    if server and messages:
        try:
            with smtplib.SMTP(server, current_app.config["MAIL_PORT"], timeout=10) as smtp:
                for msg, entry in zip(messages, entries):
                    smtp.send_message(msg)
                    entry.sent_at = utcnow()
        except (OSError, smtplib.SMTPException) as exc:  # unsent ones stay in the outbox with the error, for a retry
            log.warning("mail to %s failed: %s", ", ".join(m["To"] for m in messages), exc)
            for entry in entries:
                if entry.sent_at is None:
                    entry.error = str(exc)[:300]
    with locking.locked([]):  # SQLite: take the write lock first, never upgrade a read transaction
        db.session.add_all(entries)
    return entries
