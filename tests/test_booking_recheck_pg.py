"""A booking that names no consultant: the consultant availability prefers is chosen before the locks, and only
that consultant is locked and re-checked; if the slot went meanwhile, the whole team is locked and asked again
(PostgreSQL, a real lock wait: the change lands while the booking waits for its locks)."""

from __future__ import annotations

import threading
import time

import psycopg
import pytest
from sqlalchemy import event

from booking.extensions import db
from booking.services import bookings, locking
from booking.services.errors import Conflict

from . import factories as f
from .test_jobs import paris

NOW = paris("2026-12-01 10:00")
START = paris("2026-12-10 14:00")


@pytest.fixture
def locks_taken(pg_app):
    """The consultant ids of each advisory-lock statement the app sends during the test."""
    taken: list[list[int]] = []

    def seen(_conn, _cursor, statement, parameters, _context, _many):
        if "pg_advisory_xact_lock" in statement:
            taken.append(sorted({a for a in parameters["a"] if a > 0}))

    event.listen(db.engine, "before_cursor_execute", seen)
    yield taken
    event.remove(db.engine, "before_cursor_execute", seen)


def test_only_the_chosen_consultant_is_locked_whatever_the_team(pg_app, locks_taken):
    company = f.company("serenite")
    contact = f.user("client", company)
    team = [f.consultant() for _ in range(6)]
    company.privileged_consultant_id = team[3].id
    db.session.commit()
    booking = bookings.book(contact, "erplib", START, NOW)
    assert booking.consultant_id == team[3].id
    assert [ids for ids in locks_taken if ids] == [[team[3].id]]


def book_while_waiting(pg_app, contact, company, change: str, *args) -> dict:
    """Book at START in a thread; while it waits for the company's lock, run `change` and commit."""
    raw = pg_app.config["SQLALCHEMY_DATABASE_URI"].replace("+psycopg", "")
    result: dict = {}

    def book():
        with pg_app.app_context():
            try:
                booking = bookings.book(db.session.merge(contact), "erplib", START, NOW)
                result["consultant"] = booking.consultant_id
            except Conflict as refused:
                result["refused"] = refused.code

    with psycopg.connect(raw, autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s, %s)", locking.company(company.id))
        worker = threading.Thread(target=book)
        worker.start()
        deadline = time.monotonic() + 20
        while (
            time.monotonic() < deadline
            and not holder.execute("SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted").fetchone()
        ):
            time.sleep(0.05)  # the booking has chosen its consultant and waits for the locks
        holder.execute(change, args)
        holder.execute("SELECT pg_advisory_unlock(%s, %s)", locking.company(company.id))
        worker.join(30)
    return result


ABSENT = "INSERT INTO absences (consultant_id, start_at, end_at, reason) VALUES (%s, %s, %s, 'imprévu')"


def test_a_chosen_consultant_who_became_absent_meanwhile_hands_the_slot_to_the_next(pg_app, locks_taken):
    company = f.company("serenite")
    contact = f.user("client", company)
    preferred, other = f.consultant(), f.consultant()
    company.privileged_consultant_id = preferred.id
    db.session.commit()
    result = book_while_waiting(
        pg_app, contact, company, ABSENT, preferred.id, paris("2026-12-10 09:00"), paris("2026-12-10 18:00")
    )
    assert result == {"consultant": other.id}
    assert [ids for ids in locks_taken if ids] == [[preferred.id], sorted([preferred.id, other.id])]


@pytest.mark.parametrize("others", [0, 2])
def test_when_nobody_is_left_the_refusal_names_the_reason(pg_app, others):
    company = f.company("serenite")
    contact = f.user("client", company)
    team = [f.consultant() for _ in range(1 + others)]
    db.session.commit()
    ids = [c.id for c in team]
    result = book_while_waiting(
        pg_app,
        contact,
        company,
        "INSERT INTO absences (consultant_id, start_at, end_at, reason) "
        "SELECT id, %s, %s, 'grève' FROM consultants WHERE id = ANY(%s)",
        paris("2026-12-10 09:00"),
        paris("2026-12-10 18:00"),
        ids,
    )
    assert result == {"refused": "absence"}
