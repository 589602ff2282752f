"""iTIP invitations (RFC 5546): METHOD:REQUEST for a new or moved event, METHOD:CANCEL to remove it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import lru_cache

from icalendar import Calendar, Event, Timezone, vCalAddress, vText

from .worktime import PARIS

PRODID = "-//ERP-Lib Planner//FR"


@dataclass(frozen=True)
class Person:
    email: str
    name: str = ""


@dataclass(frozen=True)
class EventData:
    """What a calendar needs to know about one booking."""

    uid: str
    sequence: int
    start: datetime
    end: datetime
    summary: str
    description: str = ""
    location: str = ""
    cancelled: bool = False
    organizer: Person | None = None
    attendees: tuple[Person, ...] = field(default_factory=tuple)
    stamp: datetime | None = None

    def to_json(self) -> dict:
        """Plain JSON (instants in ISO 8601): the outbox keeps the event as it was when it changed."""
        return {
            **{
                name: getattr(self, name)
                for name in ("uid", "sequence", "summary", "description", "location", "cancelled")
            },
            **{
                name: getattr(self, name).isoformat() if getattr(self, name) else None
                for name in ("start", "end", "stamp")
            },
            "organizer": [self.organizer.email, self.organizer.name] if self.organizer else None,
            "attendees": [[p.email, p.name] for p in self.attendees],
        }

    @classmethod
    def from_json(cls, data: dict) -> EventData:
        instant = lambda text: datetime.fromisoformat(text) if text else None  # noqa: E731
        return cls(
            **{
                **data,
                "start": instant(data["start"]),
                "end": instant(data["end"]),
                "stamp": instant(data["stamp"]),
                "organizer": Person(*data["organizer"]) if data["organizer"] else None,
                "attendees": tuple(Person(*p) for p in data["attendees"]),
            }
        )


def _address(person: Person, **params) -> vCalAddress:
    address = vCalAddress(f"mailto:{person.email}")
    if person.name:
        address.params["CN"] = vText(person.name)
    address.params.update(params)
    return address


def vevent(data: EventData) -> Event:
    """One VEVENT with local times (TZID Europe/Paris), stable UID and SEQUENCE."""
    event = Event()
    event.add("uid", data.uid)
    event.add("dtstamp", (data.stamp or datetime.now(UTC)).astimezone(UTC))
    event.add("sequence", data.sequence)
    event.add("dtstart", data.start.astimezone(PARIS))
    event.add("dtend", data.end.astimezone(PARIS))
    event.add("summary", data.summary)
    if data.description:
        event.add("description", data.description)
    if data.location:
        event.add("location", data.location)
    event.add("status", "CANCELLED" if data.cancelled else "CONFIRMED")
    if data.organizer:
        event.add("organizer", _address(data.organizer))
    for attendee in data.attendees:
        event.add("attendee", _address(attendee, ROLE="REQ-PARTICIPANT", PARTSTAT="NEEDS-ACTION", RSVP="FALSE"))
    return event


@lru_cache(maxsize=64)
def _vtimezone(tzid: str, first_year: int | None, last_year: int | None) -> Timezone | None:
    """A zone's VTIMEZONE, built once per process and span: deriving its transitions costs ~20 ms."""
    try:
        if first_year is None or last_year is None:
            return Timezone.from_tzid(tzid)
        return Timezone.from_tzid(tzid, first_date=date(first_year, 1, 1), last_date=date(last_year, 1, 1))
    except ValueError:
        return None


def add_timezones(calendar: Calendar, years: tuple[int, int] | None = None) -> None:
    """Like Calendar.add_missing_timezones(), from the per-process cache (components are only read).
    `years` bounds the transitions listed: one event needs a few, not those of 1970–2038."""
    for position, tzid in enumerate(sorted(calendar.get_missing_tzids())):
        component = _vtimezone(tzid, *(years or (None, None)))
        if component is not None:
            calendar.subcomponents.insert(position, component)


def _years(data: EventData) -> tuple[int, int]:
    return data.start.year - 1, data.end.year + 2


def invitation(data: EventData) -> bytes:
    """A VCALENDAR with METHOD:REQUEST (or CANCEL when the event is cancelled), with its VTIMEZONE."""
    if data.organizer is None:
        raise ValueError("an iTIP message needs exactly one ORGANIZER")
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("method", "CANCEL" if data.cancelled else "REQUEST")
    calendar.add_component(vevent(data))
    add_timezones(calendar, _years(data))
    return calendar.to_ical()


def method_of(data: EventData) -> str:
    return "CANCEL" if data.cancelled else "REQUEST"


def ics_file(data: EventData) -> bytes:
    """A downloadable .ics with one event (no METHOD: a plain calendar object to import)."""
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add_component(vevent(data))
    add_timezones(calendar, _years(data))
    return calendar.to_ical()
