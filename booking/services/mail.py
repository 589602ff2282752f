"""Outgoing mail as a transactional outbox: `queue` stores what a mail says in the transaction of the
change it reports (so a rolled-back change sends nothing and a committed one is never forgotten);
`deliver`, a scheduler job, composes the MIME message and sends it through SMTP when MAIL_SERVER is
set, retrying with backoff. Without a server the composed mail is kept in the outbox.

Each mail's outcome is written as soon as its SMTP transaction ends, so a crash mid-batch re-sends at
most the one in flight, and that one carries the same Message-ID for receivers to drop. Mail given up
(after MAX_ATTEMPTS, or refused for good) is marked failed and logged as an error; planners see the
outbox (`outbox`, `counts`) and send a mail again (`retry_now`).
"""

from __future__ import annotations

import json
import logging
import smtplib
from collections.abc import Sequence
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import and_, case, func, or_, select

from calendars.invite import EventData, invitation, method_of

from ..date_format import format_datetime as local_datetime
from ..extensions import db
from ..models import OutboxMessage
from ..models.types import utcnow
from . import appends, locking
from .errors import Conflict, NotFound
from .pages import Page, paginate

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8  # retried after 1, 2, 4 … 128 minutes: about four hours of a mail server's outage
RESEND_WITHIN = timedelta(days=1)  # mail kept while no server was set is sent once one is, if still fresh
BATCH = 500
PAGE_SIZE = 50
# Why a mail was given up when no SMTP answer says it (the outbox page names them).
EXPIRED, INTERRUPTED = "expired", "interrupted"

_QUEUED = and_(OutboxMessage.sent_at.is_(None), OutboxMessage.failed_at.is_(None))
STATUSES = {
    "queued": _QUEUED,
    "sent": OutboxMessage.sent_at.is_not(None),
    "failed": OutboxMessage.failed_at.is_not(None),
}


_TABLE = OutboxMessage.__table__


def queue(
    recipients: list[str], subject: str, body: str, event: EventData | None = None, booking_id: int | None = None
) -> None:
    """Store one mail per recipient in the caller's transaction, in one call; the invitation (if any)
    is attached when the mail is composed."""
    queue_bodies([(recipients, body)], subject, event, booking_id)


def queue_bodies(
    groups: list[tuple[list[str], str]], subject: str, event: EventData | None = None, booking_id: int | None = None
) -> None:
    """`queue` for several groups of recipients, each with its own body (a client's links differ from a
    consultant's), in one statement: every statement costs a booking's request more than its rows do."""
    event_json = event.to_json() if event else None
    rows = [
        {"recipient": recipient, "subject": subject, "body": body, "event": event_json, "booking_id": booking_id}
        for recipients, body in groups
        for recipient in recipients
    ]
    for row in rows:
        appends.add(_TABLE, row)


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


def message_id(entry_id: int) -> str:
    """The Message-ID of an outbox row: the same at every attempt, so that receivers drop a repeat."""
    host = urlsplit(current_app.config["PUBLIC_URL"]).hostname or "localhost"
    return f"<outbox-{entry_id}@{f'[{host}]' if ':' in host else host}>"


def _compose(entries: Sequence[OutboxMessage]) -> None:
    """The recipients of one change get the same message: it is rendered once (MIME rendering is the
    costly part), and each copy differs only by its To, Message-ID and Date headers (header order
    carries no meaning). Date is when the change queued it, not when an attempt sends it."""
    rendered: dict[tuple, str] = {}
    for entry in entries:
        key = (entry.subject, entry.body, json.dumps(entry.event, sort_keys=True) if entry.event else None)
        if key not in rendered:
            ics = method = None
            if entry.event:
                data = EventData.from_json(entry.event)
                ics, method = invitation(data), method_of(data)
            rendered[key] = message(entry.subject, entry.body, ics, method).as_string()
        entry.raw = (
            f"To: {entry.recipient}\nMessage-ID: {message_id(entry.id)}\n"
            f"Date: {format_datetime(entry.created_at)}\n{rendered[key]}"
        )


def _settle(entries: list[OutboxMessage], now: datetime, error: str | None = None, final: bool = False) -> None:
    """Write these mails' outcome in a transaction of its own, at once: a crash after it sends nothing twice."""
    with locking.locked([], reread=False):
        for entry in entries:
            if error is None:
                entry.sent_at, entry.error = now, ""
                continue
            entry.error = error[:300] or "?"
            if final or entry.attempts >= MAX_ATTEMPTS:
                _give_up(entry, now)


def _give_up(entry: OutboxMessage, now: datetime) -> None:
    """Mark a mail failed and raise the alert: it is kept for planners to see and retry, not dropped."""
    entry.failed_at, entry.next_attempt_at = now, None
    log.error(
        "mail %d to %s given up after %d attempt(s): %s (outbox page: retry once the cause is fixed)",
        entry.id,
        entry.recipient,
        entry.attempts,
        entry.error,
    )


def _permanent(exc: Exception) -> bool:
    """A 5xx answer (unknown mailbox, refused sender): retrying the same mail would get the same."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _text in exc.recipients.values())
    return isinstance(exc, smtplib.SMTPResponseException) and exc.smtp_code >= 500


def _send(entries: Sequence[OutboxMessage], now: datetime) -> int:
    """SMTP over one connection, each outcome written as its SMTP transaction ends; returns how many left."""
    config, sent, pending = current_app.config, 0, list(entries)
    try:
        with smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=10) as smtp:
            while pending:
                entry = pending[0]
                try:
                    assert entry.raw is not None  # _claim takes composed mail only
                    smtp.sendmail(config["MAIL_SENDER"], [entry.recipient], entry.raw)
                except (smtplib.SMTPResponseException, smtplib.SMTPRecipientsRefused) as exc:
                    # This mail was refused; the connection serves the next one.
                    _settle([pending.pop(0)], now, str(exc), final=_permanent(exc))
                    continue
                _settle([pending.pop(0)], now)
                sent += 1
    except (OSError, smtplib.SMTPException) as exc:
        log.warning("mail delivery failed after %d of %d: %s", len(entries) - len(pending), len(entries), exc)
        _settle(pending, now, str(exc) or type(exc).__name__)
    return sent


def _sweep(now: datetime) -> None:
    """Give up mail that can no longer leave: its last attempt was cut off (a crash), or it was kept
    while no server was set and is now stale (RESEND_WITHIN)."""
    with locking.locked([], reread=False):
        stale = db.session.scalars(
            select(OutboxMessage)
            .where(
                _QUEUED,
                or_(
                    and_(OutboxMessage.attempts >= MAX_ATTEMPTS, OutboxMessage.next_attempt_at <= now),
                    # created_at is the wall clock's, like this
                    and_(OutboxMessage.next_attempt_at.is_(None), OutboxMessage.created_at <= utcnow() - RESEND_WITHIN),
                ),
            )
            .with_for_update(skip_locked=True)
        ).all()
        for entry in stale:
            entry.error = entry.error or (INTERRUPTED if entry.attempts else EXPIRED)
            _give_up(entry, now)


def _claim(now: datetime) -> Sequence[OutboxMessage]:
    """Take the due mail and count its attempt before sending: if this process dies, the mail waits
    for its backoff like any failure (another scheduler skips it meanwhile), never lost nor doubled."""
    with locking.locked([], reread=False):
        due = db.session.scalars(
            select(OutboxMessage)
            .where(
                _QUEUED,
                OutboxMessage.raw.is_not(None),
                OutboxMessage.attempts < MAX_ATTEMPTS,
                or_(OutboxMessage.next_attempt_at.is_(None), OutboxMessage.next_attempt_at <= now),
            )
            .order_by(OutboxMessage.id)
            .limit(BATCH)
            .with_for_update(skip_locked=True)
        ).all()
        for entry in due:
            entry.attempts += 1
            entry.next_attempt_at = now + timedelta(minutes=2 ** (entry.attempts - 1))
    return due


def deliver(now: datetime) -> int:
    """Compose the queued mail, then send what is due (scheduler job); returns how many were sent."""
    with locking.locked([]):  # SQLite: take the write lock first
        fresh = db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.raw.is_(None)).order_by(OutboxMessage.id).limit(BATCH)
        ).all()
        _compose(fresh)
    if not current_app.config.get("MAIL_SERVER"):
        return 0
    _sweep(now)
    due = _claim(now)
    return _send(due, now) if due else 0


def outbox(status: str | None, number: int) -> Page:
    """One page of the outbox, newest first, of one status (queued, sent, failed) or of all."""
    query = select(OutboxMessage)
    if status:
        query = query.where(STATUSES[status])
    return paginate(query.order_by(OutboxMessage.id.desc()), number, PAGE_SIZE)


def counts() -> dict[str, int]:
    """How many mails are queued, sent and failed, in one statement."""
    row = db.session.execute(
        select(
            *(
                func.coalesce(func.sum(case((condition, 1), else_=0)), 0).label(status)
                for status, condition in STATUSES.items()
            )
        )
    ).one()
    return dict(row._mapping)


def failed_count() -> int:
    """How many mails failed (an index answers it)."""
    return db.session.execute(select(func.count()).where(OutboxMessage.failed_at.is_not(None))).scalar_one()


def retry_now(entry_id: int, now: datetime) -> OutboxMessage:
    """Send this mail with the next delivery; a failed one gets its attempts anew."""
    if not current_app.config.get("MAIL_SERVER"):
        raise Conflict(
            _(
                "Aucun serveur de courrier n'est configuré (MAIL_SERVER) : le courrier reste conservé "
                "ici et rien ne peut partir. Configurez-le, puis réessayez."
            )
        )
    with locking.locked([]):
        entry = db.session.get(OutboxMessage, entry_id, with_for_update=True)
        if entry is None:
            raise NotFound(_("Aucun courriel n°%(id)s dans la file d'envoi.", id=entry_id))
        if entry.sent_at is not None:
            raise Conflict(
                _(
                    "Ce courriel est déjà parti (%(when)s) : il n'y a rien à réessayer.",
                    when=local_datetime(entry.sent_at, "d MMM yyyy HH:mm"),
                )
            )
        if entry.failed_at is not None:
            entry.failed_at, entry.attempts = None, 0
        entry.next_attempt_at = now
    return entry
