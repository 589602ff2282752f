"""Imports of real calendars from public projects (tests/data/ical-corpus), exactly as its SOURCES.md says."""
from __future__ import annotations

import re
from datetime import date, datetime, timezone
from importlib.metadata import version
from pathlib import Path

import pytest

from calendars import importer
from calendars.worktime import PARIS

# Real calendars from public projects (licences in its SOURCES.md), kept here so that a clone alone runs the tests.
CORPUS = Path(__file__).resolve().parent / "data" / "ical-corpus"
# The table's counts hold for these versions; with others, only the looser invariant is asserted.
PINS = {"icalendar": "7.3.2", "recurring-ical-events": "3.8.2", "x-wr-timezone": "2.0.1"}
SAME_VERSIONS = all(version(name) == pin for name, pin in PINS.items())


def expectations() -> list[tuple[str, bool, int | None]]:
    """(file, parses, VEVENT instances 2000–2030 or None when the expansion fails)."""
    rows = []
    for line in (CORPUS / "SOURCES.md").read_text().splitlines():
        cells = [c.strip() for c in line.split("|")]
        if len(cells) < 8 or not cells[1].endswith(".ics"):
            continue
        parses = cells[4].startswith("ok")
        count = int(cells[5]) if re.fullmatch(r"\d+", cells[5]) else None
        rows.append((cells[1], parses, count))
    return rows


CASES = expectations()


def test_the_corpus_is_all_there():
    assert len(CASES) == 79 and all((CORPUS / name).exists() for name, _, _ in CASES)


@pytest.mark.parametrize("name, parses, count", CASES, ids=[c[0] for c in CASES])
def test_each_corpus_file_imports_or_is_refused_clearly(name, parses, count):
    data = (CORPUS / name).read_bytes()
    if not parses or count is None:
        with pytest.raises(importer.CalendarImportError) as refused:
            cals = importer.parse(data)
            importer.occurrences(cals, date(2000, 1, 1), date(2030, 1, 1))
        assert len(str(refused.value)) > 20
        return
    calendars = importer.parse(data)
    found = importer.occurrences(calendars, date(2000, 1, 1), date(2030, 1, 1))
    if SAME_VERSIONS:
        assert len(found) == count
    else:
        assert (len(found) > 0) == (count > 0)
    spans = importer.busy(calendars, datetime(2000, 1, 1, tzinfo=timezone.utc), datetime(2030, 1, 1, tzinfo=timezone.utc))
    assert all(a < b for a, b in spans) and all(b1 <= a2 for (_, b1), (a2, _) in zip(spans, spans[1:]))


def ics(*events: str, extra: str = "") -> bytes:
    body = "\r\n".join(["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//test//EN", extra, *events, "END:VCALENDAR"])
    return "\r\n".join(line for line in body.split("\r\n") if line).encode() + b"\r\n"


def event(uid: str, *lines: str) -> str:
    return "\r\n".join(["BEGIN:VEVENT", f"UID:{uid}", "DTSTAMP:20261201T000000Z", *lines, "END:VEVENT"])


WEEK = (datetime(2026, 12, 7, tzinfo=PARIS), datetime(2026, 12, 14, tzinfo=PARIS))


def local(spans):
    return [(a.astimezone(PARIS).strftime("%a %H:%M"), b.astimezone(PARIS).strftime("%a %H:%M")) for a, b in spans]


def test_recurrences_exdates_overrides_transparent_and_cancelled():
    data = ics(
        event("r", "DTSTART;TZID=Europe/Paris:20261207T100000", "DTEND;TZID=Europe/Paris:20261207T110000",
              "RRULE:FREQ=DAILY;COUNT=5", "EXDATE;TZID=Europe/Paris:20261209T100000"),
        event("r", "RECURRENCE-ID;TZID=Europe/Paris:20261208T100000", "DTSTART;TZID=Europe/Paris:20261208T150000",
              "DTEND;TZID=Europe/Paris:20261208T160000"),
        event("r", "RECURRENCE-ID;TZID=Europe/Paris:20261210T100000", "DTSTART;TZID=Europe/Paris:20261210T100000",
              "DTEND;TZID=Europe/Paris:20261210T110000", "STATUS:CANCELLED"),
        event("t", "DTSTART:20261207T130000Z", "DTEND:20261207T140000Z", "TRANSP:TRANSPARENT"),
    )
    assert local(importer.busy_from_bytes(data, *WEEK)) == [("Mon 10:00", "Mon 11:00"), ("Tue 15:00", "Tue 16:00"),
                                                             ("Fri 10:00", "Fri 11:00")]


def test_all_day_events_block_the_whole_local_day():
    data = ics(event("a", "DTSTART;VALUE=DATE:20261208", "DTEND;VALUE=DATE:20261210"))
    assert local(importer.busy_from_bytes(data, *WEEK)) == [("Tue 00:00", "Thu 00:00")]


def test_windows_zone_names_and_x_wr_timezone_are_understood():
    windows = ics(event("w", "DTSTART;TZID=W. Europe Standard Time:20261207T100000",
                        "DTEND;TZID=W. Europe Standard Time:20261207T110000"))
    google = ics(event("g", "DTSTART:20261207T100000", "DTEND:20261207T110000"), extra="X-WR-TIMEZONE:America/New_York")
    assert local(importer.busy_from_bytes(windows, *WEEK)) == [("Mon 10:00", "Mon 11:00")]
    assert local(importer.busy_from_bytes(google, *WEEK)) == [("Mon 16:00", "Mon 17:00")]


def test_floating_times_are_read_in_paris_time():
    data = ics(event("f", "DTSTART:20261207T100000", "DURATION:PT90M"))
    assert local(importer.busy_from_bytes(data, *WEEK)) == [("Mon 10:00", "Mon 11:30")]


@pytest.mark.parametrize("data, message", [
    (b"", "aucun calendrier"),
    (b"this is not a calendar", "illisible"),
    (b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART:2026XX\r\nRRULE:FREQ=SOMETIMES\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n", "impossibles|illisible"),
    (b"x" * (importer.MAX_BYTES + 1), "volumineux"),
])
def test_unreadable_files_are_refused_clearly(data, message):
    with pytest.raises(importer.CalendarImportError, match=message):
        importer.busy_from_bytes(data, *WEEK)
