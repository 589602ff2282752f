"""Idempotency-Key: a key left pending by a request that died is taken over once its lease ends, and
an answer is written only with the work it reports, by the request that holds the key.
(The real faults — kill -9, a PostgreSQL restart, a crashed SQLite app — are in test_idempotency_faults*.py.)"""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
import time_machine
from sqlalchemy import func, select

from booking.api import idempotency
from booking.extensions import db
from booking.models import AuditEntry, Booking, IdempotentRequest, OutboxMessage
from booking.services import tokens

from . import factories as f

NOW = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)  # Wednesday 09:00 in Paris
LEASE = 10  # seconds: IDEMPOTENCY_LEASE_SECONDS's default
PATH = "/api/v1/bookings"


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def _world(app):
    company = f.company("confort")
    consultant = f.consultant()
    user = f.user("client", company)
    key = tokens.create(user)
    body = json.dumps({"service": "erplib", "start": "2026-12-08T10:00:00+01:00", "consultant_id": consultant.id})
    db.session.commit()
    app.config["IDEMPOTENCY_LEASE_SECONDS"] = LEASE
    return {"user_id": user.id, "company_id": company.id, "token": key, "body": body}


def _post(app, world, key: str):
    return app.test_client().post(
        PATH,
        data=world["body"],
        content_type="application/json",
        headers={"Authorization": f"Bearer {world['token']}", "Idempotency-Key": key},
    )


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


@pytest.mark.parametrize("claimed", ["1 s ago", "before the lease existed"])
def test_a_key_left_pending_by_a_dead_request_is_taken_over_once_its_lease_ends(any_app, frozen, claimed):
    world = _world(any_app)
    # what a request killed between its claim and its answer leaves behind
    fingerprint = idempotency.fingerprint("POST", PATH, b"", world["body"].encode())
    db.session.add(
        IdempotentRequest(
            user_id=world["user_id"],
            key="k-dead",
            fingerprint=fingerprint,
            status=0,
            body={},
            claimed_at=NOW - timedelta(seconds=1) if claimed == "1 s ago" else None,
        )
    )
    db.session.commit()
    if claimed == "1 s ago":  # within its lease it may still be running: the twin is told to wait, how long
        waiting = _post(any_app, world, "k-dead")
        # (the booking rate limit may stretch Retry-After to its own window's end, never shorten it)
        assert waiting.status_code == 409 and int(waiting.headers["Retry-After"]) >= LEASE - 1
        assert "encore en cours" in waiting.json["detail"] and _count(Booking) == 0
        frozen.shift(LEASE)
    done = _post(any_app, world, "k-dead")
    assert done.status_code == 201, done.json
    again = _post(any_app, world, "k-dead")
    assert again.status_code == 201 and again.json == done.json and again.headers["Idempotent-Replayed"] == "true"
    f.reread()
    saved = db.session.scalar(select(IdempotentRequest).where(IdempotentRequest.key == "k-dead"))
    assert (saved.status, saved.body["id"], saved.attempt) == (201, done.json["id"], 1)
    assert db.session.scalars(select(Booking.id)).all() == [done.json["id"]]


def _wait_for_lock(watcher, statement: str) -> int:
    """The backend waiting for a lock while running `statement`."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        row = watcher.execute(
            "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query ILIKE %s", (statement + "%",)
        ).fetchone()
        if row:
            return row[0]
        time.sleep(0.02)
    raise AssertionError(f"no backend waited on a lock in {statement!r}")


def test_a_request_whose_key_was_taken_over_keeps_nothing(pg_app, frozen):
    """The late owner's booking, ledger, audit and mail roll back with its answer: one commit for both."""
    world = _world(pg_app)
    pg_app.config["LOCK_TIMEOUT_SECONDS"] = 30
    raw = pg_app.config["SQLALCHEMY_DATABASE_URI"].replace("+psycopg", "")
    answers = []

    def request():
        with pg_app.app_context():
            answers.append(_post(pg_app, world, "k-late"))

    with (
        psycopg.connect(raw) as company_lock,
        psycopg.connect(raw) as taker,
        psycopg.connect(raw, autocommit=True) as watcher,
    ):
        # the booking's row is written, then its company's foreign-key check waits here
        company_lock.execute("SELECT id FROM companies WHERE id = %s FOR UPDATE", (world["company_id"],))
        late = threading.Thread(target=request)
        late.start()
        _wait_for_lock(watcher, "INSERT INTO bookings")
        # meanwhile a retry takes the key over (as it does once the lease has run out)
        taker.execute("UPDATE idempotent_requests SET attempt = attempt + 1, claimed_at = now() WHERE key = 'k-late'")
        company_lock.rollback()
        _wait_for_lock(watcher, "UPDATE idempotent_requests")  # its answer, after the booking, waits for the taker
        taker.commit()
        late.join(30)
    assert answers[0].status_code == 409 and "encore en cours" in answers[0].json["detail"]
    f.reread()
    assert (_count(Booking), _count(OutboxMessage)) == (0, 0)
    assert not db.session.scalars(select(AuditEntry.action).where(AuditEntry.action.like("booking.%"))).all()
    saved = db.session.scalar(select(IdempotentRequest).where(IdempotentRequest.key == "k-late"))
    assert (saved.status, saved.attempt) == (0, 1)  # the taker's, to complete
