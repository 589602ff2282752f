"""External calendars in: parse, expand recurrences over a bounded window, and turn them into busy time.

Transparent and cancelled occurrences are not busy; an all-day event blocks its whole local
day(s); a floating time is read in the consultant's zone. Any failure is a `CalendarImportError`
whose message names the problem, so the caller can keep the previous busy time.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from typing import Iterable

import recurring_ical_events
import x_wr_timezone
from icalendar import Calendar, Component

from .worktime import PARIS, Interval

UTC = timezone.utc
MAX_BYTES = 10 * 1024 * 1024


class CalendarImportError(ValueError):
    """The calendar cannot be read; the message says why, in words a person can act on."""


def parse(data: bytes) -> list[Calendar]:
    """Every VCALENDAR of a file (some producers concatenate several)."""
    if len(data) > MAX_BYTES:
        raise CalendarImportError(f"Fichier trop volumineux ({len(data) // 1024} Kio) : 10 Mio au plus.")
    try:
        calendars = Calendar.from_ical(data, multiple=True)
    except Exception as exc:  # icalendar raises ValueError, KeyError, IndexError… on malformed input
        raise CalendarImportError(f"Fichier iCalendar illisible : {exc}") from None
    calendars = [c if c.name == "VCALENDAR" else _wrapped(c) for c in calendars if c.name in ("VCALENDAR", "VEVENT")]
    if not calendars:
        raise CalendarImportError("Ce fichier ne contient aucun calendrier (BEGIN:VCALENDAR).")
    return calendars


def _wrapped(event: Component) -> Calendar:
    """A bare VEVENT (some tools export them so) inside a calendar of its own."""
    calendar = Calendar()
    calendar.add_component(event)
    return calendar


def occurrences(calendars: Iterable[Calendar], start: date | datetime, end: date | datetime) -> list[Component]:
    """Every VEVENT occurrence between start and end, recurrences expanded (RRULE, RDATE, EXDATE, RECURRENCE-ID)."""
    found = []
    for calendar in calendars:
        try:
            standard = x_wr_timezone.to_standard(calendar)
            found += [c for c in recurring_ical_events.of(standard).between(start, end) if c.name == "VEVENT"]
        except Exception as exc:  # the expansion library raises many kinds of error on broken rules
            raise CalendarImportError(f"Répétitions impossibles à calculer : {type(exc).__name__}: {exc}") from None
    return found


def _instant(value, tz) -> datetime:
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=tz)).astimezone(UTC)
    return datetime.combine(value, time(), tz).astimezone(UTC)  # a date: local midnight


def _span(event: Component, tz) -> Interval | None:
    start = event.get("DTSTART")
    if start is None:
        return None
    begin = start.dt
    end_prop, duration = event.get("DTEND"), event.get("DURATION")
    if end_prop is not None:
        finish = end_prop.dt
    elif duration is not None:
        finish = begin + duration.dt
    else:  # RFC 5545: a date lasts one day, a date-time is an instant
        finish = begin + timedelta(days=1) if not isinstance(begin, datetime) else begin
    if not isinstance(begin, datetime) and isinstance(finish, datetime):
        finish = finish.date()
    if not isinstance(begin, datetime) and finish <= begin:
        finish = begin + timedelta(days=1)  # an all-day event blocks at least its day
    a, b = _instant(begin, tz), _instant(finish, tz)
    return (min(a, b), max(a, b)) if a != b else None


def busy(calendars: Iterable[Calendar], start: datetime, end: datetime, tz=PARIS) -> list[Interval]:
    """Merged busy intervals (UTC) inside [start, end)."""
    spans = []
    for event in occurrences(calendars, start, end):
        if str(event.get("TRANSP", "OPAQUE")).upper() == "TRANSPARENT":
            continue
        if str(event.get("STATUS", "")).upper() == "CANCELLED":
            continue
        try:
            span = _span(event, tz)
        except Exception as exc:  # a broken DTSTART/DTEND/DURATION in one event
            raise CalendarImportError(f"Événement illisible ({event.get('UID', 'sans UID')}) : {exc}") from None
        if span and span[1] > start and span[0] < end:
            spans.append((max(span[0], start), min(span[1], end)))
    return merge(spans)


def merge(spans: list[Interval]) -> list[Interval]:
    merged: list[list[datetime]] = []
    for a, b in sorted(spans):
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return [(a, b) for a, b in merged]


def busy_from_bytes(data: bytes, start: datetime, end: datetime, tz=PARIS) -> list[Interval]:
    return busy(parse(data), start, end, tz)
