"""Consultants' external calendars: import a file, queue a URL for the scheduler to read (never in a
web request), re-read URLs with conditional GET — several at once, each within its own deadline —
and list the bookings that imported busy time collides with.

A read imports every event it can and reports what it skipped (`report`, shown on the page). Busy
time of events a later read can no longer understand is kept from the last complete read, for
KEEP_STALE only, and the page says until when; a calendar that cannot be read at all keeps its
busy time for as long, then loses it (the page says so): never stale time forever."""

from __future__ import annotations

import logging
import re
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from datetime import datetime, timedelta
from typing import cast
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import format_number, gettext, ngettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import CursorResult, and_, delete, or_, select, update

from calendars import fetch, importer
from calendars.importer import CalendarImportError, Deadline, Imported, Note

from .. import contract
from ..extensions import db
from ..models import ACTIVE_STATUSES, Booking, Consultant, ExternalBusy, ExternalCalendar
from . import audit, locking
from .errors import Invalid

log = logging.getLogger(__name__)
PAST = timedelta(days=7)  # recurrences expand from a week ago (conflicts shown on recent days) to the horizon
MIN_AHEAD = timedelta(days=60)
KEEP_STALE = timedelta(days=7)  # busy time kept from the last complete read, for events no longer readable
PARSE_SECONDS = 20  # a calendar's own deadline to be understood, once downloaded
WORKERS = 4  # calendars read at once by the job: one slow server never delays the others
OWN_FEED = re.compile(r"/calendars/cal_[A-Za-z0-9_-]+\.ics$")  # booking/web/feeds.py
# An import claimed longer ago than this was abandoned (its scheduler died): the fetch itself is
# bounded by its deadline, the parse of a 10 MiB file by well under a minute.
STALE = timedelta(minutes=5)
BATCH = 20  # calendars per job run; the rest wait for the next run
SETTLED = ("done", "error")


def _policy() -> fetch.Policy:
    """The fetch policy from the settings: loopback only where a test or a demo allows it."""
    config = current_app.config
    return fetch.Policy(
        allow_loopback=bool(config.get("CALENDAR_FETCH_ALLOW_LOOPBACK", False)),
        deadline=float(config.get("CALENDAR_FETCH_SECONDS", 15)),
    )


def _validator(value: str | None, limit: int) -> str | None:
    """A server's ETag or Last-Modified, kept only if it fits its column and is plain text."""
    if value and len(value) <= limit and value.isprintable() and value.isascii():
        return value
    return None


def _download(url: str, etag: str | None = None, last_modified: str | None = None) -> fetch.Fetched:
    return fetch.fetch(url, etag=etag, last_modified=last_modified, policy=_policy())


def window(now: datetime) -> tuple[datetime, datetime]:
    """What matters of an outside calendar: the past week to the booking horizon."""
    return now - PAST, now + max(MIN_AHEAD, timedelta(days=contract.current().policy.horizon_days))


def read(data: bytes, now: datetime) -> Imported:
    """Understand a file (no database): its busy time in the window, and what it skipped."""
    return importer.read(data, *window(now), deadline=Deadline.after(_parse_seconds()))


def _own_feed(url: str) -> bool:
    return bool(OWN_FEED.search(urlsplit(url).path))


def _previous(calendar: ExternalCalendar):
    return (
        [
            (b.start_at, b.end_at)
            for b in db.session.scalars(select(ExternalBusy).where(ExternalBusy.calendar_id == calendar.id))
        ]
        if calendar.id
        else []
    )


def _swap_busy(calendar: ExternalCalendar, result: Imported, now: datetime, fetched: fetch.Fetched | None) -> int:
    """Inside the caller's transaction: the calendar's busy time replaced, its status `done`. When
    the read skipped events, the previous busy time stays beside the new for KEEP_STALE after the
    last complete read (the skipped events are probably still there), never longer."""
    spans, kept_until = result.spans, None
    if not result.skipped:
        calendar.complete_at = now
    elif calendar.complete_at is not None and now < calendar.complete_at + KEEP_STALE:
        kept_until = calendar.complete_at + KEEP_STALE
        spans = importer.merge(spans + [(a, b) for a, b in _previous(calendar) if b > now - PAST])
    db.session.execute(delete(ExternalBusy).where(ExternalBusy.calendar_id == calendar.id))
    db.session.add_all(
        ExternalBusy(calendar_id=calendar.id, consultant_id=calendar.consultant_id, start_at=a, end_at=b)
        for a, b in spans
    )
    if fetched is not None:
        calendar.etag, calendar.last_modified = _validator(fetched.etag, 300), _validator(fetched.last_modified, 100)
    calendar.imported_at, calendar.fetched_at, calendar.error = now, now, ""
    calendar.status, calendar.busy_count = "done", len(spans)
    calendar.report = {
        "events": result.events,
        "skipped": [n.to_json() for n in result.skipped],
        "warnings": [n.to_json() for n in result.warnings],
        "kept_until": kept_until.isoformat() if kept_until else None,
    }
    return len(spans)


def _record_failure(calendar: ExternalCalendar, error: CalendarImportError, now: datetime) -> None:
    """Inside the caller's transaction: the reason recorded; the previous busy time kept until
    KEEP_STALE after the last successful read, then removed."""
    dropped = calendar.imported_at is not None and now >= calendar.imported_at + KEEP_STALE
    if dropped:
        db.session.execute(delete(ExternalBusy).where(ExternalBusy.calendar_id == calendar.id))
        calendar.busy_count = 0
    calendar.error, calendar.fetched_at, calendar.status = str(error)[:2000], now, "error"
    calendar.report = {
        "refusal": error.note.to_json() if error.note else None,  # else the text in `error`
        "skipped": [n.to_json() for n in error.skipped[:50]],
        "dropped": dropped,
        "kept_until": None
        if dropped or calendar.imported_at is None
        else (calendar.imported_at + KEEP_STALE).isoformat(),
    }


def _replace_busy(calendar: ExternalCalendar, data: bytes, now: datetime, fetched: fetch.Fetched | None = None) -> int:
    """Parse first (a file nothing can be read from raises and changes nothing), then swap the
    busy time in one transaction; how many busy spans are stored."""
    result = read(data, now)
    with locking.locked([]):
        if calendar.id is None:
            db.session.add(calendar)
            db.session.flush()
        else:
            calendar = db.session.merge(calendar)
        return _swap_busy(calendar, result, now, fetched)


def sentence(note: dict | Note) -> str:
    """A note (a refusal, a skipped component, a warning) in the reader's language."""
    note = note if isinstance(note, Note) else Note.from_json(note)
    params = note.params()
    if isinstance(note.count, (int, float)):  # a count, a status, seconds (2,5 s in French)
        params["count"] = format_number(note.count)
    if isinstance(note.line, int):
        params["line"] = format_number(note.line)
    if note.component in importer.ADDRESS_KINDS:  # an address refused: the kind of address it is
        params["component"] = gettext(importer.ADDRESS_KINDS[note.component])
    if size := note.size():  # a limit in bytes: 10 Mio, 10 MiB
        params["size"] = gettext(importer.UNITS[size[0]], count=format_number(size[1]))
    if note.status_unknown():
        params["detail"] = gettext(importer.UNKNOWN_STATUS)
    return gettext(importer.MESSAGES[note.code], **params)


def refusal(error: CalendarImportError) -> str:
    """Why a file was refused, with the first components that could not be read."""
    if error.note is None:
        return str(error)
    return " ".join([sentence(error.note), *(sentence(n) for n in error.skipped[:3])])


def summary(calendar: ExternalCalendar) -> dict:
    """What the page shows of the last read: a headline and the notes, translated."""
    report = calendar.report or {}
    skipped = report.get("skipped", [])
    headline = ""
    if "events" in report:
        headline = ngettext("%(num)d événement importé", "%(num)d événements importés", report["events"])
        if skipped:
            headline += ngettext(", %(num)d ignoré :", ", %(num)d ignorés :", len(skipped))
    refusal_note = report.get("refusal")
    kept = report.get("kept_until")
    return {
        "headline": headline,
        "refusal": sentence(refusal_note) if refusal_note else "",
        "skipped": [sentence(n) for n in skipped],
        "warnings": [sentence(n) for n in report.get("warnings", [])],
        "kept_until": datetime.fromisoformat(kept) if kept else None,
        "dropped": bool(report.get("dropped")),
    }


def _label(label: str) -> str:
    if not label.strip():
        raise Invalid(_l("Donnez un nom au calendrier (par exemple « Agenda personnel »)."), code="invalid_name")
    return label.strip()[:120]


def add(
    actor, consultant: Consultant, label: str, now: datetime, *, url: str | None = None, data: bytes | None = None
) -> tuple[ExternalCalendar, int]:
    """A new external calendar read at once (an uploaded file, or a URL from the command line);
    nothing is saved if it cannot be read. Web pages queue URLs instead (`queue`)."""
    calendar = ExternalCalendar(consultant_id=consultant.id, label=_label(label), url=url or None)
    try:
        fetched = None
        if url and _own_feed(url):
            raise CalendarImportError(Note("own_feed"))
        if url:
            fetched = _download(url)
            data = fetched.body
        count = _replace_busy(calendar, data or b"", now, fetched)
    except CalendarImportError as error:
        raise Invalid(refusal(error), code="calendar_unreadable") from None
    with locking.locked([]):
        audit.record(actor, "calendar.import", calendar, intervals=count)
    return calendar, count


def queue(actor, consultant: Consultant, label: str, url: str, now: datetime) -> ExternalCalendar:
    """Record a URL calendar as `pending`; the scheduler's `import_queued` reads it. What needs no
    network (the scheme, a literal internal address) is refused at once."""
    label = _label(label)
    try:
        fetch.check_url(url, _policy().allow_loopback)
        if _own_feed(url):
            raise CalendarImportError(Note("own_feed"))
    except CalendarImportError as error:
        raise Invalid(refusal(error), code="calendar_unreadable") from None
    if len(url) > 2000:
        raise Invalid(
            _l("Adresse trop longue : %(count)s caractères au plus.", count=format_number(2000)), code="invalid_url"
        )
    with locking.locked([]):
        calendar = ExternalCalendar(consultant_id=consultant.id, label=label, url=url, status="pending", queued_at=now)
        db.session.add(calendar)
        db.session.flush()
        audit.record(actor, "calendar.queued", calendar)
    return calendar


def request_refresh(calendar: ExternalCalendar, now: datetime) -> bool:
    """Queue a URL calendar again; False when it is already waiting or being read."""
    with locking.locked([]):
        return (
            cast(
                CursorResult,
                db.session.execute(
                    update(ExternalCalendar)
                    .where(
                        ExternalCalendar.id == calendar.id,
                        ExternalCalendar.url.is_not(None),
                        ExternalCalendar.status.in_(SETTLED),
                    )
                    .values(status="pending", queued_at=now)
                ),
            ).rowcount
            == 1
        )


def reimport(calendar: ExternalCalendar, now: datetime, data: bytes | None = None) -> int | None:
    """Re-read one calendar at once (new file content, or its URL from the command line). None:
    unchanged (304). On failure the error is recorded on the calendar, the previous busy time is
    kept, and it raises."""
    try:
        fetched = None
        if data is None:
            if not calendar.url:
                raise CalendarImportError(Note("empty"))
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
            _record_failure(db.session.merge(calendar), error, now)
        raise


def refresh_all(now: datetime) -> int:
    """The periodic job: queue every URL calendar not already waiting or being read; how many."""
    with locking.locked([]):
        return cast(
            CursorResult,
            db.session.execute(
                update(ExternalCalendar)
                .where(ExternalCalendar.url.is_not(None), ExternalCalendar.status.in_(SETTLED))
                .values(status="pending", queued_at=now)
            ),
        ).rowcount


def _claimable(now: datetime):
    return or_(
        ExternalCalendar.status == "pending",
        and_(ExternalCalendar.status == "importing", ExternalCalendar.started_at < now - STALE),
    )


def _claim(calendar_id: int, now: datetime) -> bool:
    """Mark one calendar `importing` (claimed at `now`); True only for the one caller that did."""
    with locking.locked([]):
        return (
            cast(
                CursorResult,
                db.session.execute(
                    update(ExternalCalendar)
                    .where(ExternalCalendar.id == calendar_id, _claimable(now))
                    .values(status="importing", started_at=now)
                ),
            ).rowcount
            == 1
        )


def _finish(
    calendar_id: int,
    claimed_at: datetime,
    now: datetime,
    *,
    result: Imported | None = None,
    fetched: fetch.Fetched | None = None,
    error: CalendarImportError | None = None,
) -> bool:
    """Record the outcome of a claimed import; nothing if the calendar was removed or reclaimed meanwhile."""
    with locking.locked([]):
        calendar = db.session.get(ExternalCalendar, calendar_id)
        if calendar is None or calendar.status != "importing" or calendar.started_at != claimed_at:
            return False
        if error is not None:
            _record_failure(calendar, error, now)
        elif result is None:  # 304: unchanged
            calendar.status, calendar.error, calendar.fetched_at = "done", "", now
        else:
            _swap_busy(calendar, result, now, fetched)
            audit.record(None, "calendar.import", calendar, intervals=len(result.spans), skipped=len(result.skipped))
    return error is None


def _fetch_and_read(
    url: str,
    etag: str | None,
    last_modified: str | None,
    now: datetime,
    policy: fetch.Policy,
    seconds: float,
    horizon: tuple[datetime, datetime],
):
    """In a worker thread, without the database: download (its own deadline, DNS included) and
    understand (its own deadline). (result or None when unchanged, fetched) or the error."""
    try:
        fetched = fetch.fetch(url, etag=etag, last_modified=last_modified, policy=policy)
        if fetched.body is None:
            return None, fetched, None
        return importer.read(fetched.body, *horizon, deadline=Deadline.after(seconds)), fetched, None
    except CalendarImportError as error:
        return None, None, error
    except Exception:  # never leave it `importing`: the consultant sees that it failed
        log.exception("calendar import failed: %s", urlsplit(url).hostname)
        return None, None, CalendarImportError(Note("unexpected"))


def _import(calendar_id: int, claimed_at: datetime, now: datetime) -> bool:
    """Read one claimed calendar's URL and store what it says (or why it could not be read)."""
    row = db.session.execute(
        select(ExternalCalendar.url, ExternalCalendar.etag, ExternalCalendar.last_modified).where(
            ExternalCalendar.id == calendar_id
        )
    ).one_or_none()
    db.session.rollback()  # no transaction stays open while a slow server is read
    if row is None:  # removed since it was claimed
        return False
    result, fetched, error = _fetch_and_read(
        row.url, row.etag, row.last_modified, now, _policy(), _parse_seconds(), window(now)
    )
    return _finish(calendar_id, claimed_at, now, result=result, fetched=fetched, error=error)


def _parse_seconds() -> float:
    return float(current_app.config.get("CALENDAR_PARSE_SECONDS", PARSE_SECONDS))


def import_queued(now: datetime) -> int:
    """The job: claim each queued calendar (or one abandoned mid-import), read them WORKERS at a
    time, and record each outcome as soon as it is known; how many were read."""
    waiting = db.session.scalars(
        select(ExternalCalendar.id)
        .where(_claimable(now))
        .order_by(ExternalCalendar.queued_at, ExternalCalendar.id)
        .limit(BATCH)
    ).all()
    claimed = {}
    for calendar_id in waiting:
        if _claim(calendar_id, now):
            row = db.session.execute(
                select(ExternalCalendar.url, ExternalCalendar.etag, ExternalCalendar.last_modified).where(
                    ExternalCalendar.id == calendar_id
                )
            ).one_or_none()
            if row is not None:
                claimed[calendar_id] = row
    db.session.rollback()  # no transaction stays open while slow servers are read
    if not claimed:
        return 0
    policy, horizon, imported = _policy(), window(now), 0
    seconds = _parse_seconds()
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=min(WORKERS, len(claimed)), thread_name_prefix="calendar") as pool:
        futures = {
            pool.submit(
                _fetch_and_read, row.url, row.etag, row.last_modified, now, policy, seconds, horizon
            ): calendar_id
            for calendar_id, row in claimed.items()
        }
        for future in as_completed(futures):
            result, fetched, error = future.result()
            done_at = now + timedelta(seconds=time.monotonic() - started)
            imported += _finish(futures[future], now, done_at, result=result, fetched=fetched, error=error)
    return imported


def conflicts(now: datetime) -> list[tuple[Booking, ExternalBusy]]:
    """Future active bookings that overlap imported busy time of their consultant."""
    rows = db.session.execute(
        select(Booking, ExternalBusy)
        .join(ExternalBusy, ExternalBusy.consultant_id == Booking.consultant_id)
        .where(
            Booking.status.in_(ACTIVE_STATUSES),
            Booking.end_at > now,
            ExternalBusy.start_at < Booking.end_at,
            ExternalBusy.end_at > Booking.start_at,
        )
        .order_by(Booking.start_at)
    ).all()
    return [(booking, busy) for booking, busy in rows]
