"""The prerequisites gate re-reads the intervention under its lock: one cancelled, or moved a week later,
between the job's selection and its lock is left as it is, neither stopped nor mailed (PostgreSQL, real lock wait)."""

from __future__ import annotations

import threading
import time

import psycopg
import pytest
from sqlalchemy import func, select

from booking.extensions import db
from booking.models import Booking, OutboxMessage
from booking.services import bookings, interventions, locking

from . import factories as f
from .test_jobs import paris

CHANGES = {
    "cancelled": ("UPDATE bookings SET status = 'cancelled' WHERE id = %s", "cancelled"),
    "moved a week later": (
        "UPDATE bookings SET start_at = start_at + interval '7 days', "
        "end_at = end_at + interval '7 days' WHERE id = %s",
        "confirmed",
    ),
}


@pytest.mark.parametrize("change", CHANGES)
def test_an_intervention_changed_while_the_gate_waits_for_its_lock_is_left_alone(pg_app, change):
    statement, status = CHANGES[change]
    company = f.company("confort")
    contact = f.user("client", company)
    f.consultant(skills=("installation",))
    db.session.commit()
    booking = bookings.book(contact, "minor_update", paris("2026-12-10 14:00"), paris("2026-12-01 10:00"))
    mails = db.session.scalar(select(func.count()).select_from(OutboxMessage))
    raw = pg_app.config["SQLALCHEMY_DATABASE_URI"].replace("+psycopg", "")
    result = {}

    def gate():
        with pg_app.app_context():
            result["stopped"] = interventions.check_gates(paris("2026-12-07 11:00"))

    with psycopg.connect(raw, autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s, %s)", locking.company(company.id))
        job = threading.Thread(target=gate)
        job.start()
        deadline = time.monotonic() + 20
        while (
            time.monotonic() < deadline
            and not holder.execute("SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted").fetchone()
        ):
            time.sleep(0.05)  # the job has selected the intervention and waits for its lock
        holder.execute(statement, (booking.id,))
        holder.execute("SELECT pg_advisory_unlock(%s, %s)", locking.company(company.id))
        job.join(30)
    f.reread()
    assert result == {"stopped": 0}
    assert db.session.get(Booking, booking.id).status == status
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == mails
