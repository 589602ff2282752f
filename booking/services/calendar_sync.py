"""Consultants' external calendars: import a file or a URL, re-read URLs with conditional GET,
and list the bookings that newly imported busy time collides with."""
from __future__ import annotations

import logging
import urllib.error
import urllib.request
from datetime import datetime, timedelta

from sqlalchemy import delete, select

from calendars.importer import MAX_BYTES, CalendarImportError, busy_from_bytes
from ..extensions import db
from ..models import ACTIVE_STATUSES, Booking, Consultant, ExternalBusy, ExternalCalendar
from . import audit, locking
from .errors import Invalid

log = logging.getLogger(__name__)
PAST, AHEAD = timedelta(days=7), timedelta(days=180)  # the bounded window recurrences expand over
USER_AGENT = "ERP-Lib-Planner/1 (calendar import)"


def fetch(calendar: ExternalCalendar) -> bytes | None:
    """The URL's body, or None when the server answers 304 Not Modified to our conditional GET."""
    if not (calendar.url or "").startswith(("http://", "https://")):
        raise CalendarImportError("Adresse invalide : elle doit commencer par http:// ou https://.")
    request = urllib.request.Request(calendar.url, headers={"User-Agent": USER_AGENT})
    if calendar.etag:
        request.add_header("If-None-Match", calendar.etag)
    if calendar.last_modified:
        request.add_header("If-Modified-Since", calendar.last_modified)
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            body = response.read(MAX_BYTES + 1)
            calendar.etag = response.headers.get("ETag")
            calendar.last_modified = response.headers.get("Last-Modified")
            return body
    except urllib.error.HTTPError as error:
        if error.code == 304:
            return None
        raise CalendarImportError(f"Le serveur du calendrier a répondu {error.code} {error.reason}.") from None
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise CalendarImportError(f"Calendrier injoignable : {reason}.") from None


def _replace_busy(calendar: ExternalCalendar, data: bytes, now: datetime) -> int:
    """Parse first (a broken file raises and changes nothing), then swap the busy time in one transaction."""
    spans = busy_from_bytes(data, now - PAST, now + AHEAD)
    with locking.locked([]):
        if calendar.id is None:
            db.session.add(calendar)
            db.session.flush()
        else:
            calendar = db.session.merge(calendar)
            db.session.execute(delete(ExternalBusy).where(ExternalBusy.calendar_id == calendar.id))
        db.session.add_all(ExternalBusy(calendar_id=calendar.id, consultant_id=calendar.consultant_id,
                                        start_at=a, end_at=b) for a, b in spans)
        calendar.imported_at, calendar.fetched_at, calendar.error = now, now, ""
    return len(spans)


def add(actor, consultant: Consultant, label: str, now: datetime, *, url: str | None = None,
        data: bytes | None = None) -> tuple[ExternalCalendar, int]:
    """A new external calendar from a URL or an uploaded file; nothing is saved if it cannot be read."""
    if not label.strip():
        raise Invalid("Donnez un nom au calendrier (par exemple « Agenda personnel »).")
    calendar = ExternalCalendar(consultant_id=consultant.id, label=label.strip()[:120], url=url or None)
    try:
        if url:
            data = fetch(calendar)
        if not data:
            raise CalendarImportError("Le fichier est vide.")
        count = _replace_busy(calendar, data, now)
    except CalendarImportError as error:
        raise Invalid(str(error)) from None
    with locking.locked([]):
        audit.record(actor, "calendar.import", calendar, intervals=count)
    return calendar, count


def reimport(calendar: ExternalCalendar, now: datetime, data: bytes | None = None) -> int | None:
    """Re-read one calendar (its URL, or new file content). None: unchanged (304).
    On failure the error is recorded on the calendar, the previous busy time is kept, and it raises."""
    try:
        body = data if data is not None else fetch(calendar)
        if body is None:
            with locking.locked([]):
                db.session.merge(calendar).fetched_at = now
            return None
        return _replace_busy(calendar, body, now)
    except CalendarImportError as error:
        with locking.locked([]):
            kept = db.session.merge(calendar)
            kept.error, kept.fetched_at = str(error)[:2000], now
        raise


def refresh_all(now: datetime) -> int:
    """The periodic job: re-read every URL calendar; one failing calendar never stops the others."""
    refreshed = 0
    for calendar_id in db.session.scalars(select(ExternalCalendar.id).where(ExternalCalendar.url.is_not(None))).all():
        calendar = db.session.get(ExternalCalendar, calendar_id)
        try:
            refreshed += reimport(calendar, now) is not None
        except CalendarImportError as error:
            log.warning("calendar %s: %s", calendar_id, error)
    return refreshed


def conflicts(now: datetime) -> list[tuple[Booking, ExternalBusy]]:
    """Future active bookings that overlap imported busy time of their consultant."""
    rows = db.session.execute(
        select(Booking, ExternalBusy).join(ExternalBusy, ExternalBusy.consultant_id == Booking.consultant_id)
        .where(Booking.status.in_(ACTIVE_STATUSES), Booking.end_at > now,
               ExternalBusy.start_at < Booking.end_at, ExternalBusy.end_at > Booking.start_at)
        .order_by(Booking.start_at)
    ).all()
    return [(booking, busy) for booking, busy in rows]
