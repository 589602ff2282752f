"""Secret iCal feeds: tokens, RFC 5545/7986 properties, 304s, and validity for three independent readers."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from icalendar import Calendar

from booking.extensions import db
from booking.models import FeedToken
from booking.pgcluster import free_port
from booking.services import bookings, feeds

from . import factories as f

NOW = datetime(2026, 12, 1, 9, tzinfo=UTC)


def paris(text):
    from calendars.worktime import PARIS

    return datetime.fromisoformat(text).replace(tzinfo=PARIS)


@pytest.fixture(autouse=True)
def clock():
    """The feeds show a window around now: the bookings below are made for NOW, so the clock is NOW."""
    with time_machine.travel(NOW, tick=True):
        yield


@pytest.fixture
def world(app, clock):
    company, other = f.company("serenite", contract_start=date(2026, 1, 1)), f.company("standard", name="Autre SA")
    contact, stranger = f.user("client", company), f.user("client", other)
    consultant = f.consultant(skills=("installation",))
    db.session.commit()
    made = [bookings.book(contact, "erplib", paris(f"2026-12-0{d} 10:00"), NOW) for d in (3, 4)]
    made.append(bookings.book(contact, "minor_update", paris("2026-12-08 14:00"), NOW))
    made.append(bookings.book(stranger, "erplib", paris("2026-12-07 15:00"), NOW))
    return {"company": company, "contact": contact, "consultant": consultant, "bookings": made}


def get(client, raw, **headers):
    return client.get(f"/calendars/{raw}.ics", headers=headers)


def test_tokens_are_random_hashed_rotated_and_revoked(world, client):
    consultant = world["consultant"]
    first = feeds.issue(None, consultant)
    assert len(first) > 30 and get(client, first).status_code == 200
    stored = db.session.query(FeedToken).one()
    assert first not in stored.token_hash and len(stored.token_hash) == 64
    second = feeds.issue(None, consultant)
    assert get(client, first).status_code == 404 and get(client, second).status_code == 200
    feeds.revoke(None, consultant)
    assert get(client, second).status_code == 404


def test_feed_properties(world, client):
    with time_machine.travel(NOW, tick=False):
        raw = feeds.issue(None, world["consultant"])
        response = get(client, raw, Accept="application/json")
    body = response.data
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert b"\r\n" in body and not re.search(rb"[^\r]\n", body)
    assert all(len(line) <= 75 for line in body.split(b"\r\n"))
    calendar = Calendar.from_ical(body)
    assert "METHOD" not in calendar and str(calendar["NAME"]).startswith("ERP-Lib")
    assert calendar["REFRESH-INTERVAL"].params["VALUE"] == "DURATION"
    zones = {str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE")}
    events = calendar.walk("VEVENT")
    assert len(events) == 4
    for event in events:
        for prop in ("UID", "DTSTAMP", "SEQUENCE", "DTSTART", "DTEND", "SUMMARY", "DESCRIPTION", "STATUS"):
            assert prop in event, prop
        assert event["DTSTART"].params["TZID"] == "Europe/Paris" and "Europe/Paris" in zones
    minor = next(e for e in events if "Mise à jour" in str(e["SUMMARY"]))
    assert "Prérequis : 0/4 confirmés" in str(minor["DESCRIPTION"])


def test_company_feed_shows_only_its_own_bookings(world, client):
    raw = feeds.issue(None, world["company"])
    text = get(client, raw).data.decode()
    assert text.count("BEGIN:VEVENT") == 3 and "Autre SA" not in text and "Prérequis" not in text


def test_cancelled_events_stay_30_days_with_a_higher_sequence(world, client):
    raw = feeds.issue(None, world["consultant"])
    cancelled = world["bookings"][0]
    with time_machine.travel(NOW, tick=False):
        bookings.cancel(world["contact"], cancelled, NOW)
        event = next(
            e for e in Calendar.from_ical(get(client, raw).data).walk("VEVENT") if str(e["UID"]) == cancelled.ical_uid
        )
    assert str(event["STATUS"]) == "CANCELLED" and int(event["SEQUENCE"]) == 1
    with time_machine.travel(NOW + timedelta(days=31), tick=False):
        assert cancelled.ical_uid not in get(client, raw).data.decode()


def test_pollers_get_304s_until_something_changes(world, client):
    raw = feeds.issue(None, world["consultant"])
    with time_machine.travel(NOW, tick=False):
        first = get(client, raw)
        etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
        assert get(client, raw, **{"If-None-Match": etag}).status_code == 304
        assert get(client, raw, **{"If-Modified-Since": modified}).status_code == 304
    with time_machine.travel(NOW + timedelta(minutes=5), tick=False):
        bookings.reschedule(world["contact"], world["bookings"][2], paris("2026-12-09 14:00"), NOW)
        changed = get(client, raw, **{"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag


def test_strict_parser_accepts_the_feed(world, client):
    from ical.calendar_stream import IcsCalendarStream

    raw = feeds.issue(None, world["consultant"])
    parsed = IcsCalendarStream.calendar_from_ics(get(client, raw).data.decode())
    assert len(parsed.events) == 4 and all(e.dtstamp for e in parsed.events)


@pytest.fixture
def radicale(tmp_path):
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "radicale",
            "--server-hosts",
            f"127.0.0.1:{port}",
            "--auth-type",
            "none",
            "--storage-filesystem-folder",
            str(tmp_path / "collections"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    yield f"http://127.0.0.1:{port}/"
    process.terminate()
    process.wait(10)


def test_a_caldav_server_stores_and_finds_every_event(world, client, radicale):
    import caldav

    raw = feeds.issue(None, world["consultant"])
    calendar = Calendar.from_ical(get(client, raw).data)
    zones = calendar.walk("VTIMEZONE")
    dav = caldav.DAVClient(url=radicale, username="planner", password="x")
    target = dav.principal().make_calendar(name="ERP-Lib")
    for event in calendar.walk("VEVENT"):  # CalDAV wants one resource per UID
        single = Calendar()
        single.add("prodid", "-//test//EN")
        single.add("version", "2.0")
        for zone in zones:
            single.add_component(zone)
        single.add_component(event)
        target.save_event(single.to_ical().decode())
    found = target.search(
        start=datetime(2026, 12, 1, tzinfo=UTC), end=datetime(2026, 12, 31, tzinfo=UTC), event=True, expand=False
    )
    uids = {str(e.icalendar_component["UID"]) for e in found}
    assert uids == {b.ical_uid for b in world["bookings"]}  # the consultant sees every client


def test_the_etag_covers_everything_shown_and_weak_validators_match(world, client):
    """A prerequisite ticked changes the event's text, hence the ETag; W/"…" from a proxy still matches."""
    from booking.services import interventions

    raw = feeds.issue(None, world["consultant"])
    first = get(client, raw)
    etag = first.headers["ETag"]
    assert get(client, raw, **{"If-None-Match": f"W/{etag}"}).status_code == 304
    assert get(client, raw, **{"If-None-Match": f'"other", W/{etag}'}).status_code == 304
    minor = world["bookings"][2]
    code = feeds.contract.current().service("minor_update").prerequisites[0][0]
    interventions.tick(world["contact"], minor, code, True, NOW)
    db.session.commit()
    changed = get(client, raw, **{"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    assert b"Pr=C3=A9requis" not in changed.data and "Prérequis : 1/4 confirmés" in changed.data.decode()
    assert get(client, raw, **{"If-None-Match": changed.headers["ETag"]}).status_code == 304


def test_the_published_ttl_is_a_duration(world, client):
    calendar = Calendar.from_ical(get(client, feeds.issue(None, world["consultant"])).data)
    assert calendar["X-PUBLISHED-TTL"].to_ical() == b"PT15M"
    assert b"X-PUBLISHED-TTL:PT15M\r\n" in get(client, feeds.issue(None, world["consultant"])).data


def test_a_five_day_job_appears_as_its_five_working_days(world, client):
    """Fri 4 → Thu 10 Dec: Friday, then Monday to Thursday (not one span through the weekend)."""
    installer = f.consultant(skills=("installation",))
    job = f.booking(
        installer,
        paris("2026-12-04 09:00"),
        company=world["company"],
        minutes=int((paris("2026-12-10 18:00") - paris("2026-12-04 09:00")).total_seconds() // 60),
    )
    db.session.commit()
    events = [
        e
        for e in Calendar.from_ical(get(client, feeds.issue(None, installer)).data).walk("VEVENT")
        if str(e["UID"]).endswith(job.ical_uid)
    ]
    days = sorted((e["DTSTART"].dt.strftime("%a %d %H:%M"), e["DTEND"].dt.strftime("%H:%M")) for e in events)
    assert days == [
        ("Fri 04 09:00", "18:00"),
        ("Mon 07 09:00", "18:00"),
        ("Thu 10 09:00", "18:00"),
        ("Tue 08 09:00", "18:00"),
        ("Wed 09 09:00", "18:00"),
    ]
    assert len({str(e["UID"]) for e in events}) == 5 and any(str(e["UID"]) == job.ical_uid for e in events)


def test_pages_show_a_five_day_job_with_its_working_days(world, client, auth):
    installer = f.consultant(skills=("installation",))
    job = f.booking(
        installer,
        paris("2026-12-04 09:00"),
        company=world["company"],
        contact=world["contact"],
        minutes=int((paris("2026-12-10 18:00") - paris("2026-12-04 09:00")).total_seconds() // 60),
    )
    db.session.commit()
    auth.login(world["contact"].email)
    page = client.get(f"/portail/rendez-vous/{job.id}").get_data(as_text=True)
    assert (
        "vendredi 4 décembre 2026, 09:00 – jeu. 10 déc. 18:00 (5 jours ouvrés : ven. 4 déc., lun. 7 déc., "
        "mar. 8 déc., mer. 9 déc., jeu. 10 déc.)"
    ) in page
    client.post("/langue/en", data={"next": "/"})
    assert "(5 working days: Fri 4 Dec, Mon 7 Dec" in client.get(f"/portail/rendez-vous/{job.id}").get_data(
        as_text=True
    )
    one_day = world["bookings"][0]
    local = [t.astimezone(feeds.PARIS).strftime("%H:%M") for t in (one_day.start_at, one_day.end_at)]
    page = client.get(f"/portail/rendez-vous/{one_day.id}").get_data(as_text=True)
    assert f"Thursday 3 December 2026, {local[0]} – {local[1]}" in page and "working day" not in page


def test_the_etag_follows_a_renamed_company(world, client):
    raw = feeds.issue(None, world["consultant"])
    etag = get(client, raw).headers["ETag"]
    world["company"].name = "Laboratoires Renommés"
    db.session.commit()
    renamed = get(client, raw, **{"If-None-Match": etag})
    assert renamed.status_code == 200 and "Laboratoires Renommés" in renamed.data.decode()
    assert get(client, raw, **{"If-None-Match": renamed.headers["ETag"]}).status_code == 304


def test_a_deactivated_contact_no_longer_reads_the_company_feed(app, client, auth):
    """The company's address is shared by its contacts: one who leaves kept reading the whole schedule through it.
    Deactivating a contact replaces it (the admin is told first); the others make a new one."""
    import html

    company = f.company("serenite")
    staying, leaving = f.user("client", company), f.user("client", company, name="Marc Départ")
    admin = f.user("admin")
    db.session.commit()
    raw = feeds.issue(staying, company)
    db.session.commit()
    auth.login(admin.email)
    address = f"/admin/utilisateurs/{leaving.id}/desactiver"
    asked = html.unescape(client.get(address).get_data(as_text=True))
    assert f"L'adresse secrète du calendrier de {company.name}, qu'il connaît, est aussi remplacée" in asked
    assert client.get(f"/calendars/{raw}.ics").status_code == 200  # the question changes nothing
    client.post(address, data={})
    assert client.get(f"/calendars/{raw}.ics").status_code == 404
    f.reread()
    assert feeds.active(company) is None
