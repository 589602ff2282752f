"""Consultants' external calendars: import a file, queue a URL for the scheduler to read (never in a
web request), re-read URLs with conditional GET, and list the bookings that imported busy time
collides with."""
from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import and_, delete, or_, select, update

from calendars import fetch
from calendars.importer import CalendarImportError, busy_from_bytes
from ..extensions import db
from ..models import ACTIVE_STATUSES, Booking, Consultant, ExternalBusy, ExternalCalendar
from . import audit, locking
from .errors import Invalid

log = logging.getLogger(__name__)
PAST, AHEAD = timedelta(days=7), timedelta(days=180)  # the bounded window recurrences expand over
# An import claimed longer ago than this was abandoned (its scheduler died): the fetch itself is
# bounded by its deadline, the parse of a 10 MiB file by well under a minute.
STALE = timedelta(minutes=5)
BATCH = 20  # calendars per job run; the rest wait for the next run
SETTLED = ("done", "error")


def _policy() -> fetch.Policy:
    """The fetch policy from the settings: loopback only where a test or a demo allows it."""
    config = current_app.config
    return fetch.Policy(allow_loopback=bool(config.get("CALENDAR_FETCH_ALLOW_LOOPBACK", False)),
                        deadline=float(config.get("CALENDAR_FETCH_SECONDS", 15)))


def _validator(value: str | None, limit: int) -> str | None:
    """A server's ETag or Last-Modified, kept only if it fits its column and is plain text."""
    if value and len(value) <= limit and value.isprintable() and value.isascii():
        return value
    return None


def _download(url: str, etag: str | None = None, last_modified: str | None = None) -> fetch.Fetched:
    return fetch.fetch(url, etag=etag, last_modified=last_modified, policy=_policy())


def _swap_busy(calendar: ExternalCalendar, spans, now: datetime, fetched: fetch.Fetched | None) -> None:
    """Inside the caller's transaction: the calendar's busy time replaced, its status `done`."""
    db.session.execute(delete(ExternalBusy).where(ExternalBusy.calendar_id == calendar.id))
    db.session.add_all(ExternalBusy(calendar_id=calendar.id, consultant_id=calendar.consultant_id,
                                    start_at=a, end_at=b) for a, b in spans)
    if fetched is not None:
        calendar.etag, calendar.last_modified = _validator(fetched.etag, 300), _validator(fetched.last_modified, 100)
    calendar.imported_at, calendar.fetched_at, calendar.error = now, now, ""
    calendar.status, calendar.busy_count = "done", len(spans)


def _replace_busy(calendar: ExternalCalendar, data: bytes, now: datetime, fetched: fetch.Fetched | None = None) -> int:
    """Parse first (a broken file raises and changes nothing), then swap the busy time in one transaction."""
    spans = busy_from_bytes(data, now - PAST, now + AHEAD)
    with locking.locked([]):
        if calendar.id is None:
            db.session.add(calendar)
            db.session.flush()
        else:
            calendar = db.session.merge(calendar)
        _swap_busy(calendar, spans, now, fetched)
    return len(spans)


def _label(label: str) -> str:
    if not label.strip():
        raise Invalid("Donnez un nom au calendrier (par exemple « Agenda personnel »).")
    return label.strip()[:120]


def add(actor, consultant: Consultant, label: str, now: datetime, *, url: str | None = None,
        data: bytes | None = None) -> tuple[ExternalCalendar, int]:
    """A new external calendar read at once (an uploaded file, or a URL from the command line);
    nothing is saved if it cannot be read. Web pages queue URLs instead (`queue`)."""
    calendar = ExternalCalendar(consultant_id=consultant.id, label=_label(label), url=url or None)
    try:
        fetched = None
        if url:
            fetched = _download(url)
            data = fetched.body
        if not data:
            raise CalendarImportError("Le fichier est vide.")
        count = _replace_busy(calendar, data, now, fetched)
    except CalendarImportError as error:
        raise Invalid(str(error)) from None
    with locking.locked([]):
        audit.record(actor, "calendar.import", calendar, intervals=count)
    return calendar, count


def queue(actor, consultant: Consultant, label: str, url: str, now: datetime) -> ExternalCalendar:
    """Record a URL calendar as `pending`; the scheduler's `import_queued` reads it. What needs no
    network (the scheme, a literal internal address) is refused at once."""
    label = _label(label)
    try:
        fetch.check_url(url, _policy().allow_loopback)
    except CalendarImportError as error:
        raise Invalid(str(error)) from None
    if len(url) > 2000:
        raise Invalid("Adresse trop longue : 2 000 caractères au plus.")
    with locking.locked([]):
        calendar = ExternalCalendar(consultant_id=consultant.id, label=label, url=url, status="pending", queued_at=now)
        db.session.add(calendar)
        db.session.flush()
        audit.record(actor, "calendar.queued", calendar)
    return calendar


def request_refresh(calendar: ExternalCalendar, now: datetime) -> bool:
    """Queue a URL calendar again; False when it is already waiting or being read."""
    with locking.locked([]):
        return db.session.execute(update(ExternalCalendar).where(
            ExternalCalendar.id == calendar.id, ExternalCalendar.url.is_not(None),
            ExternalCalendar.status.in_(SETTLED)).values(status="pending", queued_at=now)).rowcount == 1


def reimport(calendar: ExternalCalendar, now: datetime, data: bytes | None = None) -> int | None:
    """Re-read one calendar at once (new file content, or its URL from the command line). None:
    unchanged (304). On failure the error is recorded on the calendar, the previous busy time is
    kept, and it raises."""
    try:
        fetched = None
        if data is None and not calendar.url:
            raise CalendarImportError("Choisissez le nouveau fichier .ics de ce calendrier pour le relire.")
        if data is None:
            fetched = _download(calendar.url, calendar.etag, calendar.last_modified)
            data = fetched.body
        if data is None:
            with locking.locked([]):
                kept = db.session.merge(calendar)
                kept.fetched_at, kept.status, kept.error = now, "done", ""
            return None
        return _replace_busy(calendar, data, now, fetched)
    except CalendarImportError as error:
        with locking.locked([]):
            kept = db.session.merge(calendar)
            kept.error, kept.fetched_at, kept.status = str(error)[:2000], now, "error"
        raise


def refresh_all(now: datetime) -> int:
    """The periodic job: queue every URL calendar not already waiting or being read; how many."""
    with locking.locked([]):
        return db.session.execute(update(ExternalCalendar).where(
            ExternalCalendar.url.is_not(None), ExternalCalendar.status.in_(SETTLED))
            .values(status="pending", queued_at=now)).rowcount


def _claimable(now: datetime):
    return or_(ExternalCalendar.status == "pending",
               and_(ExternalCalendar.status == "importing", ExternalCalendar.started_at < now - STALE))


def _claim(calendar_id: int, now: datetime) -> bool:
    """Mark one calendar `importing` (claimed at `now`); True only for the one caller that did."""
    with locking.locked([]):
        return db.session.execute(update(ExternalCalendar).where(ExternalCalendar.id == calendar_id, _claimable(now))
                                  .values(status="importing", started_at=now)).rowcount == 1


def _finish(calendar_id: int, claimed_at: datetime, now: datetime, *, spans=None,
            fetched: fetch.Fetched | None = None, error: str | None = None) -> bool:
    """Record the outcome of a claimed import; nothing if the calendar was removed or reclaimed meanwhile."""
    with locking.locked([]):
        calendar = db.session.get(ExternalCalendar, calendar_id)
        if calendar is None or calendar.status != "importing" or calendar.started_at != claimed_at:
            return False
        if error is not None:  # the previous busy time is kept
            calendar.status, calendar.error, calendar.fetched_at = "error", error[:2000], now
        elif spans is None:  # 304: unchanged
            calendar.status, calendar.error, calendar.fetched_at = "done", "", now
        else:
            _swap_busy(calendar, spans, now, fetched)
            audit.record(None, "calendar.import", calendar, intervals=len(spans))
    return error is None


def _import(calendar_id: int, claimed_at: datetime, now: datetime) -> bool:
    """Read one claimed calendar's URL and store what it says (or why it could not be read)."""
    row = db.session.execute(select(ExternalCalendar.url, ExternalCalendar.etag, ExternalCalendar.last_modified)
                             .where(ExternalCalendar.id == calendar_id)).one_or_none()
    db.session.rollback()  # no transaction stays open while a slow server is read
    if row is None:  # removed since it was claimed
        return False
    try:
        fetched = _download(row.url, row.etag, row.last_modified)
        spans = None if fetched.body is None else busy_from_bytes(fetched.body, now - PAST, now + AHEAD)
    except CalendarImportError as error:
        return _finish(calendar_id, claimed_at, now, error=str(error))
    except Exception:  # never leave it `importing`: the consultant sees that it failed
        log.exception("calendar %s: import failed", calendar_id)
        return _finish(calendar_id, claimed_at, now, error="Erreur inattendue pendant l'import ; réessayez plus tard.")
    return _finish(calendar_id, claimed_at, now, spans=spans, fetched=fetched)


def import_queued(now: datetime) -> int:
    """The job: claim each queued calendar (or one abandoned mid-import), then read it; how many were read."""
    waiting = db.session.scalars(select(ExternalCalendar.id).where(_claimable(now))
                                 .order_by(ExternalCalendar.queued_at, ExternalCalendar.id).limit(BATCH)).all()
    started, imported = time.monotonic(), 0
    for calendar_id in waiting:
        # Each claim carries the time it is made (a run may last minutes), so it goes stale on time.
        claimed_at = now + timedelta(seconds=time.monotonic() - started)
        if _claim(calendar_id, claimed_at):
            imported += _import(calendar_id, claimed_at, claimed_at)
    return imported


def conflicts(now: datetime) -> list[tuple[Booking, ExternalBusy]]:
    """Future active bookings that overlap imported busy time of their consultant."""
    rows = db.session.execute(
        select(Booking, ExternalBusy).join(ExternalBusy, ExternalBusy.consultant_id == Booking.consultant_id)
        .where(Booking.status.in_(ACTIVE_STATUSES), Booking.end_at > now,
               ExternalBusy.start_at < Booking.end_at, ExternalBusy.end_at > Booking.start_at)
        .order_by(Booking.start_at)
    ).all()
    return [(booking, busy) for booking, busy in rows]
