"""Outgoing mail as a transactional outbox: `queue` stores what a mail says in the transaction of the
change it reports (so a rolled-back change sends nothing and a committed one is never forgotten);
`deliver`, a scheduler job, composes the MIME message and sends it through SMTP when MAIL_SERVER is
set, retrying with backoff. Without a server the composed mail is kept in the outbox.
"""
from __future__ import annotations

import json
import logging
import smtplib
from datetime import datetime, timedelta
from email.message import EmailMessage

from flask import current_app
from sqlalchemy import or_, select, update

from calendars.invite import EventData, invitation, method_of
from ..extensions import db
from ..models import OutboxMessage
from ..models.types import utcnow
from . import locking

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8  # retried after 1, 2, 4 … 128 minutes: about four hours of a mail server's outage
RESEND_WITHIN = timedelta(days=1)  # mail kept while no server was set is sent once one is, if still fresh
BATCH = 500


_INSERT = OutboxMessage.__table__.insert()


def queue(recipients: list[str], subject: str, body: str, event: EventData | None = None,
          booking_id: int | None = None) -> None:
    """Store one mail per recipient in the caller's transaction, in one call; the invitation (if any)
    is attached when the mail is composed."""
    if recipients:
        event_json = event.to_json() if event else None
        db.session.execute(_INSERT, [{"recipient": recipient, "subject": subject, "body": body, "event": event_json,
                                      "booking_id": booking_id} for recipient in recipients])


def message(subject: str, body: str, ics: bytes | None = None, method: str | None = None) -> EmailMessage:
    """A plain-text mail, with the invitation as a text/calendar part that mail clients act on; its
    recipient's To header is added by `_compose`."""
    msg = EmailMessage()
    msg["From"] = current_app.config["MAIL_SENDER"]
    msg["Subject"] = subject
    # quoted-printable: the composed message is plain ASCII, stored and sent as it is
    msg.set_content(body, cte="quoted-printable")
    if ics is not None:
        # method= on the part is what makes Gmail and Outlook update or remove the event.
        msg.add_alternative(ics.decode(), subtype="calendar", params={"method": method}, cte="quoted-printable")
        msg.add_attachment(ics, maintype="application", subtype="ics", filename="invitation.ics")
    return msg


def _compose(entries: list[OutboxMessage]) -> None:
    """The recipients of one change get the same message: it is rendered once (MIME rendering is the
    costly part), and each copy differs only by its To header (header order carries no meaning)."""
    rendered: dict[tuple, str] = {}
    for entry in entries:
        key = (entry.subject, entry.body, json.dumps(entry.event, sort_keys=True) if entry.event else None)
        if key not in rendered:
            ics = method = None
            if entry.event:
                data = EventData.from_json(entry.event)
                ics, method = invitation(data), method_of(data)
            rendered[key] = message(entry.subject, entry.body, ics, method).as_string()
        entry.raw = f"To: {entry.recipient}\n{rendered[key]}"


def _send(entries: list[OutboxMessage]) -> dict[int, str | None]:
    """SMTP over one connection; the error of each mail that did not leave (None when sent)."""
    config = current_app.config
    outcome: dict[int, str | None] = {}
    try:
        with smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=10) as smtp:
            for entry in entries:
                smtp.sendmail(config["MAIL_SENDER"], [entry.recipient], entry.raw)
                outcome[entry.id] = None
    except (OSError, smtplib.SMTPException) as exc:
        log.warning("mail delivery failed after %d of %d: %s", len(outcome), len(entries), exc)
        outcome.update({entry.id: str(exc)[:300] or type(exc).__name__ for entry in entries if entry.id not in outcome})
    return outcome


def deliver(now: datetime) -> int:
    """Compose the queued mail, then send what is due (scheduler job); returns how many were sent."""
    server = current_app.config.get("MAIL_SERVER")
    with locking.locked([]):  # SQLite: take the write lock first
        fresh = db.session.scalars(select(OutboxMessage).where(OutboxMessage.raw.is_(None))
                                   .order_by(OutboxMessage.id).limit(BATCH)).all()
        _compose(fresh)
    if not server:
        return 0
    due = db.session.scalars(select(OutboxMessage).where(
        OutboxMessage.sent_at.is_(None), OutboxMessage.raw.is_not(None), OutboxMessage.attempts < MAX_ATTEMPTS,
        OutboxMessage.created_at > utcnow() - RESEND_WITHIN,  # created_at is the wall clock's, like this
        or_(OutboxMessage.next_attempt_at.is_(None), OutboxMessage.next_attempt_at <= now),
    ).order_by(OutboxMessage.id).limit(BATCH)).all()
    if not due:
        return 0
    attempts = {entry.id: entry.attempts + 1 for entry in due}
    outcome = _send(due)  # outside any transaction: a slow mail server holds no lock
    changes = [{"id": id_, "attempts": attempts[id_], "sent_at": now, "error": ""} if error is None else
               {"id": id_, "attempts": attempts[id_], "error": error,
                "next_attempt_at": now + timedelta(minutes=2 ** (attempts[id_] - 1))}
               for id_, error in outcome.items()]
    with locking.locked([]):
        db.session.execute(update(OutboxMessage), changes)
    return sum(error is None for error in outcome.values())
