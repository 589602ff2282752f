"""Issue 14 at the service and on the page: partial imports named, stale busy time kept for a
week only, ERP-Lib's own feeds refused, URL calendars read in parallel, each within its deadline."""

from __future__ import annotations

import html
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from booking.extensions import db
from booking.models import ExternalBusy, ExternalCalendar
from booking.models.types import utcnow
from booking.services import calendar_sync
from booking.services.errors import Invalid
from calendars.importer import CalendarImportError

from . import factories as f
from .loopback import drip, send, serving

NOW = datetime(2026, 12, 1, 9, tzinfo=UTC)


def event(uid: str, *lines: str) -> str:
    return "\r\n".join(["BEGIN:VEVENT", f"UID:{uid}", "DTSTAMP:20261201T000000Z", *lines, "END:VEVENT"])


def ics(*events: str) -> bytes:
    return (
        "\r\n".join(["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//t//EN", *events, "END:VCALENDAR"]) + "\r\n"
    ).encode()


DENTIST = event("dentist", "DTSTART;TZID=Europe/Paris:20261203T100000", "DTEND;TZID=Europe/Paris:20261203T110000")
SPORT = event("sport", "DTSTART;TZID=Europe/Paris:20261204T180000", "DTEND;TZID=Europe/Paris:20261204T190000")
SPORT_BROKEN = event("sport", "DTEND;TZID=Europe/Paris:20261204T190000")  # its DTSTART lost by the producer


def busy(calendar_id: int) -> list[tuple[int, int]]:
    rows = db.session.scalars(
        select(ExternalBusy).where(ExternalBusy.calendar_id == calendar_id).order_by(ExternalBusy.start_at)
    )
    return [(b.start_at.day, b.start_at.hour) for b in rows]


@pytest.fixture
def consultant(app):
    consultant = f.consultant()
    db.session.commit()
    return consultant


def test_a_partial_read_keeps_the_skipped_events_busy_time_for_a_week_and_the_page_names_them(
    app, client, auth, consultant
):
    calendar, _ = calendar_sync.add(None, consultant, "Perso", NOW, data=ics(DENTIST, SPORT))
    assert busy(calendar.id) == [(3, 9), (4, 17)]
    later = NOW + timedelta(days=1)
    assert calendar_sync.reimport(calendar, later, ics(DENTIST, SPORT_BROKEN)) == 2  # the sport kept, said so
    kept = db.session.get(ExternalCalendar, calendar.id)
    assert kept.report["skipped"] == [{"code": "no_start", "line": 10, "component": "VEVENT"}]
    assert kept.complete_at == NOW and kept.status == "done"
    auth.login(consultant.user.email)
    page = html.unescape(client.get("/agenda").get_data(as_text=True))
    assert "1 événement importé, 1 ignoré :" in page
    assert "VEVENT ligne 10 ignoré : il n'a pas de date de début (DTSTART)." in page
    assert "dernière lecture complète, jusqu'au" in page
    client.post("/langue/en", data={"next": "/agenda"})
    english = html.unescape(client.get("/agenda").get_data(as_text=True))
    assert "1 event imported, 1 skipped:" in english and "has no start date (DTSTART)" in english
    # a week after the last complete read, only what is read counts
    assert calendar_sync.reimport(kept, NOW + timedelta(days=8), ics(DENTIST, SPORT_BROKEN)) == 1
    assert busy(calendar.id) == [(3, 9)] and db.session.get(ExternalCalendar, calendar.id).report["kept_until"] is None


def test_an_unreadable_calendar_keeps_its_busy_time_a_week_then_loses_it_and_says_so(app, client, auth, consultant):
    calendar, _ = calendar_sync.add(None, consultant, "Perso", NOW, data=ics(DENTIST))
    with pytest.raises(CalendarImportError):
        calendar_sync.reimport(calendar, NOW + timedelta(days=2), b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:x\r\n")
    assert busy(calendar.id) == [(3, 9)]
    auth.login(consultant.user.email)
    page = html.unescape(client.get("/agenda").get_data(as_text=True))
    assert "Les plages précédentes sont conservées jusqu'au" in page
    assert "VEVENT ligne 2 ignoré : le fichier s'arrête avant sa fin." in page
    with pytest.raises(CalendarImportError):
        calendar_sync.reimport(db.session.get(ExternalCalendar, calendar.id), NOW + timedelta(days=8), b"garbage")
    assert busy(calendar.id) == []
    page = html.unescape(client.get("/agenda").get_data(as_text=True))
    assert "illisible depuis plus d'une semaine : ses plages ont été retirées" in page


def test_an_erp_lib_feed_is_refused_as_a_file_and_as_an_address(app, client, auth, consultant):
    from booking.services import feeds

    other = f.consultant()
    f.booking(other, utcnow().replace(microsecond=0) + timedelta(days=3))
    db.session.commit()
    raw = feeds.issue(None, other)
    body = client.get(f"/calendars/{raw}.ics").data
    assert b"BEGIN:VEVENT" in body
    with pytest.raises(Invalid, match="flux ou une invitation d'ERP-Lib Planner"):
        calendar_sync.add(None, consultant, "Moi", NOW, data=body)
    auth.login(consultant.user.email)
    response = client.post(
        "/agenda/calendriers", data={"label": "Moi", "url": f"https://planner.example/calendars/{raw}.ics"}
    )
    assert response.status_code == 422 and "flux ou une invitation d'ERP-Lib Planner" in html.unescape(
        response.get_data(as_text=True)
    )
    assert db.session.scalar(select(func.count()).select_from(ExternalCalendar)) == 0


def test_url_calendars_are_read_in_parallel_each_within_its_deadline(app, consultant):
    app.config.update(CALENDAR_FETCH_ALLOW_LOOPBACK=True, CALENDAR_FETCH_SECONDS=3)
    with (
        serving(lambda h: drip(h, every=1.0)) as slow,
        serving(lambda h: drip(h, every=1.0)) as slower,
        serving(lambda h: send(h, 200, ics(DENTIST), Content_Type="text/calendar")) as fast,
    ):
        for label, server in (("Lent", slow), ("Plus lent", slower), ("Rapide", fast)):
            calendar_sync.queue(None, consultant, label, f"{server.url}/cal.ics", NOW)
        started = time.monotonic()
        assert calendar_sync.import_queued(NOW) == 1
        took = time.monotonic() - started
    assert took < 3 * 2  # one after the other: at least 3 + 3 seconds
    rows = {c.label: c for c in db.session.scalars(select(ExternalCalendar))}
    assert rows["Rapide"].status == "done" and busy(rows["Rapide"].id) == [(3, 9)]
    assert all(
        rows[label].status == "error" and rows[label].error.startswith("Délai dépassé")
        for label in ("Lent", "Plus lent")
    )
