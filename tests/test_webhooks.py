"""Signed webhooks against a real HTTP receiver on loopback: queued with the change (never sent from a
request), delivered by the scheduler's job, retried with back-off while the receiver is gone, all
delivered once it is back, each event id once (a redelivery keeps its id); on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import logging
import threading
from datetime import UTC, date, datetime, time, timedelta

import pytest
import time_machine
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, select, text
from sqlalchemy.exc import OperationalError

from booking.extensions import db
from booking.models import LedgerEntry, WebhookDelivery, WebhookSubscription
from booking.models.types import utcnow
from booking.services import (
    audit,
    bookings,
    callbacks,
    hour_bank,
    interventions,
    locking,
    priority,
    tokens,
    webhook_delivery,
    webhooks,
)
from booking.services import webhook_subscriptions as subs
from booking.services.access import ticket_for
from booking.services.errors import Conflict, Invalid
from calendars import fetch
from calendars.worktime import PARIS

from . import factories as f
from .dates import working_day
from .webhook_receiver import Receiver, verify

NOW = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)  # Wednesday 09:00 in Paris: the bookings' clock
YEAR = date(2026, 1, 1)
QUOTE_NOW = datetime(2026, 11, 30, 8, tzinfo=UTC)  # tests.test_quotes' clock


def paris(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=PARIS)


@pytest.fixture
def world(any_app):
    any_app.config["WEBHOOK_ALLOW_LOOPBACK"] = True
    company = f.company("serenite", contract_start=YEAR)
    contact = f.user("client", company)
    admin = f.user("admin")
    f.consultant(skills=("installation",))
    db.session.commit()
    return company, contact, admin


def deliveries(**where) -> list[WebhookDelivery]:
    f.reread()
    return db.session.scalars(select(WebhookDelivery).filter_by(**where).order_by(WebhookDelivery.id)).all()


def test_receiver_gone_and_back_gets_everything_once_with_valid_signatures(world):
    company, contact, admin = world
    receiver = Receiver()
    subscription, secret = subs.create(
        admin, receiver.url, ["booking.created", "booking.rescheduled", "booking.cancelled"], "ERP du client"
    )
    receiver.secret = secret
    receiver.start()
    try:
        first = bookings.book(contact, "erplib", paris("2026-12-08 10:00"), NOW)
        t0 = utcnow()
        assert webhook_delivery.deliver(t0) == 1
        assert [e["type"] for e in receiver.events] == ["booking.created"]

        receiver.stop()  # the receiver goes away; three changes happen meanwhile
        second = bookings.book(contact, "erplib", paris("2026-12-09 10:00"), NOW)
        bookings.reschedule(contact, first, paris("2026-12-10 14:00"), NOW)
        bookings.cancel(contact, second, NOW)
        t0 = utcnow()
        assert webhook_delivery.deliver(t0) == 0
        waiting = deliveries(delivered_at=None)
        assert len(waiting) == 3
        # the first one was tried and refused; the others were not tried (released, not counted)
        assert [d.attempts for d in waiting] == [1, 0, 0]
        assert json.loads(waiting[0].error)["code"] == "receiver_refused" and waiting[0].response_code is None
        assert "refuse la connexion" in webhook_delivery.error_sentence(waiting[0])  # the reader's language
        assert all(d.next_attempt_at == t0 + timedelta(minutes=1) for d in waiting)

        assert webhook_delivery.deliver(t0 + timedelta(seconds=30)) == 0  # backing off: nothing tried
        assert [d.attempts for d in deliveries(delivered_at=None)] == [1, 0, 0]
        assert webhook_delivery.deliver(t0 + timedelta(seconds=61)) == 0  # second attempt, still gone
        again = deliveries(delivered_at=None)
        assert [d.attempts for d in again] == [2, 0, 0]
        assert again[0].next_attempt_at == t0 + timedelta(seconds=61) + timedelta(minutes=2)
        assert receiver.events[1:] == []

        receiver.start()  # back on the same port
        assert webhook_delivery.deliver(t0 + timedelta(minutes=2)) == 0  # not yet due
        assert webhook_delivery.deliver(t0 + timedelta(seconds=61, minutes=2)) == 3
        assert webhook_delivery.deliver(t0 + timedelta(hours=1)) == 0  # nothing twice
    finally:
        receiver.stop()

    assert receiver.refused == 0
    assert [e["type"] for e in receiver.events] == [
        "booking.created",
        "booking.created",
        "booking.rescheduled",
        "booking.cancelled",
    ]
    assert len(set(receiver.ids())) == 4
    moved = receiver.events[2]["data"]
    assert moved["id"] == first.id and moved["start"] == "2026-12-10T13:00:00Z"
    assert moved["previous_start"].startswith("2026-12-08T09:00:00")
    assert receiver.events[3]["data"] == {
        **receiver.events[3]["data"],
        "id": second.id,
        "status": "cancelled",
        "company_id": company.id,
        "object": "booking",
    }
    headers, body = receiver.raw[0]
    assert headers["ERPLib-Webhook-Id"] == receiver.events[0]["id"] and headers["ERPLib-Event"] == "booking.created"
    assert headers["Content-Type"] == "application/json; charset=utf-8"
    assert all(d.delivered_at and d.response_code == 200 and d.error == "" for d in deliveries())


def test_a_redelivery_keeps_the_id_and_the_body(world):
    _company, contact, admin = world
    receiver = Receiver()
    subscription, receiver.secret = subs.create(admin, receiver.url, ["booking.created"])
    receiver.start()
    try:
        bookings.book(contact, "erplib", paris("2026-12-08 10:00"), NOW)
        assert webhook_delivery.deliver(utcnow()) == 1
        delivery = deliveries()[0]
        webhook_delivery.redeliver(subscription.id, delivery.id, utcnow())
        assert webhook_delivery.deliver(utcnow()) == 1
    finally:
        receiver.stop()
    assert len(receiver.events) == 2 and receiver.ids()[0] == receiver.ids()[1]
    assert receiver.raw[0][1] == receiver.raw[1][1]
    with pytest.raises(Exception, match="Aucun envoi"):
        webhook_delivery.redeliver(subscription.id + 1, delivery.id, utcnow())


def test_a_change_rolled_back_queues_nothing(world):
    _company, contact, admin = world
    subs.create(admin, "http://127.0.0.1:9/hooks", ["booking.created"])
    bookings.book(contact, "erplib", paris("2026-12-08 10:00"), NOW)
    other = f.user("client", contact.company)
    db.session.commit()
    with pytest.raises(Conflict):
        bookings.book(other, "erplib", paris("2026-12-08 10:00"), NOW)  # the slot is taken
    assert len(deliveries()) == 1


def test_disabled_and_unsubscribed_get_nothing_and_queued_ones_wait(world):
    _company, contact, admin = world
    receiver = Receiver()
    cancelled_only, secret = subs.create(admin, receiver.url, ["booking.cancelled"])
    receiver.secret = secret
    receiver.start()
    try:
        booking = bookings.book(contact, "erplib", paris("2026-12-08 10:00"), NOW)
        assert deliveries() == []  # not subscribed to booking.created
        bookings.cancel(contact, booking, NOW)
        subs.update(admin, cancelled_only.id, active=False)
        assert webhook_delivery.deliver(utcnow()) == 0 and len(deliveries(delivered_at=None)) == 1
        other = bookings.book(contact, "erplib", paris("2026-12-09 10:00"), NOW)
        bookings.cancel(contact, other, NOW)
        assert len(deliveries()) == 1  # disabled: no new event
        subs.update(admin, cancelled_only.id, active=True)
        assert webhook_delivery.deliver(utcnow()) == 1
    finally:
        receiver.stop()
    assert [e["data"]["id"] for e in receiver.events] == [booking.id]


def test_rotation_signs_with_both_secrets_during_the_overlap_only(world):
    _company, contact, admin = world
    receiver = Receiver()
    subscription, old = subs.create(admin, receiver.url, ["booking.created", "booking.cancelled"])
    receiver.secret = old
    receiver.start()
    try:
        _, new = subs.rotate(admin, subscription.id, utcnow(), keep_previous=True)
        assert new != old and new.startswith("whsec_")
        booking = bookings.book(contact, "erplib", paris("2026-12-08 10:00"), NOW)
        assert webhook_delivery.deliver(utcnow()) == 1  # the receiver still knows only the old secret
        header = receiver.raw[0][0]["ERPLib-Signature"]
        assert header.count("v1=") == 2 and verify(new, header, receiver.raw[0][1])
        subs.rotate(admin, subscription.id, utcnow(), keep_previous=False)  # leaked: the old one stops now
        bookings.cancel(contact, booking, NOW)
        assert webhook_delivery.deliver(utcnow()) == 0
        refused = deliveries(delivered_at=None)[0]
        assert receiver.refused == 1 and refused.response_code == 401 and refused.error == ""
    finally:
        receiver.stop()


def test_a_delivery_fails_after_the_last_attempt_and_is_listed(world, caplog):
    _company, contact, admin = world
    receiver = Receiver(status=500)
    subscription, receiver.secret = subs.create(admin, receiver.url, ["booking.created"])
    receiver.start()
    try:
        bookings.book(contact, "erplib", paris("2026-12-08 10:00"), NOW)
        when = utcnow()
        with caplog.at_level(logging.ERROR):
            for attempt in range(1, webhook_delivery.MAX_ATTEMPTS + 1):
                assert webhook_delivery.deliver(when) == 0
                when += webhook_delivery.backoff(attempt)
            assert webhook_delivery.deliver(when + timedelta(days=2)) == 0
    finally:
        receiver.stop()
    failed = deliveries()[0]
    assert failed.failed_at and failed.attempts == webhook_delivery.MAX_ATTEMPTS and failed.response_code == 500
    assert len(receiver.events) == webhook_delivery.MAX_ATTEMPTS and len(set(receiver.ids())) == 1
    assert "given up" in caplog.text
    page = webhook_delivery.log_page(subscription.id, 1, "failed")
    assert [d.id for d in page.items] == [failed.id]
    assert webhook_delivery.counts()[subscription.id] == {"pending": 0, "delivered": 0, "failed": 1}


def test_the_request_only_queues_and_the_scheduler_sends(world, any_app, monkeypatch):
    _company, contact, admin = world
    client = any_app.test_client()
    receiver = Receiver()
    _, receiver.secret = subs.create(admin, receiver.url, ["booking.created"])
    token = tokens.create(contact, "erp")
    db.session.commit()
    sent_in_request = []
    real_post = fetch.post
    monkeypatch.setattr(fetch, "post", lambda *a, **k: sent_in_request.append(a) or real_post(*a, **k))
    receiver.start()
    try:
        start = datetime.combine(working_day(), time(10, 0), PARIS)  # the request runs on the real clock
        response = client.post(
            "/api/v1/bookings",
            headers={"Authorization": f"Bearer {token}"},
            json={"service": "erplib", "start": start.isoformat()},
        )
        assert response.status_code == 201, response.json
        assert sent_in_request == [] and receiver.events == []
        assert len(deliveries(delivered_at=None)) == 1
        assert webhook_delivery.deliver(utcnow()) == 1
        assert len(sent_in_request) == 1 and len(receiver.events) == 1
    finally:
        receiver.stop()


@pytest.mark.parametrize(
    "url, words",
    [
        ("https://10.0.0.8/hooks", "réseau privé"),
        ("https://169.254.169.254/latest", "métadonnées"),
        ("http://example.com/hooks", "https://"),
        ("ftp://example.com/hooks", "http:// ou https://"),
        ("https://user:pw@example.com/", "identifiants"),
        ("", "https://"),
    ],
)
def test_refused_urls_change_nothing(world, url, words):
    _company, _contact, admin = world
    with pytest.raises(Invalid, match=words.replace("(", r"\(")) as refused:
        subs.create(admin, url, ["booking.created"])
    assert refused.value.code == "webhook_url"
    assert subs.listing() == []


def test_loopback_is_refused_unless_a_test_allows_it(world, any_app):
    _company, _contact, admin = world
    any_app.config["WEBHOOK_ALLOW_LOOPBACK"] = False
    with pytest.raises(Invalid, match="boucle locale"):
        subs.create(admin, "https://127.0.0.1:8443/hooks", ["booking.created"])


def test_hour_bank_exhausted_and_low_and_outcomes_are_events(world):
    company, contact, admin = world
    subscription, _ = subs.create(
        admin,
        "http://127.0.0.1:9/hooks",
        ["hour_bank.exhausted", "hour_bank.low", "booking.completed", "booking.no_show"],
    )
    hour_bank.ensure_grant(company, YEAR)
    db.session.add(LedgerEntry(company_id=company.id, contract_year=YEAR, kind="adjust", minutes=-570))
    db.session.commit()
    assert hour_bank.alert_low_balances(NOW) == 1
    done = bookings.book(contact, "erplib", paris("2026-12-08 10:00"), NOW)  # takes the last 30 minutes
    absent = bookings.book(contact, "erplib", paris("2026-12-08 11:00"), NOW)  # billable: no second event
    consultant = f.user("consultant")
    bookings.record_outcome(consultant, done, "completed", paris("2026-12-08 11:00"))
    bookings.record_outcome(consultant, absent, "no_show", paris("2026-12-08 12:00"))
    bodies = [json.loads(d.body) for d in deliveries()]
    assert [b["type"] for b in bodies] == [
        "hour_bank.low",
        "hour_bank.exhausted",
        "booking.completed",
        "booking.no_show",
    ]
    assert bodies[0]["data"] == {
        "object": "hour_bank",
        "company_id": company.id,
        "contract_year_start": "2026-01-01",
        "balance_minutes": 30,
    }
    assert bodies[1]["data"]["balance_minutes"] == 0
    assert bodies[2]["data"]["status"] == "completed" and bodies[3]["data"]["id"] == absent.id
    assert db.session.scalar(select(func.count()).select_from(WebhookDelivery)) == 4


def _bodies(event_type: str) -> list[dict]:
    return [json.loads(d.body) for d in deliveries(event_type=event_type)]


def test_callback_at_risk_and_prerequisites_missing_are_events(world):
    company, contact, admin = world
    subs.create(admin, "http://127.0.0.1:9/hooks", ["callback.at_risk", "booking.prerequisites_missing"])
    standard = f.company("standard")
    caller = f.user("client", standard)
    f.consultant()
    db.session.commit()
    opened = paris("2026-12-07 09:00")  # Standard, bloquante: take charge within 1 business day
    late = bookings.book(
        caller, "callback", paris("2026-12-09 10:00"), opened, ticket=ticket_for(standard, "TCK-W", "bloquante", opened)
    )
    assert callbacks.alert_at_risk(paris("2026-12-08 08:00")) == 1
    assert callbacks.alert_at_risk(paris("2026-12-08 08:30")) == 0  # once
    [risk] = _bodies("callback.at_risk")
    assert risk["data"]["id"] == late.id and risk["data"]["ticket"] == "TCK-W" and risk["data"]["deadline"]

    update = bookings.book(contact, "minor_update", paris("2026-12-10 14:00"), paris("2026-12-01 10:00"))
    assert interventions.check_gates(paris("2026-12-07 11:00")) == 1
    [missing] = _bodies("booking.prerequisites_missing")
    assert missing["data"]["id"] == update.id and missing["data"]["status"] == "prerequisites_missing"


def test_a_quote_waiting_then_a_plan_applied_are_events(app):
    from .test_quotes import planned  # a ready plan computed by CP-SAT (a few seconds)

    app.config["WEBHOOK_ALLOW_LOOPBACK"] = True
    admin = f.user("admin")
    db.session.commit()
    subs.create(
        admin, "http://127.0.0.1:9/hooks", ["quote.waiting", "plan.applied", "booking.created", "booking.rescheduled"]
    )
    world, request, plan = planned(app)
    [waiting] = _bodies("quote.waiting")
    assert waiting["data"]["id"] == request.id and waiting["data"]["plan_id"] == plan.id
    assert waiting["data"]["object"] == "priority_request" and waiting["data"]["quote_valid_until"]
    with time_machine.travel(QUOTE_NOW, tick=True):
        priority.accept_quote(world["requester"], request, QUOTE_NOW, plan.id)
    [applied] = _bodies("plan.applied")
    assert applied["data"] == {
        **applied["data"],
        "object": "plan",
        "id": plan.id,
        "status": "applied",
        "request_id": request.id,
    }
    created = _bodies("booking.created")
    assert created and all(b["data"]["kind"] == "priority_consulting" for b in created)
    assert len(_bodies("booking.rescheduled")) == applied["data"]["moved"]


def test_a_receiver_that_hangs_is_cut_at_the_deadline_and_retried(world, any_app):
    _company, contact, admin = world
    any_app.config["WEBHOOK_TIMEOUT_SECONDS"] = 1
    receiver = Receiver(delay=30)
    _, receiver.secret = subs.create(admin, receiver.url, ["booking.created"])
    receiver.start()
    try:
        bookings.book(contact, "erplib", paris("2026-12-08 10:00"), NOW)
        started = utcnow()
        assert webhook_delivery.deliver(started) == 0
        assert (utcnow() - started).total_seconds() < 5  # bounded by the deadline, not by the receiver
        [late] = deliveries()
        assert late.attempts == 1 and late.delivered_at is None
        assert json.loads(late.error) == {"code": "receiver_timeout", "detail": "127.0.0.1", "count": 1}
        assert webhook_delivery.error_sentence(late).startswith("Délai dépassé")
    finally:
        receiver.delay = 0
        receiver.stop()


def test_an_attempt_cut_off_by_a_crash_is_sent_again_after_its_back_off_with_the_same_id(world):
    _company, contact, admin = world
    receiver = Receiver()
    _, receiver.secret = subs.create(admin, receiver.url, ["booking.created"])
    receiver.start()
    try:
        bookings.book(contact, "erplib", paris("2026-12-08 10:00"), NOW)
        now = utcnow()
        [claimed] = webhook_delivery._claim(now)  # the scheduler claims the row, then dies before sending
        assert webhook_delivery.deliver(now + timedelta(seconds=30)) == 0  # not lost, not doubled: waiting
        assert webhook_delivery.deliver(now + timedelta(minutes=1)) == 1
        assert receiver.ids() == [claimed.event_id] and deliveries()[0].attempts == 2
    finally:
        receiver.stop()


@given(
    secret=st.text(min_size=1, max_size=60),
    body=st.binary(max_size=2000),
    flip=st.integers(0, 1999),
    previous=st.one_of(st.none(), st.text(min_size=1, max_size=60)),
)
@settings(max_examples=200, deadline=None)
def test_a_signature_verifies_with_each_valid_secret_and_with_no_changed_byte(secret, body, flip, previous):
    """The receiver's documented check (its own code) accepts what `sign` makes, for every secret still
    valid, and refuses the same header over any body differing by one byte."""
    stamp = int(utcnow().timestamp())
    header = webhooks.sign([secret] + ([previous] if previous else []), stamp, body)
    assert verify(secret, header, body) and (previous is None or verify(previous, header, body))
    if body:
        changed = bytearray(body)
        changed[flip % len(body)] ^= 0x01
        assert not verify(secret, header, bytes(changed))
    assert not verify(secret, header.replace(f"t={stamp}", f"t={stamp - 301}"), body)


def test_back_off_doubles_up_to_the_last_attempt():
    waits = [webhook_delivery.backoff(n) for n in range(1, webhook_delivery.MAX_ATTEMPTS + 1)]
    assert waits[0] == timedelta(minutes=1) and all(b == 2 * a for a, b in zip(waits, waits[1:], strict=False))
    assert timedelta(hours=8) < sum(waits[:-1], timedelta()) < timedelta(hours=9)  # the span docs/webhooks.md gives


def test_two_schedulers_at_once_send_each_event_once(world, any_app):
    """Even past the scheduler's lease (two processes both running the job), a claimed row is skipped
    by the other claimant: every event reaches the receiver exactly once."""
    _company, contact, admin = world
    receiver = Receiver()
    _, receiver.secret = subs.create(admin, receiver.url, ["booking.created", "booking.cancelled"])
    for day in ("2026-12-08", "2026-12-09", "2026-12-10"):
        for hour in ("09:00", "10:00", "11:00", "14:00"):
            bookings.cancel(contact, bookings.book(contact, "erplib", paris(f"{day} {hour}"), NOW), NOW)
    assert len(deliveries()) == 24
    receiver.start()
    now, start, results = utcnow(), threading.Barrier(2), []

    def scheduler():
        with any_app.app_context():
            start.wait()
            results.append(webhook_delivery.deliver(now))
            db.session.remove()

    try:
        threads = [threading.Thread(target=scheduler) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    finally:
        receiver.stop()
    assert sum(results) == 24 and len(results) == 2
    assert len(receiver.ids()) == 24 and len(set(receiver.ids())) == 24
    assert all(d.attempts == 1 and d.delivered_at for d in deliveries())


@pytest.mark.parametrize("change", ["delete", "disable"])
def test_a_subscription_removed_while_a_booking_waits_for_its_locks_gets_nothing(world, any_app, monkeypatch, change):
    """A booking reads the transaction's snapshot (subscriptions included) before its locks; the event is
    queued for the subscriptions still there when it is, and a deleted one does not fail the booking."""
    from booking.services import availability

    company, contact, admin = world
    subscription, _ = subs.create(admin, "http://127.0.0.1:9/hooks", ["booking.created"])
    db.session.commit()
    ids, decide = (subscription.id, admin.id), availability.decide

    def meanwhile(*args, **kwargs):  # after the snapshot, before the locks: another request's transaction
        if kwargs.get("consultants") is None:
            with any_app.app_context():
                other = db.session.get(type(admin), ids[1])
                subs.delete(other, ids[0]) if change == "delete" else subs.update(other, ids[0], active=False)
                db.session.commit()
        return decide(*args, **kwargs)

    monkeypatch.setattr(availability, "decide", meanwhile)
    booked = bookings.book(contact, "erplib", paris("2026-12-08 10:00"), NOW)
    assert booked.status == "confirmed" and deliveries() == []


def test_a_subscription_cannot_be_deleted_under_an_event_being_queued(pg_app):
    """The delivery row is written when the event is queued (not appended for later): its foreign key holds
    the subscription, so deleting it waits for the change's commit rather than failing the change."""
    pg_app.config["WEBHOOK_ALLOW_LOOPBACK"] = True
    company, admin = f.company("serenite", contract_start=YEAR), f.user("admin")
    subscription, _ = subs.create(admin, "http://127.0.0.1:9/hooks", ["hour_bank.low"])
    db.session.commit()
    with locking.locked([locking.company(company.id)]):
        audit.record(None, "hour_bank.low", company, contract_year="2026-01-01", balance_minutes=10)
        with db.engine.connect() as other, pytest.raises(OperationalError, match="lock timeout"):
            other.execute(text("SET lock_timeout = '200ms'"))
            other.execute(delete(WebhookSubscription).where(WebhookSubscription.id == subscription.id))
    assert len(deliveries(subscription_id=subscription.id)) == 1
