"""Subscription feeds (RFC 5545 + RFC 7986): one VCALENDAR of events, no METHOD, every TZID with its VTIMEZONE.

icalendar builds every piece; each event's text is cached by its content (uid, sequence, times,
texts), so a feed re-read after one change serialises one event, not two thousand.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from functools import lru_cache

from icalendar import Calendar, vDuration

from .invite import PRODID, EventData, add_timezones, vevent
from .worktime import PARIS

REFRESH = timedelta(minutes=15)
END = b"END:VCALENDAR\r\n"


@lru_cache(maxsize=100_000)
def _event_text(data: EventData) -> bytes:
    return vevent(data).to_ical()


@lru_cache(maxsize=256)
def _frame(name: str, description: str) -> bytes:
    """The calendar's own properties and the VTIMEZONE of Europe/Paris, where every event's TZID points."""
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("name", name)
    calendar.add("x-wr-calname", name)  # what Google and Outlook show, RFC 7986 NAME being newer
    if description:
        calendar.add("description", description)
    calendar.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", vDuration(REFRESH))  # PT15M: as an X- property it would be text
    probe = vevent(
        EventData(
            uid="probe",
            sequence=0,
            start=datetime(2026, 1, 1, tzinfo=PARIS),
            end=datetime(2026, 1, 1, 1, tzinfo=PARIS),
            summary="",
            stamp=datetime(2026, 1, 1, tzinfo=PARIS),
        )
    )
    calendar.add_component(probe)
    add_timezones(calendar)
    calendar.subcomponents.remove(probe)
    return calendar.to_ical()


def feed(name: str, events: Iterable[EventData], description: str = "") -> bytes:
    """The calendar text: CRLF line ends and 75-octet folding come from icalendar."""
    frame = _frame(name, description)
    assert frame.endswith(END)
    return b"".join([frame[: -len(END)], *(_event_text(data) for data in events), END])
