"""Feeds rendered once per schedule version: a poll of an unchanged feed costs one query; any change to what
a feed shows, however it is written (service, raw SQL, another process), is in the very next response."""

from __future__ import annotations

import urllib.request
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import psycopg
import pytest
import time_machine
from sqlalchemy import event, text

from booking import contract, create_app, reads
from booking.extensions import db
from booking.models import Booking, ContractVersion, PrerequisiteCheck, Ticket
from booking.services import bookings, feeds
from calendars.worktime import PARIS

from . import factories as f
from .conftest import _pg_url
from .dates import contract_start, working_days
from .servers import gunicorn

NOW = datetime(2026, 12, 1, 9, tzinfo=UTC)


def paris(value: str) -> datetime:
    return datetime.fromisoformat(value).replace(tzinfo=PARIS)


@pytest.fixture
def client(any_app):
    """The client of this test's app, SQLite or PostgreSQL."""
    return any_app.test_client()


@pytest.fixture
def world(any_app):
    company = f.company("serenite", contract_start=date(2026, 1, 1), name="Labo Avant")
    contact = f.user("client", company)
    consultant = f.consultant(skills=("installation",))
    db.session.commit()
    with time_machine.travel(NOW, tick=True):
        made = [
            bookings.book(contact, "erplib", paris("2026-12-10 10:00"), NOW),
            bookings.book(contact, "minor_update", paris("2026-12-08 14:00"), NOW),
        ]
        raws = {"consultant": feeds.issue(None, consultant), "company": feeds.issue(None, company)}
        yield {"company": company, "contact": contact, "consultant": consultant, "bookings": made, "raw": raws}


def get(client, raw: str):
    with time_machine.travel(NOW + timedelta(minutes=1), tick=True):
        return client.get(f"/calendars/{raw}.ics")


def test_an_unchanged_feed_is_served_from_memory_with_one_query(world, client):
    raw = world["raw"]["consultant"]
    first = get(client, raw)
    statements: list[str] = []

    def seen(_conn, _cursor, statement, *_):
        statements.append(statement)

    engines = set(db.engines.values())  # on PostgreSQL the lookup has an engine of its own (booking/reads.py)
    for engine in engines:
        event.listen(engine, "before_cursor_execute", seen)
    try:
        again = get(client, raw)
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", seen)
    assert again.status_code == 200 and again.data == first.data and again.headers["ETag"] == first.headers["ETag"]
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 1, statements


def _ticket(world):
    ticket = Ticket(company_id=world["company"].id, reference="TCK-9", priority="mineure", opened_at=NOW)
    db.session.add(ticket)
    db.session.flush()
    db.session.execute(
        text("UPDATE bookings SET ticket_id = :t WHERE id = :b"), {"t": ticket.id, "b": world["bookings"][0].id}
    )
    db.session.commit()
    return ticket


def _contract_with_three_prerequisites():
    source = Path(contract.file_path()).read_text(encoding="utf-8")
    shorter = source.replace('  ["server_restarted", "Serveur redémarré"],\n', "")
    assert shorter != source
    db.session.add(ContractVersion(text=shorter))


# Each change as the app or an operator may write it, and what the next response must then show.
CHANGES = {
    "booking moved": (
        lambda w: bookings.reschedule(w["contact"], w["bookings"][0], paris("2026-12-11 15:00"), NOW),
        "consultant",
        "DTSTART;TZID=Europe/Paris:20261211T150000",
    ),
    "booking cancelled": (
        lambda w: bookings.cancel(w["contact"], w["bookings"][0], NOW),
        "company",
        "STATUS:CANCELLED",
    ),
    "consultant renamed": (
        lambda w: db.session.execute(
            text("UPDATE users SET name = 'Zoé Nouveau' WHERE id = :u"), {"u": w["consultant"].user_id}
        ),
        "company",
        "Consultant : Zoé Nouveau",
    ),
    "company renamed": (
        lambda w: db.session.execute(
            text("UPDATE companies SET name = 'Labo Après' WHERE id = :c"), {"c": w["company"].id}
        ),
        "consultant",
        "Client : Labo Après",
    ),
    "ticket escalated": (
        lambda w: db.session.execute(
            text("UPDATE tickets SET priority = 'bloquante' WHERE id = :t"), {"t": _ticket(w).id}
        ),
        "company",
        "Ticket : TCK-9 (bloquante)",
    ),
    "prerequisite ticked": (
        lambda w: db.session.add(
            PrerequisiteCheck(booking_id=w["bookings"][1].id, code="os_updates", confirmed_at=NOW)
        ),
        "consultant",
        "Prérequis : 1/4 confirmés",
    ),
    "contract's checklist shortened": (
        lambda w: _contract_with_three_prerequisites(),
        "consultant",
        "Prérequis : 0/3 confirmés",
    ),
}


@pytest.mark.parametrize("change", CHANGES)
def test_every_change_shown_is_in_the_next_response(world, client, change):
    make, owner, shown = CHANGES[change]
    raw = world["raw"][owner]
    before = get(client, raw)
    assert get(client, raw).data == before.data  # in memory now
    assert shown.encode() not in _unfolded(before.data)
    with time_machine.travel(NOW, tick=True):
        make(world)
        db.session.commit()
    after = get(client, raw)
    assert shown.encode() in _unfolded(after.data)
    assert after.headers["ETag"] != before.headers["ETag"]
    assert get(client, raw).headers["ETag"] == after.headers["ETag"]


def _unfolded(body: bytes) -> bytes:
    return body.replace(b"\r\n ", b"")


def test_the_window_moves_at_midnight_not_with_the_cache(world, client):
    """A cancelled event leaves the feed 30 days after its cancellation, on the first request of that day."""
    raw = world["raw"]["company"]
    cancelled = world["bookings"][0]
    with time_machine.travel(NOW, tick=False):
        bookings.cancel(world["contact"], cancelled, NOW)
    last_day = datetime.combine(NOW.astimezone(PARIS).date() + timedelta(days=30), time(23, 59), PARIS)
    with time_machine.travel(last_day, tick=False):
        assert cancelled.ical_uid in client.get(f"/calendars/{raw}.ics").data.decode()
    with time_machine.travel(last_day + timedelta(minutes=2), tick=False):
        assert cancelled.ical_uid not in client.get(f"/calendars/{raw}.ics").data.decode()


@pytest.fixture
def served(pg_cluster, pg_template, tmp_path):
    """gunicorn, 4 workers, each with its own feed cache, on a fresh database of the real cluster."""
    url = _pg_url(pg_cluster, pg_template)
    process, base = gunicorn(url, tmp_path / "gunicorn.log")
    app = create_app({"SQLALCHEMY_DATABASE_URI": url.replace("postgresql://", "postgresql+psycopg://")})
    yield base, app, url
    process.terminate()
    process.wait(10)


def test_a_change_reaches_every_gunicorn_worker_at_once(served):
    base, app, url = served
    now = datetime.now(UTC)
    first, second = working_days(2)
    with app.app_context():
        company = f.company("serenite", contract_start=contract_start(), name="Labo Avant")
        contact = f.user("client", company)
        consultant = f.consultant()
        db.session.commit()
        booking = bookings.book(contact, "erplib", datetime.combine(first, time(10), PARIS), now)
        raw, booking_id, company_id = feeds.issue(None, consultant), booking.id, company.id
        db.session.commit()
        db.session.remove()
    feed_url = f"{base}/calendars/{raw}.ics"

    def bodies() -> list[str]:
        return [urllib.request.urlopen(feed_url, timeout=30).read().decode() for _ in range(24)]

    assert all("Labo Avant" in body for body in bodies())  # every worker has rendered and kept it
    with psycopg.connect(url.replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute("UPDATE companies SET name = 'Labo Après' WHERE id = %s", (company_id,))
        moved = datetime.combine(second, time(15), PARIS)
        conn.execute(
            "UPDATE bookings SET start_at = %s, end_at = %s, sequence = sequence + 1 WHERE id = %s",
            (moved, moved + timedelta(minutes=45), booking_id),
        )
    after = bodies()
    assert all("Labo Après" in body and "Labo Avant" not in body for body in after)
    assert all(f"DTSTART;TZID=Europe/Paris:{second:%Y%m%d}T150000" in body for body in after)
    with app.app_context():
        assert db.session.get(Booking, booking_id).sequence == 1


def test_a_feed_speaks_the_calendar_applications_language(world, client):
    """The language a calendar application asks for (a feed is read without the site's session), French by
    default; the same token's two languages are two feeds, each kept."""
    raw = world["raw"]["consultant"]
    with time_machine.travel(NOW + timedelta(minutes=1), tick=True):
        answer = client.get(f"/calendars/{raw}.ics")
        french = answer.data.decode()
        english = client.get(f"/calendars/{raw}.ics", headers={"Accept-Language": "en-GB,en;q=0.9"})
        # a cache between the application and us must not serve one language's copy for another
        assert all("Accept-Language" in a.headers.get_all("Vary")[0].split(", ") for a in (answer, english))
        assert answer.headers["ETag"] != english.headers["ETag"]  # a 304 never keeps the other language's copy
        english = english.data.decode()
        again = client.get(f"/calendars/{raw}.ics", headers={"Accept-Language": "de, fr;q=0.5"}).data.decode()
    assert "SUMMARY:Mise à jour mineure — Labo Avant" in french and "Prestation : Mise à jour mineure" in french
    assert "Prérequis : 0/4 confirmés" in french.replace("\r\n ", "") and "Planning ERP-Lib Planner" in french
    unfolded = english.replace("\r\n ", "")
    assert "SUMMARY:Minor update — Labo Avant" in unfolded and "Service: Minor update" in unfolded
    assert "Environment: production" in unfolded and "Prerequisites: 0/4 confirmed" in unfolded
    assert "ERP-Lib Planner schedule" in unfolded and "Prestation" not in unfolded and "Client :" not in unfolded
    assert again == french


def test_a_poll_outlives_the_connections_postgresql_dropped(pg_app, pg_cluster):
    """The feed's lookup runs without the pool's ping (booking/reads.py): a pooled connection that the server
    dropped, as a restart drops them all, is replaced and the poll answered, not refused with a 503."""
    consultant = f.consultant()
    db.session.commit()
    raw, client = feeds.issue(None, consultant), pg_app.test_client()
    first = client.get(f"/calendars/{raw}.ics")
    assert first.status_code == 200
    name = db.engine.url.database
    with psycopg.connect(pg_cluster.url().replace("+psycopg", ""), autocommit=True) as admin:
        dropped = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND application_name = %s",
            (name, reads.APPLICATION_NAME),
        ).fetchall()
    assert dropped == [(True,)]  # the pooled connection of the first poll
    again = client.get(f"/calendars/{raw}.ics")
    assert again.status_code == 200 and again.data == first.data
