"""Two bookings of one company naming the same new ticket at the same time: the reference is unique per company,
so the second links the ticket the first just wrote (as it would have a moment later), on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import time_machine
from sqlalchemy import func, select

from booking.extensions import db
from booking.models import Booking, Ticket
from booking.services import access, tokens

from . import factories as f

NOW = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)  # Wednesday 09:00 in Paris
TICKET = {"reference": "TCK-RACE-1", "priority": "majeure", "opened_at": "2026-12-02T08:30:00+01:00"}
DAYS = ("2026-12-03T10:00:00+01:00", "2026-12-04T10:00:00+01:00")  # Thursday and Friday: no slot in common


def test_two_bookings_naming_one_new_ticket_at_once_share_it(any_app, monkeypatch):
    company = f.company("serenite")
    f.consultant(skills=("installation",))
    keys = [tokens.create(f.user("client", company)) for _ in DAYS]
    db.session.commit()
    # Both requests look the reference up (and find none) before either writes: the interleaving that let the
    # second insert a second ticket of that reference, refused by the unique constraint and answered "taken".
    both_looked, looked_up = threading.Barrier(len(DAYS), timeout=10), access.ticket_for

    def ticket_for(*args, **kwargs):
        ticket = looked_up(*args, **kwargs)
        both_looked.wait()
        return ticket

    monkeypatch.setattr(access, "ticket_for", ticket_for)
    answers: list = [None] * len(DAYS)

    def book(index: int) -> None:
        with any_app.app_context():
            answers[index] = any_app.test_client().post(
                "/api/v1/bookings",
                headers={"Authorization": f"Bearer {keys[index]}"},
                json={"service": "callback", "start": DAYS[index], "ticket": TICKET},
            )

    with time_machine.travel(NOW, tick=False):
        threads = [threading.Thread(target=book, args=(i,)) for i in range(len(DAYS))]
        [t.start() for t in threads]
        [t.join() for t in threads]
    assert [a.status_code for a in answers] == [201, 201], [a.json for a in answers]
    assert answers[0].json["ticket"]["id"] == answers[1].json["ticket"]["id"]
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Ticket).where(Ticket.company_id == company.id)) == 1
    assert db.session.scalar(select(func.count()).select_from(Booking).where(Booking.ticket_id.is_not(None))) == 2
