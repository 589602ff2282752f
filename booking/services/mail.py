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


def send(msg: EmailMessage, booking_id: int | None = None) -> OutboxMessage:
    """Send now if an SMTP server is configured; keep a copy in the outbox either way. Commits.
    Call it after the booking's transaction: a slow mail server must not hold its locks."""
    entry = OutboxMessage(recipient=msg["To"], subject=msg["Subject"], raw=msg.as_string(), booking_id=booking_id)
    server = current_app.config.get("MAIL_SERVER")
    if server:
        try:
            with smtplib.SMTP(server, current_app.config["MAIL_PORT"], timeout=10) as smtp:
                smtp.send_message(msg)
            entry.sent_at = utcnow()
        except (OSError, smtplib.SMTPException) as exc:  # kept in the outbox with its error, for a retry
            log.warning("mail to %s failed: %s", msg["To"], exc)
            entry.error = str(exc)[:300]
    with locking.locked([]):  # SQLite: take the write lock first, never upgrade a read transaction
        db.session.add(entry)
    return entry
