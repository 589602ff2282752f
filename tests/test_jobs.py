"""Background jobs with a controlled clock, on SQLite and PostgreSQL; two schedulers on one database."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from booking.extensions import db
from booking.jobs import run_all_once
from booking.models import Booking, LedgerEntry, OutboxMessage
from booking.services import bookings, callbacks, holds, hour_bank, interventions, reminders
from booking.services.access import ticket_for
from calendars.worktime import PARIS

from . import factories as f
from .conftest import _pg_url


def paris(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=PARIS)


MONDAY_9 = paris("2026-12-07 09:00")
CODES = ("os_updates", "system_patches", "sessions_closed", "server_restarted")


def mails() -> int:
    return db.session.scalar(select(func.count()).select_from(OutboxMessage))


@pytest.fixture
def update(any_app):
    """A Confort company's minor update on Thursday 14:00, booked the week before."""
    company = f.company("confort")
    contact = f.user("client", company)
    f.consultant(skills=("installation",))
    planner = f.user("planner")
    db.session.commit()
    booking = bookings.book(contact, "minor_update", paris("2026-12-10 14:00"), paris("2026-12-01 10:00"))
    return booking, contact, planner


def test_prerequisite_reminder_is_sent_once_48_business_hours_before(update):
    booking, contact, _ = update
    assert interventions.send_prerequisite_reminders(paris("2026-12-01 17:00")) == 0  # 49.5 business hours away
    before = mails()
    assert interventions.send_prerequisite_reminders(paris("2026-12-02 10:00")) == 1
    assert interventions.send_prerequisite_reminders(MONDAY_9) == 0
    sent = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id.desc())).first()
    assert mails() == before + 2 and "Prérequis à confirmer" in sent.subject


def test_gate_stops_an_unprepared_update_and_offers_a_new_slot(update):
    booking, contact, planner = update
    interventions.tick(contact, booking, "os_updates", True, MONDAY_9)
    assert interventions.check_gates(MONDAY_9) == 0  # 26 business hours away: not yet
    before = mails()
    gate = paris("2026-12-07 11:00")
    assert interventions.check_gates(gate) == 1
    db.session.refresh(booking)
    assert booking.status == "prerequisites_missing" and booking.sequence == 1
    recipients = {m.recipient for m in db.session.scalars(select(OutboxMessage).where(OutboxMessage.id > before))}
    assert {contact.email, planner.email} <= recipients
    assert interventions.check_gates(gate + timedelta(minutes=5)) == 0 and mails() == before + len(recipients)
    offer = interventions.next_slot(booking, gate)
    assert offer is not None and offer.start >= paris("2026-12-09 09:00")
    new = interventions.rebook(contact, booking, offer.start, gate)
    assert new.status == "confirmed" and new.kind == "minor_update" and f"n°{booking.id}" in new.notes


def test_gate_passes_when_every_item_is_ticked(update):
    booking, contact, _ = update
    for code in CODES:
        interventions.tick(contact, booking, code, True, MONDAY_9)
    assert interventions.check_gates(paris("2026-12-07 11:00")) == 0
    db.session.refresh(booking)
    assert booking.status == "confirmed" and booking.gate_checked_at is not None
    with pytest.raises(Exception, match="close"):
        interventions.tick(contact, booking, "os_updates", False, paris("2026-12-07 12:00"))


def test_unknown_prerequisite_is_refused(update):
    booking, contact, _ = update
    with pytest.raises(Exception, match="Prérequis inconnu"):
        interventions.tick(contact, booking, "coffee", True, MONDAY_9)


def test_reminder_24_hours_before_is_not_sent_twice(any_app):
    company = f.company("standard")
    contact = f.user("client", company)
    f.consultant()
    db.session.commit()
    bookings.book(contact, "erplib", paris("2026-12-08 10:00"), paris("2026-12-01 09:00"))
    before = mails()
    assert reminders.send_reminders(paris("2026-12-07 09:00")) == 0  # 25 hours away
    assert reminders.send_reminders(paris("2026-12-07 10:30")) == 1
    assert reminders.send_reminders(paris("2026-12-07 10:45")) == 0
    assert mails() == before + 2  # the contact and the consultant, once


def test_roll_over_on_the_anniversary(any_app):
    company = f.company("serenite", contract_start=date(2024, 12, 8))
    contact = f.user("client", company)
    f.consultant()
    db.session.commit()
    bookings.book(contact, "erplib", paris("2026-12-07 14:00"), paris("2026-12-01 09:00"))
    old_year = date(2025, 12, 8)
    assert hour_bank.balance(company, old_year) == 555
    anniversary = paris("2026-12-08 00:10")
    assert hour_bank.roll_over(anniversary) == 1
    assert hour_bank.roll_over(anniversary + timedelta(hours=1)) == 0
    new_year = hour_bank.contract_year(company, anniversary.date())
    assert new_year == date(2026, 12, 8) and hour_bank.balance(company, new_year) == 600
    grants = db.session.scalar(select(func.count()).select_from(LedgerEntry).where(LedgerEntry.kind == "grant"))
    assert grants == 2


def test_low_balance_alert_once_per_contract_year(any_app):
    company = f.company("serenite", contract_start=date(2026, 1, 1))
    f.user("client", company)
    f.user("planner")
    db.session.commit()
    hour_bank.ensure_grant(company, date(2026, 1, 1))
    db.session.add(LedgerEntry(company_id=company.id, contract_year=date(2026, 1, 1), kind="adjust", minutes=-500))
    db.session.commit()
    assert hour_bank.alert_low_balances(MONDAY_9) == 1
    assert hour_bank.alert_low_balances(MONDAY_9 + timedelta(hours=1)) == 0
    assert mails() == 2


def test_callback_at_risk_alerts_planners_once(any_app):
    company = f.company("standard")
    contact = f.user("client", company)
    f.consultant()
    planner = f.user("planner")
    db.session.commit()
    opened = paris("2026-12-07 09:00")  # Standard, bloquante: take charge within 1 business day
    ticket = ticket_for(company, "TCK-R", "bloquante", opened)
    late = bookings.book(contact, "callback", paris("2026-12-09 10:00"), opened, ticket=ticket)
    assert late.beyond_commitment
    assert callbacks.alert_at_risk(paris("2026-12-07 15:00")) == 0  # deadline still 3.5 business hours away
    assert callbacks.alert_at_risk(paris("2026-12-08 08:00")) == 1
    assert callbacks.alert_at_risk(paris("2026-12-08 08:30")) == 0
    assert planner.email in {m.recipient for m in db.session.scalars(select(OutboxMessage))}


def test_expired_holds_are_swept_once(any_app):
    company = f.company("standard")
    contact = f.user("client", company)
    f.consultant()
    db.session.commit()
    held = bookings.book(contact, "erplib", paris("2026-12-08 10:00"), MONDAY_9, hold=True)
    assert holds.expire(MONDAY_9 + timedelta(minutes=5)) == 0
    assert holds.expire(MONDAY_9 + timedelta(minutes=11)) == 1
    assert holds.expire(MONDAY_9 + timedelta(minutes=12)) == 0
    db.session.refresh(held)
    assert held.status == "expired"


def test_every_job_runs_under_the_lease(any_app):
    with time_machine.travel(MONDAY_9, tick=False):
        first = run_all_once(any_app, holder="a")
        second = run_all_once(any_app, holder="b")
    assert all(result is not None for result in first.values())
    assert all(result is None for result in second.values())  # b waits while a holds the lease
    with time_machine.travel(MONDAY_9 + timedelta(minutes=2), tick=False):
        assert all(result is not None for result in run_all_once(any_app, holder="b").values())


def test_two_scheduler_processes_on_postgresql_run_each_due_job_once(pg_cluster, pg_template, tmp_path):
    from booking import create_app

    url = _pg_url(pg_cluster, pg_template)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    now = datetime.now(UTC)
    with app.app_context():
        company = f.company("standard")
        contact = f.user("client", company)
        consultant = f.consultant()
        for n in range(6):
            f.booking(consultant, now + timedelta(hours=2, minutes=60 * n), company=company, contact=contact)
        db.session.commit()
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "two-schedulers"}
    flask = os.path.join(os.path.dirname(sys.executable), "flask")
    processes = [
        subprocess.Popen(
            [flask, "--app", "wsgi", "scheduler", "--once"],
            env=env,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=120) for p in processes]
    assert [p.returncode for p in processes] == [0, 0], outputs
    ran = [out for out, _ in outputs if "send_reminders: 6" in out]
    skipped = [out for out, _ in outputs if "send_reminders: non exécutée" in out]
    assert len(ran) == 1 and len(skipped) == 1, outputs
    with app.app_context():
        assert mails() == 12  # 6 bookings × (contact + consultant), each once
        assert db.session.scalar(select(func.count()).select_from(Booking).where(Booking.reminded_at.is_(None))) == 0
