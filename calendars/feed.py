"""Subscription feeds (RFC 5545 + RFC 7986): one VCALENDAR of events, no METHOD, every TZID with its VTIMEZONE."""
from __future__ import annotations

from datetime import timedelta
from typing import Iterable

from icalendar import Calendar

from .invite import PRODID, EventData, vevent

REFRESH = timedelta(minutes=15)


def feed(name: str, events: Iterable[EventData], description: str = "") -> bytes:
    """The calendar text: CRLF line ends and 75-octet folding come from icalendar."""
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("name", name)
    calendar.add("x-wr-calname", name)  # what Google and Outlook show, RFC 7986 NAME being newer
    if description:
        calendar.add("description", description)
    calendar.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", REFRESH)
    for data in events:
        calendar.add_component(vevent(data))
    calendar.add_missing_timezones()
    return calendar.to_ical()
